//! Random polygons, valid or not (self-crossing, degenerate, huge, tiny, NaN-free), through the
//! tile pipeline at a random tile: projected, simplified, clipped and rounded without a panic, and
//! what comes out lies within the buffered tile.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::tile_geometry(data));
