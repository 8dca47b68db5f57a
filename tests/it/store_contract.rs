//! The store contract: every test here runs against both backends, a GeoPackage file and a
//! PostGIS database, through the same `Store` trait (and the CLI through `--store`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gridmap::Error;
use gridmap::model::{Dataset, Layer, LayerData};
use gridmap::store::{self, Store};

use crate::common::{assert_success, gridmap};
use crate::pg::TestDb;

/// Opens a new handle on one store, as another process would.
type Open = Box<dyn Fn() -> Arc<dyn Store>>;

fn gpkg() -> (Box<dyn std::any::Any>, Open) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gridmap.gpkg").display().to_string();
    (
        Box::new(dir),
        Box::new(move || {
            store::open(&path, gridmap::model::declared::Declarations::shipped()).unwrap()
        }),
    )
}

fn postgis() -> Option<(Box<dyn std::any::Any>, Open)> {
    let db = TestDb::create()?;
    let url = db.url.clone();
    Some((
        Box::new(db),
        Box::new(move || {
            store::open(&url, gridmap::model::declared::Declarations::shipped()).unwrap()
        }),
    ))
}

/// Generates `gpkg::name` and `postgis::name` for each contract test `name(&Open)`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod gpkg {
            $( #[test] fn $name() { let (_keep, open) = super::gpkg(); super::$name(&open); } )*
        }
        mod postgis {
            $( #[test] fn $name() {
                let Some((_keep, open)) = super::postgis() else { return };
                super::$name(&open);
            } )*
        }
    };
}

contract!(
    an_empty_store_is_filled_once_and_reads_back_exactly,
    upserts_count_what_they_insert_and_update,
    a_replace_deletes_what_the_file_does_not_hold,
    an_invalid_import_changes_nothing,
    another_handle_sees_a_write_and_a_waiting_one_wakes_up,
    catching_up_gives_the_same_dataset_as_reading_everything,
    an_index_caught_up_edit_by_edit_is_the_one_a_full_build_gives,
    a_delete_commits_unless_it_would_orphan_a_child,
    a_write_checks_what_another_handle_wrote_since,
    opening_and_reading_are_not_changes,
    a_guarded_declared_write_commits_with_its_audit_row_or_not_at_all,
    the_event_log_appends_in_order_and_refuses_a_step_taken_twice,
    photos_are_numbered_per_event_read_back_exactly_and_stop_at_nine,
);

fn filled(open: &Open) -> (Arc<dyn Store>, Dataset) {
    let s = open();
    let sample = gridmap::sample::dataset().unwrap();
    assert!(s.fill_if_empty(&sample, &|_, _| {}).unwrap());
    (s, sample)
}

fn an_empty_store_is_filled_once_and_reads_back_exactly(open: &Open) {
    let s = open();
    assert!(s.load().unwrap().is_empty());
    let sample = gridmap::sample::dataset().unwrap();
    let progress = std::sync::Mutex::new(Vec::new());
    assert!(
        s.fill_if_empty(&sample, &|done, total| progress
            .lock()
            .unwrap()
            .push((done, total)))
            .unwrap()
    );
    let seen = progress.into_inner().unwrap();
    let features = 12 + 229 + 2001 + 300 + 27 + 207;
    assert_eq!(
        seen.last(),
        Some(&(features, features)),
        "progress ends at the total"
    );
    assert!(
        !s.fill_if_empty(&sample, &|_, _| {}).unwrap(),
        "filled only once"
    );
    // Every field and every coordinate comes back as written, also through a new handle.
    assert_eq!(s.load().unwrap(), sample);
    assert_eq!(open().load().unwrap(), sample);
}

fn station(d: &Dataset, i: usize) -> gridmap::model::Station {
    d.stations[i].as_ref().clone()
}

fn upserts_count_what_they_insert_and_update(open: &Open) {
    let (s, sample) = filled(open);
    let v0 = s.version().unwrap();
    let mut changed = station(&sample, 0);
    changed.name = "改名驿站".into();
    changed.services = vec![gridmap::model::Service::Mediation];
    let mut added = station(&sample, 1);
    added.id = 90_001;
    added.contact_phone = None;
    let summary = s
        .import(
            LayerData::Stations(vec![changed.clone(), added.clone()]),
            false,
            &|_, _| {},
        )
        .unwrap();
    assert_eq!(
        (summary.inserted, summary.updated, summary.deleted),
        (1, 1, 0)
    );
    assert_ne!(s.version().unwrap(), v0);
    let mut expected = sample.clone();
    expected.stations[0] = changed.into();
    expected.stations.push(added.into());
    assert_eq!(s.load().unwrap(), expected);
}

fn a_replace_deletes_what_the_file_does_not_hold(open: &Open) {
    let (s, sample) = filled(open);
    let kept: Vec<_> = gridmap::model::unshare(&sample.members[..100]);
    let summary = s
        .import(LayerData::Members(kept.clone()), true, &|_, _| {})
        .unwrap();
    assert_eq!(
        (summary.inserted, summary.updated, summary.deleted),
        (0, 100, 107)
    );
    let after = s.load().unwrap();
    assert_eq!(gridmap::model::unshare(&after.members), kept);
    assert_eq!(after.grids, sample.grids, "other layers untouched");
}

fn an_invalid_import_changes_nothing(open: &Open) {
    let (s, sample) = filled(open);
    let v0 = s.version().unwrap();
    let mut orphan = station(&sample, 0);
    orphan.grid_code = "321181999999001".into();
    let err = s
        .import(LayerData::Stations(vec![orphan]), false, &|_, _| {})
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(r) if r.to_string().contains("321181999999001")),
        "{err}"
    );
    // Replacing the villages with one village would orphan thousands of grids.
    let err = s
        .import(
            LayerData::Villages(gridmap::model::unshare(&sample.villages[..1])),
            true,
            &|_, _| {},
        )
        .unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(s.load().unwrap(), sample);
    assert_eq!(s.version().unwrap(), v0, "nothing was committed");
}

fn another_handle_sees_a_write_and_a_waiting_one_wakes_up(open: &Open) {
    let (writer, sample) = filled(open);
    let reader = open();
    let seen = reader.version().unwrap();
    let before = reader.load().unwrap();
    let mut changed = station(&sample, 5);
    changed.name = "别处写入驿站".into();
    let started = Instant::now();
    let waited = std::thread::scope(|scope| {
        let waiting = scope.spawn(|| reader.wait_for_change(seen, Duration::from_secs(20)));
        std::thread::sleep(Duration::from_millis(300));
        writer
            .import(
                LayerData::Stations(vec![changed.clone()]),
                false,
                &|_, _| {},
            )
            .unwrap();
        waiting.join().unwrap().unwrap()
    });
    assert_ne!(waited, seen, "woke up with the new version");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "woke up on the change, not at the timeout"
    );
    let (version, after) = reader.catch_up(Some(seen), &before).unwrap().unwrap();
    assert_eq!(version, waited);
    assert_eq!(*after.stations[5], changed);
    assert_eq!(reader.catch_up(Some(version), &after).unwrap(), None);
}

fn catching_up_gives_the_same_dataset_as_reading_everything(open: &Open) {
    let (s, _) = filled(open);
    // The server's first read, then the edits of others it follows.
    let (seen, sample) = s.catch_up(None, &Default::default()).unwrap().unwrap();
    assert_eq!(seen, s.version().unwrap());
    // An update, an insert, and a delete (by replacing the layer) in three commits.
    let mut grid = sample.grids[7].as_ref().clone();
    grid.population += 10;
    grid.worker.phone = None;
    s.import(LayerData::Grids(vec![grid]), false, &|_, _| {})
        .unwrap();
    let mut added = station(&sample, 3);
    added.id = 77_777;
    s.import(LayerData::Stations(vec![added]), false, &|_, _| {})
        .unwrap();
    s.import(
        LayerData::Members(gridmap::model::unshare(&sample.members[1..])),
        true,
        &|_, _| {},
    )
    .unwrap();
    // And a declared layer: one shelter changed.
    let mut shelters = sample.declared("shelters").unwrap().clone();
    let capacity = shelters.def.position("capacity").unwrap();
    shelters.features.truncate(1);
    shelters.features[0].values[capacity] = serde_json::json!(12_345);
    s.import_declared(shelters, false).unwrap();
    // And a building: its residents corrected.
    let mut buildings = sample.declared("buildings").unwrap().clone();
    let residents = buildings.def.position("residents").unwrap();
    buildings.features.truncate(1);
    buildings.features[0].values[residents] = serde_json::json!(41);
    s.import_declared(buildings, false).unwrap();
    let (version, caught_up) = s.catch_up(Some(seen), &sample).unwrap().unwrap();
    assert_eq!(
        caught_up.declared("shelters").unwrap().features[0].values[capacity],
        12_345
    );
    assert_eq!(
        caught_up.declared("buildings").unwrap().features[0].values[residents],
        41
    );
    assert_eq!(version, s.version().unwrap());
    assert_eq!(caught_up, s.load().unwrap());
}

/// Random edits through the store, each caught up the way a server's follower does (the store's
/// catch-up, then a snapshot built from the previous one), compared with a full build of
/// everything the store holds.
fn an_index_caught_up_edit_by_edit_is_the_one_a_full_build_gives(open: &Open) {
    use gridmap::index::Snapshot;
    let (s, _) = filled(open);
    let (mut seen, sample) = s.catch_up(None, &Default::default()).unwrap().unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize % n
    };
    let mut snap = Snapshot::build(sample);
    let mut added = 0;
    for step in 0..12 {
        let d = snap.dataset().clone();
        for _ in 0..=next(3) {
            match next(7) {
                0 => {
                    let mut g = d.grids[next(d.grids.len())].as_ref().clone();
                    g.name.push('改');
                    g.households += 1;
                    s.import(LayerData::Grids(vec![g]), false, &|_, _| {})
                        .unwrap();
                }
                1 => {
                    let mut v = d.villages[next(d.villages.len())].as_ref().clone();
                    v.name.push('村');
                    s.import(LayerData::Villages(vec![v]), false, &|_, _| {})
                        .unwrap();
                }
                2 => {
                    // A new post beside an existing one, in the same grid.
                    let mut p = station(&d, next(d.stations.len()));
                    added += 1;
                    p.id = 90_000 + added;
                    s.import(LayerData::Stations(vec![p]), false, &|_, _| {})
                        .unwrap();
                }
                3 => {
                    let id = d.stations[next(d.stations.len())].id;
                    s.delete(Layer::Stations, &[id.to_string()]).unwrap();
                }
                4 => {
                    let id = d.members[next(d.members.len())].id;
                    s.delete(Layer::Members, &[id.to_string()]).unwrap();
                }
                5 => {
                    // A post moved a metre: its box moves in the R-tree (refused when that takes
                    // it out of its grid, which changes nothing).
                    let mut p = station(&d, next(d.stations.len()));
                    let at = p.location;
                    p.location = geo::Point::new(at.x() + 0.000_01, at.y() - 0.000_01);
                    match s.import(LayerData::Stations(vec![p]), false, &|_, _| {}) {
                        Ok(_) | Err(Error::Invalid(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                _ => {
                    let mut shelters = d.declared("shelters").unwrap().clone();
                    let capacity = shelters.def.position("capacity").unwrap();
                    let i = next(shelters.features.len());
                    shelters.features = vec![shelters.features[i].clone()];
                    shelters.features[0].values[capacity] = serde_json::json!(step * 10 + 1);
                    s.import_declared(shelters, false).unwrap();
                }
            }
        }
        let (version, data) = s.catch_up(Some(seen), snap.dataset()).unwrap().unwrap();
        seen = version;
        let caught_up = Snapshot::build_after(Some(&snap), data);
        let full = Snapshot::build(s.load().unwrap());
        let differences = caught_up.differences(&full);
        assert!(differences.is_empty(), "step {step}: {differences:#?}");
        snap = caught_up;
    }
}

fn a_delete_commits_unless_it_would_orphan_a_child(open: &Open) {
    let (s, sample) = filled(open);
    let v0 = s.version().unwrap();
    // A grid with a post standing in it cannot go; nothing changes.
    let grid = sample.stations[0].grid_code.clone();
    let err = s.delete(Layer::Grids, &[grid]).unwrap_err();
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert_eq!(s.version().unwrap(), v0);
    // Two posts can.
    let ids = [sample.stations[0].id, sample.stations[9].id].map(|id| id.to_string());
    let summary = s.delete(Layer::Stations, &ids).unwrap();
    assert_eq!(summary.deleted, 2);
    let mut expected = sample.clone();
    expected
        .stations
        .retain(|f| !ids.contains(&f.id.to_string()));
    assert_eq!(s.load().unwrap(), expected);
    assert_ne!(s.version().unwrap(), v0);
}

/// A write checks and counts against what is stored now, another process's writes included (a
/// handle keeps the dataset it read last and brings it up to date from the change log).
fn a_write_checks_what_another_handle_wrote_since(open: &Open) {
    let (s, sample) = filled(open);
    // This handle reads, as a server does on start; then another process writes.
    s.catch_up(None, &Dataset::default()).unwrap();
    let other = open();
    let mut post = station(&sample, 0);
    post.id = 90_500;
    other
        .import(LayerData::Stations(vec![post.clone()]), false, &|_, _| {})
        .unwrap();
    post.name = "另一进程之后".into();
    let summary = s
        .import(LayerData::Stations(vec![post]), false, &|_, _| {})
        .unwrap();
    assert_eq!((summary.inserted, summary.updated), (0, 1), "{summary:?}");
    other.delete(Layer::Stations, &["90500".into()]).unwrap();
    let summary = s.delete(Layer::Stations, &["90500".into()]).unwrap();
    assert_eq!(summary.deleted, 0, "already gone: {summary:?}");
    assert!(!s.load().unwrap().stations.iter().any(|p| p.id == 90_500));
}

/// Servers reload on every version change, so a `gridmap export` elsewhere must not cause one.
fn opening_and_reading_are_not_changes(open: &Open) {
    let (s, _) = filled(open);
    let v0 = s.version().unwrap();
    let other = open();
    other.load().unwrap();
    other.version().unwrap();
    drop(other);
    assert_eq!(s.version().unwrap(), v0);
    assert_eq!(
        s.wait_for_change(v0, Duration::from_millis(300)).unwrap(),
        v0
    );
}

/// The CLI prints the same thing and exits the same way on both stores, apart from the store's
/// name in messages.
#[test]
fn import_export_and_check_behave_identically_on_both_stores() {
    let Some(db) = TestDb::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("gridmap.gpkg");
    let stores = [gpkg.as_path(), Path::new(&db.url)];
    let same = |args: &[&str]| {
        let [a, b] = stores.map(|s| gridmap(s, args));
        let clean = |o: &std::process::Output, s: &Path| {
            let name = s.display().to_string();
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).replace(&name, "STORE"),
                String::from_utf8_lossy(&o.stderr)
                    .replace(&format!("GeoPackage {name}"), "STORE")
                    .replace(&format!("PostGIS {name}"), "STORE")
                    .replace(&name, "STORE"),
            )
        };
        let (a, b) = (clean(&a, stores[0]), clean(&b, stores[1]));
        assert_eq!(a, b, "gridmap {args:?} differs between the stores");
        a
    };
    let repo = crate::common::repo();
    for layer in Layer::ALL.map(Layer::name) {
        let file = repo.join(format!("geodata/{layer}.geojson"));
        let (code, _, _) = same(&["import", "--layer", layer, file.to_str().unwrap()]);
        assert_eq!(code, Some(0));
    }
    for layer in Layer::ALL.map(Layer::name) {
        let (code, out, _) = same(&["export", "--layer", layer, "--with-personal"]);
        assert_eq!(code, Some(0));
        let committed =
            std::fs::read_to_string(repo.join(format!("geodata/{layer}.geojson"))).unwrap();
        assert_eq!(
            out, committed,
            "{layer}: export gives back the imported file"
        );
    }
    let (code, _, stderr) = same(&["check"]);
    assert_eq!(code, Some(0), "{stderr}");
    // Coverage and siting read the same data, so they print the same numbers.
    let (code, csv, _) = same(&["coverage", "--level", "village", "--format", "csv"]);
    assert_eq!(code, Some(0));
    assert_eq!(csv.lines().count(), 229 + 2, "header, villages, total");
    let (code, sites, _) = same(&["suggest", "--radius", "1000", "-k", "5"]);
    assert_eq!(code, Some(0));
    assert_eq!(sites.lines().count(), 2 + 5);
    // A bad import: the same message naming the feature, exit 2, nothing written.
    let bad = dir.path().join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":9,
        "properties":{"name":"孤儿驿站","grid_code":"321181999999001","services":["policy"]},
        "geometry":{"type":"Point","coordinates":[119.58,31.99]}}]}"#,
    )
    .unwrap();
    let (code, _, stderr) = same(&["import", "--layer", "stations", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("321181999999001"), "{stderr}");
    let (_, out, _) = same(&["export", "--layer", "stations"]);
    assert!(!out.contains("孤儿驿站"));
    assert_success(&gridmap(stores[1], &["migrate"]));

    // Without --store: GRIDMAP_STORE, else DATABASE_URL.
    let count_towns = |vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(crate::common::bin());
        command
            .args(["export", "--layer", "towns"])
            .env_remove("GRIDMAP_STORE")
            .env_remove("DATABASE_URL")
            .current_dir(dir.path());
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert_success(&out);
        String::from_utf8_lossy(&out.stdout)
            .matches("\"Feature\"")
            .count()
    };
    let empty = dir.path().join("empty.gpkg").display().to_string();
    assert_eq!(count_towns(&[("DATABASE_URL", &db.url)]), 12);
    assert_eq!(
        count_towns(&[("DATABASE_URL", &db.url), ("GRIDMAP_STORE", &empty)]),
        0,
        "GRIDMAP_STORE comes first"
    );
}

/// A write to a declared layer through the API's path (`import_declared_with`,
/// `delete_declared_with`): its guard's check runs on the stored dataset, and the write and its
/// audit row commit together, or neither does.
fn a_guarded_declared_write_commits_with_its_audit_row_or_not_at_all(open: &Open) {
    use gridmap::access::audit::{Action, AuditQuery, AuditRow};
    let (s, sample) = filled(open);
    let mut shelters = sample.declared("shelters").unwrap().clone();
    let def = shelters.def;
    let capacity = def.position("capacity").unwrap();
    shelters.features.truncate(1);
    let key = shelters.features[0].key.clone();
    shelters.features[0].values[capacity] = serde_json::json!(4_321);
    let row = |action| AuditRow {
        id: 0,
        at_s: 1_800_000_000,
        account: "contract".into(),
        address: "127.0.0.1".into(),
        action,
        layer: def.name.into(),
        keys: vec![key.clone()],
        count: 1,
        before: None,
        after: None,
    };
    let logged = || {
        s.read_audit(&AuditQuery {
            key: Some(key.clone()),
            limit: 100,
            ..AuditQuery::default()
        })
        .unwrap()
        .len()
    };
    // A check that fails (the feature changed since): nothing written, nothing logged.
    let v0 = s.version().unwrap();
    let refuse = |_: &Dataset| Err(Error::Stale("changed since".into()));
    let rows = [row(Action::Patch)];
    let guard = store::Guard {
        check: &refuse,
        audit: &rows,
    };
    let err = s
        .import_declared_with(shelters.clone(), false, Some(&guard))
        .unwrap_err();
    assert!(matches!(err, Error::Stale(_)), "{err}");
    assert_eq!(s.load().unwrap(), sample);
    assert_eq!(s.version().unwrap(), v0);
    assert_eq!(logged(), 0);
    // A check that passes: the change and its row, together.
    let pass = |d: &Dataset| {
        assert!(
            d.declared("shelters").is_some(),
            "the check sees the stored dataset"
        );
        Ok(())
    };
    let guard = store::Guard {
        check: &pass,
        audit: &rows,
    };
    s.import_declared_with(shelters, false, Some(&guard))
        .unwrap();
    let stored = s.load().unwrap();
    let r = stored
        .declared("shelters")
        .unwrap()
        .features
        .iter()
        .find(|r| r.key == key)
        .unwrap();
    assert_eq!(r.values[capacity], 4_321);
    assert_eq!(logged(), 1);
    // A guarded delete: gone, and logged.
    let rows = [row(Action::Delete)];
    let guard = store::Guard {
        check: &pass,
        audit: &rows,
    };
    let summary = s
        .delete_declared_with(def, std::slice::from_ref(&key), Some(&guard))
        .unwrap();
    assert_eq!(summary.deleted, 1);
    let stored = s.load().unwrap();
    assert!(
        stored
            .declared("shelters")
            .unwrap()
            .features
            .iter()
            .all(|r| r.key != key)
    );
    assert_eq!(
        stored.declared("shelters").unwrap().features.len(),
        sample.declared("shelters").unwrap().features.len() - 1
    );
    assert_eq!(logged(), 2);
}

/// A report entry at `lon`, `lat` in the sample's first town.
fn report_entry(lon: f64, lat: f64, at_ms: i64) -> gridmap::events::Entry {
    use gridmap::events::{Action, Entry, Event, Reporter, Severity, Source, Step};
    Entry {
        step: Step {
            seq: 0,
            event_id: 0,
            n: 0,
            action: Action::Report,
            at_ms,
            actor: "public".into(),
            to: None,
            note: None,
            rating: None,
        },
        event: Some(Event {
            id: 0,
            reported_at_ms: at_ms,
            lon,
            lat,
            category: "dispute".into(),
            severity: Severity::Red,
            source: Source::Public,
            text: "楼道堆物, \"quoted\", 100%".into(),
            address: Some("云阳街道 1 号".into()),
            reporter: Some(Reporter {
                name: Some("王小明".into()),
                phone: None,
            }),
            town: "321181001".into(),
            village: Some("321181001001".into()),
            grid: Some("321181001001004".into()),
            post: Some(1),
            post_offers_service: true,
            near_boundary: vec!["321181001001003".into(), "321181001001005".into()],
            deadline_ms: at_ms + 7_200_000,
            evaluation_sha256: Some("ab".repeat(32)),
        }),
    }
}

fn a_step(event_id: u64, n: u32, action: gridmap::events::Action) -> gridmap::events::Entry {
    gridmap::events::Entry {
        step: gridmap::events::Step {
            seq: 0,
            event_id,
            n,
            action,
            at_ms: 1_796_112_000_123,
            actor: "ev.village".into(),
            to: None,
            note: Some("签收".into()),
            rating: None,
        },
        event: None,
    }
}

/// The event log: appended in order and read back exactly by another handle; a step whose
/// number its event already has is refused, with the rest of its transaction.
fn the_event_log_appends_in_order_and_refuses_a_step_taken_twice(open: &Open) {
    use gridmap::events::Action;
    let (s, _) = filled(open);
    assert!(s.events_since(0, 100).unwrap().is_empty());
    let stored = s
        .append_events(&[
            report_entry(119.58, 31.99, 1_796_112_000_000),
            report_entry(119.581_234_5, 31.991_234_5, 1_796_112_000_001),
        ])
        .unwrap();
    let ids: Vec<u64> = stored
        .iter()
        .map(|e| e.event.as_ref().unwrap().id)
        .collect();
    assert!(ids[0] > 0 && ids[1] > ids[0], "{ids:?}");
    assert!(stored[1].step.seq > stored[0].step.seq);
    assert_eq!(stored[0].step.event_id, ids[0]);
    let accepted = s
        .append_events(&[a_step(ids[0], 1, Action::Accept)])
        .unwrap();
    // Step 1 of event 0 again, with a valid step of event 1: neither is stored.
    let err = s
        .append_events(&[
            a_step(ids[1], 1, Action::Accept),
            a_step(ids[0], 1, Action::Escalate),
        ])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                failure: gridmap::StoreFailure::Rejected,
                ..
            }
        ),
        "{err:?}"
    );
    let other = open();
    let all = other.events_since(0, 100).unwrap();
    let mut expected = stored.clone();
    expected.extend(accepted.clone());
    assert_eq!(all, expected);
    let after = other.events_since(stored[0].step.seq, 1).unwrap();
    assert_eq!(after, vec![stored[1].clone()]);
}

/// Photos: numbered 1, 2, … per event, read back byte for byte by another handle (in order, and
/// one at a time); a tenth is refused as `Error::Refused` and stores nothing.
fn photos_are_numbered_per_event_read_back_exactly_and_stop_at_nine(open: &Open) {
    use gridmap::events::photos::{MAX_PHOTOS, MediaType, Photo, sha256_hex};
    let (s, _) = filled(open);
    let ids: Vec<u64> = s
        .append_events(&[
            report_entry(119.58, 31.99, 1_796_112_000_000),
            report_entry(119.59, 31.98, 1_796_112_000_001),
        ])
        .unwrap()
        .iter()
        .map(|e| e.event.as_ref().unwrap().id)
        .collect();
    let bytes = |i: u32| -> Vec<u8> { (0..1000 + i).map(|b| (b * 7 + i) as u8).collect() };
    let photo = |event_id: u64, i: u32| Photo {
        event_id,
        n: 0,
        media_type: if i.is_multiple_of(2) {
            MediaType::Jpeg
        } else {
            MediaType::Webp
        },
        size_bytes: bytes(i).len() as u64,
        width_px: 100 + i,
        height_px: 50 + i,
        at_ms: 1_796_112_000_000 + i64::from(i),
        actor: format!("staff{i}"),
        sha256: sha256_hex(&bytes(i)),
    };
    assert!(s.photos(ids[0]).unwrap().is_empty());
    assert_eq!(s.photo(ids[0], 1).unwrap(), None);
    let mut stored = Vec::new();
    for i in 0..MAX_PHOTOS {
        let p = s.add_photo(&photo(ids[0], i), &bytes(i)).unwrap();
        assert_eq!(
            p,
            Photo {
                n: i + 1,
                ..photo(ids[0], i)
            }
        );
        stored.push(p);
    }
    let other_event = s.add_photo(&photo(ids[1], 3), &bytes(3)).unwrap();
    assert_eq!(other_event.n, 1, "numbered per event");
    let err = s.add_photo(&photo(ids[0], 9), &bytes(9)).unwrap_err();
    assert!(matches!(err, Error::Refused(_)), "{err:?}");
    let other = open();
    assert_eq!(other.photos(ids[0]).unwrap(), stored);
    for (i, p) in stored.iter().enumerate() {
        let (read, read_bytes) = other.photo(ids[0], p.n).unwrap().unwrap();
        assert_eq!(&read, p);
        assert_eq!(read_bytes, bytes(i as u32));
    }
    assert_eq!(other.photo(ids[0], MAX_PHOTOS + 1).unwrap(), None);

    // Twelve writers on two handles at once: numbers 1 to 9 once each, three refused.
    let third = s
        .append_events(&[report_entry(119.6, 31.97, 1_796_112_000_002)])
        .unwrap()[0]
        .step
        .event_id;
    let handles = [s.clone(), other.clone()];
    let outcomes: Vec<gridmap::Result<Photo>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..12u32)
            .map(|i| {
                let store = handles[i as usize % 2].clone();
                let p = photo(third, i);
                scope.spawn(move || store.add_photo(&p, &bytes(i)))
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut numbers: Vec<u32> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().map(|p| p.n))
        .collect();
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=MAX_PHOTOS).collect::<Vec<_>>(),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| matches!(e, Error::Refused(_))),
        "{outcomes:?}"
    );

    // A closed case takes none, whichever handle closed it.
    let fourth = s
        .append_events(&[report_entry(119.61, 31.96, 1_796_112_000_003)])
        .unwrap()[0]
        .step
        .event_id;
    use gridmap::events::Action;
    other
        .append_events(&[
            a_step(fourth, 1, Action::Accept),
            a_step(fourth, 2, Action::Dispatch),
            a_step(fourth, 3, Action::Handle),
            a_step(fourth, 4, Action::Close),
        ])
        .unwrap();
    let err = s.add_photo(&photo(fourth, 0), &bytes(0)).unwrap_err();
    assert!(
        matches!(&err, Error::Refused(m) if m.contains("closed")),
        "{err:?}"
    );
    assert!(other.photos(fourth).unwrap().is_empty());
}
