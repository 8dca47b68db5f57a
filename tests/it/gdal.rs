//! GDAL reads what gridmap writes and serves: the GeoPackage file, and OGC API - Features over a
//! real socket.

use std::collections::BTreeMap;
use std::process::Output;

use crate::common::{Server, assert_success, http_get, ogrinfo, sample_state};

/// `Layer name` -> `Feature Count` from `ogrinfo -so -al` output.
fn counts(output: &Output) -> BTreeMap<String, usize> {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut out = BTreeMap::new();
    let mut layer = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("Layer name: ") {
            layer = Some(name.trim().to_string());
        }
        if let (Some(n), Some(l)) = (line.strip_prefix("Feature Count: "), &layer) {
            out.insert(l.clone(), n.trim().parse().unwrap());
        }
    }
    out
}

/// Every built-in and declared layer with its sample count.
fn expected() -> BTreeMap<String, usize> {
    let d = gridmap::sample::dataset().unwrap();
    gridmap::model::Layer::ALL
        .iter()
        .map(|&l| (l.name().to_string(), d.count(l)))
        .chain(
            d.declared
                .iter()
                .map(|l| (l.def.name.to_string(), l.features.len())),
        )
        .collect()
}

/// What the public reads over HTTP: every layer's features but a staff layer's (none).
fn expected_public() -> BTreeMap<String, usize> {
    let staff: Vec<&str> = gridmap::model::declared::Declarations::shipped()
        .layers
        .iter()
        .filter(|d| d.staff_only())
        .map(|d| d.name)
        .collect();
    assert!(!staff.is_empty(), "the sample has a staff layer");
    expected()
        .into_iter()
        .map(|(name, n)| {
            let n = if staff.contains(&name.as_str()) { 0 } else { n };
            (name, n)
        })
        .collect()
}

#[test]
fn ogrinfo_opens_the_geopackage_and_sees_every_layer() {
    let (dir, _state) = sample_state();
    let output = ogrinfo()
        .args(["-ro", "-so", "-al"])
        .arg(dir.path().join("gridmap.gpkg"))
        .output()
        .unwrap();
    assert_success(&output);
    let mut want = expected();
    // The record of the declared layers' tables, an attributes table.
    want.insert(
        "gridmap_layers".into(),
        gridmap::sample::dataset().unwrap().declared.len(),
    );
    assert_eq!(counts(&output), want);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("ERROR"), "{stderr}");
}

#[test]
fn first_serve_creates_the_store_and_gdal_reads_it_over_oapif() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("new/gridmap.gpkg");
    let server = Server::start(&store);
    assert!(store.exists());
    let (status, body) = http_get(server.port, "/collections/grids/items?limit=1");
    assert_eq!(status, 200, "{body}");
    let grids: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(grids["numberMatched"], expected()["grids"]);

    let url = format!("OAPIF:{}", server.url());
    let output = ogrinfo()
        .args(["-ro", "-so", &url, "stations"])
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(counts(&output).get("stations"), Some(&300));
    let output = ogrinfo()
        .args(["-ro", "-so", "-al", &url])
        .output()
        .unwrap();
    assert_eq!(counts(&output), expected_public());

    // With a city account's token GDAL finds the events collection too (the public is not
    // offered it), and counts what /events lists.
    let token = crate::common::add_user(&store, "gdal.city", "city", &[]);
    let auth = format!("Bearer {token}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let listed = loop {
        let text = crate::common::http_raw(
            server.port,
            "GET",
            "/events?limit=1",
            &[("Authorization", &auth)],
            "",
        );
        let (status, body) = crate::common::status_and_body(&text);
        if status == 200 {
            break serde_json::from_str::<serde_json::Value>(&body).unwrap()["numberMatched"]
                .as_u64()
                .unwrap();
        }
        // The server re-reads accounts about once a second.
        assert_eq!(status, 401, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the new account was never taken"
        );
        // Gently: each refused try counts towards the throttle (10 a minute, then 429), and a
        // loaded machine may take a few seconds to re-read the accounts.
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert!(listed > 40_000, "the sample year: {listed}");
    let output = ogrinfo()
        .args(["-ro", "-so", "--config", "GDAL_HTTP_HEADERS"])
        .arg(format!("Authorization: {auth}"))
        .args([&url, "events"])
        .output()
        .unwrap();
    assert_success(&output);
    assert_eq!(counts(&output).get("events"), Some(&(listed as usize)));
}

#[test]
fn ogrinfo_reads_the_postgis_tables_as_typed_wgs84_layers() {
    let Some(db) = crate::pg::TestDb::create() else {
        return;
    };
    let store =
        gridmap::store::open(&db.url, gridmap::model::declared::Declarations::shipped()).unwrap();
    assert!(gridmap::sample::load_if_empty(store.as_ref()).unwrap());
    // postgres://user@host:port/dbname -> GDAL's PG: connection string.
    let rest = db.url.strip_prefix("postgres://").unwrap();
    let (user, rest) = rest.split_once('@').unwrap();
    let (host_port, dbname) = rest.split_once('/').unwrap();
    let (host, port) = host_port.split_once(':').unwrap();
    let connection = format!("PG:host={host} port={port} dbname={dbname} user={user}");
    let want = expected();
    let out = ogrinfo()
        .args(["-ro", "-so", &connection])
        .args(want.keys())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(counts(&out), want);
    let text = String::from_utf8_lossy(&out.stdout);
    // Towns, villages, grids, alliances; risk zones, police beats, dedicated grids.
    assert_eq!(text.matches("Geometry: Multi Polygon").count(), 7, "{text}");
    // Stations, members; buildings, shelters, Party organisations, centres, households in care.
    assert_eq!(text.matches("Geometry: Point").count(), 7, "{text}");
    // The declared fields, typed.
    for field in [
        "capacity: Integer64",
        "indoor: Integer(Boolean)",
        "opened: Date",
        "area_m2: Real",
        "kind: String",
    ] {
        assert!(text.contains(field), "{field}: {text}");
    }
    assert!(text.contains("ID[\"EPSG\",4326]"), "{text}");
}
