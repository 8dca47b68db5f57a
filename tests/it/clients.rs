//! Real clients read gridmap without workarounds (issue 11): Debian's GDAL 3.6 (`ogrinfo`,
//! `ogr2ogr`), GDAL 3.12 through pyogrio, OWSLib, GDAL behind a TLS-terminating reverse proxy on a path prefix,
//! and schemathesis against `/openapi.json`. Each is a Python script in `tests/clients/` run
//! against a real `gridmap serve` on the sample, in the backend `GRIDMAP_TEST_BACKEND` names
//! (`scripts/test` runs this module once per backend and installs `tests/clients/requirements.txt`).
//!
//! The scripts compare what a client got with an independent read (every feature fetched in one
//! plain request and filtered by brute force, `/health`'s counts, SQLite reading the copied
//! GeoPackage), and prove where a filter ran from the server's own request log.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::common::{Server, repo};

/// A `gridmap serve` on the sample logging every request (the front layer at debug), with a work
/// directory for the client's files, and the store kept alive beside it.
struct Served {
    server: Server,
    /// A city account the scripts use where they need one (`/health`'s counts).
    token: String,
    log: PathBuf,
    work: tempfile::TempDir,
    _store: Box<dyn Any>,
}

impl Served {
    fn start(flags: &[&str]) -> Served {
        let work = tempfile::tempdir().unwrap();
        let (store, keep): (String, Box<dyn Any>) =
            match std::env::var("GRIDMAP_TEST_BACKEND").as_deref() {
                Ok("postgis") => {
                    let db = crate::pg::TestDb::create()
                        .expect("GRIDMAP_TEST_BACKEND=postgis needs PostGIS");
                    (db.url.clone(), Box::new(db))
                }
                Ok("gpkg") | Err(_) => {
                    let path = work.path().join("gridmap.gpkg");
                    (path.display().to_string(), Box::new(()))
                }
                Ok(other) => panic!("GRIDMAP_TEST_BACKEND={other}: use gpkg or postgis"),
            };
        // The account exists before the server starts, so the server knows it from the first
        // request (as an admin would make it with the CLI).
        let token = crate::common::add_user(Path::new(&store), "clients", "city", &[]);
        let server =
            Server::start_logging(store.as_ref(), flags, "warn,gridmap::http::front=debug");
        let log = server.log.clone();
        Served {
            server,
            token,
            log,
            work,
            _store: keep,
        }
    }

    fn url(&self) -> String {
        self.server.url()
    }

    fn work(&self) -> &Path {
        self.work.path()
    }
}

/// Run `tests/clients/<script> ARGS...` in the server's work directory (schemathesis and
/// hypothesis leave caches in the current one); fail with everything it printed unless it
/// succeeded.
fn client(served: &Served, script: &str, args: &[&str]) {
    let dir = repo().join("tests/clients");
    let modules = Command::new("python3")
        .args(["-c", "import pyogrio, owslib, schemathesis, shapely"])
        .output();
    assert!(
        modules.is_ok_and(|o| o.status.success()),
        "the client libraries are missing: run the README's test command, which installs tests/clients/requirements.txt (pip)"
    );
    let started = Instant::now();
    let out = Command::new("python3")
        .arg(dir.join(script))
        .args(args)
        .env("GRIDMAP_TEST_TOKEN", &served.token)
        .current_dir(served.work())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{script}: {:.1} s\n{text}", started.elapsed().as_secs_f64());
    assert!(out.status.success(), "{script} failed:\n{text}");
}

#[test]
fn gdal_3_6_lists_copies_and_filters_on_the_server() {
    let s = Served::start(&[]);
    let (log, work) = (s.log.display().to_string(), s.work().display().to_string());
    client(&s, "gdal_cli.py", &[&s.url(), &log, &work]);
}

#[test]
fn gdal_3_12_through_pyogrio_reads_filters_on_the_server_and_writes() {
    let s = Served::start(&[]);
    let (log, work) = (s.log.display().to_string(), s.work().display().to_string());
    client(&s, "gdal_pyogrio.py", &[&s.url(), &log, &work]);
}

#[test]
fn owslib_reads_collections_pages_and_queryables() {
    let s = Served::start(&[]);
    client(&s, "owslib_client.py", &[&s.url()]);
}

#[test]
fn behind_a_proxy_links_name_the_public_url_and_gdal_reads_through_it() {
    let s = Served::start(&[]);
    client(
        &s,
        "through_proxy.py",
        &[&s.url(), &s.work().display().to_string()],
    );
}

/// 150 examples per operation: about a minute on the 2-core test machine (scripts/test runs it
/// once per backend).
#[test]
fn schemathesis_finds_no_answer_contradicting_the_openapi_document() {
    // schemathesis is given no token: writes are exercised up to 401 and change nothing.
    let s = Served::start(&[]);
    client(
        &s,
        "api_fuzz.py",
        &[&s.url(), &s.work().display().to_string(), "150"],
    );
}
