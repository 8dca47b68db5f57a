//! Any text as a layer declaration file (`--layers`): parsed or refused with a message, never a
//! panic.
#![no_main]

#[path = "../src/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::layer_declarations(data));
