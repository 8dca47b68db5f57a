//! The command line as a user meets it: imports that fail validation, export, check.

use gridmap::store::{GeoPackage, Store};

use crate::common::{assert_success, gridmap, sample_state};

#[test]
fn an_import_that_breaks_a_rule_names_the_feature_and_changes_nothing() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let before = GeoPackage::open(&store, gridmap::model::declared::Declarations::shipped())
        .unwrap()
        .load()
        .unwrap();
    let file = dir.path().join("bad.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"code":"321181001001901","name":"新网格","households":10,"population":20},
         "geometry":{"type":"Polygon","coordinates":[[[119.58,31.99],[119.59,31.99],[119.59,32.0],[119.58,31.99]]]}},
        {"type":"Feature","properties":{"code":"321181999999001","name":"孤儿网格","households":10,"population":20},
         "geometry":{"type":"Polygon","coordinates":[[[119.58,31.99],[119.59,31.99],[119.59,32.0],[119.58,31.99]]]}}
        ]}"#,
    )
    .unwrap();
    let out = gridmap(
        &store,
        &["import", "--layer", "grids", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("321181999999001") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert_eq!(
        GeoPackage::open(&store, gridmap::model::declared::Declarations::shipped())
            .unwrap()
            .load()
            .unwrap(),
        before
    );
}

#[test]
fn an_unclosed_ring_is_reported_before_anything_is_written() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let file = dir.path().join("open.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"321181001","name":"x"},
         "geometry":{"type":"Polygon","coordinates":[[[119.5,31.9],[119.6,31.9],[119.6,32.0],[119.5,32.0]]]}}]}"#,
    )
    .unwrap();
    let out = gridmap(
        &store,
        &["import", "--layer", "towns", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not closed"));
    let out = gridmap(
        &store,
        &["import", "--layer", "towns", "/no/such/file.geojson"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn upsert_updates_one_feature_and_export_round_trips() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    // Without --with-personal the export leaves personal fields out.
    let out = gridmap(&store, &["export", "--layer", "stations"]);
    assert!(out.status.success());
    let plain: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        plain["features"][0]["properties"]
            .get("contact_phone")
            .is_none()
    );
    // With it, the export is the store's own full record, in a file only its owner may read.
    let full = dir.path().join("stations.geojson");
    let out = gridmap(
        &store,
        &[
            "export",
            "--layer",
            "stations",
            "--with-personal",
            "-o",
            full.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&full).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let mut stations: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&full).unwrap()).unwrap();
    let features = stations["features"].as_array_mut().unwrap();
    assert_eq!(features.len(), 300);
    assert!(features[0]["properties"]["contact_phone"].is_string());
    let mut one = features[0].clone();
    one["properties"]["name"] = "改名驿站".into();
    let file = dir.path().join("one.geojson");
    std::fs::write(
        &file,
        serde_json::json!({"type": "FeatureCollection", "features": [one]}).to_string(),
    )
    .unwrap();
    let out = gridmap(
        &store,
        &["import", "--layer", "stations", file.to_str().unwrap()],
    );
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 inserted, 1 updated"));
    let after = GeoPackage::open(&store, gridmap::model::declared::Declarations::shipped())
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(after.stations.len(), 300);
    assert_eq!(after.stations[0].name, "改名驿站");
}

#[test]
fn check_passes_on_the_sample_and_names_a_village_with_a_hole() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let out = gridmap(&store, &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Shrink one grid to a corner of itself: its village now has a gap.
    let mut data = GeoPackage::open(&store, gridmap::model::declared::Declarations::shipped())
        .unwrap()
        .load()
        .unwrap();
    let grid = &mut data.grids[0];
    let code = grid.code.clone();
    let r = geo::BoundingRect::bounding_rect(&grid.geometry).unwrap();
    let small = geo::Rect::new(
        r.min(),
        geo::coord! {x: r.min().x + r.width() / 10.0, y: r.min().y + r.height() / 10.0},
    );
    grid.geometry = geo::BooleanOps::intersection(&grid.geometry, &small.to_polygon());
    if grid.geometry.0.is_empty() {
        grid.geometry = geo::MultiPolygon(vec![small.to_polygon()]);
    }
    GeoPackage::open(&store, gridmap::model::declared::Declarations::shipped())
        .unwrap()
        .replace_all(&data, &|_, _| {})
        .unwrap();
    let out = gridmap(&store, &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("village {}", &code[..12])),
        "{stdout}"
    );
}

#[test]
fn coverage_and_suggest_print_tables_csv_and_geojson() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let out = gridmap(&store, &["coverage", "--level", "town"]);
    assert_success(&out);
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + 12 + 1, "header, 12 towns, total");
    // Chinese names are padded by display width, so the numbers line up in every row.
    // The display column where the third field (the right-aligned area) ends.
    let column = |line: &str| {
        let (mut width, mut tokens, mut in_token) = (0, 0, false);
        for c in line.chars() {
            let space = c == ' ';
            if !space && !in_token {
                tokens += 1;
            }
            if space && in_token && tokens == 3 {
                return width;
            }
            in_token = !space;
            width += if c.is_ascii() { 1 } else { 2 };
        }
        width
    };
    let first = column(lines[1]);
    assert!(lines[1..].iter().all(|l| column(l) == first), "{table}");

    let out = gridmap(
        &store,
        &["coverage", "--format", "geojson", "--radius", "300"],
    );
    assert_success(&out);
    let gaps: geojson::FeatureCollection = String::from_utf8_lossy(&out.stdout).parse().unwrap();
    assert!(!gaps.features.is_empty());

    let out = gridmap(&store, &["suggest", "-k", "3"]);
    assert_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2 + 3);

    let out = gridmap(&store, &["coverage", "--radius", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("50..=5000"));
}
