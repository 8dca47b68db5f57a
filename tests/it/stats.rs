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
        assert!(
            message.starts_with(&format!("{names}: ")),
            "{query}: {message}"
        );
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

    // The trend: `gridmap stats --interval` prints what `/stats/trend` answers.
    let answer = get_raw(
        &state,
        "/stats/trend?level=town&interval=month&from=2025-12-01&to=2026-12-01&f=csv",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(answer.status, 200);
    let out = gridmap(
        &dir.path().join("gridmap.gpkg"),
        &[
            "stats",
            "--level",
            "town",
            "--interval",
            "month",
            "--format",
            "csv",
            "--from",
            "2025-12-01",
            "--to",
            "2026-12-01",
        ],
    );
    assert_success(&out);
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed, String::from_utf8(answer.body).unwrap());
    let data = state.index.load();
    assert_eq!(printed.lines().count(), 1 + 12 * data.dataset().towns.len());
    let out = gridmap(
        &dir.path().join("gridmap.gpkg"),
        &["stats", "--interval", "fortnight"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("day, week, month"));
}

/// `/stats/trend` on the store `GRIDMAP_TEST_BACKEND` names, with the sample's year of events:
/// each period of each unit holds what `/stats` says of that unit over that period's span, the
/// total adds the units up, and each account gets its area's units.
#[tokio::test]
async fn a_trend_holds_per_period_what_statistics_say_of_that_span() {
    let (_keep, state) = backed_state();
    let snap = state.index.load();
    assert!(gridmap::sample::load_events_if_empty(state.store.as_ref(), &snap).unwrap() > 10_000);
    state.events.catch_up().unwrap();
    let data = snap.dataset();
    let town = &data.towns[1].code;
    let city = account(&state, "指挥中心", Role::City, &[]);
    let staff = account(&state, "镇网格办", Role::Town, &[town]);
    let (status, body) = get(&state, "/stats/trend", None).await;
    assert_eq!(status, 401, "{body}");

    let metrics = "events,events_hazard,on_time_share,closure_share";
    let (status, trend) = get(
        &state,
        &format!("/stats/trend?level=town&metrics={metrics}&from=2025-12-01&to=2026-12-01"),
        Some(&city),
    )
    .await;
    assert_eq!(status, 200, "{trend}");
    let periods = trend["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 12, "the sample's year, by month");
    assert_eq!(periods[0]["label"], "2025-12");
    assert_eq!(trend["units"].as_array().unwrap().len(), data.towns.len());
    // Three months checked against /stats over each month's span.
    for k in [0, 5, 11] {
        let p = &periods[k];
        let (from, to) = (p["start"].as_str().unwrap(), p["end"].as_str().unwrap());
        let (from, to) = (&from[..19], &to[..19]);
        let (status, stats) = get(
            &state,
            &format!("/stats?level=town&metrics={metrics}&from={from}Z&to={to}Z"),
            Some(&city),
        )
        .await;
        assert_eq!(status, 200, "{stats}");
        let rows = by_code(&stats);
        let mut total = 0;
        for unit in trend["units"].as_array().unwrap() {
            let row = &rows[unit["code"].as_str().unwrap()];
            for m in metrics.split(',') {
                assert_eq!(
                    unit["values"][m][k], row[m],
                    "{m} of {} in {}",
                    unit["code"], p["label"]
                );
            }
            total += row["events"].as_u64().unwrap();
        }
        assert_eq!(trend["total"]["events"][k], total, "{}", p["label"]);
        assert!(total > 0);
    }

    // A town's staff get their town's villages; their total is their town's.
    let (status, theirs) = get(
        &state,
        "/stats/trend?level=village&metrics=events&from=2025-12-01&to=2026-12-01",
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200, "{theirs}");
    let codes: Vec<&str> = theirs["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(
        !codes.is_empty() && codes.iter().all(|c| c.starts_with(town.as_str())),
        "{codes:?}"
    );
    let mine = trend["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["code"] == town.as_str())
        .unwrap();
    // Village-level cases (in a gap between grids) count for the village as for its town.
    assert_eq!(theirs["total"]["events"], mine["values"]["events"]);
    let (status, body) = get(&state, "/stats/trend?level=city", Some(&staff)).await;
    assert_eq!(status, 403, "{body}");

    for (query, names) in [
        ("metrics=population", "metrics"),
        ("metrics=events,happiness", "metrics"),
        ("interval=fortnight", "interval"),
        ("from=2026-05-01&to=2026-04-01", "to"),
        ("interval=day&from=2020-01-01&to=2026-01-01", "from"),
        ("f=geojson", "f"),
        ("from=last-week", "from"),
    ] {
        let (status, body) = get(&state, &format!("/stats/trend?{query}"), Some(&city)).await;
        assert_eq!(status, 400, "{query}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{names}: ")),
            "{query}: {message}"
        );
    }
}
