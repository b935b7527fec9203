//! Fuzz target `response_helpscout_v2`: see `fuzz/src/harness.rs`.
#![no_main]

#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::run("response_helpscout_v2", data, std::path::Path::new("."));
});
