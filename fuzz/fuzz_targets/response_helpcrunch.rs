//! Fuzz target `response_helpcrunch`: see `fuzz/src/harness.rs`.
#![no_main]

#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run("response_helpcrunch", data, std::path::Path::new("."));
});
