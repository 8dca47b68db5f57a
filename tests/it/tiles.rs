//! Vector tiles, checked by an independent decoder (PyPI mapbox-vector-tile, shapely) against
//! feature sets computed here with our own Web Mercator formulas and geo on the source data.

use std::collections::{BTreeMap, BTreeSet};
use std::f64::consts::PI;
use std::process::Command;

use geo::{Area, BooleanOps, Coord, Intersects, MultiPolygon, Polygon, Rect, coord};
use gridmap::analysis::coverage::{CoverageMap, DEFAULT_RADIUS_M};
use gridmap::index::Snapshot;
use gridmap::model::AnyLayer;
use gridmap::model::Layer;
use gridmap::model::schema::Visibility;
use gridmap::tiles::layers::{MIN_AREA_PX2, Source, all};
use gridmap::tiles::{TileConfig, TileCoord, label_point, render};
use serde_json::Value;

use crate::common::{repo, sample_state, tile_xy};

const EXTENT: f64 = 4096.0;
const BUFFER: f64 = 64.0;
const PX: f64 = EXTENT / 256.0;

/// Tile-unit position of a lon/lat in tile z/x/y (y down), from the slippy-map formulas.
fn to_tile(c: Coord, z: u8, x: u32, y: u32) -> Coord {
    let n = f64::from(1u32 << z);
    let wx = (c.x + 180.0) / 360.0 * n;
    let wy = (1.0 - c.y.to_radians().tan().asinh() / PI) / 2.0 * n;
    coord! { x: (wx - f64::from(x)) * EXTENT, y: (wy - f64::from(y)) * EXTENT }
}

fn project(mp: &MultiPolygon, z: u8, x: u32, y: u32) -> MultiPolygon {
    use geo::MapCoords;
    mp.map_coords(|c| to_tile(c, z, x, y))
}

/// Square tile units of `mp` inside the buffered tile.
fn clipped_area(mp: &MultiPolygon, z: u8, x: u32, y: u32) -> f64 {
    let projected = project(mp, z, x, y);
    let clip = Rect::new(
        coord! {x: -BUFFER, y: -BUFFER},
        coord! {x: EXTENT + BUFFER, y: EXTENT + BUFFER},
    );
    if !projected.intersects(&clip) {
        return 0.0;
    }
    projected.intersection(&Polygon::from(clip)).unsigned_area()
}

struct Expected {
    /// Must be in the tile.
    required: BTreeSet<u64>,
    /// May be in the tile (required ones, plus slivers that can legitimately vanish).
    allowed: BTreeSet<u64>,
    /// Points: expected tile-unit position.
    points: BTreeMap<u64, Coord>,
}

fn id_of(f: &geojson::Feature) -> u64 {
    match f.id.as_ref().unwrap() {
        geojson::feature::Id::Number(n) => n.as_u64().unwrap(),
        geojson::feature::Id::String(s) => s.parse().unwrap(),
    }
}

/// One source feature as the tile test sees it: its identity, geometry, the point a tile must
/// hold for it (points and label points) and its box, computed once per layer.
struct Prepared {
    id: u64,
    geometry: geo::Geometry,
    point: Option<geo::Point>,
    bbox: Rect,
}

fn prepare(snap: &Snapshot, gaps: &CoverageMap, source: Source) -> Vec<Prepared> {
    use geo::BoundingRect;
    let (layer, labels) = match source {
        Source::Features(l) => (AnyLayer::Builtin(l), false),
        Source::Labels(l) => (AnyLayer::Builtin(l), true),
        Source::CoverageGaps => (AnyLayer::Builtin(Layer::Grids), false),
        Source::Declared(def) => (AnyLayer::Declared(def), false),
        Source::StationClusters => unreachable!("clusters are checked by `expected_clusters`"),
    };
    let mut out = Vec::new();
    // The public tiles hold no feature of a staff layer (the declaration says which).
    if layer.def().staff_only() {
        return out;
    }
    for i in 0..snap.count_any(layer) {
        let mut f = snap.public_feature_any(layer, i);
        if source == Source::CoverageGaps {
            // The grid's gap, under the grid's id.
            let gap = &gaps.grids[i].gap;
            if gap.0.is_empty() {
                continue;
            }
            f.geometry = Some(geojson::Geometry::from(gap));
        }
        let Some(g) = f.geometry.as_ref() else {
            continue;
        };
        let geometry: geo::Geometry = g.value.clone().try_into().unwrap();
        let point = match (&geometry, labels) {
            (geo::Geometry::Point(p), _) => Some(*p),
            (geo::Geometry::MultiPolygon(mp), true) => label_point(mp),
            (geo::Geometry::Polygon(p), true) => label_point(&MultiPolygon(vec![p.clone()])),
            _ => None,
        };
        // Features are told apart by their numeric id, or for declared layers keyed by text, by
        // their position (the decoded feature's key property finds it, see `identity`).
        let id = match layer {
            AnyLayer::Declared(_) => i as u64,
            AnyLayer::Builtin(_) => id_of(&f),
        };
        let Some(bbox) = geometry.bounding_rect() else {
            continue;
        };
        out.push(Prepared {
            id,
            geometry,
            point,
            bbox,
        });
    }
    out
}

/// The lon/lat box of tile z/x/y grown by a tenth of a tile on each side (more than the buffer).
fn tile_box(z: u8, x: u32, y: u32) -> Rect {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
    let (x, y) = (f64::from(x), f64::from(y));
    Rect::new(
        coord! {x: lon(x - 0.1), y: lat(y + 1.1)},
        coord! {x: lon(x + 1.1), y: lat(y - 0.1)},
    )
}

fn expected(features: &[Prepared], full_detail_zoom: u8, z: u8, x: u32, y: u32) -> Expected {
    let mut e = Expected {
        required: BTreeSet::new(),
        allowed: BTreeSet::new(),
        points: BTreeMap::new(),
    };
    let window = tile_box(z, x, y);
    for f in features.iter().filter(|f| f.bbox.intersects(&window)) {
        if let Some(p) = f.point {
            let t = to_tile(p.0, z, x, y);
            if (0.0..EXTENT).contains(&t.x) && (0.0..EXTENT).contains(&t.y) {
                e.required.insert(f.id);
                e.allowed.insert(f.id);
                e.points.insert(f.id, t);
            }
            continue;
        }
        let mp = match &f.geometry {
            geo::Geometry::MultiPolygon(mp) => mp.clone(),
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
            _ => continue,
        };
        let area_px2 = clipped_area(&mp, z, x, y) / (PX * PX);
        if area_px2 > 0.0 {
            e.allowed.insert(f.id);
        }
        // Kept for sure: more than a few pixels (rounding and simplification cannot erase it),
        // and above the small-polygon threshold below the full-detail zoom.
        let threshold = if z < full_detail_zoom {
            2.0 * MIN_AREA_PX2 + 2.0
        } else {
            2.0
        };
        if area_px2 > threshold {
            e.required.insert(f.id);
        }
    }
    e
}

pub fn decode(dir: &std::path::Path) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(repo().join("tests/tiles/decode_tiles.py"))
        .arg(dir)
        .output()
        .expect("python3 runs (the README's test command installs mapbox-vector-tile and shapely)");
    assert!(
        out.status.success(),
        "decoder failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_tile_from_z8_to_z15_decodes_to_exactly_the_features_it_should_hold() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let gaps = CoverageMap::compute(snap.dataset(), DEFAULT_RADIUS_M, None);
    let b = snap.extent(Layer::Towns).unwrap();
    let tiles_dir = tempfile::tempdir().unwrap();
    let mut rendered = Vec::new();
    for z in 8u8..=15 {
        let n = f64::from(1u32 << z);
        let tx = |lon: f64| ((lon + 180.0) / 360.0 * n).floor() as u32;
        let ty = |lat: f64| ((1.0 - lat.to_radians().tan().asinh() / PI) / 2.0 * n).floor() as u32;
        for x in tx(b.min_lon)..=tx(b.max_lon) {
            for y in ty(b.max_lat)..=ty(b.min_lat) {
                let bytes = render(
                    &snap,
                    TileCoord::new(z.into(), x, y).unwrap(),
                    &TileConfig::default(),
                    Some(&gaps),
                )
                .unwrap();
                rendered.push((z, x, y, !bytes.is_empty()));
                if !bytes.is_empty() {
                    std::fs::write(tiles_dir.path().join(format!("{z}-{x}-{y}.mvt")), bytes)
                        .unwrap();
                }
            }
        }
    }
    let decoded: BTreeMap<String, Value> = decode(tiles_dir.path())
        .into_iter()
        .map(|t| (t["tile"].as_str().unwrap().to_string(), t))
        .collect();
    let mut checked_features = 0;
    let mut clustered: BTreeMap<u8, u64> = BTreeMap::new();
    let mut prepared = BTreeMap::new();
    for (z, x, y, non_empty) in &rendered {
        let (z, x, y) = (*z, *x, *y);
        let name = format!("{z}-{x}-{y}");
        let tile = decoded.get(&name);
        assert_eq!(tile.is_some(), *non_empty, "{name}");
        for layer in all(&snap)
            .iter()
            .filter(|l| (l.minzoom..=l.maxzoom).contains(&z))
        {
            if layer.source == Source::StationClusters {
                let features = tile
                    .and_then(|t| t["layers"][layer.name].as_array())
                    .cloned()
                    .unwrap_or_default();
                let want = expected_clusters(&snap, z, x, y);
                for f in &features {
                    let id = f["id"].as_u64().unwrap();
                    let (count, services, cell) = want
                        .get(&id)
                        .unwrap_or_else(|| panic!("{name}: cluster {id} of no cell of posts"));
                    assert_eq!(f["properties"]["count"], *count, "{name}: cluster {id}");
                    let got: BTreeSet<&str> = f["properties"]["services"]
                        .as_str()
                        .unwrap()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .collect();
                    let services: BTreeSet<&str> = services.iter().map(|s| s.as_str()).collect();
                    assert_eq!(got, services, "{name}: cluster {id}");
                    // Drawn inside its cell (1,024 tile units across).
                    let p = f["point"].as_array().unwrap();
                    let at = |v: &Value, first: u32| {
                        (v.as_f64().unwrap() / 1024.0).floor() as u32 + first
                    };
                    assert_eq!(
                        (at(&p[0], 4 * x), at(&p[1], 4 * y)),
                        *cell,
                        "{name}: cluster {id}"
                    );
                    *clustered.entry(z).or_insert(0) += count;
                }
                assert_eq!(features.len(), want.len(), "{name}: clusters");
                continue;
            }
            let prepared = prepared
                .entry(layer.name)
                .or_insert_with(|| prepare(&snap, &gaps, layer.source));
            let e = expected(prepared, layer.full_detail_zoom, z, x, y);
            let features = tile
                .and_then(|t| t["layers"][layer.name].as_array())
                .cloned()
                .unwrap_or_default();
            let identity = |f: &Value| -> u64 {
                match layer.source {
                    Source::Declared(def) => {
                        let key = f["properties"][def.key].as_str().unwrap();
                        snap.find_any(AnyLayer::Declared(def), key).unwrap() as u64
                    }
                    _ => f["id"].as_u64().unwrap(),
                }
            };
            let got: BTreeSet<u64> = features.iter().map(identity).collect();
            assert_eq!(
                got.len(),
                features.len(),
                "{name} {}: duplicate ids",
                layer.name
            );
            let missing: Vec<_> = e.required.difference(&got).collect();
            let extra: Vec<_> = got.difference(&e.allowed).collect();
            assert!(
                missing.is_empty(),
                "{name} {}: missing {missing:?}",
                layer.name
            );
            assert!(
                extra.is_empty(),
                "{name} {}: unexpected {extra:?}",
                layer.name
            );
            for f in &features {
                assert_eq!(f["valid"], true, "{name} {}: invalid {f}", layer.name);
                assert_eq!(
                    f["winding_ok"], true,
                    "{name} {}: ring winding {f}",
                    layer.name
                );
                // Public tiles carry public fields only, by the declarations.
                let def = match layer.source {
                    Source::Declared(def) => Some(def),
                    Source::Features(l) | Source::Labels(l) => Some(l.def()),
                    Source::CoverageGaps | Source::StationClusters => None,
                };
                if let Some(def) = def {
                    let props = f["properties"].as_object().unwrap();
                    for key in props.keys() {
                        let field = def.field(key).unwrap();
                        // A personal field only where its person consented (publish_contact).
                        let consented = field
                            .consent
                            .is_some_and(|c| props.get(c) == Some(&serde_json::json!(true)));
                        assert!(
                            field.visibility == Visibility::Public || consented,
                            "{name}: {key} in a public tile"
                        );
                    }
                }
                if let (Some(p), 15) = (f["point"].as_array(), z) {
                    let want = e.points[&identity(f)];
                    let (dx, dy) = (
                        p[0].as_f64().unwrap() - want.x,
                        p[1].as_f64().unwrap() - want.y,
                    );
                    assert!(
                        dx.abs() <= PX && dy.abs() <= PX,
                        "{name}: point off by ({dx}, {dy}) tile units"
                    );
                }
                checked_features += 1;
            }
        }
    }
    assert!(rendered.len() > 1_000, "{} tiles", rendered.len());
    assert!(checked_features > 10_000, "{checked_features} features");
    // Every post is in one cluster at each zoom clusters are drawn, and at no other zoom.
    let posts = snap.dataset().stations.len() as u64;
    assert_eq!(
        clustered,
        (8..=10).map(|z| (z, posts)).collect(),
        "posts in clusters by zoom"
    );
}

/// A cluster as the test expects it: posts, services, world cell (column, row).
type ExpectedCluster = (u64, BTreeSet<String>, (u32, u32));

/// The clusters tile z/x/y must hold, by id (zoom, world cell column and row), found the plain
/// way: each post's Web Mercator position in cells of a quarter tile, posts grouped by cell.
/// With each cluster's count, services and cell.
fn expected_clusters(snap: &Snapshot, z: u8, x: u32, y: u32) -> BTreeMap<u64, ExpectedCluster> {
    let cells = f64::from(1u32 << z) * 4.0;
    let mut out: BTreeMap<u64, ExpectedCluster> = BTreeMap::new();
    for s in &snap.dataset().stations {
        let (lon, lat) = (s.location.x(), s.location.y());
        let column = ((lon + 180.0) / 360.0 * cells).floor() as u32;
        let row = ((1.0 - lat.to_radians().tan().asinh() / PI) / 2.0 * cells).floor() as u32;
        if (column / 4, row / 4) != (x, y) {
            continue;
        }
        let id = (u64::from(z) << 56) | (u64::from(column) << 28) | u64::from(row);
        let cluster = out.entry(id).or_insert((0, BTreeSet::new(), (column, row)));
        cluster.0 += 1;
        cluster
            .1
            .extend(s.services.iter().map(|s| s.name().to_string()));
    }
    out
}

#[test]
fn a_point_is_decoded_within_a_pixel_at_z15() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let s = &snap.dataset().stations[0];
    let (x, y) = tile_xy(s.location, 15);
    let dir = tempfile::tempdir().unwrap();
    let bytes = render(
        &snap,
        TileCoord::new(15, x, y).unwrap(),
        &TileConfig::default(),
        None,
    )
    .unwrap();
    std::fs::write(dir.path().join(format!("15-{x}-{y}.mvt")), bytes).unwrap();
    let tile = &decode(dir.path())[0];
    let f = tile["layers"]["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == s.id)
        .unwrap();
    let want = to_tile(s.location.0, 15, x, y);
    let p = f["point"].as_array().unwrap();
    assert!((p[0].as_f64().unwrap() - want.x).abs() <= PX);
    assert!((p[1].as_f64().unwrap() - want.y).abs() <= PX);
}

mod http {
    use std::io::Read;

    use axum::http::StatusCode;
    use gridmap::http::AppState;
    use gridmap::model::LayerData;

    use crate::common::{Raw, backed_state, get, get_raw};

    /// The z14 tile holding a station.
    fn tile_of(state: &AppState, station: usize) -> (u64, String) {
        let snap = state.index.load();
        let s = &snap.dataset().stations[station];
        let (x, y) = crate::common::tile_xy(s.location, 14);
        (s.id, format!("/tiles/14/{x}/{y}.mvt"))
    }

    #[tokio::test]
    async fn tiles_come_with_etags_gzip_cors_and_304s() {
        let (_store, state) = backed_state();
        let (_, uri) = tile_of(&state, 10);
        let Raw {
            status,
            headers,
            body: raw,
        } = get_raw(&state, &uri, &[("origin", "http://screen.local")]).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
        assert_eq!(headers["access-control-allow-origin"], "*");
        let etag = headers["etag"].to_str().unwrap().to_string();
        let Raw { status, body, .. } = get_raw(&state, &uri, &[("if-none-match", &etag)]).await;
        assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
        let Raw {
            status,
            headers,
            body: gz,
        } = get_raw(&state, &uri, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-encoding"], "gzip");
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, raw);
        let status = get_raw(&state, "/tiles/14/0/0.mvt", &[]).await.status;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }

    #[tokio::test]
    async fn bad_tile_addresses_are_4xx_json() {
        let (_store, state) = backed_state();
        for (uri, field) in [
            ("/tiles/19/0/0.mvt", "z/x/y"),
            ("/tiles/3/8/0.mvt", "z/x/y"),
            ("/tiles/3/0/8.mvt", "z/x/y"),
            ("/tiles/3/0/1.png", "extension"),
            ("/tiles/3/0/1", "y"),
            ("/tiles/a/0/1.mvt", "z"),
            ("/tiles/3/-1/1.mvt", "x"),
        ] {
            let r = get(&state, uri).await;
            assert_eq!(r.status, 400, "{uri}");
            assert!(
                r.json["message"].as_str().unwrap().contains(field),
                "{uri}: {}",
                r.json
            );
        }
    }

    #[tokio::test]
    async fn a_changed_feature_redraws_its_tiles_while_untouched_tiles_keep_their_etag() {
        let (_store, state) = backed_state();
        let (id, near) = tile_of(&state, 10);
        // A station far away (the other end of the county) and its tile.
        let far_index = {
            let snap = state.index.load();
            let here = snap.dataset().stations[10].location;
            (0..snap.dataset().stations.len())
                .max_by(|&a, &b| {
                    let d = |i: usize| {
                        gridmap::geodesy::distance_m(here, snap.dataset().stations[i].location)
                    };
                    d(a).total_cmp(&d(b))
                })
                .unwrap()
        };
        let (_, far) = tile_of(&state, far_index);
        let near_headers = get_raw(&state, &near, &[]).await.headers;
        let far_headers = get_raw(&state, &far, &[]).await.headers;
        assert_eq!(state.tiles.len(), 2);

        let mut station = state
            .index
            .load()
            .dataset()
            .stations
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .as_ref()
            .clone();
        station.name = "新名字驿站".into();
        state
            .store
            .import(LayerData::Stations(vec![station]), false, &|_, _| {})
            .unwrap();
        let dropped = state.reload().unwrap();
        assert_eq!(
            dropped, 1,
            "exactly the tile showing the station is dropped"
        );

        let Raw {
            headers: after_headers,
            body,
            ..
        } = get_raw(&state, &near, &[]).await;
        assert_ne!(after_headers["etag"], near_headers["etag"]);
        assert!(
            body.windows("新名字驿站".len())
                .any(|w| w == "新名字驿站".as_bytes())
        );
        let far_after = get_raw(&state, &far, &[]).await.headers;
        assert_eq!(far_after["etag"], far_headers["etag"]);
    }

    #[tokio::test]
    async fn tilejson_describes_every_layer_and_builds_urls_from_the_host() {
        let (_store, state) = backed_state();
        let r = get(&state, "/tiles.json").await;
        assert_eq!(
            r.json["tiles"][0],
            "http://test.local/tiles/{z}/{x}/{y}.mvt"
        );
        let ids = crate::common::strings(&r.json["vector_layers"], "id");
        for layer in [
            "towns",
            "villages",
            "grids",
            "stations",
            "stations_clusters",
            "alliances",
            "members",
            "grids_labels",
        ] {
            assert!(ids.contains(&layer), "{ids:?}");
        }
        let bounds = r.json["bounds"].as_array().unwrap();
        assert!((119.3..119.5).contains(&bounds[0].as_f64().unwrap()));
        assert!(
            r.json["attribution"]
                .as_str()
                .unwrap()
                .contains("Vonng/adcode")
        );
    }
}

/// A tile over its budget keeps the larger polygons of the layers below their full detail zoom
/// and drops the smaller ones, one threshold for the tile; other layers are untouched. Checked on
/// the independent decoder's reading of the tile drawn with and without a budget of three quarters of its
/// size, areas by shapely.
#[test]
fn a_tile_over_its_budget_drops_its_smallest_polygons_and_nothing_else() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let gaps = CoverageMap::compute(snap.dataset(), DEFAULT_RADIUS_M, None);
    let dir = tempfile::tempdir().unwrap();
    let (z, x, y) = (12u8, 3408, 1663);
    let coord = TileCoord::new(z.into(), x, y).unwrap();
    let full = render(&snap, coord, &TileConfig::default(), Some(&gaps)).unwrap();
    let budget = full.len() * 3 / 4;
    let thinned = drawn_just_under(&snap, coord, budget, Some(&gaps));
    std::fs::write(dir.path().join("0-0-0.mvt"), &full).unwrap();
    std::fs::write(dir.path().join("1-0-0.mvt"), &thinned).unwrap();
    let decoded = decode(dir.path());
    let layers = |t: &Value| t["layers"].as_object().unwrap().clone();
    let (full, thinned) = (layers(&decoded[0]), layers(&decoded[1]));
    let mut kept_areas = Vec::new();
    let mut dropped_areas = Vec::new();
    for layer in all(&snap)
        .iter()
        .filter(|l| (l.minzoom..=l.maxzoom).contains(&z))
    {
        let features = |t: &serde_json::Map<String, Value>| -> BTreeMap<u64, Value> {
            t.get(layer.name)
                .and_then(Value::as_array)
                .map(|fs| {
                    fs.iter()
                        .map(|f| (f["id"].as_u64().unwrap(), f.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (before, after) = (features(&full), features(&thinned));
        let thinnable = z < layer.full_detail_zoom
            && layer.geometry() == gridmap::tiles::stats::GeomKind::Polygon;
        if !thinnable {
            assert_eq!(
                before.keys().collect::<Vec<_>>(),
                after.keys().collect::<Vec<_>>(),
                "{}: a layer at full detail or of points keeps every feature",
                layer.name
            );
            continue;
        }
        for (id, f) in &before {
            assert_eq!(f["valid"], true);
            let area = f["area"].as_f64().unwrap();
            match after.get(id) {
                Some(kept) => {
                    assert_eq!(
                        kept["area"], f["area"],
                        "{} {id}: redrawn the same",
                        layer.name
                    );
                    kept_areas.push(area);
                }
                None => dropped_areas.push(area),
            }
        }
        assert!(
            after.keys().all(|id| before.contains_key(id)),
            "{}",
            layer.name
        );
    }
    assert!(!dropped_areas.is_empty(), "the budget dropped polygons");
    assert!(!kept_areas.is_empty(), "and kept some");
    let largest_dropped = dropped_areas.iter().copied().fold(0.0, f64::max);
    let smallest_kept = kept_areas.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        largest_dropped < smallest_kept,
        "dropped one of {largest_dropped} square units, kept one of {smallest_kept}"
    );
}

/// A budget the polygons alone cannot meet: they all go below their full detail zoom, and the
/// points there are thinned (kept ones are the tile's own, fewer); layers at full detail keep
/// every feature, and the tile fits.
#[test]
fn a_tile_far_over_its_budget_thins_its_points_too() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let dir = tempfile::tempdir().unwrap();
    let (z, x, y) = (12u8, 3408, 1663);
    let coord = TileCoord::new(z.into(), x, y).unwrap();
    let full = render(&snap, coord, &TileConfig::default(), None).unwrap();
    let budget = full.len() / 4;
    let thinned = drawn_just_under(&snap, coord, budget, None);
    std::fs::write(dir.path().join("0-0-0.mvt"), &full).unwrap();
    std::fs::write(dir.path().join("1-0-0.mvt"), &thinned).unwrap();
    let decoded = decode(dir.path());
    let ids = |t: &Value, layer: &str| -> BTreeSet<u64> {
        t["layers"][layer]
            .as_array()
            .map(|fs| fs.iter().map(|f| f["id"].as_u64().unwrap()).collect())
            .unwrap_or_default()
    };
    let mut thinned_points = 0;
    for layer in all(&snap)
        .iter()
        .filter(|l| (l.minzoom..=l.maxzoom).contains(&z))
    {
        let (before, after) = (ids(&decoded[0], layer.name), ids(&decoded[1], layer.name));
        if z >= layer.full_detail_zoom {
            assert_eq!(before, after, "{}: at full detail", layer.name);
        } else if layer.geometry() == gridmap::tiles::stats::GeomKind::Polygon {
            assert!(
                after.is_empty(),
                "{}: every small-scale polygon dropped",
                layer.name
            );
        } else {
            assert!(after.is_subset(&before), "{}", layer.name);
            thinned_points += before.len() - after.len();
        }
    }
    assert!(thinned_points > 0, "points were thinned");
}

/// A few decoded tiles, summarised (features, properties, vertex counts), kept readable in review.
#[test]
fn decoded_tiles_snapshot() {
    let (_dir, state) = sample_state();
    let snap = state.index.load();
    let dir = tempfile::tempdir().unwrap();
    for (z, x, y) in [(8, 212, 103), (14, 13634, 6653)] {
        let bytes = render(
            &snap,
            TileCoord::new(z, x, y).unwrap(),
            &TileConfig::default(),
            None,
        )
        .unwrap();
        std::fs::write(dir.path().join(format!("{z}-{x}-{y}.mvt")), bytes).unwrap();
    }
    for tile in decode(dir.path()) {
        let summary: BTreeMap<String, Vec<Value>> = tile["layers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(layer, features)| {
                let mut rows: Vec<Value> = features
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        let vertices = if f["point"].is_array() { Value::from(1) } else { f["vertices"].clone() };
                        serde_json::json!({"id": f["id"], "type": f["type"], "name": f["properties"]["name"], "vertices": vertices})
                    })
                    .collect();
                rows.sort_by_key(|r| r["id"].as_u64());
                (layer.clone(), rows)
            })
            .collect();
        insta::assert_json_snapshot!(tile["tile"].as_str().unwrap().to_string(), summary);
    }
}

/// Over a real socket: what HTTP clients and GDAL see.
mod socket;

/// What a snapshot prepares for tiles (each polygon projected and simplified per zoom, its
/// label point and public tags; `tiles::shapes`) is the tile-independent part only: a tile is
/// the same bytes whichever tiles were drawn before it on that snapshot, in either datum.
#[test]
fn a_tile_is_the_same_whichever_tiles_were_drawn_before_it() {
    use gridmap::geodesy::Crs;
    let forward = Snapshot::build(gridmap::sample::dataset().unwrap());
    let backward = Snapshot::build(gridmap::sample::dataset().unwrap());
    let gaps = CoverageMap::compute(forward.dataset(), DEFAULT_RADIUS_M, None);
    let mut tiles = Vec::new();
    for z in [10u8, 12, 13, 14] {
        let (cx, cy) = tile_xy(geo::Point::new(119.585, 31.99167), z);
        for x in cx - 1..=cx + 1 {
            for y in cy - 1..=cy + 1 {
                for crs in [Crs::Wgs84, Crs::Gcj02] {
                    tiles.push((TileCoord::new(z.into(), x, y).unwrap(), crs));
                }
            }
        }
    }
    let draw = |snap: &Snapshot, (coord, crs): (TileCoord, Crs)| {
        let config = TileConfig {
            crs,
            ..TileConfig::default()
        };
        render(snap, coord, &config, Some(&gaps)).unwrap()
    };
    let first: Vec<Vec<u8>> = tiles.iter().map(|&t| draw(&forward, t)).collect();
    let mut last: Vec<Vec<u8>> = tiles.iter().rev().map(|&t| draw(&backward, t)).collect();
    last.reverse();
    let mut non_empty = 0;
    for (((coord, crs), a), b) in tiles.iter().zip(&first).zip(&last) {
        assert!(a == b, "{coord:?} {crs:?} differs with the drawing order");
        // Drawn again from what the snapshot holds now: still the same.
        assert!(*a == draw(&forward, (*coord, *crs)), "{coord:?} {crs:?}");
        non_empty += usize::from(!a.is_empty());
    }
    assert!(non_empty > 50, "only {non_empty} tiles hold anything");
}

/// Shapes and properties prepared for one snapshot serve the next one only where they still hold
/// (`tiles::carry_over`): after a grid, a town and an alliance's village move, a grid goes (every
/// later position shifts), a village is renamed and a declared feature moves, the tiles of a snapshot built from the
/// previous one with its shapes carried are byte for byte those of a snapshot built from nothing,
/// in both datums; the edits show in the tiles, and most shapes were carried.
#[test]
fn tiles_drawn_with_shapes_carried_over_a_change_are_those_of_a_fresh_snapshot() {
    use geo::{BoundingRect, Translate};
    use gridmap::geodesy::Crs;
    let centre = geo::Point::new(119.585, 31.99167);
    let before = Snapshot::build(gridmap::sample::dataset().unwrap());
    let mut tiles = Vec::new();
    for z in [10u8, 12, 13, 14, 15] {
        let (cx, cy) = tile_xy(centre, z);
        for x in cx - 1..=cx + 1 {
            for y in cy - 1..=cy + 1 {
                for crs in [Crs::Wgs84, Crs::Gcj02] {
                    tiles.push((TileCoord::new(z.into(), x, y).unwrap(), crs));
                }
            }
        }
    }
    let draw = |snap: &Snapshot, gaps: &CoverageMap, (coord, crs): (TileCoord, Crs)| {
        let config = TileConfig {
            crs,
            ..TileConfig::default()
        };
        render(snap, coord, &config, Some(gaps)).unwrap()
    };
    let gaps = CoverageMap::compute(before.dataset(), DEFAULT_RADIUS_M, None);
    // Every shape these tiles need is prepared on the first snapshot.
    let old: Vec<Vec<u8>> = tiles.iter().map(|&t| draw(&before, &gaps, t)).collect();

    let mut data = before.dataset().clone();
    // The grid and the town at the centre move.
    let at = before.locate(centre);
    let here = before
        .find(Layer::Grids, &at.grid.expect("a grid").code)
        .unwrap();
    let town = before
        .find(Layer::Towns, &at.town.expect("a town").code)
        .unwrap();
    let moved = data.grids[here].geometry.translate(0.0004, 0.0002);
    data.grids[here].geometry = moved;
    let moved = data.towns[town].geometry.translate(-0.0003, 0.0);
    data.towns[town].geometry = moved;
    data.grids.remove(here / 2);
    data.villages[0].name.push_str("（新）");
    // A member village moves, and with it its alliances' footprints.
    let member_village = data
        .members
        .iter()
        .find_map(|m| m.village_code.clone())
        .expect("a member village");
    let v = before.find(Layer::Villages, &member_village).unwrap();
    let moved = data.villages[v].geometry.translate(0.0, 0.0005);
    data.villages[v].geometry = moved;
    // The declared polygon nearest the centre moves (its layer is then not shared).
    let (layer, feature) = data
        .declared
        .iter()
        .enumerate()
        .flat_map(|(l, layer)| {
            layer
                .features
                .iter()
                .enumerate()
                .map(move |(i, f)| (l, i, f))
        })
        .filter(|(_, _, f)| matches!(f.geometry, geo::Geometry::MultiPolygon(_)))
        .map(|(l, i, f)| {
            let c = f.geometry.bounding_rect().unwrap().center();
            ((c.x - centre.x()).hypot(c.y - centre.y()), l, i)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, l, i)| (l, i))
        .expect("a declared polygon");
    let f = &mut data.declared[layer].features[feature];
    f.geometry = f.geometry.translate(0.0002, 0.0);
    let moved_layer = data.declared[layer].def.name;

    let after = Snapshot::build_after(Some(&before), data.clone());
    let carried = gridmap::tiles::carry_over(&before, &after);
    let fresh = Snapshot::build(data);
    let gaps = CoverageMap::compute(fresh.dataset(), DEFAULT_RADIUS_M, None);
    let mut changed = 0;
    for (i, &tile) in tiles.iter().enumerate() {
        let (carried_tile, fresh_tile) = (draw(&after, &gaps, tile), draw(&fresh, &gaps, tile));
        assert!(
            carried_tile == fresh_tile,
            "{tile:?} differs from a fresh snapshot's"
        );
        changed += usize::from(carried_tile != old[i]);
    }
    assert!(changed > 10, "the edits show in {changed} tiles");
    // Counted over every zoom and datum drawn: most grids, and every other layer that can be;
    // posts have no shapes, so what is carried of them is their properties.
    let grids = before.dataset().grids.len();
    assert!(carried["grids"] > grids / 2, "{carried:?} ({grids} grids)");
    for layer in ["towns", "villages", "stations", "police_beats"] {
        assert!(carried.get(layer) > Some(&0), "{layer}: {carried:?}");
    }
    for never in ["coverage_gaps", moved_layer] {
        assert!(!carried.contains_key(never), "{never} carried: {carried:?}");
    }
}

/// `coord` of `snap` drawn with a budget of `budget` bytes: within it, and, thinned by estimate
/// first (`budget::plan`) and then by what the drawing weighed, not far below it either.
fn drawn_just_under(
    snap: &Snapshot,
    coord: TileCoord,
    budget: usize,
    gaps: Option<&CoverageMap>,
) -> Vec<u8> {
    let config = TileConfig {
        budget_bytes: budget,
        ..TileConfig::default()
    };
    let thinned = render(snap, coord, &config, gaps).unwrap();
    assert!(
        (budget * 9 / 10..=budget).contains(&thinned.len()),
        "{coord:?}: {} bytes for a budget of {budget}",
        thinned.len()
    );
    thinned
}

/// Tiles drawn whole, whatever they weigh.
fn no_budget() -> TileConfig {
    TileConfig {
        budget_bytes: usize::MAX,
        ..TileConfig::default()
    }
}

/// A tile that fits its budget is drawn whole, even when the estimate the budget plans by says it
/// would not (the densest tile of `generate --scale 10` estimates more than its bytes): at its own
/// size and 5% more, both it and the sample's densest tile are byte for byte the tile without a
/// budget.
#[test]
fn a_tile_within_its_budget_is_drawn_whole() {
    let sample = Snapshot::build(gridmap::sample::dataset().unwrap());
    let dense = Snapshot::build(gridmap::generate::generate(10).unwrap());
    let coord = TileCoord::new(12, 3408, 1663).unwrap();
    for snap in [&sample, &dense] {
        let full = render(snap, coord, &no_budget(), None).unwrap();
        for budget_bytes in [full.len(), full.len() * 21 / 20] {
            let config = TileConfig {
                budget_bytes,
                ..TileConfig::default()
            };
            let tile = render(snap, coord, &config, None).unwrap();
            assert!(
                tile == full,
                "{} bytes drawn for a budget of {budget_bytes}, {} whole",
                tile.len(),
                full.len()
            );
        }
    }
}

/// The densest tile of a generated city ten times the sample, at a half to a sixth of its size:
/// the budget plans its thinning from estimated sizes (`budget::plan`), which count more than the
/// encoder writes; a plan that thinned too far is made again from what its drawing weighed, so
/// the tile ends just under the budget, not far below it (at a sixth, 87% of it without that).
#[test]
fn a_dense_tile_is_thinned_to_just_under_its_budget() {
    let snap = Snapshot::build(gridmap::generate::generate(10).unwrap());
    let coord = TileCoord::new(12, 3408, 1663).unwrap();
    let full = render(&snap, coord, &no_budget(), None).unwrap();
    for share in [2, 3, 4, 6] {
        let budget = full.len() / share;
        drawn_just_under(&snap, coord, budget, None);
    }
}
