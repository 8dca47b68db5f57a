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
    let names = gridmap::model::Layer::ALL
        .iter()
        .map(|&layer| gridmap::generate::file_name(layer))
        .chain([gridmap::generate::BUILDINGS_FILE.to_string()]);
    for name in names {
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
    // Buildings follow the households, not the scale: about as many, each grid's summing to it.
    let buildings = |d: &gridmap::model::Dataset| {
        gridmap::model::buildings::layer(d).unwrap().features.len() as f64
    };
    let ratio = buildings(&three) / buildings(&one);
    assert!((0.9..1.1).contains(&ratio), "{ratio}");
    let mut sums = std::collections::HashMap::<&str, (u64, u64)>::new();
    for b in gridmap::model::buildings::all(&three) {
        let sum = sums.entry(b.grid_code()).or_default();
        sum.0 += b.households;
        sum.1 += b.residents;
    }
    for g in &three.grids {
        let got = sums.get(g.code.as_str()).copied().unwrap_or_default();
        assert_eq!(
            got,
            (u64::from(g.households), u64::from(g.population)),
            "{}",
            g.code
        );
    }
}
