//! Fuzz target `config`: see `fuzz/src/harness.rs`.
#![no_main]

#[path = "../src/harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Relative secret files resolve against the valid-config fixtures (they hold demo.secret).
    let base = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/config-valid"
    ));
    harness::run("config", data, base);
});
