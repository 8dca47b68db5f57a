//! What an emergency touches (issue 15), against PostGIS's own geography areas, and over HTTP on
//! the store `GRIDMAP_TEST_BACKEND` names: totals that add up, each grid's worker as the caller
//! may see it, a risk zone by its code, bad areas refused naming the fix, and `gridmap impact`
//! printing what `POST /impact` answers.

use std::collections::BTreeMap;

use gridmap::access::Role;
use gridmap::analysis::impact;
use gridmap::http::AppState;
use gridmap::index::Snapshot;
use serde_json::{Value, json};

use crate::common::{account, assert_success, backed_state, gridmap, sample_store, send};

async fn post(state: &AppState, uri: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (status, _, json) = send(state, "POST", uri, &headers, &body.to_string()).await;
    (status.as_u16(), json)
}

/// A quadrilateral across many grids of the city centre, and a circle.
fn areas() -> Vec<Value> {
    vec![
        json!({"type": "Polygon", "coordinates": [[[119.590, 31.995], [119.622, 31.998], [119.618, 32.021], [119.587, 32.016], [119.590, 31.995]]]}),
        json!({"type": "Feature", "properties": {}, "geometry": serde_json::to_value(geojson::Geometry::from(&impact::circle(geo::Point::new(119.55, 32.05), 1_500.0))).unwrap()}),
    ]
}

/// Every grid's overlap in m² and share, from `gridmap::analysis::impact` and from PostGIS
/// (`ST_Intersection`, areas on the spheroid through `geography`): the same grids, each overlap
/// within 0.1% (and 1 m²), each share within 0.001.
#[test]
fn overlaps_agree_with_postgis_geography() {
    let Some(db) = crate::pg::TestDb::with_sample() else {
        return;
    };
    let snap = Snapshot::build(gridmap::sample::dataset().unwrap());
    for body in areas() {
        let area = impact::resolve(&snap, impact::read(&body).unwrap(), |_, _| true).unwrap();
        let ours: BTreeMap<String, (f64, f64)> = impact::assess(&snap, &area, |_, _| true)
            .unwrap()
            .grids
            .iter()
            .map(|g| {
                (
                    snap.dataset().grids[g.grid].code.clone(),
                    (g.overlap_m2, g.share),
                )
            })
            .filter(|(_, (m2, _))| *m2 > 1.0)
            .collect();
        let geometry = serde_json::to_string(&geojson::Geometry::from(&area)).unwrap();
        let url = db.url.clone();
        let theirs: BTreeMap<String, (f64, f64)> = crate::pg::blocking(move || {
            let mut c = crate::pg::connect(&url);
            c.query(
                "WITH a AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g)
                 SELECT code, ST_Area(ST_Intersection(grids.geom, a.g)::geography),
                        ST_Area(grids.geom::geography)
                 FROM grids, a WHERE ST_Intersects(grids.geom, a.g)",
                &[&geometry],
            )
            .unwrap()
            .iter()
            .map(|r| {
                let (m2, whole): (f64, f64) = (r.get(1), r.get(2));
                (r.get::<_, String>(0), (m2, m2 / whole))
            })
            .filter(|(_, (m2, _))| *m2 > 1.0)
            .collect()
        });
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        assert!(ours.len() > 20, "{}", ours.len());
        for (code, (m2, share)) in &ours {
            let (want_m2, want_share) = theirs[code];
            assert!(
                (m2 - want_m2).abs() <= 1.0 + want_m2 * 0.001,
                "{code}: {m2} m² against PostGIS {want_m2}"
            );
            assert!(
                (share - want_share).abs() <= 0.001,
                "{code}: {share} against {want_share}"
            );
        }
    }
}

#[tokio::test]
async fn the_answer_adds_up_and_shows_workers_as_the_caller_may_see() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    for body in areas() {
        let (status, public) = post(&state, "/impact", None, &body).await;
        assert_eq!(status, 200, "{public}");
        let grids = public["grids"].as_array().unwrap();
        let sum = |list: &Value, field: &str| -> u64 {
            list.as_array()
                .unwrap()
                .iter()
                .map(|r| r[field].as_u64().unwrap())
                .sum()
        };
        for field in ["households", "people"] {
            let total = public["totals"][field].as_u64().unwrap();
            assert_eq!(sum(&public["grids"], field), total, "{field}");
            assert_eq!(sum(&public["totals"]["villages"], field), total, "{field}");
            assert_eq!(sum(&public["totals"]["towns"], field), total, "{field}");
        }
        assert!(public["totals"]["people"].as_u64().unwrap() > 0);
        let shelters = &public["shelters"];
        assert_eq!(shelters["nearest"].as_array().unwrap().len(), 3);
        assert_eq!(
            shelters["shortfall"].as_u64().unwrap(),
            public["totals"]["people"]
                .as_u64()
                .unwrap()
                .saturating_sub(shelters["capacity_within"].as_u64().unwrap())
        );
        // The public sees a worker only where the grid publishes it; the city sees every one.
        let snap = state.index.load();
        let published = |code: &str| {
            let i = snap.find(gridmap::model::Layer::Grids, code).unwrap();
            snap.dataset().grids[i].worker.published
        };
        for g in grids {
            let code = g["code"].as_str().unwrap();
            assert_eq!(g.get("worker_name").is_some(), published(code), "{code}");
        }
        let (status, staff) = post(&state, "/impact", Some(&city), &body).await;
        assert_eq!(status, 200, "{staff}");
        assert!(
            staff["grids"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["worker_name"].is_string())
        );
    }

    // A risk zone by its code is its polygon.
    let snap = state.index.load();
    let zones = snap.dataset().declared("risk_zones").unwrap();
    let zone = &zones.features[0];
    let (status, by_code) = post(&state, "/impact", None, &json!({"risk_zone": zone.key})).await;
    assert_eq!(status, 200, "{by_code}");
    let geometry = serde_json::to_value(geojson::Geometry::from(&zone.geometry)).unwrap();
    let (_, by_polygon) = post(&state, "/impact", None, &geometry).await;
    assert_eq!(by_code, by_polygon);
}

#[tokio::test]
async fn bad_areas_are_refused_naming_the_fix() {
    let (_keep, state) = backed_state();
    for (body, status, names) in [
        (
            json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.0], [119.6, 32.1], [119.5, 32.1]]]}),
            422,
            "not closed",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[119.5, 32.0], [119.6, 32.1], [119.6, 32.0], [119.5, 32.1], [119.5, 32.0]]]}),
            422,
            "self-intersection",
        ),
        (
            json!({"lon": 119.6, "lat": 32.0, "radius_m": -5}),
            422,
            "radius_m",
        ),
        (
            json!({"lon": 119.6, "lat": 32.0, "radius_m": 60_000}),
            422,
            "radius_m",
        ),
        (
            json!({"type": "Polygon", "coordinates": [[[121.4, 31.2], [121.5, 31.2], [121.5, 31.3], [121.4, 31.2]]]}),
            422,
            "within it",
        ),
        (json!({"risk_zone": "nowhere"}), 422, "risk_zone"),
        (json!("a string"), 422, "body"),
    ] {
        let (got, answer) = post(&state, "/impact", None, &body).await;
        assert_eq!(got, status, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(names), "{body}: {message}");
    }
    let (_, _, answer) = send(&state, "POST", "/impact", &[], "{not json").await;
    assert_eq!(answer["error"], "invalid_parameter", "{answer}");
    let (got, answer) = post(&state, "/impact?f=xlsx", None, &json!({"risk_zone": "x"})).await;
    assert_eq!(got, 400, "{answer}");
}

/// `gridmap impact FILE --format csv` prints what `POST /impact?f=csv` answers the public.
#[tokio::test]
async fn the_command_line_and_http_agree() {
    let (dir, store) = sample_store();
    let state = AppState::load(store).unwrap();
    let file = dir.path().join("area.geojson");
    for body in areas() {
        std::fs::write(&file, body.to_string()).unwrap();
        let out = gridmap(
            &dir.path().join("gridmap.gpkg"),
            &["impact", file.to_str().unwrap(), "--format", "csv"],
        );
        assert_success(&out);
        let request = axum::http::Request::post("/impact?f=csv")
            .header("host", "test.local")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = tower::ServiceExt::oneshot(gridmap::http::router(state.clone()), request)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(printed, String::from_utf8(bytes.to_vec()).unwrap());
        assert!(printed.lines().filter(|l| l.starts_with("grid,")).count() > 20);
    }
}
