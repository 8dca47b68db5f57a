//! Statistics by unit over HTTP (issue 15), on the store `GRIDMAP_TEST_BACKEND` names: for
//! accounts only, each seeing the units of its area; the levels add up in the answer as they do
//! in the data; bad parameters are refused naming the fix; `gridmap stats` prints the numbers
//! `/stats` answers.

use std::collections::BTreeMap;

use gridmap::access::Role;
use gridmap::http::AppState;
use serde_json::Value;

use crate::common::{account, assert_success, backed_state, get_raw, gridmap, sample_store, send};

async fn get(state: &AppState, uri: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (status, _, json) = send(state, "GET", uri, &headers, "").await;
    (status.as_u16(), json)
}

/// The rows of an answer by code.
fn by_code(answer: &Value) -> BTreeMap<String, Value> {
    answer["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["code"].as_str().unwrap().to_string(), u.clone()))
        .collect()
}

const ADDITIVE: [&str; 7] = [
    "population",
    "households",
    "grid_workers",
    "posts",
    "posts_lacking_a_role",
    "grids_without_branch",
    "events",
];

#[tokio::test]
async fn statistics_are_for_accounts_each_in_its_area() {
    let (_keep, state) = backed_state();
    let data = state.index.load().dataset().clone();
    let town = &data.towns[0].code;
    let city = account(&state, "指挥中心", Role::City, &[]);
    let staff = account(&state, "镇网格办", Role::Town, &[town]);

    let (status, body) = get(&state, "/stats", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = get(&state, "/stats", Some("not-a-token")).await;
    assert_eq!(status, 401);

    // The city account sees every village; the levels add up in the answers as in the data.
    let mut answers = BTreeMap::new();
    for level in ["city", "town", "village", "grid"] {
        let (status, body) = get(&state, &format!("/stats?level={level}"), Some(&city)).await;
        assert_eq!(status, 200, "{level}: {body}");
        assert_eq!(body["level"], level);
        answers.insert(level, by_code(&body));
    }
    assert_eq!(answers["village"].len(), data.villages.len());
    assert_eq!(answers["grid"].len(), data.grids.len());
    let population: u64 = data.grids.iter().map(|g| u64::from(g.population)).sum();
    assert_eq!(
        answers["city"].values().next().unwrap()["population"],
        population
    );
    assert_eq!(
        answers["city"].values().next().unwrap()["posts"],
        data.stations.len()
    );
    for (child, parent, len) in [
        ("grid", "village", 12),
        ("village", "town", 9),
        ("town", "city", 6),
    ] {
        for (code, row) in &answers[parent] {
            for m in ADDITIVE {
                let sum: u64 = answers[child]
                    .iter()
                    .filter(|(c, _)| c.starts_with(&code[..len]))
                    .map(|(_, r)| r[m].as_u64().unwrap())
                    .sum();
                assert_eq!(row[m].as_u64().unwrap(), sum, "{m} of {parent} {code}");
            }
        }
    }

    // A town's staff get their town's villages, and nothing above their area.
    let (status, body) = get(&state, "/stats?level=village", Some(&staff)).await;
    assert_eq!(status, 200, "{body}");
    let theirs: Vec<String> = by_code(&body).into_keys().collect();
    let want: Vec<String> = answers["village"]
        .keys()
        .filter(|c| c.starts_with(town.as_str()))
        .cloned()
        .collect();
    assert_eq!(theirs, want);
    assert!(!want.is_empty());
    let (status, body) = get(&state, "/stats?level=town", Some(&staff)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(by_code(&body).keys().collect::<Vec<_>>(), [town]);
    let (status, body) = get(&state, "/stats?level=city", Some(&staff)).await;
    assert_eq!(status, 403, "{body}");

    // An alliance works with its members' villages: their figures, not their grids'.
    let alliance = &data.alliances[0];
    let member_villages: std::collections::BTreeSet<&str> = data
        .members
        .iter()
        .filter(|m| m.alliance_id == alliance.id)
        .filter_map(|m| m.village_code.as_deref())
        .collect();
    let partner = account(
        &state,
        "联合体",
        Role::Alliance,
        &[&alliance.id.to_string()],
    );
    let (status, body) = get(&state, "/stats?level=village", Some(&partner)).await;
    assert_eq!(status, 200, "{body}");
    let theirs: Vec<String> = by_code(&body).into_keys().collect();
    assert!(!theirs.is_empty());
    assert!(
        theirs.iter().all(|c| member_villages.contains(c.as_str())),
        "{theirs:?}"
    );
    let (status, body) = get(&state, "/stats?level=grid", Some(&partner)).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn bad_statistics_parameters_are_refused_naming_the_fix() {
    let (_keep, state) = backed_state();
    let city = account(&state, "指挥中心", Role::City, &[]);
    for (query, names) in [
        ("level=county", "level"),
        ("metrics=population,happiness", "metrics"),
        ("metrics=,,", "metrics"),
        ("f=xlsx", "f"),
        ("from=yesterday", "from"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = get(&state, &format!("/stats?{query}"), Some(&city)).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(names), "{query}: {message}");
    }
    let (_, body) = get(&state, "/stats?metrics=happiness", Some(&city)).await;
    assert!(
        body["message"].as_str().unwrap().contains("coverage_500m"),
        "{body}"
    );
}

/// `gridmap stats` and `/stats` print the same numbers, on the sample with its year of events
/// (all but `overdue_now`, which moves with the clock between the two).
#[tokio::test]
async fn the_command_line_and_http_agree() {
    let (dir, store) = sample_store();
    let snap = gridmap::index::Snapshot::build(store.load().unwrap());
    assert!(gridmap::sample::load_events_if_empty(store.as_ref(), &snap).unwrap() > 10_000);
    let state = AppState::load(store).unwrap();
    let city = account(&state, "指挥中心", Role::City, &[]);
    let categories = gridmap::events::Categories::shipped();
    let ids: Vec<&str> = categories.all().iter().map(|c| c.id.as_str()).collect();
    let metrics: Vec<String> = gridmap::analysis::stats::Metric::all(&ids)
        .iter()
        .map(|m| m.name())
        .filter(|m| m != "overdue_now")
        .collect();
    let metrics = metrics.join(",");
    for level in ["town", "village"] {
        let query = format!("level={level}&metrics={metrics}&from=2026-01-01&to=2026-07-01");
        let uri = format!("/stats?{query}&f=csv");
        let auth = format!("Bearer {city}");
        let answer = get_raw(&state, &uri, &[("authorization", &auth)]).await;
        assert_eq!(answer.status, 200);
        assert!(answer.header("content-type").starts_with("text/csv"));
        let out = gridmap(
            &dir.path().join("gridmap.gpkg"),
            &[
                "stats",
                "--level",
                level,
                "--metrics",
                &metrics,
                "--format",
                "csv",
                "--from",
                "2026-01-01",
                "--to",
                "2026-07-01",
            ],
        );
        assert_success(&out);
        let printed = String::from_utf8(out.stdout).unwrap();
        assert_eq!(printed, String::from_utf8(answer.body).unwrap(), "{level}");
        let rows = printed.lines().count() - 1;
        let data = state.index.load();
        let units = if level == "town" {
            data.dataset().towns.len()
        } else {
            data.dataset().villages.len()
        };
        assert_eq!(rows, units);
    }
    // The GeoJSON answer: a unit per feature with its outline, and the breaks of each metric.
    let auth = format!("Bearer {city}");
    let (status, _, body) = send(
        &state,
        "GET",
        "/stats?level=village&metrics=events,on_time_share&f=geojson",
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(status, 200);
    let features = body["features"].as_array().unwrap();
    assert_eq!(features.len(), state.index.load().dataset().villages.len());
    assert!(
        features
            .iter()
            .all(|f| f["geometry"]["type"] == "MultiPolygon")
    );
    assert_eq!(
        body["breaks"]["events"].as_array().unwrap().len(),
        4,
        "{}",
        body["breaks"]
    );
}
