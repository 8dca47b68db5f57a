//! Any query string on every endpoint that reads one: a 2xx, 3xx or 4xx answer, never a 5xx or a
//! panic. Runs the real router on the Danyang sample (loaded once).
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(init: checks::warm(), |data: &[u8]| checks::query_string(data));
