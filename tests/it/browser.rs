//! The /map page in Debian's Chromium, driven by playwright-core (`tests/browser/map.test.mjs`)
//! against a real `gridmap serve` of the Danyang sample. Screenshots go to
//! `target/test-artifacts/browser/`.
//!
//! `scripts/test` installs Chromium and playwright-core when missing and sets
//! `GRIDMAP_REQUIRE_BROWSER=1`; without them the test skips with a message, unless skipping is
//! forbidden (that variable, or `CI`).

use std::path::Path;
use std::process::Command;

use crate::common::{Server, repo};

fn required() -> bool {
    ["CI", "GRIDMAP_REQUIRE_BROWSER"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
}

/// Why the browser tests cannot run here, if they cannot.
fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} is missing (Debian package chromium)"));
    }
    if !repo()
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core is missing (npm ci --prefix tests/browser)".into());
    }
    None
}

#[test]
fn map_page_in_chromium() {
    if let Some(why) = missing() {
        assert!(
            !required(),
            "{why}, and browser tests may not be skipped here: run scripts/test, which installs them"
        );
        eprintln!("skipped: {why}; scripts/test installs it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("gridmap.gpkg");
    let server = Server::start(&store);
    // A town's staff account (太阳城街道), made by the CLI while the server runs: wait until the
    // server knows it (it re-reads accounts every second).
    let token = crate::common::add_user(&store, "map.town", "town", &["321181001"]);
    // And the grid worker of one of its grids, with a point well inside that grid, for the
    // events check (a report there goes to that grid; the town dispatches it, the worker
    // handles it).
    let (grid, point) = {
        use geo::InteriorPoint;
        let d = gridmap::sample::dataset().unwrap();
        let g = d
            .grids
            .iter()
            .filter(|g| g.code.starts_with("321181001"))
            .nth(5)
            .unwrap();
        let p = g.geometry.interior_point().unwrap();
        (g.code.clone(), format!("{},{}", p.x(), p.y()))
    };
    let worker = crate::common::add_user(&store, "map.worker", "grid_worker", &[&grid]);
    // And the command centre's, for the big screen.
    let city = crate::common::add_user(&store, "map.city", "city", &[]);
    let started = std::time::Instant::now();
    for t in [&token, &worker, &city] {
        while crate::common::status_and_body(&crate::common::http_raw(
            server.port,
            "GET",
            "/health",
            &[("Authorization", &format!("Bearer {t}"))],
            "",
        ))
        .0 != 200
        {
            assert!(
                started.elapsed().as_secs() < 60,
                "the server never learned the accounts"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let artifacts = repo().join("target/test-artifacts/browser");
    let out = Command::new("node")
        .arg("map.test.mjs")
        .arg(server.url())
        .arg(&artifacts)
        .current_dir(repo().join("tests/browser"))
        .env("GRIDMAP_BIN", crate::common::bin())
        .env("GRIDMAP_TEST_TOKEN", &token)
        .env("GRIDMAP_TEST_WORKER_TOKEN", &worker)
        .env("GRIDMAP_TEST_CITY_TOKEN", &city)
        .env("GRIDMAP_TEST_WORKER_GRID", &grid)
        .env("GRIDMAP_TEST_POINT", &point)
        .output()
        .expect("node runs (Debian nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser checks failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
