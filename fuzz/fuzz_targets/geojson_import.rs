//! Any bytes as a GeoJSON import into any layer: read, applied to an empty dataset and
//! validated, never a panic (a refusal is a `ValidationReport`).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::geojson_import(data));
