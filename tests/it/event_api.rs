//! Events over HTTP, on the store `GRIDMAP_TEST_BACKEND` names: a report is routed as `/locate`
//! places its point; bad reports are refused naming the field and store nothing; a case goes
//! through its life as different accounts, each refused where its role or area says; deadlines
//! run on a hand-set clock; a restarted server reads every event back from the store.

use std::sync::Arc;

use gridmap::access::Role;
use gridmap::events::ManualClock;
use gridmap::http::AppState;
use serde_json::{Value, json};

use crate::common::{account, backed_state_with, send};

/// 2026-12-01T08:00:00Z.
const T0_MS: i64 = 1_796_112_000_000;
const HOUR_MS: i64 = 3_600_000;

fn report(lon: f64, lat: f64, category: &str, severity: &str) -> String {
    json!({
        "lon": lon, "lat": lat, "category": category, "severity": severity, "source": "public",
        "text": "路灯不亮", "reporter": {"name": "王小明", "phone": "13812345678"},
    })
    .to_string()
}

async fn post(state: &AppState, uri: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (status, _, json) = send(state, "POST", uri, &headers, body).await;
    (status.as_u16(), json)
}

async fn get(state: &AppState, uri: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let (status, _, json) = send(state, "GET", uri, &headers, "").await;
    (status.as_u16(), json)
}

async fn step(state: &AppState, id: u64, token: Option<&str>, body: Value) -> (u16, Value) {
    post(
        state,
        &format!("/events/{id}/transitions"),
        token,
        &body.to_string(),
    )
    .await
}

/// A point well inside a grid of the sample (the first grid's interior point) and its codes.
fn inside_a_grid(state: &AppState) -> (f64, f64, String, String, String) {
    use geo::InteriorPoint;
    let snap = state.index.load();
    let g = &snap.dataset().grids[40];
    let p = g.geometry.interior_point().unwrap();
    (
        p.x(),
        p.y(),
        g.code.clone(),
        g.code[..12].to_string(),
        g.code[..9].to_string(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_is_routed_where_locate_places_it_and_bad_ones_store_nothing() {
    let (_keep, state) = backed_state_with(Arc::new(ManualClock::at(T0_MS)));
    let city = account(&state, "ev.city", Role::City, &[]);
    let (lon, lat, grid, village, town) = inside_a_grid(&state);

    let (status, e) = post(&state, "/events", None, &report(lon, lat, "dispute", "red")).await;
    assert_eq!(status, 201, "{e}");
    let (_, located) = get(&state, &format!("/locate?lon={lon}&lat={lat}"), None).await;
    let p = &e["properties"];
    assert_eq!(p["grid_code"], located["grid"]["code"]);
    assert_eq!(p["grid_code"], json!(grid));
    assert_eq!(p["village_code"], json!(village));
    assert_eq!(p["town_code"], json!(town));
    assert_eq!(p["holder"], json!(village));
    assert_eq!(p["status"], "reported");
    // Red: two hours from the (hand-set) time of the report.
    assert_eq!(p["reported_at"], "2026-12-01T08:00:00.000Z");
    assert_eq!(p["deadline"], "2026-12-01T10:00:00.000Z");
    // A public caller's answer carries no personal data, its own included.
    let text = e.to_string();
    assert!(
        !text.contains("13812345678") && !text.contains("王小明"),
        "{text}"
    );
    assert!(
        p["evaluation_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("gm_"))
    );

    // Bad reports: each names its field, and nothing is stored.
    let cases = [
        (report(121.58, 31.99, "dispute", "red"), 422, "lon"),
        (report(lon, lat, "nope", "red"), 422, "category"),
        (report(lon, lat, "dispute", "purple"), 422, "severity"),
        (
            json!({"lon": lon, "lat": lat, "category": "dispute", "severity": "red",
                   "source": "hotline", "text": "x"})
            .to_string(),
            401,
            "account",
        ),
        (
            json!({"lon": lon, "lat": lat, "category": "dispute", "severity": "red",
                   "source": "public", "text": "  "})
            .to_string(),
            422,
            "text",
        ),
        (
            json!({"lon": lon, "lat": lat, "category": "dispute", "severity": "red",
                   "source": "public", "text": "x", "reporter": {"phone": "call me"}})
            .to_string(),
            422,
            "reporter.phone",
        ),
        (
            json!({"lon": lon, "lat": lat, "category": "dispute", "severity": "red",
                   "source": "public", "text": "x", "colour": "red"})
            .to_string(),
            400,
            "colour",
        ),
        ("not json".to_string(), 400, "body"),
    ];
    for (body, want, names) in cases {
        let (status, answer) = post(&state, "/events", None, &body).await;
        assert_eq!(status, want, "{body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {message}");
    }
    let (_, all) = get(&state, "/events", Some(&city)).await;
    assert_eq!(all["numberMatched"], 1, "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_goes_through_its_life_as_each_account_may_take_it() {
    let clock = Arc::new(ManualClock::at(T0_MS));
    let (_keep, state) = backed_state_with(clock.clone());
    let (lon, lat, grid, village, town) = inside_a_grid(&state);
    let other_village = {
        let snap = state.index.load();
        snap.dataset()
            .villages
            .iter()
            .find(|v| v.code.starts_with(&town) && v.code != village)
            .unwrap()
            .code
            .clone()
    };
    let village_staff = account(&state, "ev.village", Role::Village, &[&village]);
    let neighbour = account(&state, "ev.neighbour", Role::Village, &[&other_village]);
    let town_staff = account(&state, "ev.town", Role::Town, &[&town]);
    let worker = account(&state, "ev.worker", Role::GridWorker, &[&grid]);
    let viewer = account(&state, "ev.viewer", Role::Viewer, &[&village]);

    let (_, e) = post(
        &state,
        "/events",
        None,
        &report(lon, lat, "sanitation", "yellow"),
    )
    .await;
    let id = e["id"].as_u64().unwrap();
    let token = e["properties"]["evaluation_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Another village's staff: the event does not exist for them.
    let (status, _) = get(&state, &format!("/events/{id}"), Some(&neighbour)).await;
    assert_eq!(status, 404);
    let (status, _) = step(&state, id, Some(&neighbour), json!({"action": "accept"})).await;
    assert_eq!(status, 404);
    // A viewer sees it, reporter masked, but may not accept it.
    let (status, seen) = get(&state, &format!("/events/{id}"), Some(&viewer)).await;
    assert_eq!(status, 200);
    assert_eq!(seen["properties"]["reporter_phone"], "138****5678");
    let (status, _) = step(&state, id, Some(&viewer), json!({"action": "accept"})).await;
    assert_eq!(status, 403);
    // The grid worker may not accept (the village holds it), nor handle before dispatch.
    let (status, _) = step(&state, id, Some(&worker), json!({"action": "accept"})).await;
    assert_eq!(status, 403);
    let (status, _) = step(
        &state,
        id,
        Some(&worker),
        json!({"action": "handle", "note": "x"}),
    )
    .await;
    assert_eq!(status, 409);

    // Escalate to the town; the village may no longer accept, the town returns it with a reason.
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "escalate"}),
    )
    .await;
    assert_eq!(status, 422, "escalation needs a note");
    let (status, up) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "escalate", "note": "涉及多个村"}),
    )
    .await;
    assert_eq!(status, 200, "{up}");
    assert_eq!(up["properties"]["holder"], json!(town));
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, down) = step(
        &state,
        id,
        Some(&town_staff),
        json!({"action": "return", "note": "本村可处置"}),
    )
    .await;
    assert_eq!(status, 200, "{down}");
    assert_eq!(down["properties"]["holder"], json!(village));

    // Accept, dispatch to the grid (not outside the village), handle as the worker, close.
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "accept"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, refused) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "dispatch", "to": format!("{other_village}001")}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "dispatch", "to": grid}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "handle", "note": "x"}),
    )
    .await;
    assert_eq!(status, 403, "only the grid it went to handles it");
    clock.advance_ms(3 * HOUR_MS);
    let (status, _) = step(
        &state,
        id,
        Some(&worker),
        json!({"action": "handle", "note": "已清运"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = step(&state, id, Some(&worker), json!({"action": "close"})).await;
    assert_eq!(status, 403);
    let (status, closed) = step(&state, id, Some(&village_staff), json!({"action": "close"})).await;
    assert_eq!(status, 200);
    assert_eq!(closed["properties"]["on_time"], true);

    // The reporter evaluates through the link; a wrong token finds nothing; twice is a conflict.
    let (status, _) = step(
        &state,
        id,
        None,
        json!({"action": "evaluate", "rating": 5, "token": "gm_wrong"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, rated) = step(
        &state,
        id,
        None,
        json!({"action": "evaluate", "rating": 4, "token": token}),
    )
    .await;
    assert_eq!(status, 200, "{rated}");
    assert_eq!(rated["properties"]["rating"], 4);
    let (status, _) = step(
        &state,
        id,
        Some(&village_staff),
        json!({"action": "evaluate", "rating": 5}),
    )
    .await;
    assert_eq!(status, 409);

    // The history records who, when and why, in order.
    let (_, full) = get(&state, &format!("/events/{id}"), Some(&town_staff)).await;
    let history = full["properties"]["history"].as_array().unwrap();
    let actions: Vec<&str> = history
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "report", "escalate", "return", "accept", "dispatch", "handle", "close", "evaluate"
        ]
    );
    let actors: Vec<&str> = history
        .iter()
        .map(|h| h["actor"].as_str().unwrap())
        .collect();
    assert_eq!(
        actors,
        [
            "public",
            "ev.village",
            "ev.town",
            "ev.village",
            "ev.village",
            "ev.worker",
            "ev.village",
            "reporter"
        ]
    );
    assert_eq!(history[1]["note"], "涉及多个村");
    assert_eq!(history[5]["at"], "2026-12-01T11:00:00.000Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn deadlines_run_on_the_clock_and_a_restarted_server_reads_every_event_back() {
    let clock = Arc::new(ManualClock::at(T0_MS));
    let (_keep, state) = backed_state_with(clock.clone());
    let city = account(&state, "ev.city2", Role::City, &[]);
    let (lon, lat, grid, _, _) = inside_a_grid(&state);
    for severity in ["red", "yellow", "blue"] {
        let (status, _) = post(
            &state,
            "/events",
            None,
            &report(lon, lat, "hazard", severity),
        )
        .await;
        assert_eq!(status, 201);
    }
    let overdue = |v: &Value| -> Vec<String> {
        let mut s: Vec<String> = v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["severity"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    };
    let (_, none) = get(&state, "/events?overdue=true", Some(&city)).await;
    assert_eq!(overdue(&none), Vec::<String>::new());
    clock.advance_ms(2 * HOUR_MS + 1);
    let (_, red) = get(&state, "/events?overdue=true", Some(&city)).await;
    assert_eq!(overdue(&red), ["red"]);
    clock.advance_ms(70 * HOUR_MS);
    let (_, all) = get(
        &state,
        &format!("/events?overdue=true&code={grid}"),
        Some(&city),
    )
    .await;
    assert_eq!(overdue(&all), ["blue", "red", "yellow"]);
    let (_, page) = get(&state, "/events?limit=2", Some(&city)).await;
    assert_eq!(page["numberReturned"], 2);
    assert!(page["links"].to_string().contains("offset=2"), "{page}");
    let (status, bad) = get(&state, "/events?status=lost", Some(&city)).await;
    assert_eq!(status, 400, "{bad}");

    // A second server on the same store starts with every event, history included.
    let again = AppState::with_events(
        state.store.clone(),
        Default::default(),
        gridmap::events::Categories::shipped(),
        clock.clone(),
    )
    .unwrap();
    let book = state.events.book();
    let other = again.events.book();
    assert_eq!(other.len(), 3);
    for case in book.all() {
        assert_eq!(other.get(case.event.id), Some(case));
    }
}

/// The event log is append-only in both stores, whoever writes: UPDATE and DELETE of events and
/// steps are refused (PostGIS: TRUNCATE too).
#[test]
fn the_event_log_refuses_changes_in_both_stores() {
    use gridmap::store::Store;
    let entry = || gridmap::events::Entry {
        step: gridmap::events::Step {
            seq: 0,
            event_id: 0,
            n: 0,
            action: gridmap::events::Action::Report,
            at_ms: T0_MS,
            actor: "public".into(),
            to: None,
            note: None,
            rating: None,
        },
        event: Some(gridmap::events::Event {
            id: 0,
            reported_at_ms: T0_MS,
            lon: 119.58,
            lat: 31.99,
            category: "fire".into(),
            severity: gridmap::events::Severity::Red,
            source: gridmap::events::Source::Sensor,
            text: "smoke".into(),
            address: None,
            reporter: None,
            town: "321181001".into(),
            village: None,
            grid: None,
            post: None,
            post_offers_service: false,
            near_boundary: Vec::new(),
            deadline_ms: T0_MS + 2 * HOUR_MS,
            evaluation_sha256: None,
        }),
    };
    let check = |store: &dyn Store, sql: &dyn Fn(&str) -> Result<(), String>| {
        let id = store.append_events(&[entry()]).unwrap()[0].step.event_id;
        let png = std::fs::read(crate::common::repo().join("tests/photos/sign.png")).unwrap();
        let photo = gridmap::events::photos::Photo {
            event_id: id,
            n: 0,
            media_type: gridmap::events::photos::MediaType::Png,
            size_bytes: png.len() as u64,
            width_px: 120,
            height_px: 90,
            at_ms: T0_MS,
            actor: "staff".into(),
            sha256: gridmap::events::photos::sha256_hex(&png),
        };
        store.add_photo(&photo, &png).unwrap();
        for statement in [
            "UPDATE gridmap_event_photos SET actor = 'someone else'",
            "DELETE FROM gridmap_event_photos",
            "UPDATE gridmap_events SET text = 'changed'",
            "DELETE FROM gridmap_events",
            "UPDATE gridmap_event_steps SET actor = 'someone else'",
            "DELETE FROM gridmap_event_steps",
        ] {
            let e = sql(statement).expect_err(statement);
            assert!(e.contains("append-only"), "{statement}: {e}");
        }
        assert_eq!(store.events_since(0, 10).unwrap().len(), 1);
        assert_eq!(store.photos(id).unwrap().len(), 1);
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.gpkg");
    let gpkg =
        gridmap::store::GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped())
            .unwrap();
    check(&gpkg, &|sql| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(sql, [])
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let Some(db) = crate::pg::TestDb::create() else {
        return;
    };
    let pg =
        gridmap::store::PostGis::open(&db.url, gridmap::model::declared::Declarations::shipped())
            .unwrap();
    let url = db.url.clone();
    check(&pg, &|sql| {
        crate::pg::connect(&url)
            .execute(sql, &[])
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    });
    for table in [
        "gridmap_events",
        "gridmap_event_steps",
        "gridmap_event_photos",
    ] {
        let e = crate::pg::connect(&url)
            .execute(&format!("TRUNCATE {table} CASCADE"), &[])
            .unwrap_err();
        assert!(format!("{e:?}").contains("append-only"), "{e:?}");
    }
}

/// Open `GET /events/stream` on a real server with `token`, retrying while the server does not
/// know the account yet (it re-reads accounts about once a second); the connection, past the
/// response headers.
fn open_stream(
    port: u16,
    token: &str,
    last_event_id: Option<u64>,
) -> std::io::BufReader<std::net::TcpStream> {
    use std::io::{BufRead, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        write!(
            s,
            "GET /events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{resume}\r\n"
        )
        .unwrap();
        let mut reader = std::io::BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        if status.contains(" 200 ") {
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
                line.clear();
            }
            return reader;
        }
        assert!(status.contains(" 401 "), "{status}");
        assert!(
            std::time::Instant::now() < deadline,
            "the account never became known"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Read the stream until a message of `kind` about event `id` arrives; its data.
fn await_message(
    stream: &mut std::io::BufReader<std::net::TcpStream>,
    kind: &str,
    id: u64,
) -> Value {
    use std::io::BufRead;
    let mut event = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = stream
            .read_line(&mut line)
            .expect("the stream went quiet for a minute");
        assert!(n > 0, "the stream ended");
        // Chunked transfer: chunk-size lines and blank lines carry no field.
        if let Some(k) = line.trim_end().strip_prefix("event: ") {
            event = k.to_string();
        } else if let Some(data) = line.trim_end().strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            if event == kind && v["id"] == json!(id) {
                return v;
            }
        }
    }
}

/// A report made on one server reaches the event stream of another server on the same store
/// (each follows the log); a client reconnecting with Last-Event-ID gets what it missed. The
/// public cannot listen.
fn the_stream_carries_reports_across_replicas(store: &std::path::Path) {
    let token = crate::common::add_user(store, "ev.stream", "city", &[]);
    let a = crate::common::Server::start(store);
    let b = crate::common::Server::start(store);
    let (status, _) = crate::common::http_get(b.port, "/events/stream");
    assert_eq!(status, 401);
    let mut stream = open_stream(b.port, &token, None);
    let body = json!({"lon": 119.58, "lat": 31.99, "category": "fire", "severity": "red",
        "source": "public", "text": "冒烟", "reporter": {"name": "王小明", "phone": "13812345678"}})
    .to_string();
    let answer = crate::common::http_raw(
        a.port,
        "POST",
        "/events",
        &[("content-type", "application/json")],
        &body,
    );
    let (status, text) = crate::common::status_and_body(&answer);
    assert_eq!(status, 201, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_u64()
        .unwrap();
    let seen = await_message(&mut stream, "report", id);
    assert_eq!(seen["category"], "fire");
    assert_eq!(seen["status"], "reported");
    let text = seen.to_string();
    assert!(
        !text.contains("13812345678") && !text.contains("王小明"),
        "{seen}"
    );
    // Reconnecting from before the report replays it.
    let before = seen["seq"].as_u64().unwrap() - 1;
    let mut again = open_stream(b.port, &token, Some(before));
    await_message(&mut again, "report", id);
}

#[test]
fn the_stream_carries_reports_across_replicas_on_a_geopackage() {
    let (dir, _store) = crate::common::sample_store();
    the_stream_carries_reports_across_replicas(&dir.path().join("gridmap.gpkg"));
}

#[test]
fn the_stream_carries_reports_across_replicas_on_postgis() {
    let Some(db) = crate::pg::TestDb::with_sample() else {
        return;
    };
    the_stream_carries_reports_across_replicas(std::path::Path::new(&db.url));
}

/// The sample's year of events, loaded as `serve` loads it into a new store: about one per 20
/// residents, seasonal (floods in summer), most closed on time, some still open and overdue at
/// the year's end; loading again adds nothing; a server reads every case back.
fn the_sample_year(store: std::sync::Arc<dyn gridmap::store::Store>) {
    use gridmap::events::{Status, SystemClock};
    let snap = gridmap::index::Snapshot::build(store.load().unwrap());
    let added = gridmap::sample::load_events_if_empty(store.as_ref(), &snap).unwrap();
    let residents: u64 = gridmap::model::buildings::all(snap.dataset())
        .iter()
        .map(|b| b.residents)
        .sum();
    let expected = (residents / 20) as usize;
    assert!(
        added <= expected && added * 100 >= expected * 99,
        "{added} of {expected}"
    );
    assert_eq!(
        gridmap::sample::load_events_if_empty(store.as_ref(), &snap).unwrap(),
        0
    );
    let state = AppState::with_events(
        store,
        Default::default(),
        gridmap::events::Categories::shipped(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let book = state.events.book();
    assert_eq!(book.len(), added);
    let year_end = gridmap::generate::events::YEAR_START_MS + gridmap::generate::events::YEAR_MS;
    let month = |c: &gridmap::events::Case| {
        (c.event.reported_at_ms - gridmap::generate::events::YEAR_START_MS)
            / (gridmap::generate::events::YEAR_MS / 12)
    };
    let floods = |m: i64| {
        book.all()
            .filter(|c| c.event.category == "flood" && month(c) == m)
            .count()
    };
    // July (month 7 of a year starting in December) against January (month 1).
    assert!(
        floods(7) > 5 * floods(1).max(1),
        "{} {}",
        floods(7),
        floods(1)
    );
    let closed: Vec<_> = book.all().filter(|c| c.closed_ms.is_some()).collect();
    let on_time = closed.iter().filter(|c| c.on_time() == Some(true)).count();
    assert!(closed.len() * 100 > added * 95, "most are closed");
    assert!(
        on_time * 100 > closed.len() * 85,
        "most on time: {on_time} of {}",
        closed.len()
    );
    let overdue = book.all().filter(|c| c.overdue_at(year_end)).count();
    assert!(
        overdue > 0 && overdue * 100 < added,
        "some overdue: {overdue}"
    );
    // Every case got there through allowed steps (the lifecycle replayed from its table).
    for case in book.all() {
        let mut replay = gridmap::events::Case::new(case.event.clone(), case.steps[0].clone());
        for s in &case.steps[1..] {
            let everyone = gridmap::events::lifecycle::Capacity {
                holder: true,
                assignee: true,
                reporter: true,
            };
            let ask = gridmap::events::lifecycle::Ask {
                to: s.to.clone(),
                note: s.note.clone(),
                rating: s.rating,
            };
            gridmap::events::lifecycle::decide(&replay, s.action, everyone, &ask).unwrap();
            replay.apply(s.clone());
        }
        assert_eq!(&replay, case);
        assert!(
            case.status != Status::Reported || case.event.reported_at_ms > year_end - 86_400_000
        );
    }
}

#[test]
fn the_sample_year_of_events_on_a_geopackage() {
    let (_dir, store) = crate::common::sample_store();
    the_sample_year(store);
}

#[test]
fn the_sample_year_of_events_on_postgis() {
    let Some(db) = crate::pg::TestDb::with_sample() else {
        return;
    };
    let store =
        gridmap::store::PostGis::open(&db.url, gridmap::model::declared::Declarations::shipped())
            .unwrap();
    the_sample_year(Arc::new(store));
}

/// `gridmap events import` takes a hotline file whole or not at all, routing each order as a
/// live report is routed; `export` writes them back (read here with the csv crate); `overdue`
/// lists the old red one.
#[test]
fn hotline_orders_go_in_from_csv_and_come_back_out() {
    use crate::common::{assert_success, gridmap};
    let (dir, _store) = crate::common::sample_store();
    let store = dir.path().join("gridmap.gpkg");
    let file = dir.path().join("orders.csv");
    let good = "time,lon,lat,category,severity,text,name,phone\n\
        2026-01-05 09:12,119.58,31.99,dispute,red,楼上漏水,李四,13912345678\n\
        2026-11-30T23:00:00Z,119.5784,31.9915,sanitation,,垃圾未清运,,\n";
    std::fs::write(
        &file,
        format!("{good}2026-11-30 10:00,119.58,31.99,weather,blue,下雨,,\n"),
    )
    .unwrap();
    let out = gridmap(&store, &["events", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4: category: 'weather'"), "{err}");
    let out = gridmap(&store, &["events", "export"]);
    assert_success(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "nothing stored"
    );

    std::fs::write(&file, good).unwrap();
    assert_success(&gridmap(
        &store,
        &["events", "import", file.to_str().unwrap()],
    ));
    let out = gridmap(&store, &["events", "export"]);
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("13912345678"),
        "no personal data by default: {text}"
    );
    let out = gridmap(&store, &["events", "export", "--with-personal"]);
    assert_success(&out);
    let mut rows = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = rows.headers().unwrap().clone();
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    let get = |r: &csv::StringRecord, name: &str| {
        r.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_string()
    };
    // China time 09:12 is 01:12 UTC; red gives two hours.
    assert_eq!(get(&records[0], "reported_at"), "2026-01-05T01:12:00.000Z");
    assert_eq!(get(&records[0], "deadline"), "2026-01-05T03:12:00.000Z");
    assert_eq!(get(&records[0], "reporter_phone"), "13912345678");
    assert_eq!(get(&records[0], "source"), "hotline");
    assert_eq!(get(&records[1], "severity"), "blue");
    // Routed as /locate places the point.
    let snap = gridmap::index::Snapshot::build(
        gridmap::store::open(
            store.to_str().unwrap(),
            gridmap::model::declared::Declarations::shipped(),
        )
        .unwrap()
        .load()
        .unwrap(),
    );
    let at = snap.locate(geo::Point::new(119.5784, 31.9915));
    assert_eq!(get(&records[1], "grid_code"), at.grid.unwrap().code);
    let out = gridmap(&store, &["events", "overdue"]);
    assert_success(&out);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains("\tred\tdispute\t")),
        "{listed}"
    );
}

/// The event tiles, decoded by the independent decoder (mapbox-vector-tile): the public gets each
/// grid's open and recent counts (a hand-counted case: three reports, one closed) and nothing
/// else; a city account also the points, placed where the reports were; a month later the
/// closed case is no longer recent.
#[tokio::test(flavor = "multi_thread")]
async fn event_tiles_count_per_grid_for_everyone_and_show_points_to_staff() {
    let clock = Arc::new(ManualClock::at(T0_MS));
    let (_keep, state) = backed_state_with(clock.clone());
    let city = account(&state, "ev.tiles", Role::City, &[]);
    let (lon, lat, grid, _, _) = inside_a_grid(&state);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, e) = post(
            &state,
            "/events",
            None,
            &report(lon, lat, "sanitation", "blue"),
        )
        .await;
        ids.push(e["id"].as_u64().unwrap());
    }
    for (action, extra) in [
        ("accept", json!({})),
        ("dispatch", json!({"to": grid})),
        ("close", json!({})),
    ] {
        let mut body = extra;
        body["action"] = json!(action);
        if action == "close" {
            // The grid's worker handles it first.
            let worker = account(&state, "ev.tiles.worker", Role::GridWorker, &[&grid]);
            let (s, _) = step(
                &state,
                ids[0],
                Some(&worker),
                json!({"action": "handle", "note": "ok"}),
            )
            .await;
            assert_eq!(s, 200);
        }
        let (s, answer) = step(&state, ids[0], Some(&city), body).await;
        assert_eq!(s, 200, "{action}: {answer}");
    }
    let (x, y) = crate::common::tile_xy(geo::Point::new(lon, lat), 14);
    let uri = format!("/tiles/events/14/{x}/{y}.mvt");
    let decode = |bytes: &[u8]| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(format!("14-{x}-{y}.mvt")), bytes).unwrap();
        crate::tiles::decode(dir.path()).remove(0)
    };
    let fetch = |token: Option<String>| {
        let state = state.clone();
        let uri = uri.clone();
        async move {
            let auth = token.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("authorization", a.as_str())).collect();
            crate::common::get_raw(&state, &uri, &headers).await
        }
    };
    let public = fetch(None).await;
    assert_eq!(public.status, 200);
    assert!(!String::from_utf8_lossy(&public.body).contains("13812345678"));
    let tile = decode(&public.body);
    assert!(tile["layers"].get("events").is_none(), "{tile}");
    let density = tile["layers"]["event_density"].as_array().unwrap();
    let ours = density
        .iter()
        .find(|f| f["properties"]["code"] == json!(grid))
        .unwrap();
    assert_eq!(ours["properties"]["open"], 2);
    assert_eq!(ours["properties"]["recent_30d"], 3);
    assert!(
        density
            .iter()
            .filter(|f| f["properties"]["code"] != json!(grid))
            .all(|f| f["properties"]["open"] == 0)
    );

    let staff = decode(&fetch(Some(city.clone())).await.body);
    let points = staff["layers"]["events"].as_array().unwrap();
    let mut seen: Vec<u64> = points.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    seen.sort();
    assert_eq!(seen, ids);
    // Where the report was: the tile pixel of (lon, lat), computed here from Web Mercator.
    let n = f64::from(1u32 << 14);
    let px = ((lon + 180.0) / 360.0 * n - f64::from(x)) * 4096.0;
    let py = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n
        - f64::from(y))
        * 4096.0;
    for p in points {
        let at = p["point"].as_array().unwrap();
        assert!((at[0].as_f64().unwrap() - px).abs() <= 1.0, "{p} vs {px}");
        assert!((at[1].as_f64().unwrap() - py).abs() <= 1.0, "{p} vs {py}");
    }

    clock.advance_ms(31 * 24 * HOUR_MS);
    let later = decode(&fetch(Some(city)).await.body);
    let ours = later["layers"]["event_density"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == json!(grid))
        .unwrap()
        .clone();
    assert_eq!(ours["properties"]["open"], 2);
    assert_eq!(ours["properties"]["recent_30d"], 0);
    assert_eq!(later["layers"]["events"].as_array().unwrap().len(), 2);
}

/// Two servers on one store taking reports at once: each ends with every report, its own and the
/// other's (a server that applied its own commit without reading the log would skip one of the
/// other's committed just before it, for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_reporting_at_once_both_end_with_every_report() {
    let (_keep, a) = backed_state_with(Arc::new(ManualClock::at(T0_MS)));
    let b = AppState::with_events(
        a.store.clone(),
        Default::default(),
        gridmap::events::Categories::shipped(),
        Arc::new(ManualClock::at(T0_MS)),
    )
    .unwrap();
    let (lon, lat, _, _, _) = inside_a_grid(&a);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let state = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let (status, e) =
                post(&state, "/events", None, &report(lon, lat, "hazard", "blue")).await;
            assert_eq!(status, 201, "{e}");
            e["id"].as_u64().unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    for state in [&a, &b] {
        state.events.catch_up().unwrap();
        let book = state.events.book();
        let mut held: Vec<u64> = book.all().map(|c| c.event.id).collect();
        held.sort();
        assert_eq!(held, ids);
    }
}
