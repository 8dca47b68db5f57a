//! The GeoPackage's change log: edits made by tools other than gridmap (plain SQLite, GDAL) reach
//! a server's catch-up through it, reading only what changed; when the log cannot be trusted (a
//! trigger gone) the catch-up reads the whole file, so no edit is missed either way.

use std::path::Path;
use std::sync::Arc;

use gridmap::model::declared::Declarations;
use gridmap::model::{Dataset, LayerData, Shared};
use gridmap::store::{GeoPackage, Store};

use crate::common::{assert_success, ogrinfo};

/// Run one SQL statement on the file through GDAL (as QGIS would edit it: GDAL has the `ST_`
/// functions the R-tree triggers call, which plain SQLite lacks).
fn gdal_sql(path: &Path, statement: &str) {
    let out = ogrinfo()
        .arg(path)
        .arg("-sql")
        .arg(statement)
        .output()
        .unwrap();
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("ERROR"), "{statement}: {stderr}");
}

fn sample_gpkg(dir: &Path) -> (std::path::PathBuf, Arc<dyn Store>) {
    let path = dir.join("gridmap.gpkg");
    let store: Arc<dyn Store> = Arc::new(GeoPackage::open(&path, Declarations::shipped()).unwrap());
    assert!(gridmap::sample::load_if_empty(store.as_ref()).unwrap());
    (path, store)
}

/// `data` is what reading the whole store gives (compared without printing two datasets).
fn assert_full_read_equals(data: &Dataset, store: &dyn Store, what: &str) {
    assert!(*data == store.load().unwrap(), "{what}");
}

/// How many grids of `after` are the very records of `before` (shared, not read anew).
fn shared_grids(before: &Dataset, after: &Dataset) -> usize {
    before
        .grids
        .iter()
        .zip(&after.grids)
        .filter(|(a, b)| Shared::same(a, b))
        .count()
}

#[test]
fn edits_by_other_tools_reach_a_catch_up_through_the_change_log() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store) = sample_gpkg(dir.path());
    let (seen, start) = store.catch_up(None, &Dataset::default()).unwrap().unwrap();
    let grid = start.grids[5].code.clone();
    let (moved, gone) = (start.stations[0].id, start.stations[1].id);
    let to = start.stations[2].location;

    // Plain SQLite, as a script would: a post deleted.
    let sql = rusqlite::Connection::open(&path).unwrap();
    sql.execute("DELETE FROM stations WHERE fid = ?1", [gone as i64])
        .unwrap();
    // GDAL: a rename, a post moved, a shelter's capacity.
    gdal_sql(
        &path,
        &format!("UPDATE grids SET name = name || ' 改' WHERE code = '{grid}'"),
    );
    gdal_sql(
        &path,
        &format!(
            "UPDATE stations SET geom = (SELECT geom FROM stations WHERE fid = {}) WHERE fid = {moved}",
            start.stations[2].id
        ),
    );
    gdal_sql(
        &path,
        "UPDATE shelters SET capacity = 4321 WHERE fid = (SELECT min(fid) FROM shelters)",
    );

    let (version, caught_up) = store.catch_up(Some(seen), &start).unwrap().unwrap();
    assert_full_read_equals(&caught_up, store.as_ref(), "the same as reading everything");
    let renamed = caught_up.grids.iter().find(|g| g.code == grid).unwrap();
    assert!(renamed.name.ends_with(" 改"), "{}", renamed.name);
    assert!(!caught_up.stations.iter().any(|s| s.id == gone));
    let post = caught_up.stations.iter().find(|s| s.id == moved).unwrap();
    assert_eq!(post.location, to);
    let capacity = caught_up.declared("shelters").unwrap();
    let at = capacity.def.position("capacity").unwrap();
    assert!(
        capacity.features.iter().any(|f| f.values[at] == 4321),
        "the shelter's new capacity"
    );
    // Read from the log: every grid but the renamed one is the record the server held.
    assert_eq!(shared_grids(&start, &caught_up), start.grids.len() - 1);

    // A log trigger dropped (as a tool recreating a table would lose it), then an edit it does
    // not log: the catch-up reads everything, and misses nothing.
    sql.execute_batch("DROP TRIGGER gridmap_log_grids_update")
        .unwrap();
    gdal_sql(
        &path,
        &format!("UPDATE grids SET population = 70000 WHERE code = '{grid}'"),
    );
    let (version, full) = store.catch_up(Some(version), &caught_up).unwrap().unwrap();
    assert_full_read_equals(&full, store.as_ref(), "the same as reading everything");
    assert_eq!(
        full.grids
            .iter()
            .find(|g| g.code == grid)
            .unwrap()
            .population,
        70_000
    );
    assert_eq!(shared_grids(&caught_up, &full), 0, "read anew");

    // gridmap's next write puts the trigger back: the catch-up after it reads everything (what
    // came between the drop and the write was not logged), and the next follows the log again.
    let mut g = full.grids[9].as_ref().clone();
    g.households += 1;
    store
        .import(LayerData::Grids(vec![g]), false, &|_, _| {})
        .unwrap();
    let (version, restored) = store.catch_up(Some(version), &full).unwrap().unwrap();
    assert_full_read_equals(&restored, store.as_ref(), "the same as reading everything");
    gdal_sql(
        &path,
        &format!("UPDATE grids SET population = 80000 WHERE code = '{grid}'"),
    );
    let (_, next) = store.catch_up(Some(version), &restored).unwrap().unwrap();
    assert_full_read_equals(&next, store.as_ref(), "the same as reading everything");
    assert_eq!(shared_grids(&restored, &next), restored.grids.len() - 1);
}

#[test]
fn a_catch_up_behind_the_kept_tail_reads_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store) = sample_gpkg(dir.path());
    let (seen, start) = store.catch_up(None, &Dataset::default()).unwrap().unwrap();
    let count = |sql: &rusqlite::Connection| -> i64 {
        sql.query_row("SELECT count(*) FROM gridmap_changes", [], |r| r.get(0))
            .unwrap()
    };
    let sql = rusqlite::Connection::open(&path).unwrap();
    assert!(count(&sql) <= 50_000, "the sample's load was pruned");
    // An edit, then more entries than the log keeps (60,000 of another grid), then a write by
    // another gridmap process, which prunes: the edit's entry is gone.
    let (edited, busy) = (start.grids[3].code.clone(), start.grids[4].code.clone());
    gdal_sql(
        &path,
        &format!("UPDATE grids SET population = 11000 WHERE code = '{edited}'"),
    );
    sql.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
         INSERT INTO gridmap_changes (layer, key) SELECT 'grids', ?1 FROM n",
        [&busy],
    )
    .unwrap();
    let mut g = start.grids[9].as_ref().clone();
    g.households += 1;
    GeoPackage::open(&path, Declarations::shipped())
        .unwrap()
        .import(LayerData::Grids(vec![g]), false, &|_, _| {})
        .unwrap();
    assert_eq!(count(&sql), 50_000, "the tail kept");

    let (_, caught_up) = store.catch_up(Some(seen), &start).unwrap().unwrap();
    assert_full_read_equals(&caught_up, store.as_ref(), "the pruned edit is not missed");
    let population = |d: &Dataset| {
        d.grids
            .iter()
            .find(|g| g.code == edited)
            .unwrap()
            .population
    };
    assert_eq!(population(&caught_up), 11_000);
    assert_eq!(shared_grids(&start, &caught_up), 0, "read anew");
}
