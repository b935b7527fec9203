//! Fixed-work driver of the translation core for instruction counting under callgrind, the A/B
//! signal that stays stable on a busy machine (wall-clock criterion medians do not).
//!
//! `valgrind --tool=callgrind <bench binary> <case> <iterations>` with `<case>` one of
//! `request/<client>-><upstream>` or `answer/reach-><client>` (the criterion ids of
//! `benches/translate.rs`, same bodies), or `all` for every case once per iteration. Dividing
//! the difference of two runs' totals by the difference of their iteration counts gives the
//! instructions of one translation without the process's start-up. Run by `cargo bench` with no
//! case (`--bench` only), it translates every case once and exits, so it never slows the suite.

// The bodies and the stub answer are shared with the criterion bench rather than copied.
#![allow(missing_docs)]

#[path = "translate_cases.rs"]
mod cases;

use std::hint::black_box;

// The gateway binary's allocator (`src/main.rs`), so that these figures are the ones the
// gateway sees.
#[path = "../src/global_alloc.rs"]
mod global_alloc;

#[global_allocator]
static ALLOCATOR: global_alloc::Mimalloc = global_alloc::Mimalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let case = args.first().map_or("all", String::as_str);
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let all = cases::all();
    let chosen: Vec<&cases::Case> = all
        .iter()
        .filter(|c| case == "all" || c.id == case)
        .collect();
    if chosen.is_empty() {
        eprintln!("unknown case {case}; one of: all, {}", ids(&all));
        std::process::exit(2);
    }
    for _ in 0..n {
        for c in &chosen {
            black_box(c.run());
        }
    }
}

fn ids(all: &[cases::Case]) -> String {
    all.iter()
        .map(|c| c.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
