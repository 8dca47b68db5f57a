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
