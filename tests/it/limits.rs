//! Limits, overload, shutdown and metrics, against a real `gridmap serve` over real sockets:
//! a body over the limit is refused before it is read; a request past the time limit is answered
//! 503; beyond the caps requests are shed at once (heavy ones separately, so tiles and /locate go
//! on); SIGTERM lets the request in flight finish and loses nothing; `/metrics` is read by the
//! Prometheus project's own parser and counts what the test did.
//!
//! A request is held in flight the way a slow phone holds one: its body is sent in part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Server, add_user, bin, http_get, http_raw, sample_state, status_and_body};

/// Generous: the CI machine may be loaded.
const DEADLINE: Duration = Duration::from_secs(90);

/// A request whose body is still coming: its head and the first bytes sent, the rest held.
struct Slow {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl Slow {
    fn start(port: u16, method: &str, path: &str, auth: Option<&str>, body: &str) -> Slow {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = auth {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(first).unwrap();
        Slow {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Send the rest of the body; the answer's status and body.
    fn finish(mut self) -> (u16, String) {
        self.stream.write_all(&self.rest).unwrap();
        self.answer()
    }

    /// The answer, without sending the rest of the body.
    fn answer(mut self) -> (u16, String) {
        let mut bytes = Vec::new();
        self.stream.read_to_end(&mut bytes).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (status, body) = status_and_body(&text);
        (status, body)
    }
}

/// Wait (polling gently) until `ready` holds; fail naming `what` after the deadline.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One sample's value from `/metrics` (the line starting with `series` then a space).
fn metric(port: u16, series: &str) -> Option<f64> {
    let (status, text) = http_get(port, "/metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn in_flight(port: u16) -> f64 {
    metric(port, "gridmap_http_requests_in_flight").unwrap()
}

fn report(text: &str) -> String {
    json!({"lon": 119.58, "lat": 31.99, "category": "dispute", "severity": "yellow",
        "source": "public", "text": text})
    .to_string()
}

fn error_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// The head of an answer (status line and headers), lower-cased.
fn head_of(response: &str) -> String {
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[test]
fn a_body_declared_over_the_limit_is_refused_before_it_is_sent() {
    let (dir, _state) = sample_state();
    let server = Server::start_with(&dir.path().join("gridmap.gpkg"), &["--max-body-mb", "1"]);
    // Only the head goes: the server must answer without waiting for 2 MiB.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "POST /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 << 20
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let (status, body) = status_and_body(&text);
    assert_eq!(status, 413, "{text}");
    let e = error_of(&body);
    assert_eq!(e["error"], "payload_too_large");
    let message = e["message"].as_str().unwrap();
    assert!(
        message.starts_with("body:")
            && message.contains("1048576")
            && message.contains("--max-body-mb"),
        "{message}"
    );
    // Under the limit, the same endpoint takes a report.
    let (status, body) = status_and_body(&http_raw(
        server.port,
        "POST",
        "/events",
        &[("content-type", "application/json")],
        &report("limit"),
    ));
    assert_eq!(status, 201, "{body}");
}

/// A body with no length announced (chunked) is stopped at the limit as it is read.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_refused_in_the_error_shape() {
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (_dir, state) = sample_state();
    let state = state.with_limits(gridmap::http::Limits {
        max_body_bytes: 64 << 10,
        ..gridmap::http::Limits::default()
    });
    for path in ["/events", "/impact"] {
        let chunks = (0..100).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024]));
        let request = axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .unwrap();
        let response = gridmap::http::router(state.clone())
            .oneshot(request)
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let e: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(e["error"], "payload_too_large", "{path}: {e}");
        assert!(e["message"].as_str().unwrap().starts_with("body:"), "{e}");
    }
}

#[test]
fn a_request_past_the_time_limit_is_answered_503_and_counted() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let server = Server::start_with(&store, &["--request-timeout-s", "1"]);
    let started = Instant::now();
    let (status, body) =
        Slow::start(server.port, "POST", "/events", None, &report("slow")).answer();
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() >= Duration::from_secs(1));
    let e = error_of(&body);
    assert_eq!(e["error"], "timeout");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("--request-timeout-s"),
        "{e}"
    );
    assert_eq!(
        metric(
            server.port,
            r#"gridmap_http_request_timeouts_total{route="/events"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            server.port,
            r#"http_requests_total{route="/events",method="POST",status="503"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn beyond_the_caps_requests_are_shed_at_once_and_heavy_ones_cannot_starve_the_rest() {
    let (dir, _state) = sample_state();
    let server = Server::start_with(
        &dir.path().join("gridmap.gpkg"),
        &["--max-in-flight", "2", "--max-heavy", "1"],
    );
    let port = server.port;
    let locate = "/locate?lon=119.58&lat=31.99";
    let impact = json!({"type": "Polygon", "coordinates": [[[119.590, 31.995], [119.622, 31.998],
        [119.618, 32.021], [119.587, 32.016], [119.590, 31.995]]]})
    .to_string();

    // One heavy request in flight fills the heavy cap.
    let heavy = Slow::start(port, "POST", "/impact", None, &impact);
    wait_until("the impact request to be in flight", || {
        metric(port, "gridmap_http_heavy_requests_in_flight") == Some(1.0)
    });
    let refused = http_raw(port, "GET", "/coverage/gaps?level=village", &[], "");
    let (status, body) = status_and_body(&refused);
    assert_eq!(status, 503, "{refused}");
    assert!(
        head_of(&refused).contains("\r\nretry-after: 1"),
        "{refused}"
    );
    let e = error_of(&body);
    assert_eq!(e["error"], "busy");
    assert!(
        e["message"].as_str().unwrap().contains("--max-heavy"),
        "{e}"
    );
    // Tiles and /locate are not held up by it.
    assert_eq!(http_get(port, locate).0, 200);
    assert_eq!(http_get(port, "/tiles/12/3408/1663.mvt").0, 200);

    // A second request in flight fills the common cap: now everything but /health and /metrics
    // is refused at once.
    let light = Slow::start(port, "POST", "/events", None, &report("held"));
    wait_until("two requests in flight", || in_flight(port) == 2.0);
    let refused = http_raw(port, "GET", locate, &[], "");
    let (status, body) = status_and_body(&refused);
    assert_eq!(status, 503, "{refused}");
    assert!(
        head_of(&refused).contains("\r\nretry-after: 1"),
        "{refused}"
    );
    // A browser's script can read the refusal: CORS and the request id are on it too.
    for header in ["access-control-allow-origin: *", "x-request-id: "] {
        assert!(
            head_of(&refused).contains(&format!("\r\n{header}")),
            "{refused}"
        );
    }
    assert!(
        error_of(&body)["message"]
            .as_str()
            .unwrap()
            .contains("--max-in-flight")
    );
    assert_eq!(http_get(port, "/health").0, 200);
    assert_eq!(
        metric(port, r#"gridmap_http_requests_shed_total{class="heavy"}"#),
        Some(1.0)
    );
    assert_eq!(
        metric(port, r#"gridmap_http_requests_shed_total{class="light"}"#),
        Some(1.0)
    );

    // Those already being served are answered in full.
    let (status, body) = heavy.finish();
    assert_eq!(status, 200, "{body}");
    assert!(error_of(&body)["grids"].is_array(), "{body}");
    let (status, body) = light.finish();
    assert_eq!(status, 201, "{body}");
    wait_until("the caps to be free again", || in_flight(port) == 0.0);
    assert_eq!(http_get(port, locate).0, 200);
}

/// SIGTERM with a report half sent, an event stream open and an import writing into the same
/// store: the server stops taking connections, ends the stream, answers the report in full,
/// exits 0; the import finishes; a new server serves both the report and the import.
#[test]
fn sigterm_lets_the_request_in_flight_finish_and_loses_nothing() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let token = add_user(&store, "limits.city", "city", &[]);
    // A grace far beyond the test's deadlines: the server must exit because the stream ended
    // and the report was answered, not because the grace ran out.
    let mut server = Server::start_with(&store, &["--shutdown-grace-s", "600"]);
    let port = server.port;

    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET /events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut events = BufReader::new(stream);
    let mut status = String::new();
    events.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");

    let slow = Slow::start(port, "POST", "/events", Some(&token), &report("在途"));
    wait_until("the report to be in flight", || in_flight(port) == 1.0);

    // An import of 6,000 grids for the same villages, writing in its own process.
    let grids = gridmap::generate::generate(3).unwrap();
    let file = dir.path().join("grids-x3.geojson");
    std::fs::write(
        &file,
        gridmap::model::geojson::write_collection(&gridmap::model::geojson::layer_features(
            &grids.layer(gridmap::model::Layer::Grids),
        )),
    )
    .unwrap();
    let mut import = Command::new(bin())
        .args(["import", "--layer", "grids", "--replace", "--store"])
        .arg(&store)
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut progress = BufReader::new(import.stderr.take().unwrap()).lines();
    let first = progress
        .next()
        .expect("the import printed progress")
        .unwrap();
    assert!(first.contains("written"), "{first}");

    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_until("the server to stop accepting connections", || {
        TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    // The stream ends (its screen reconnects to another replica).
    let mut rest = String::new();
    events.read_to_string(&mut rest).unwrap();
    let (status, body) = slow.finish();
    assert_eq!(status, 201, "{body}");
    let id = error_of(&body)["id"].as_u64().unwrap();
    let deadline = Instant::now() + DEADLINE;
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(exit.success(), "{exit}\n{log}");
    assert!(log.contains("stopped"), "{log}");

    let rest: Vec<String> = progress.map_while(Result::ok).collect();
    assert!(import.wait().unwrap().success(), "{rest:?}");

    // A new server has both the report acknowledged during the shutdown and the import.
    let again = Server::start(&store);
    let (status, body) = status_and_body(&http_raw(
        again.port,
        "GET",
        &format!("/events/{id}"),
        &[("authorization", &format!("Bearer {token}"))],
        "",
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_of(&body)["properties"]["text"], "在途", "{body}");
    let (_, body) = http_get(again.port, "/collections/grids/items?limit=1");
    assert_eq!(
        error_of(&body)["numberMatched"].as_u64(),
        Some(grids.grids.len() as u64)
    );
}

/// `/metrics` is valid OpenMetrics as the Prometheus project's Python parser reads it, and
/// counts exactly the requests made; every answer carries a request id, the client's when sane.
#[test]
fn metrics_count_what_was_asked_and_every_answer_has_a_request_id() {
    let (dir, _state) = sample_state();
    let server = Server::start(&dir.path().join("gridmap.gpkg"));
    let port = server.port;
    let mut ids = std::collections::HashSet::new();
    for i in 0..7 {
        let response = http_raw(
            port,
            "GET",
            &format!("/locate?lon=119.5{i}&lat=31.99"),
            &[],
            "",
        );
        let head = head_of(&response);
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .unwrap_or_else(|| panic!("no request id: {head}"))
            .to_string();
        assert!(ids.insert(id), "request ids repeat");
    }
    for _ in 0..3 {
        assert_eq!(http_get(port, "/tiles/12/3408/1663.mvt").0, 200);
    }
    assert_eq!(http_get(port, "/no/such/thing").0, 404);
    let own = http_raw(port, "GET", "/health", &[("x-request-id", "lb-42.a")], "");
    assert!(head_of(&own).contains("\r\nx-request-id: lb-42.a"), "{own}");
    let odd = http_raw(port, "GET", "/health", &[("x-request-id", "a b")], "");
    assert!(!head_of(&odd).contains("x-request-id: a b"), "{odd}");

    let (status, text) = http_get(port, "/metrics");
    assert_eq!(status, 200);
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}|{labels}"] = s.value
print(json.dumps(out))
"#;
    let mut python = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics (scripts/test installs prometheus-client): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: std::collections::HashMap<String, f64> =
        serde_json::from_slice(&out.stdout).unwrap();
    let get = |key: &str| {
        *samples
            .get(key)
            .unwrap_or_else(|| panic!("no sample {key} in:\n{text}"))
    };
    assert_eq!(
        get("http_requests_total|method=GET,route=/locate,status=200"),
        7.0
    );
    assert_eq!(
        get("http_requests_total|method=GET,route=unmatched,status=404"),
        1.0
    );
    assert_eq!(
        get("http_request_duration_seconds_count|route=/locate"),
        7.0
    );
    assert_eq!(
        get("http_request_duration_seconds_bucket|le=+Inf,route=/locate"),
        7.0
    );
    assert!(get("http_request_duration_seconds_sum|route=/locate") > 0.0);
    // The first tile request rendered, the next two came from the cache.
    assert_eq!(get("gridmap_tile_cache_misses_total|crs=wgs84"), 1.0);
    assert_eq!(get("gridmap_tile_cache_hits_total|crs=wgs84"), 2.0);
    assert!(get("gridmap_tile_cache_bytes|crs=wgs84") > 0.0);
    assert_eq!(get("gridmap_store_lag_changes|"), 0.0);
    assert_eq!(get("gridmap_store_up|"), 1.0);
    assert_eq!(get("gridmap_features|layer=grids"), 2001.0);
    // Staff-only layers are not counted in public.
    assert!(get("gridmap_features|layer=dedicated_grids") > 0.0);
    assert!(!samples.contains_key("gridmap_features|layer=care_households"));
}

/// With `--log-format json`, a line logged while serving a request carries the request's id, also
/// when the work runs on a blocking thread (a write and this server's catch-up after it, which
/// reads only the changed feature).
#[test]
fn json_log_lines_carry_the_request_id_from_blocking_work_too() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let token = add_user(&store, "logs.city", "city", &[]);
    let server = Server::start_logging(
        store.as_os_str(),
        &["--log-format", "json"],
        "warn,gridmap=debug",
    );
    let port = server.port;
    let bearer = format!("Bearer {token}");
    let uri = "/collections/stations/items/1";
    let got = http_raw(port, "GET", uri, &[("authorization", &bearer)], "");
    let tag = head_of(&got)
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no ETag: {got}"))
        .to_string();
    let body = json!({"type": "Feature", "properties": {"name": "日志驿站"}}).to_string();
    let patched = http_raw(
        port,
        "PATCH",
        uri,
        &[
            ("authorization", &bearer),
            ("if-match", &tag),
            ("content-type", "application/json"),
            ("x-request-id", "json-log-write-1"),
        ],
        &body,
    );
    assert!(patched.starts_with("HTTP/1.1 200"), "{patched}");
    // The write runs on a blocking thread, and what it logs there carries the request's id.
    let log = std::fs::read_to_string(&server.log).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let committed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "write committed; catching up")
        .unwrap_or_else(|| panic!("no write logged:\n{log}"));
    assert_eq!(committed["span"]["id"], "json-log-write-1", "{committed}");
    assert_eq!(committed["span"]["method"], "PATCH", "{committed}");
    // The catch-up (the write's own or the follower's, whichever came first) read the one
    // changed post through the GeoPackage's change log, not the whole file (the server's
    // start, which prunes old audit rows, left the log to be trusted).
    let from_log = lines
        .iter()
        .find(|l| l["fields"]["message"] == "read from the change log")
        .unwrap_or_else(|| panic!("the catch-up read the whole file:\n{log}"));
    assert_eq!(from_log["fields"]["changed"], 1, "{from_log}");
}
