//! Several `gridmap serve` processes on one PostGIS database: a write reaches every one of them
//! (index and tile cache) without a restart, and a server that loses the database keeps serving,
//! says so on /health, and catches up from the change log when the database is back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gridmap::model::LayerData;
use gridmap::model::geojson::{layer_features, write_collection};

use crate::common::{
    Server, add_user, assert_success, gridmap, http_get, http_raw, repo, status_and_body,
    tile_etag, tile_xy,
};
use crate::pg::{TestDb, cluster, connect};

/// Import `station` renamed to `name` through the CLI, as an operator would.
fn rename_station(store: &str, station: &gridmap::model::Station, name: &str) {
    let mut changed = station.clone();
    changed.name = name.into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("station.geojson");
    let features = layer_features(&LayerData::Stations(vec![changed]));
    std::fs::write(&file, write_collection(&features)).unwrap();
    assert_success(&gridmap(
        Path::new(store),
        &["import", "--layer", "stations", file.to_str().unwrap()],
    ));
}

/// How long until every server shows `text` for the station; panics after 20 s.
fn until_all_show(servers: &[&Server], id: u64, text: &str) -> Duration {
    let started = Instant::now();
    for server in servers {
        loop {
            let (_, body) = http_get(server.port, &format!("/collections/stations/items/{id}"));
            if body.contains(text) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "server on port {} never showed {text}",
                server.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    started.elapsed()
}

/// Poll /health until its status is `status`; panics after 20 s. With an admin's token (else
/// ""), the answer names the store's error.
fn until_health(server: &Server, status: &str, admin: &str) -> serde_json::Value {
    let started = Instant::now();
    let bearer = format!("Bearer {admin}");
    let headers: &[(&str, &str)] = if admin.is_empty() {
        &[]
    } else {
        &[("Authorization", bearer.as_str())]
    };
    loop {
        let (code, body) = status_and_body(&http_raw(server.port, "GET", "/health", headers, ""));
        let health: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if code == 200 && health["status"] == status {
            return health;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "/health never became {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sample_station(i: usize) -> gridmap::model::Station {
    gridmap::sample::dataset().unwrap().stations[i]
        .as_ref()
        .clone()
}

#[test]
fn a_write_reaches_every_server_and_its_tiles_without_a_restart() {
    let Some(db) = TestDb::create() else { return };
    // Accounts made before the servers start, by the CLI, as an admin would.
    let token = add_user(Path::new(&db.url), "replica.writer", "city", &[]);
    let a = Server::start(Path::new(&db.url));
    let b = Server::start(Path::new(&db.url));
    let station = sample_station(20);
    let (x, y) = tile_xy(station.location, 14);
    let tile = format!("/tiles/14/{x}/{y}.mvt");
    let etags: Vec<String> = [&a, &b]
        .map(|s| tile_etag(s.port, &tile).expect("the tile has an ETag"))
        .to_vec();
    assert_eq!(etags[0], etags[1], "replicas render the same bytes");

    rename_station(&db.url, &station, "联合写入驿站");
    let took = until_all_show(&[&a, &b], station.id, "联合写入驿站");
    eprintln!(
        "an import reached both servers {} ms after it committed",
        took.as_millis()
    );
    for s in [&a, &b] {
        assert_ne!(
            tile_etag(s.port, &tile).as_ref(),
            Some(&etags[0]),
            "tile redrawn on {}",
            s.port
        );
    }

    // Another tool writing SQL directly is followed the same way.
    connect(&db.url)
        .execute(
            "UPDATE stations SET name = 'SQL写入驿站' WHERE id = $1",
            &[&(station.id as i64)],
        )
        .unwrap();
    let took = until_all_show(&[&a, &b], station.id, "SQL写入驿站");
    eprintln!(
        "an SQL update reached both servers in {} ms",
        took.as_millis()
    );

    // A write through one server's API reaches the other.
    let mut changed = station.clone();
    changed.name = "经由接口写入驿站".into();
    let feature = serde_json::to_string(&gridmap::model::geojson::station_feature(
        &changed,
        gridmap::model::geojson::Visibility::Personal,
    ))
    .unwrap();
    let auth = format!("Bearer {token}");
    // The item's ETag, as the account reads it from this server.
    let item = format!("/collections/stations/items/{}", station.id);
    let response = http_raw(a.port, "GET", &item, &[("Authorization", &auth)], "");
    let tag = response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("etag:")
                .then(|| l[5..].trim().to_string())
        })
        .expect("an ETag for the account");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/geo+json"),
        ("If-Match", tag.as_str()),
    ];
    let (status, body) = status_and_body(&http_raw(
        a.port,
        "PUT",
        &format!("/collections/stations/items/{}", station.id),
        &headers,
        &feature,
    ));
    assert_eq!(status, 200, "{body}");
    let took = until_all_show(&[&a, &b], station.id, "经由接口写入驿站");
    eprintln!(
        "a PUT on one server reached both in {} ms",
        took.as_millis()
    );
    // Both servers report the database's latest change as the one they have caught up to.
    let latest: i64 = connect(&db.url)
        .query_one("SELECT max(id) FROM change_log", &[])
        .unwrap()
        .get(0);
    for s in [&a, &b] {
        let started = Instant::now();
        while until_health(s, "ok", "")["store_version"].as_i64() != Some(latest) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "server on {} never reached change {latest}",
                s.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn servers_keep_serving_through_a_database_restart_and_catch_up() {
    let Some(admin) = cluster("GRIDMAP_TEST_POSTGRES_RESTART") else {
        return;
    };
    let dir = std::env::var("GRIDMAP_TEST_POSTGRES_RESTART_DIR").unwrap();
    let port = std::env::var("GRIDMAP_TEST_POSTGRES_RESTART_PORT").unwrap();
    let pg_cluster = |args: &[&str]| {
        let out = Command::new(repo().join("scripts/pg-cluster"))
            .args(args)
            .output()
            .unwrap();
        assert_success(&out);
    };
    let db = TestDb::on(&admin).unwrap();
    let root = add_user(Path::new(&db.url), "root", "admin", &[]);
    let a = Server::start(Path::new(&db.url));
    let b = Server::start(Path::new(&db.url));
    let station = sample_station(30);

    // 1. A change made while a server is cut off reaches it from the change log, not from a
    //    notification: freeze it, cut its connections, write, let it run again.
    Command::new("kill")
        .args(["-STOP", &a.child.id().to_string()])
        .status()
        .unwrap();
    let mut c = connect(&db.url);
    c.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'gridmap'",
        &[],
    )
    .unwrap();
    rename_station(&db.url, &station, "断线期间改名");
    Command::new("kill")
        .args(["-CONT", &a.child.id().to_string()])
        .status()
        .unwrap();
    until_all_show(&[&a, &b], station.id, "断线期间改名");

    // 2. The database goes away: both servers go on answering from their index, degraded.
    drop(c);
    pg_cluster(&["stop", &dir]);
    for s in [&a, &b] {
        let health = until_health(s, "degraded", &root);
        assert!(
            health["store_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{health}"
        );
        let (code, body) = http_get(s.port, "/locate?lon=119.58&lat=31.99");
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("\"grid\":{"), "{body}");
        let (code, _) = http_get(
            s.port,
            &format!("/collections/stations/items/{}", station.id),
        );
        assert_eq!(code, 200);
    }

    // 3. It comes back: both reconnect by themselves and follow writes again.
    pg_cluster(&["start", &dir, &port]);
    for s in [&a, &b] {
        until_health(s, "ok", "");
    }
    rename_station(&db.url, &station, "重启之后改名");
    until_all_show(&[&a, &b], station.id, "重启之后改名");
}
