//! A process killed (SIGKILL) in the middle of an import leaves the previous data intact.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use gridmap::model::Layer;
use gridmap::model::geojson::{layer_features, write_collection};
use gridmap::store::{GeoPackage, Store};

use crate::common::{assert_success, bin, gridmap, sample_state};

#[test]
fn sigkill_mid_import_leaves_the_previous_data_intact() {
    let (dir, _state) = sample_state();
    let store_path = dir.path().join("gridmap.gpkg");
    let before = GeoPackage::open(&store_path).unwrap().load().unwrap();

    // 40,000 valid grids for the same villages: a replace that takes a while to write.
    let big = gridmap::generate::generate(20).unwrap();
    let file = dir.path().join("grids-x20.geojson");
    std::fs::write(
        &file,
        write_collection(&layer_features(&big.layer(Layer::Grids))),
    )
    .unwrap();

    let mut child = Command::new(bin())
        .args(["import", "--layer", "grids", "--replace", "--store"])
        .arg(&store_path)
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

    let after = GeoPackage::open(&store_path).unwrap().load().unwrap();
    assert_eq!(after.grids.len(), before.grids.len());
    assert_eq!(after, before);

    // Control: the same import, left alone, does change the data.
    let ok = gridmap(
        &store_path,
        &[
            "import",
            "--layer",
            "grids",
            "--replace",
            file.to_str().unwrap(),
        ],
    );
    assert_success(&ok);
    assert_eq!(
        GeoPackage::open(&store_path)
            .unwrap()
            .load()
            .unwrap()
            .grids
            .len(),
        big.grids.len()
    );
}
