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

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use patchbay::canonical::Customer;
use patchbay::dialect::{dialect, AnswerCx, DialectId, Endpoint, EndpointKind};
use patchbay::translate::{default_path, offline, Pair, Policy};

/// The gateway binary's allocator (`src/main.rs`), so that these figures are the ones the
/// gateway sees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn body(client: DialectId) -> &'static str {
    match client {
        DialectId::HelpscoutV2 => {
            r#"[{"op":"replace","path":"/firstName","value":"Vernon"},{"op":"replace","path":"/lastName","value":"Bear"},{"op":"replace","path":"/emails/1/value","value":"vernon@acme.com"},{"op":"replace","path":"/phones/1/value","value":"+10233456781"}]"#
        }
        DialectId::HelpscoutV1 => {
            r#"{"firstName":"Vernon","lastName":"Bear","emails":[{"id":1,"value":"vernon@acme.com","location":"work"}],"phones":[{"id":1,"value":"+10233456781","location":"work"}]}"#
        }
        DialectId::Helpcrunch => {
            r#"{"name":"John Doe","email":"john@example.com","phone":"+10233456781","unsubscribed":false}"#
        }
        DialectId::Reach => {
            r#"{"data":{"firstName":"John","lastName":"Doe","email":"john@example.com","phone":"+10233456781","emailOptOut":false}}"#
        }
    }
}

fn state() -> Customer {
    serde_json::from_str(
        r#"{"first_name":"John","last_name":"Doe","emails":[{"id":1,"type":"work","value":"john@example.com"}],"phones":[{"id":1,"type":"work","value":"+10233456781"}]}"#,
    )
    .expect("state")
}

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
            let (method, path) = default_path(client);
            let b = body(client).as_bytes();
            g.bench_function(format!("{client}->{upstream}"), |bench| {
                bench.iter(|| {
                    black_box(offline(
                        &pair,
                        method,
                        path,
                        None,
                        black_box(b),
                        Some(&state),
                    ))
                })
            });
        }
    }
    g.finish();
}

const REACH_ANSWER: &str = r#"{"success":true,"message":"Customer updated","data":{"result":{"id":"0b6f3c1e-8a52-4e0b-9a51-6f2d3c4b5a69","schema_definition_id":"7c2e9a54-1b3d-4f6a-8e2c-5d4b3a291f08","schemaDefinitionId":"7c2e9a54-1b3d-4f6a-8e2c-5d4b3a291f08","platform_id":"e4a1b7d2-6c3f-4a8e-b2d1-9f0e8c7b6a54","platformId":"e4a1b7d2-6c3f-4a8e-b2d1-9f0e8c7b6a54","business_id":"9d8c7b6a-5f4e-4d3c-a2b1-0e9f8d7c6b5a","businessId":"9d8c7b6a-5f4e-4d3c-a2b1-0e9f8d7c6b5a","resource_external_id":"12345","resourceExternalId":"12345","created_at":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","updated_at":"2024-01-02T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z","data":{"customerId":"12345","firstName":"John","lastName":"Doe","email":"john@example.com","phone":"+10233456781","emailOptOut":false,"smsOptOut":false}},"included":[]}}"#;

fn answers(c: &mut Criterion) {
    let mut g = c.benchmark_group("answer");
    let ep = Endpoint {
        kind: EndpointKind::Update { full: false },
        customer_id: "12345".into(),
    };
    for client in DialectId::ALL {
        g.bench_function(format!("reach->{client}"), |bench| {
            bench.iter(|| {
                let customer = dialect(DialectId::Reach)
                    .decode_customer(black_box(REACH_ANSWER.as_bytes()))
                    .expect("stub body decodes");
                black_box(dialect(client).encode_success(
                    &ep,
                    Some(&customer),
                    &AnswerCx {
                        customer_id: "12345",
                        default_entry_type: "work",
                        upstream: DialectId::Reach,
                        reload: true,
                        created: None,
                        location_base: "",
                    },
                ))
            })
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
