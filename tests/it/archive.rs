//! PMTiles archives, read back by an independent reader (PyPI `pmtiles`, by Protomaps) and
//! compared with the live endpoint, which also serves from the archive with `--tiles`.

use std::collections::BTreeMap;
use std::process::Command;

use axum::body::Body;
use axum::http::Request;
use gridmap::model::Layer;
use gridmap::tiles::archive::Archive;
use gridmap::tiles::{TileConfig, TileCoord, render};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{assert_success, gridmap, repo, sample_state};

/// Tile bytes by (z, x, y).
type Tiles = BTreeMap<(u8, u32, u32), Vec<u8>>;

fn read_with_python(path: &std::path::Path) -> (Value, Tiles) {
    let out = Command::new("python3")
        .arg(repo().join("tests/tiles/read_pmtiles.py"))
        .arg(path)
        .output()
        .expect("python3 runs (the README's test command installs pmtiles)");
    assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let tiles = lines
        .map(|l| {
            let t: Value = serde_json::from_str(l).unwrap();
            let hex = t["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (
                (
                    t["z"].as_u64().unwrap() as u8,
                    t["x"].as_u64().unwrap() as u32,
                    t["y"].as_u64().unwrap() as u32,
                ),
                bytes,
            )
        })
        .collect();
    (header, tiles)
}

#[tokio::test]
async fn an_independent_reader_reads_the_archive_and_it_matches_the_live_tiles() {
    let (dir, state) = sample_state();
    let path = dir.path().join("danyang.pmtiles");
    // The CLI, as a user runs it.
    let out = gridmap(
        &dir.path().join("gridmap.gpkg"),
        &[
            "tiles",
            "--min-zoom",
            "8",
            "--max-zoom",
            "13",
            "--out",
            path.to_str().unwrap(),
        ],
    );
    assert_success(&out);

    let (header, tiles) = read_with_python(&path);
    assert_eq!(
        (header["min_zoom"].as_u64(), header["max_zoom"].as_u64()),
        (Some(8), Some(13))
    );
    assert_eq!(header["tile_type"], 1, "MVT");
    assert!(
        header["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "grids")
    );
    assert!(tiles.len() > 100, "{} tiles", tiles.len());

    let snap = state.index.load();
    let gaps = gridmap::analysis::coverage::CoverageMap::compute(
        snap.dataset(),
        gridmap::analysis::coverage::DEFAULT_RADIUS_M,
        None,
    );
    for (&(z, x, y), bytes) in &tiles {
        let live = render(
            &snap,
            TileCoord::new(z.into(), x, y).unwrap(),
            &TileConfig::default(),
            Some(&gaps),
        )
        .unwrap();
        assert!(live == *bytes, "{z}/{x}/{y} differs from the live tile");
    }
    // Every non-empty live tile over the sample is in the archive.
    let b = snap.extent(Layer::Towns).unwrap();
    for z in 8..=13 {
        for c in gridmap::tiles::archive::tiles_covering(&b, z) {
            let live = render(&snap, c, &TileConfig::default(), Some(&gaps)).unwrap();
            assert_eq!(
                !live.is_empty(),
                tiles.contains_key(&(c.z, c.x, c.y)),
                "{c:?}"
            );
        }
    }

    // And `serve --tiles` serves exactly those bytes.
    let archived = state
        .clone()
        .with_archive(Archive::open(&path).await.unwrap());
    let (&(z, x, y), bytes) = tiles.iter().next_back().unwrap();
    let response = gridmap::http::router(archived)
        .oneshot(
            Request::get(format!("/tiles/{z}/{x}/{y}.mvt"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
        *bytes
    );
}

/// How GDAL (3.12, bundled with PyPI pyogrio) sees a tile set: `tests/tiles/gdal_read.py`.
pub fn gdal_read(source: &str, layers: &[&str]) -> Value {
    let out = Command::new("python3")
        .arg(repo().join("tests/tiles/gdal_read.py"))
        .arg(source)
        .args(layers)
        .output()
        .expect("python3 runs (the README's test command installs pyogrio)");
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What the layer table says each layer is, as GDAL names the type it reads from `tilestats`
/// (an MVT point feature may hold several points, so GDAL says MultiPoint for tippecanoe's Point).
pub fn gdal_type(layer: &str) -> &'static str {
    let snap = gridmap::index::Snapshot::build(gridmap::sample::dataset().unwrap());
    let table = gridmap::tiles::layers::all(&snap)
        .into_iter()
        .find(|l| l.name == layer)
        .unwrap_or_else(|| panic!("{layer} is not in the layer table"));
    match table.geometry() {
        gridmap::tiles::stats::GeomKind::Point => "MultiPoint",
        gridmap::tiles::stats::GeomKind::LineString => "MultiLineString",
        gridmap::tiles::stats::GeomKind::Polygon => "MultiPolygon",
    }
}

#[tokio::test]
async fn the_archive_carries_tilestats_of_what_its_tiles_encode_and_gdal_types_every_layer() {
    let (dir, state) = sample_state();
    let path = dir.path().join("danyang.pmtiles");
    let out = path.to_str().unwrap();
    assert_success(&gridmap(
        &dir.path().join("gridmap.gpkg"),
        &[
            "tiles",
            "--min-zoom",
            "10",
            "--max-zoom",
            "14",
            "--out",
            out,
        ],
    ));
    let (header, tiles) = read_with_python(&path);
    let metadata = &header["metadata"];
    assert!(
        metadata.get("tiles").is_none(),
        "an archive names no tile URL: {}",
        metadata["tiles"]
    );

    // The statistics, recounted here from the tiles the independent reader returned, decoded
    // by the Python decoder: every feature id once per layer, its geometry type and its values.
    let decoded_dir = tempfile::tempdir().unwrap();
    for ((z, x, y), bytes) in &tiles {
        std::fs::write(decoded_dir.path().join(format!("{z}-{x}-{y}.mvt")), bytes).unwrap();
    }
    let mut ids: BTreeMap<String, std::collections::BTreeSet<u64>> = BTreeMap::new();
    let mut kinds: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for tile in crate::tiles::decode(decoded_dir.path()) {
        for (layer, features) in tile["layers"].as_object().unwrap() {
            for f in features.as_array().unwrap() {
                ids.entry(layer.clone())
                    .or_default()
                    .insert(f["id"].as_u64().unwrap());
                kinds
                    .entry(layer.clone())
                    .or_default()
                    .insert(f["type"].as_str().unwrap().into());
            }
        }
    }
    let stats = &metadata["tilestats"];
    let layers = stats["layers"].as_array().unwrap();
    assert_eq!(stats["layerCount"], layers.len());
    assert_eq!(layers.len(), ids.len(), "{ids:?}");
    let snap = state.index.load();
    for l in layers {
        let name = l["layer"].as_str().unwrap();
        assert_eq!(l["count"], ids[name].len(), "{name}: features counted once");
        let geometry = l["geometry"].as_str().unwrap();
        assert!(
            kinds[name].iter().all(|k| k.contains(geometry)),
            "{name}: tilestats say {geometry}, the decoder read {:?}",
            kinds[name]
        );
        assert_eq!(
            l["attributeCount"],
            l["attributes"].as_array().unwrap().len()
        );
        for a in l["attributes"].as_array().unwrap() {
            let values = a["values"].as_array().unwrap();
            assert!(values.len() <= 100 && a["count"].as_u64().unwrap() >= values.len() as u64);
            if a["type"] == "number" {
                assert!(
                    a["min"].as_f64().unwrap() <= a["max"].as_f64().unwrap(),
                    "{a}"
                );
            }
        }
    }
    let towns = layers.iter().find(|l| l["layer"] == "towns").unwrap();
    assert_eq!(towns["count"], snap.dataset().towns.len());
    let names = towns["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attribute"] == "name")
        .unwrap();
    assert_eq!(names["type"], "string");
    assert_eq!(names["count"], snap.dataset().towns.len());

    // The live server's statistics (counted from the index, not from tiles) agree with these on
    // every layer's geometry and on each attribute's type; served from this archive, the
    // archive's own are served.
    let live = crate::common::get(&state, "/tiles/metadata.json")
        .await
        .json;
    let live: Value = serde_json::from_str(live["json"].as_str().unwrap()).unwrap();
    let summary = |layer: &Value| {
        let attributes: Vec<(Value, Value)> = layer["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["attribute"].clone(), a["type"].clone()))
            .collect();
        (layer["geometry"].clone(), attributes)
    };
    for l in layers {
        let served = live["tilestats"]["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["layer"] == l["layer"])
            .unwrap_or_else(|| panic!("{} missing from metadata.json", l["layer"]));
        assert_eq!(summary(served), summary(l), "{}", l["layer"]);
    }
    let archived = state
        .clone()
        .with_archive(Archive::open(&path).await.unwrap());
    let served = crate::common::get(&archived, "/tiles/metadata.json")
        .await
        .json;
    let served: Value = serde_json::from_str(served["json"].as_str().unwrap()).unwrap();
    assert_eq!(served["tilestats"], *stats);

    // GDAL types every layer from the statistics and reads the features as typed.
    let gdal = gdal_read(out, &["grids", "stations"]);
    let listed = gdal["layers"].as_object().unwrap();
    assert_eq!(listed.len(), layers.len());
    for (name, kind) in listed {
        assert_eq!(kind, gdal_type(name), "{name}: {gdal}");
    }
    let grids = &gdal["read"]["grids"];
    assert_eq!(
        grids["geometries"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["MultiPolygon"]
    );
    assert_eq!(
        grids["fields"]["population"], "int32",
        "integer min/max: an integer field"
    );
    let stations = &gdal["read"]["stations"];
    assert_eq!(stations["features"], snap.dataset().stations.len());
    assert_eq!(
        stations["geometries"]["MultiPoint"],
        snap.dataset().stations.len()
    );
}

/// An archive another tool wrote still serves its tiles, whatever its metadata: none that is
/// JSON (then metadata.json describes the layers gridmap draws), or a JSON object without the
/// fields PMTiles keeps in its header (then the archive's layers, with the header's zooms,
/// bounds and centre).
#[tokio::test]
async fn archives_other_tools_wrote_serve_with_header_zooms_whatever_their_metadata() {
    let (dir, state) = sample_state();
    let c = TileCoord {
        z: 9,
        x: 426,
        y: 208,
    };
    let tile = render(&state.index.load(), c, &TileConfig::default(), None).unwrap();
    assert!(!tile.is_empty(), "the sample draws something at 9/426/208");
    let foreign_layers = r#"{"vector_layers":[{"id":"from_elsewhere","fields":{}}],"minzoom":"0"}"#;
    for (name, metadata, layer) in [
        ("not-json", "made by hand, not JSON", "towns"),
        ("partial", foreign_layers, "from_elsewhere"),
    ] {
        let path = dir.path().join(format!("{name}.pmtiles"));
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = pmtiles::PmTilesWriter::new(pmtiles::TileType::Mvt)
            .min_zoom(9)
            .max_zoom(9)
            .bounds(119.3, 31.7, 119.9, 32.2)
            .create(file)
            .unwrap();
        writer
            .add_tile(pmtiles::TileCoord::new(9, 426, 208).unwrap(), &tile)
            .unwrap();
        writer.set_metadata(metadata.to_string());
        writer.finalize().unwrap();

        let archived = state.clone().with_archive(
            Archive::open(&path)
                .await
                .expect("opens whatever its metadata"),
        );
        let r = crate::common::get(&archived, "/tiles/metadata.json").await;
        assert_eq!(r.status, 200, "{name}");
        assert_eq!(
            (r.json["minzoom"].as_str(), r.json["maxzoom"].as_str()),
            (Some("9"), Some("9")),
            "{name}"
        );
        assert!(
            r.json["bounds"]
                .as_str()
                .unwrap()
                .starts_with("119.3,31.7,119.9,32.2"),
            "{name}: {}",
            r.json["bounds"]
        );
        let inner: Value = serde_json::from_str(r.json["json"].as_str().unwrap()).unwrap();
        let layers: Vec<&str> = inner["vector_layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert!(layers.contains(&layer), "{name}: {layers:?}");
        let served = gridmap::http::router(archived)
            .oneshot(
                Request::get("/tiles/9/426/208.mvt")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(served.status(), 200, "{name}");
        let body = served.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.as_ref(), tile.as_slice(), "{name}");
    }
}

/// `gridmap tiles --crs gcj02`: the archive says it is GCJ-02, and each of its tiles is the live
/// `/tiles/gcj02/...` tile, byte for byte (read back by the independent reader).
#[tokio::test]
async fn a_gcj02_archive_holds_the_gcj02_tile_set() {
    let (dir, state) = sample_state();
    let path = dir.path().join("gcj02.pmtiles");
    let out = gridmap(
        &dir.path().join("gridmap.gpkg"),
        &[
            "tiles",
            "--crs",
            "gcj02",
            "--min-zoom",
            "10",
            "--max-zoom",
            "12",
            "--out",
            path.to_str().unwrap(),
        ],
    );
    assert_success(&out);
    let (header, tiles) = read_with_python(&path);
    assert_eq!(header["metadata"]["crs"], "gcj02");
    assert!(tiles.len() > 10, "{} tiles", tiles.len());
    let snap = state.index.load();
    let gaps = gridmap::analysis::coverage::CoverageMap::compute(
        snap.dataset(),
        gridmap::analysis::coverage::DEFAULT_RADIUS_M,
        None,
    );
    let config = TileConfig {
        crs: gridmap::geodesy::Crs::Gcj02,
        ..TileConfig::default()
    };
    for (&(z, x, y), bytes) in &tiles {
        let live = render(
            &snap,
            TileCoord::new(z.into(), x, y).unwrap(),
            &config,
            Some(&gaps),
        )
        .unwrap();
        assert!(
            live == *bytes,
            "{z}/{x}/{y} differs from the live GCJ-02 tile"
        );
        let wgs = render(
            &snap,
            TileCoord::new(z.into(), x, y).unwrap(),
            &TileConfig::default(),
            Some(&gaps),
        )
        .unwrap();
        assert!(
            wgs != *bytes || wgs.is_empty(),
            "{z}/{x}/{y} is the WGS84 tile"
        );
    }
}
