//! The fuzzers' seeds, corpus and every crash they found (`fuzz/seeds/`, `fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`), replayed on stable through the same checks the fuzz targets run
//! (`fuzz/src/checks.rs`): what once crashed stays fixed, and the corpus's paths through the
//! parsers stay exercised without nightly.

use std::path::Path;

#[path = "../../fuzz/src/checks.rs"]
mod checks;

/// Every input kept for `target`; at least one must exist (a corpus dir left empty is a mistake).
fn replay(target: &str, check: fn(&[u8])) {
    let root = crate::common::repo().join("fuzz");
    let mut n = 0;
    for dir in ["seeds", "corpus", "regressions"] {
        let dir = root.join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
                std::panic::resume_unwind(Box::new(format!(
                    "{target}: {} fails again: {:?}",
                    Path::new(&dir).join(&name).display(),
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                )));
            }
            n += 1;
        }
    }
    assert!(n > 0, "no corpus for {target}: run scripts/fuzz");
}

#[test]
fn geojson_import_corpus() {
    replay("geojson_import", checks::geojson_import);
}

#[test]
fn layer_declarations_corpus() {
    replay("layer_declarations", checks::layer_declarations);
}

#[test]
fn tile_geometry_corpus() {
    replay("tile_geometry", checks::tile_geometry);
}

#[test]
fn query_string_corpus() {
    replay("query_string", checks::query_string);
}

#[test]
fn tile_coords_corpus() {
    replay("tile_coords", checks::tile_coords);
}
