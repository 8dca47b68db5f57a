//! Any tile address text (`/tiles/{z}/{x}/{y}.{ext}` and the GCJ-02 and event sets): a tile, or a
//! 4xx naming the part that is wrong, never a 5xx or a panic.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(init: checks::warm(), |data: &[u8]| checks::tile_coords(data));
