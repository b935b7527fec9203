//! Replays every saved fuzz input through the same harness the fuzzers run
//! (`fuzz/src/harness.rs`, included below): each file under
//! `tests/fixtures/fuzz-regressions/<target>/` once crashed (or hung) its target and must now
//! return without a panic. The fuzzers themselves do not run in `make test`; this replay does.
//! See `docs/fuzzing.md`.

#[path = "../fuzz/src/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-regressions")
}

/// Every saved input, as (target, file).
fn inputs() -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    for target in harness::TARGETS {
        let Ok(dir) = std::fs::read_dir(root().join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (target, f)));
    }
    out
}

#[test]
fn fuzz_regressions_replay_without_panic() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-valid");
    let mut failed = Vec::new();
    let all = inputs();
    for (target, file) in &all {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let r = std::panic::catch_unwind(|| harness::run(target, &data, &base));
        if r.is_err() {
            failed.push(format!("{target}: {}", file.display()));
        }
    }
    assert!(failed.is_empty(), "panicked:\n{}", failed.join("\n"));
}

#[test]
fn every_regression_directory_names_a_target() {
    let Ok(dir) = std::fs::read_dir(root()) else {
        return;
    };
    for e in dir.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            harness::TARGETS.contains(&name.as_str()) || name.ends_with(".md"),
            "tests/fixtures/fuzz-regressions/{name} is not a fuzz target"
        );
    }
}

#[test]
fn harness_copes_with_trivial_inputs() {
    // The replay must exercise every target even before any crash was saved.
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-valid");
    for target in harness::TARGETS {
        for data in [
            &b""[..],
            b"\x00",
            b"\x80",
            b"\x00\x00[]",
            b"\x80PATCH /v2/customers/1\n{}",
            b"\xff\xfe\xfd",
        ] {
            harness::run(target, data, &base);
        }
    }
}
