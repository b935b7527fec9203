//! The translation core's benchmark cases: the client bodies, the customer state and the stub
//! answer shared by the criterion bench (`translate.rs`) and the instruction-count driver
//! (`translate_ir.rs`), so that both measure the same work.

use patchbay::canonical::Customer;
use patchbay::dialect::{dialect, AnswerCx, DialectId, Endpoint, EndpointKind, Synthetic};
use patchbay::translate::{default_path, offline, Offline, Pair, Policy};
use std::hint::black_box;

/// A typical client write under 1 KiB: names, e-mail and phone (helpscout-v2: four operations).
pub fn body(client: DialectId) -> &'static str {
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

/// The customer as the upstream holds it, for pairs whose plan needs state (read by the proxy,
/// not measured).
pub fn state() -> Customer {
    serde_json::from_str(
        r#"{"first_name":"John","last_name":"Doe","emails":[{"id":1,"type":"work","value":"john@example.com"}],"phones":[{"id":1,"type":"work","value":"+10233456781"}]}"#,
    )
    .expect("state")
}

/// The load benchmark stub's 811-byte Reach answer to a customer update.
pub const REACH_ANSWER: &str = r#"{"success":true,"message":"Customer updated","data":{"result":{"id":"0b6f3c1e-8a52-4e0b-9a51-6f2d3c4b5a69","schema_definition_id":"7c2e9a54-1b3d-4f6a-8e2c-5d4b3a291f08","schemaDefinitionId":"7c2e9a54-1b3d-4f6a-8e2c-5d4b3a291f08","platform_id":"e4a1b7d2-6c3f-4a8e-b2d1-9f0e8c7b6a54","platformId":"e4a1b7d2-6c3f-4a8e-b2d1-9f0e8c7b6a54","business_id":"9d8c7b6a-5f4e-4d3c-a2b1-0e9f8d7c6b5a","businessId":"9d8c7b6a-5f4e-4d3c-a2b1-0e9f8d7c6b5a","resource_external_id":"12345","resourceExternalId":"12345","created_at":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","updated_at":"2024-01-02T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z","data":{"customerId":"12345","firstName":"John","lastName":"Doe","email":"john@example.com","phone":"+10233456781","emailOptOut":false,"smsOptOut":false}},"included":[]}}"#;

/// What one case measures.
pub enum Work {
    /// `request/<client>-><upstream>`: the whole pure pipeline of one write.
    Request(Pair<'static>),
    /// `answer/reach-><client>`: decode the Reach answer, render the client's success body.
    Answer(DialectId),
}

/// One benchmark case, named as criterion names it.
pub struct Case {
    /// `request/helpcrunch->reach`, `answer/reach->helpscout-v1`, …
    pub id: String,
    /// The work.
    pub work: Work,
    state: Customer,
}

impl Case {
    /// Runs the case once; the result is returned so the caller can `black_box` it.
    pub fn run(&self) -> Box<dyn std::any::Any> {
        match &self.work {
            Work::Request(pair) => Box::new(request(pair, &self.state)),
            Work::Answer(client) => Box::new(answer(*client, &answer_endpoint())),
        }
    }
}

/// `request/<client>-><upstream>`: the whole pure pipeline of the client's typical write.
pub fn request(pair: &Pair<'_>, state: &Customer) -> Offline {
    let (method, path) = default_path(pair.client);
    offline(
        pair,
        method,
        path,
        None,
        black_box(body(pair.client).as_bytes()),
        Some(state),
    )
}

/// The endpoint an `answer/…` case renders for.
pub fn answer_endpoint() -> Endpoint {
    Endpoint {
        kind: EndpointKind::Update { full: false },
        customer_id: "12345".into(),
    }
}

/// `answer/reach-><client>`: decode the stub's Reach answer, render the client's success body.
pub fn answer(client: DialectId, ep: &Endpoint) -> Synthetic {
    let customer = dialect(DialectId::Reach)
        .decode_customer(black_box(REACH_ANSWER.as_bytes()))
        .expect("stub body decodes");
    dialect(client).encode_success(
        ep,
        Some(&customer),
        &AnswerCx {
            customer_id: "12345",
            default_entry_type: "work",
            upstream: DialectId::Reach,
            reload: true,
            created: None,
            location_base: "",
        },
    )
}

/// Every request pair, then every answer.
pub fn all() -> Vec<Case> {
    let mut out = Vec::new();
    for client in DialectId::ALL {
        for upstream in DialectId::ALL {
            out.push(Case {
                id: format!("request/{client}->{upstream}"),
                work: Work::Request(Pair {
                    client,
                    upstream,
                    policy: Policy::Drop,
                    default_entry_type: "work",
                }),
                state: state(),
            });
        }
    }
    for client in DialectId::ALL {
        out.push(Case {
            id: format!("answer/reach->{client}"),
            work: Work::Answer(client),
            state: state(),
        });
    }
    out
}
