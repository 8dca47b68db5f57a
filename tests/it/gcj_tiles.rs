//! The GCJ-02 tile set (issue 16): `/tiles/gcj02/{z}/{x}/{y}.mvt` draws every feature at its
//! GCJ-02 position in Web Mercator, decoded by an independent decoder (PyPI mapbox-vector-tile):
//! each post where its converted position falls, the set of posts in a tile exactly those whose
//! GCJ-02 position lies in it (by brute force), polygons valid and wound as MVT says. Its
//! TileJSON names it; a change drops its cached tiles as it does the WGS84 set's.

use geo::Point;
use gridmap::geodesy::wgs84_to_gcj02;
use serde_json::Value;

use crate::common::{backed_state, get, get_raw};
use crate::tiles::decode;

/// Tile units (of 4096) of a lon/lat in tile z/x/y, y down (slippy-map formulas).
fn tile_units(p: Point, z: u8, x: u32, y: u32) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let wx = (p.x() + 180.0) / 360.0 * n;
    let wy = (1.0 - p.y().to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    ((wx - f64::from(x)) * 4096.0, (wy - f64::from(y)) * 4096.0)
}

#[tokio::test]
async fn gcj02_tiles_put_every_post_at_its_gcj02_position() {
    let (_keep, state) = backed_state();
    let stations = state.index.load().dataset().stations.clone();
    let z = 15;
    let dir = tempfile::tempdir().unwrap();
    let mut asked = Vec::new();
    for s in stations.iter().step_by(97).take(6) {
        let g = wgs84_to_gcj02(s.location);
        let (x, y) = crate::common::tile_xy(g, z);
        let raw = get_raw(&state, &format!("/tiles/gcj02/{z}/{x}/{y}.mvt"), &[]).await;
        assert_eq!(raw.status, 200);
        std::fs::write(dir.path().join(format!("{z}-{x}-{y}.mvt")), &raw.body).unwrap();
        asked.push((x, y));
    }
    let decoded = decode(dir.path());
    assert_eq!(decoded.len(), asked.len());
    for tile in &decoded {
        let name = tile["tile"].as_str().unwrap();
        let [_, x, y]: [u32; 3] = name
            .split('-')
            .map(|n| n.parse().unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        let drawn: Vec<&Value> = tile["layers"]["stations"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        // Exactly the posts whose GCJ-02 position lies in the tile, each where it converts to.
        let mut expected: Vec<u64> = Vec::new();
        for s in &stations {
            let (tx, ty) = tile_units(wgs84_to_gcj02(s.location), z, x, y);
            if (0.0..4096.0).contains(&tx) && (0.0..4096.0).contains(&ty) {
                expected.push(s.id);
                let f = drawn
                    .iter()
                    .find(|f| f["id"].as_u64() == Some(s.id))
                    .unwrap_or_else(|| panic!("{name}: post {} missing", s.id));
                let p = &f["point"];
                let (px, py) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                assert!(
                    (px - tx).abs() <= 1.0 && (py - ty).abs() <= 1.0,
                    "{name}: post {} at {px},{py}, expected {tx},{ty}",
                    s.id
                );
                // And not where its WGS84 position is: the shift is hundreds of tile units.
                let (wx, wy) = tile_units(s.location, z, x, y);
                assert!(
                    (px - wx).hypot(py - wy) > 100.0,
                    "{name}: post {} not shifted",
                    s.id
                );
            }
        }
        let mut got: Vec<u64> = drawn.iter().filter_map(|f| f["id"].as_u64()).collect();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "{name}");
        for (layer, features) in tile["layers"].as_object().unwrap() {
            for f in features.as_array().unwrap() {
                if f.get("valid").is_some() {
                    assert_eq!(f["valid"], true, "{name} {layer}: {f}");
                    assert_eq!(f["winding_ok"], true, "{name} {layer}: {f}");
                }
            }
        }
    }
}

#[tokio::test]
async fn the_gcj02_tilejson_names_its_tiles_and_a_change_drops_its_cache() {
    let (_keep, state) = backed_state();
    let tj = get(&state, "/tiles/gcj02.json").await;
    assert_eq!(tj.status, 200);
    assert_eq!(tj.json["crs"], "gcj02");
    assert!(
        tj.json["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/gcj02/{z}/{x}/{y}.mvt")
    );
    let wgs = get(&state, "/tiles.json").await;
    // Its bounds hold the WGS84 set's, shifted: every point along their edges, converted.
    let b = |v: &Value, i: usize| v["bounds"][i].as_f64().unwrap();
    let (w, g) = (&wgs.json, &tj.json);
    for i in 0..=100 {
        let t = f64::from(i) / 100.0;
        let x = b(w, 0) + (b(w, 2) - b(w, 0)) * t;
        let y = b(w, 1) + (b(w, 3) - b(w, 1)) * t;
        for p in [(x, b(w, 1)), (x, b(w, 3)), (b(w, 0), y), (b(w, 2), y)] {
            let q = wgs84_to_gcj02(Point::new(p.0, p.1));
            let slack = 1e-7;
            assert!(
                q.x() >= b(g, 0) - slack && q.x() <= b(g, 2) + slack,
                "{q:?} outside {g}"
            );
            assert!(
                q.y() >= b(g, 1) - slack && q.y() <= b(g, 3) + slack,
                "{q:?} outside {g}"
            );
        }
    }
    // And not much more: the corner is within 100 m of the corner's image.
    let lo = wgs84_to_gcj02(Point::new(b(w, 0), b(w, 1)));
    assert!(gridmap::geodesy::distance_m(lo, Point::new(b(g, 0), b(g, 1))) < 100.0);
    let events = get(&state, "/tiles/gcj02/events.json").await;
    assert!(
        events.json["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/tiles/gcj02/events/{z}/{x}/{y}.mvt")
    );

    // A post's tile, cached; the post moved in the store; after catching up the tile is drawn
    // again, the post at its new place.
    let s = state.index.load().dataset().stations[3].as_ref().clone();
    let (x, y) = crate::common::tile_xy(wgs84_to_gcj02(s.location), 15);
    let uri = format!("/tiles/gcj02/15/{x}/{y}.mvt");
    let before = get_raw(&state, &uri, &[]).await.body;
    assert_eq!(get_raw(&state, &uri, &[]).await.body, before, "cached");
    assert!(!state.tiles_gcj02.is_empty());
    let mut moved = s.clone();
    // 40 m east, still inside its grid (else the store refuses the post).
    moved.location = Point::new(s.location.x() + 0.0004, s.location.y());
    state
        .store
        .import(
            gridmap::model::LayerData::Stations(vec![moved]),
            false,
            &|_, _| {},
        )
        .unwrap();
    assert!(state.reload().unwrap() > 0, "no cached tile dropped");
    let after = get_raw(&state, &uri, &[]).await.body;
    assert_ne!(
        after, before,
        "the GCJ-02 tile still shows the old position"
    );
}
