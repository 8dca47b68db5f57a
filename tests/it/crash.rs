//! A process killed (SIGKILL) in the middle of an import leaves the previous data intact.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use gridmap::model::Layer;
use gridmap::model::geojson::{layer_features, write_collection};

use crate::common::{assert_success, bin, gridmap, sample_state};

#[test]
fn sigkill_mid_import_leaves_the_previous_data_intact() {
    let (dir, _state) = sample_state();
    let store = dir.path().join("gridmap.gpkg");
    kill_mid_import(&store, dir.path());
}

#[test]
fn sigkill_mid_import_into_postgis_leaves_the_previous_data_intact() {
    let Some(db) = crate::pg::TestDb::create() else {
        return;
    };
    let store =
        gridmap::store::open(&db.url, gridmap::model::declared::Declarations::shipped()).unwrap();
    assert!(gridmap::sample::load_if_empty(store.as_ref()).unwrap());
    drop(store);
    let dir = tempfile::tempdir().unwrap();
    kill_mid_import(Path::new(&db.url), dir.path());
}

/// Kill a real `gridmap import --replace` of 40,000 grids once it is writing rows inside its
/// transaction; the store must hold exactly what it held before. Then, as a control, the same
/// import left alone must change it.
fn kill_mid_import(store: &Path, scratch: &Path) {
    let open = || {
        gridmap::store::open(
            &store.display().to_string(),
            gridmap::model::declared::Declarations::shipped(),
        )
        .unwrap()
    };
    let before = open().load().unwrap();
    let version = open().version().unwrap();
    // A PostGIS version is the last change-log id, comparable across connections; a GeoPackage's
    // is per connection, and rolling back the killed import's journal rightly counts as a change.
    let comparable = gridmap::store::is_postgres(&store.display().to_string());

    // 40,000 valid grids for the same villages: a replace that takes a while to write.
    let big = gridmap::generate::generate(20).unwrap();
    let file = scratch.join("grids-x20.geojson");
    std::fs::write(
        &file,
        write_collection(&layer_features(&big.layer(Layer::Grids))),
    )
    .unwrap();

    let mut child = Command::new(bin())
        .args(["import", "--layer", "grids", "--replace", "--store"])
        .arg(store)
        .arg(&file)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until rows are being written inside the transaction, then kill without warning.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().expect("import printed progress").unwrap();
    assert!(first.contains("written"), "{first}");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the import finished before it could be killed: {status:?}"
    );

    let after = open().load().unwrap();
    assert_eq!(after.grids.len(), before.grids.len());
    assert_eq!(after, before);
    if comparable {
        assert_eq!(open().version().unwrap(), version, "nothing was committed");
    }

    // Control: the same import, left alone, does change the data.
    let ok = gridmap(
        store,
        &[
            "import",
            "--layer",
            "grids",
            "--replace",
            file.to_str().unwrap(),
        ],
    );
    assert_success(&ok);
    assert_eq!(open().load().unwrap().grids.len(), big.grids.len());
}

/// A 201 means stored: SIGKILL a server during a burst of `POST /events` from four clients,
/// three times over, and every event acknowledged before the kill is in the store with its text.
#[test]
fn sigkill_during_a_burst_of_reports_loses_no_acknowledged_event() {
    let (dir, _state) = sample_state();
    kill_during_reports(dir.path().join("gridmap.gpkg").as_os_str());
}

#[test]
fn sigkill_during_a_burst_of_reports_into_postgis_loses_no_acknowledged_event() {
    let Some(db) = crate::pg::TestDb::with_sample() else {
        return;
    };
    kill_during_reports(std::ffi::OsStr::new(&db.url));
}

/// One request on a fresh connection; `None` when the server is gone (refused, reset, cut short).
fn try_post(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).ok()?;
    let mut bytes = Vec::new();
    s.read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (status, body) = crate::common::status_and_body(&text);
    (status != 0).then_some((status, body))
}

fn kill_during_reports(store: &std::ffi::OsStr) {
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    for round in 0..3 {
        let mut server = crate::common::Server::start_logging(store, &[], "warn");
        let port = server.port;
        let acked = Arc::new(Mutex::new(Vec::new()));
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let acked = acked.clone();
                std::thread::spawn(move || {
                    for i in 0.. {
                        let text = format!("burst {round}-{client}-{i}");
                        let body = serde_json::json!({
                            "lon": 119.58, "lat": 31.99, "category": "hazard",
                            "severity": "blue", "source": "public", "text": text,
                        })
                        .to_string();
                        match try_post(port, "/events", &body) {
                            Some((201, answer)) => {
                                let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
                                acked
                                    .lock()
                                    .unwrap()
                                    .push((v["id"].as_u64().unwrap(), text));
                            }
                            Some((status, answer)) => panic!("{status}: {answer}"),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        // Kill once a good number are acknowledged (the clients keep sending meanwhile).
        let deadline = Instant::now() + Duration::from_secs(120);
        while acked.lock().unwrap().len() < 200 {
            assert!(Instant::now() < deadline, "too few reports acknowledged");
            std::thread::sleep(Duration::from_millis(10));
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for c in clients {
            c.join().unwrap();
        }
        acknowledged.extend(acked.lock().unwrap().drain(..));
        let reopened = gridmap::store::open(
            &store.to_string_lossy(),
            gridmap::model::declared::Declarations::shipped(),
        )
        .unwrap();
        let stored: std::collections::HashMap<u64, String> = reopened
            .events_since(0, 1_000_000)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.event.map(|e| (e.id, e.text)))
            .collect();
        for (id, text) in &acknowledged {
            assert_eq!(stored.get(id), Some(text), "round {round}: event {id} lost");
        }
    }
    assert!(acknowledged.len() >= 600);
}
