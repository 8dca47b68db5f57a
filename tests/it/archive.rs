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
        );
        assert!(live == *bytes, "{z}/{x}/{y} differs from the live tile");
    }
    // Every non-empty live tile over the sample is in the archive.
    let b = snap.extent(Layer::Towns).unwrap();
    for z in 8..=13 {
        for c in gridmap::tiles::archive::tiles_covering(&b, z) {
            let live = render(&snap, c, &TileConfig::default(), Some(&gaps));
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
