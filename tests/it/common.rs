//! Shared helpers: a real GeoPackage store with the sample in a temp dir, one-shot requests, and
//! a real server process on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use gridmap::http::{AppState, router};
use gridmap::store::{GeoPackage, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gridmap")
}

/// Run `gridmap --store STORE ARGS...` as a user would, and return what it did.
pub fn gridmap(store: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

/// Fail with the command's standard error unless it succeeded.
#[track_caller]
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A GeoPackage the sample was loaded into (`sample::load_if_empty`, as a first `serve` does),
/// once per test process; `sample_state` hands each test a copy of the file. Copies of an
/// earlier run's older than a day are removed.
fn sample_gpkg() -> &'static Path {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().unwrap_or_default() > Duration::from_secs(86_400));
                if stale && e.file_name().to_string_lossy().starts_with("sample-") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let path = dir.join(format!("sample-{}.gpkg", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let store =
            GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped()).unwrap();
        assert!(gridmap::sample::load_if_empty(&store).unwrap());
        path
    })
}

/// A fresh GeoPackage holding the Danyang sample (a copy of `sample_gpkg`), and the app state
/// over it.
pub fn sample_state() -> (TempDir, AppState) {
    let (dir, store) = sample_store();
    (dir, AppState::load(store).unwrap())
}

/// A fresh GeoPackage holding the Danyang sample (a copy of `sample_gpkg`).
pub fn sample_store() -> (TempDir, std::sync::Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridmap.gpkg");
    std::fs::copy(sample_gpkg(), &path).unwrap();
    let store = GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped()).unwrap();
    (dir, std::sync::Arc::new(store))
}

/// The sample behind an app state, in the backend `GRIDMAP_TEST_BACKEND` names: `gpkg` (the
/// default) or `postgis` (scripts/test runs the HTTP suite once with each). The first value keeps
/// the store alive.
pub fn backed_state() -> (Box<dyn std::any::Any>, AppState) {
    backed_state_with(std::sync::Arc::new(gridmap::events::SystemClock))
}

/// `backed_state` whose events run on `clock` (deadlines tested without sleeping).
pub fn backed_state_with(
    clock: std::sync::Arc<dyn gridmap::events::Clock>,
) -> (Box<dyn std::any::Any>, AppState) {
    let state = |store: std::sync::Arc<dyn Store>| {
        AppState::with_events(
            store,
            Default::default(),
            gridmap::events::Categories::shipped(),
            clock.clone(),
        )
        .unwrap()
    };
    match std::env::var("GRIDMAP_TEST_BACKEND").as_deref() {
        Ok("postgis") => {
            let db = crate::pg::TestDb::with_sample()
                .expect("GRIDMAP_TEST_BACKEND=postgis needs PostGIS");
            let store = gridmap::store::PostGis::open(
                &db.url,
                gridmap::model::declared::Declarations::shipped(),
            )
            .unwrap();
            let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(store);
            (Box::new(db), state(store))
        }
        Ok("gpkg") | Err(_) => {
            let (dir, store) = sample_store();
            (Box::new(dir), state(store))
        }
        Ok(other) => panic!("GRIDMAP_TEST_BACKEND={other}: use gpkg or postgis"),
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub json: Value,
}

/// A GET through the router in-process (no socket), with `headers`: status, headers, body.
pub struct Raw {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Raw {
    /// A response header as text; empty when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn get_raw(state: &AppState, uri: &str, headers: &[(&str, &str)]) -> Raw {
    let mut request = Request::get(uri).header("host", "test.local");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Raw {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes().to_vec(),
    }
}

/// A GET whose answer must be JSON.
pub async fn get(state: &AppState, uri: &str) -> Reply {
    let raw = get_raw(state, uri, &[]).await;
    let json = serde_json::from_slice(&raw.body).unwrap_or_else(|e| {
        panic!(
            "{uri}: body is not JSON ({e}): {}",
            String::from_utf8_lossy(&raw.body)
        )
    });
    Reply {
        status: raw.status,
        content_type: raw.header("content-type").to_string(),
        json,
    }
}

/// A `gridmap serve` child process on a loopback port of its own choosing; killed on drop. Its
/// log (stderr) goes to a file, so a test can read the requests it served.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    _log_dir: TempDir,
}

impl Server {
    pub fn start(store: &Path) -> Server {
        Server::start_with(store, &[])
    }

    /// A server with more `serve` flags.
    pub fn start_with(store: &Path, flags: &[&str]) -> Server {
        Server::start_logging(store.as_os_str(), flags, "warn,gridmap=info")
    }

    /// A server whose log keeps what `rust_log` (a `RUST_LOG` filter) selects. The server binds
    /// port 0 and the port is read from its "gridmap listening" line: two tests starting servers
    /// at once can never be handed the same port, as they could when a test picked a free port
    /// and released it for the server to bind.
    pub fn start_logging(store: &std::ffi::OsStr, flags: &[&str], rust_log: &str) -> Server {
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("server.log");
        let mut child = Command::new(bin())
            .args(["serve", "--bind", "127.0.0.1:0", "--store"])
            .arg(store)
            .args(flags)
            // The listening line is at info; keep it whatever else the caller asks for.
            .env("RUST_LOG", format!("{rust_log},gridmap::http=info"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        // Generous: the sample is loaded into an empty store first, on a machine that may be busy.
        let deadline = Instant::now() + Duration::from_secs(90);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(port) = listening_port(&text) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("gridmap serve exited ({status}) before listening:\n{text}");
            }
            assert!(Instant::now() < deadline, "server did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Server {
            child,
            port,
            log,
            _log_dir: log_dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The port of the `bind=127.0.0.1:PORT` field on the "gridmap listening" line.
fn listening_port(log: &str) -> Option<u16> {
    let line = log.lines().find(|l| l.contains("gridmap listening"))?;
    // `--log-format json`: the address is a field of the line's object.
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(line) {
        return json["fields"]["bind"]
            .as_str()?
            .rsplit(':')
            .next()?
            .parse()
            .ok();
    }
    let addr = line.split("bind=").nth(1)?.split_whitespace().next()?;
    let plain: String = strip_ansi(addr);
    plain.rsplit(':').next()?.parse().ok()
}

/// Text without ANSI colour sequences (`ESC [ ... m`), should a logger add them.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a real socket (no client library needed); the whole response text.
pub fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    s.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The status code and body of a response from `http_raw`.
pub fn status_and_body(text: &str) -> (u16, String) {
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A blocking GET over a real socket: (status, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    status_and_body(&http_raw(port, "GET", path, &[], ""))
}

/// The ETag of a tile from a running server, over a real socket.
pub fn tile_etag(port: u16, path: &str) -> Option<String> {
    let response = http_raw(port, "GET", path, &[], "");
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("etag: ")
            .map(|v| v.trim().to_string())
    })
}

/// `ogrinfo` from GDAL; the README's test command installs it (Debian gdal-bin) when missing.
pub fn ogrinfo() -> Command {
    assert!(
        Command::new("ogrinfo").arg("--version").output().is_ok(),
        "ogrinfo (GDAL) is missing: run the README's test command, which installs gdal-bin"
    );
    Command::new("ogrinfo")
}

/// The XYZ column and row of the tile at zoom `z` holding `p` (slippy-map formulas, written here
/// independently of gridmap's tile maths).
pub fn tile_xy(p: geo::Point, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (p.x() + 180.0) / 360.0 * n;
    let y = (1.0 - p.y().to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    (x.floor() as u32, y.floor() as u32)
}

/// The string at `key` of every object in the JSON array `v` (e.g. the `rel` of every link).
pub fn strings<'a>(v: &'a Value, key: &str) -> Vec<&'a str> {
    v.as_array()
        .map(|a| a.iter().filter_map(|o| o[key].as_str()).collect())
        .unwrap_or_default()
}

/// Make an account in the state's store and let the state know it (as the follower would within
/// a second); its token.
pub fn account(
    state: &AppState,
    name: &str,
    role: gridmap::access::Role,
    areas: &[&str],
) -> String {
    use gridmap::access::{Account, StoredAccount, Token};
    let token = Token::generate().unwrap();
    let account = Account::new(
        name,
        role,
        areas.iter().map(|a| a.to_string()).collect(),
        gridmap::model::date::now_s(),
        None,
    )
    .unwrap();
    state
        .store
        .put_account(&StoredAccount {
            account,
            token: token.hash(),
        })
        .unwrap();
    state.accounts.replace(state.store.accounts().unwrap());
    token.as_str().to_string()
}

/// A request through the router in-process with a method, headers and a body: status, headers
/// and the body as JSON (null when empty).
pub async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "test.local")
        .header("content-type", "application/geo+json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {uri}: not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (parts.status, parts.headers, json)
}

/// `gridmap --store STORE user add NAME --role ROLE [--area A]...` as an admin would run it; the
/// token it prints.
pub fn add_user(store: &Path, name: &str, role: &str, areas: &[&str]) -> String {
    let mut args = vec!["user", "add", name, "--role", role];
    for a in areas {
        args.extend(["--area", a]);
    }
    let out = gridmap(store, &args);
    assert!(
        out.status.success(),
        "user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
