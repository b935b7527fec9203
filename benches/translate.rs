//! Criterion benchmarks of the translation core (SPEC §10 target: under 2 µs per stateless
//! translation of a sub-1 KiB body on one core).
//!
//! `request/<client>→<upstream>`: the whole pure pipeline of one write as the gateway runs it —
//! route, decode and validate, plan, resolve, target checks, encode the upstream request.
//! `answer/<upstream>→<client>`: decoding an upstream's customer answer and rendering the client's
//! success body (the response half of a translated write).
//! `patch_document/helpscout-v2-><upstream>`: a v2 PATCH with `test`/`copy`, evaluated against
//! the customer document (the stateful path of `dialect::document`).

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

// The bodies, the state and the stub answer, shared with `translate_ir.rs` (which uses the rest
// of the module).
#[allow(dead_code)]
#[path = "translate_cases.rs"]
mod cases;

use cases::state;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use patchbay::dialect::DialectId;
use patchbay::translate::{default_path, offline, Pair, Policy};

// The gateway binary's allocator (`src/main.rs`), so that these figures are the ones the
// gateway sees.
#[path = "../src/global_alloc.rs"]
mod global_alloc;

#[global_allocator]
static ALLOCATOR: global_alloc::Mimalloc = global_alloc::Mimalloc;

fn requests(c: &mut Criterion) {
    let state = state();
    let mut g = c.benchmark_group("request");
    for client in DialectId::ALL {
        for upstream in DialectId::ALL {
            let pair = Pair {
                client,
                upstream,
                policy: Policy::Drop,
                default_entry_type: "work",
            };
            g.bench_function(format!("{client}->{upstream}"), |bench| {
                bench.iter(|| black_box(cases::request(&pair, &state)))
            });
        }
    }
    g.finish();
}

fn answers(c: &mut Criterion) {
    let mut g = c.benchmark_group("answer");
    let ep = cases::answer_endpoint();
    for client in DialectId::ALL {
        g.bench_function(format!("reach->{client}"), |bench| {
            bench.iter(|| black_box(cases::answer(client, &ep)))
        });
    }
    g.finish();
}

/// A helpscout-v2 PATCH with RFC 6902 `test` and `copy`: the slow precise decode, then the
/// evaluation against the customer document and the difference (the state read itself is not
/// part of this figure). `patch_document/<client>-><upstream>`.
fn patch_documents(c: &mut Criterion) {
    let state = state();
    let body = br#"[{"op":"test","path":"/emails/1/value","value":"john@example.com"},{"op":"copy","from":"/firstName","path":"/lastName"},{"op":"replace","path":"/phones/1/value","value":"+10233456781"}]"#;
    let mut g = c.benchmark_group("patch_document");
    for upstream in DialectId::ALL {
        if upstream == DialectId::HelpscoutV2 {
            continue;
        }
        let pair = Pair {
            client: DialectId::HelpscoutV2,
            upstream,
            policy: Policy::Drop,
            default_entry_type: "work",
        };
        let (method, path) = default_path(DialectId::HelpscoutV2);
        g.bench_function(format!("helpscout-v2->{upstream}"), |bench| {
            bench.iter(|| {
                black_box(offline(
                    &pair,
                    method,
                    path,
                    None,
                    black_box(&body[..]),
                    Some(&state),
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, requests, answers, patch_documents);
criterion_main!(benches);
