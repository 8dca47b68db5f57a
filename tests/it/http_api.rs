//! /locate, /nearest, /health and bad input, through `router(state).oneshot` on a real store.

use geo::{InteriorPoint, Point};
use gridmap::geodesy::{distance_m, wgs84_to_gcj02};

use crate::common::{backed_state, get};

/// GET /locate at a point (WGS84).
async fn locate_at(state: &gridmap::http::AppState, p: Point) -> crate::common::Reply {
    get(state, &format!("/locate?lon={}&lat={}", p.x(), p.y())).await
}

#[tokio::test]
async fn locate_names_the_town_village_and_grid_of_a_point() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let grid = &snap.dataset().grids[100];
    let p = grid.geometry.interior_point().unwrap();
    let r = get(&state, &format!("/locate?lon={}&lat={}", p.x(), p.y())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["grid"]["code"], grid.code.as_str());
    assert_eq!(r.json["village"]["code"], grid.village_code());
    assert_eq!(r.json["town"]["code"], &grid.code[..9]);
    assert!(r.json["nearest_station"]["distance_m"].as_f64().unwrap() >= 0.0);
    // Who is responsible here: the worker's name and phone, where the worker published them.
    let shown = r.json["grid"].get("worker_name");
    assert_eq!(shown.is_some(), grid.worker.published, "{}", r.json);
    if grid.worker.published {
        assert_eq!(shown, Some(&serde_json::json!(grid.worker.name)));
    }
}

#[tokio::test]
async fn locate_lists_the_stations_of_the_grid_and_the_alliances_of_the_village() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    // A village that is an alliance member and whose grid has a station.
    let member_villages: Vec<&str> = d
        .members
        .iter()
        .filter_map(|m| m.village_code.as_deref())
        .collect();
    let station = d
        .stations
        .iter()
        .find(|s| {
            member_villages.contains(&&s.grid_code[..12])
                && d.members.iter().any(|m| {
                    m.kind == gridmap::model::MemberKind::Village
                        && m.village_code.as_deref() == Some(&s.grid_code[..12])
                })
        })
        .expect("the sample has a station in an alliance village");
    let r = locate_at(&state, station.location).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["grid"]["code"], station.grid_code.as_str());
    let ids: Vec<u64> = r.json["stations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&station.id), "{ids:?}");
    assert_eq!(r.json["nearest_station"]["id"], station.id);
    assert_eq!(r.json["nearest_station"]["distance_m"], 0.0);
    assert!(!r.json["alliances"].as_array().unwrap().is_empty());
    assert!(r.json["stations"][0].get("contact_phone").is_none());
}

#[tokio::test]
async fn locate_outside_danyang_has_no_units_but_a_nearest_station() {
    let (_store, state) = backed_state();
    let r = get(&state, "/locate?lon=116.39&lat=39.91").await;
    assert_eq!(r.status, 200);
    assert!(r.json["town"].is_null() && r.json["village"].is_null() && r.json["grid"].is_null());
    assert!(r.json["nearest_station"]["distance_m"].as_f64().unwrap() > 900_000.0);
}

#[tokio::test]
async fn nearest_returns_k_stations_by_ground_distance_with_filters() {
    let (_store, state) = backed_state();
    let r = get(&state, "/nearest?lon=119.58&lat=31.99&k=7").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/geo+json");
    let features = r.json["features"].as_array().unwrap();
    assert_eq!(features.len(), 7);
    let d: Vec<f64> = features
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    for f in features {
        let c = &f["geometry"]["coordinates"];
        let p = Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        let expected = distance_m(Point::new(119.58, 31.99), p);
        assert!((expected - f["properties"]["distance_m"].as_f64().unwrap()).abs() < 0.01);
    }
    // distance_m is rounded to the centimetre; allow that much.
    let within = get(
        &state,
        &format!(
            "/nearest?lon=119.58&lat=31.99&k=100&max_distance_m={}",
            d[3] + 0.01
        ),
    )
    .await;
    assert_eq!(within.json["features"].as_array().unwrap().len(), 4);
    let mediation = get(
        &state,
        "/nearest?lon=119.58&lat=31.99&k=20&service=mediation",
    )
    .await;
    for f in mediation.json["features"].as_array().unwrap() {
        let services = f["properties"]["services"].as_array().unwrap();
        assert!(services.iter().any(|s| s == "mediation"), "{f}");
    }
}

#[tokio::test]
async fn gcj02_queries_answer_in_gcj02() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let station = &snap.dataset().stations[42];
    let g = wgs84_to_gcj02(station.location);
    let r = get(
        &state,
        &format!("/nearest?lon={}&lat={}&k=1&crs=gcj02", g.x(), g.y()),
    )
    .await;
    assert_eq!(r.status, 200);
    let f = &r.json["features"][0];
    assert_eq!(f["id"], station.id);
    assert!(f["properties"]["distance_m"].as_f64().unwrap() < 0.01);
    let c = &f["geometry"]["coordinates"];
    assert!(
        (c[0].as_f64().unwrap() - g.x()).abs() < 1e-7
            && (c[1].as_f64().unwrap() - g.y()).abs() < 1e-7
    );
    let wgs = locate_at(&state, station.location).await;
    let gcj = get(
        &state,
        &format!("/locate?lon={}&lat={}&crs=gcj02", g.x(), g.y()),
    )
    .await;
    assert_eq!(wgs.json["grid"], gcj.json["grid"]);
    assert_eq!(gcj.json["query"]["crs"], "gcj02");
}

/// The public learns the status and versions; an account also the counts; an admin also where
/// the store is.
#[tokio::test]
async fn health_tells_each_caller_what_its_role_may_know() {
    let (_store, state) = backed_state();
    let r = get(&state, "/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["status"], "ok");
    assert_eq!(r.json["version"], env!("CARGO_PKG_VERSION"));
    assert!(r.json["store_version"].is_u64());
    let keys: Vec<&String> = r.json.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "status and versions only: {}", r.json);
    let viewer = crate::common::account(&state, "v", gridmap::access::Role::Viewer, &["321181001"]);
    let root = crate::common::account(&state, "root", gridmap::access::Role::Admin, &[]);
    let (_, _, as_viewer) = crate::common::send(
        &state,
        "GET",
        "/health",
        &[("authorization", &format!("Bearer {viewer}"))],
        "",
    )
    .await;
    assert_eq!(as_viewer["features"]["towns"], 12);
    assert_eq!(as_viewer["features"]["villages"], 229);
    assert!(as_viewer.get("store").is_none(), "{as_viewer}");
    let (_, _, as_admin) = crate::common::send(
        &state,
        "GET",
        "/health",
        &[("authorization", &format!("Bearer {root}"))],
        "",
    )
    .await;
    assert_eq!(as_admin["store"], state.store.describe().as_str());
}

#[tokio::test]
async fn every_bad_input_is_a_4xx_json_error_naming_the_field() {
    let (_store, state) = backed_state();
    let cases: &[(&str, u16, &str)] = &[
        ("/locate?lon=abc&lat=31.9", 400, "lon"),
        ("/locate?lat=31.9", 400, "lon"),
        ("/locate?lon=119.5", 400, "lat"),
        ("/locate?lon=200&lat=31.9", 400, "lon"),
        ("/locate?lon=119.5&lat=-91", 400, "lat"),
        ("/locate?lon=NaN&lat=31.9", 400, "lon"),
        ("/locate?lon=inf&lat=31.9", 400, "lon"),
        ("/locate?lon=119.5&lat=1e999", 400, "lat"),
        ("/locate?lon=119.5&lat=31.9&crs=mars", 400, "crs"),
        ("/locate?lon=119.5&lat=31.9&long=1", 400, "long"),
        ("/nearest?lon=119.5&lat=31.9&k=0", 400, "k"),
        ("/nearest?lon=119.5&lat=31.9&k=101", 400, "k"),
        ("/nearest?lon=119.5&lat=31.9&k=-1", 400, "k"),
        ("/nearest?lon=119.5&lat=31.9&k=2.5", 400, "k"),
        (
            "/nearest?lon=119.5&lat=31.9&max_distance_m=-5",
            400,
            "max_distance_m",
        ),
        (
            "/nearest?lon=119.5&lat=31.9&service=dancing",
            400,
            "service",
        ),
        ("/nearest?lon=%ZZ&lat=31.9", 400, "lon"),
        ("/collections/roads", 404, "roads"),
        ("/collections/roads/items", 404, "roads"),
        ("/collections/grids/items/nope", 404, "nope"),
        ("/collections/stations/items/1.5", 404, "1.5"),
        ("/collections/grids/items?bbox=1,2,3", 400, "bbox"),
        ("/collections/grids/items?bbox=a,b,c,d", 400, "bbox"),
        ("/collections/grids/items?bbox=120,32,119,31", 400, "bbox"),
        ("/collections/grids/items?bbox=0,0,0,95", 400, "bbox"),
        ("/collections/grids/items?limit=0", 400, "limit"),
        ("/collections/grids/items?limit=ten", 400, "limit"),
        ("/collections/grids/items?offset=-1", 400, "offset"),
        (
            "/collections/stations/items?contact_phone=x",
            400,
            "contact_phone",
        ),
        ("/collections/grids/items?f=html", 400, "f"),
        (
            "/collections/grids/items?bbox-crs=EPSG:3857&bbox=1,2,3,4",
            400,
            "bbox-crs",
        ),
        ("/no/such/path", 404, "/no/such/path"),
    ];
    for (uri, status, field) in cases {
        let r = get(&state, uri).await;
        assert_eq!(r.status.as_u16(), *status, "{uri}: {}", r.json);
        let message = r.json["message"].as_str().unwrap_or_default();
        assert!(r.json["error"].is_string(), "{uri}: {}", r.json);
        assert!(
            message.contains(field),
            "{uri}: message '{message}' should name '{field}'"
        );
    }
}

#[tokio::test]
async fn writes_are_refused_with_a_json_405() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let (_store, state) = backed_state();
    let response = gridmap::http::router(state)
        .oneshot(Request::post("/locate").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn arbitrary_query_strings_never_cause_a_server_error() {
    let (_store, state) = backed_state();
    let endpoints = [
        "/locate",
        "/nearest",
        "/collections",
        "/collections/grids",
        "/collections/stations/items",
        "/collections/members/items/3",
        "/",
        "/health",
    ];
    let names = [
        "lon",
        "lat",
        "k",
        "crs",
        "bbox",
        "limit",
        "offset",
        "service",
        "max_distance_m",
        "f",
        "code",
        "services",
        "bbox-crs",
    ];
    let values = [
        "",
        "0",
        "-0",
        "1e308",
        "-1e308",
        "1e-320",
        "NaN",
        "-inf",
        "119.58",
        "31.99",
        "100",
        "101",
        "4294967296",
        "18446744073709551616",
        "1,2,3,4",
        "1,2,3,4,5,6",
        ",,,",
        "%00",
        "%FF%FE",
        "中文",
        "mediation",
        "gcj02",
        "a=b",
    ];
    let mut seed: u64 = 99;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n
    };
    for _ in 0..600 {
        let endpoint = endpoints[next(endpoints.len())];
        let query: Vec<String> = (0..next(5))
            .map(|_| {
                format!(
                    "{}={}",
                    names[next(names.len())],
                    values[next(values.len())]
                )
            })
            .collect();
        let uri = format!("{endpoint}?{}", query.join("&"));
        let r = get(&state, &uri).await;
        assert!(r.status.as_u16() < 500, "{uri}: {} {}", r.status, r.json);
        if !r.status.is_success() {
            assert!(
                r.json["error"].is_string() && r.json["message"].is_string(),
                "{uri}: {}",
                r.json
            );
        }
    }
}

#[tokio::test]
async fn a_reload_swaps_the_snapshot_without_disturbing_readers() {
    use gridmap::model::LayerData;
    let (_store, state) = backed_state();
    let before = state.index.load();
    let mut station = before.dataset().stations[0].as_ref().clone();
    station.name = "新驿站".into();
    station.id = 9_999;
    state
        .store
        .import(LayerData::Stations(vec![station]), false, &|_, _| {})
        .unwrap();
    state.reload().unwrap();
    // A reader holding the old snapshot still sees the old data...
    assert_eq!(before.dataset().stations.len(), 300);
    // ...while new requests see the new station.
    let r = get(&state, "/collections/stations/items/9999").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["properties"]["name"], "新驿站");
    assert_eq!(
        get(&state, "/collections/stations/items?limit=1")
            .await
            .json["numberMatched"],
        301
    );
}

/// Messages say the rule a person can act on: no 20-digit bound for an open-ended limit, and
/// the services by their names.
#[tokio::test]
async fn bad_input_messages_name_the_rule_in_plain_terms() {
    let (_store, state) = backed_state();
    let limit = get(&state, "/collections/grids/items?limit=0").await;
    let message = limit.json["message"].as_str().unwrap();
    assert!(message.contains("at least 1"), "{message}");
    assert!(!message.contains(&u64::MAX.to_string()), "{message}");
    let service = get(&state, "/nearest?lon=119.5&lat=31.9&service=dancing").await;
    let message = service.json["message"].as_str().unwrap();
    assert!(
        message.contains("policy, mediation, relief, civility"),
        "{message}"
    );
}
