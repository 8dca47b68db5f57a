//! The committed sample is exactly what `gridmap generate` writes.

use std::process::Command;

use crate::common::{assert_success, bin, repo};

#[test]
fn generate_writes_the_committed_sample_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(bin())
        .args(["generate", "-o"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&output);
    for layer in gridmap::model::Layer::ALL {
        let name = gridmap::generate::file_name(layer);
        let fresh = std::fs::read(dir.path().join(&name)).unwrap();
        let committed = std::fs::read(repo().join("geodata").join(&name)).unwrap();
        assert!(
            fresh == committed,
            "geodata/{name} differs from `gridmap generate`; regenerate and commit it"
        );
    }
}

#[test]
fn scale_multiplies_grids_and_stations() {
    let one = gridmap::generate::generate(1).unwrap();
    let three = gridmap::generate::generate(3).unwrap();
    assert_eq!(three.villages.len(), one.villages.len());
    let ratio = three.grids.len() as f64 / one.grids.len() as f64;
    assert!((2.8..3.2).contains(&ratio), "{ratio}");
    assert_eq!(three.stations.len(), 3 * one.stations.len());
    assert!(gridmap::model::validate_dataset(&three).is_ok());
    let people: u64 = three.grids.iter().map(|g| u64::from(g.population)).sum();
    assert_eq!(people, gridmap::generate::CENSUS_POPULATION);
}
