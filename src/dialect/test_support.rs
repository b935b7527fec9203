//! Builders the dialects' unit tests and the contract suite share, so each test file states only
//! what differs in its case.

use super::{AnswerCx, DialectId, Endpoint, EndpointKind, UpstreamRequest};
use crate::canonical::{Change, Coll, Customer, Entry, Field, Op, Rule};
use serde_json::{json, Value};

/// The endpoint of `kind` for `customer_id`, as the router would give it.
pub(crate) fn endpoint(kind: EndpointKind, customer_id: &str) -> Endpoint {
    Endpoint {
        kind,
        customer_id: customer_id.to_string(),
    }
}

/// An upstream request's body as JSON (`null` when it has none or it is not JSON).
pub(crate) fn body_json(req: &UpstreamRequest) -> Value {
    req.body
        .as_ref()
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Value::Null)
}

/// A single `(pointer, rule)` violation, as the dialects' `pointer_rules` lists them.
pub(crate) fn one(pointer: &str, rule: Rule) -> Vec<(String, Rule)> {
    vec![(pointer.to_string(), rule)]
}

/// A change setting (or, with `null`, clearing) `field`.
pub(crate) fn set(field: Field, value: Value, origin: &str) -> Change {
    Change::new(Op::Set { field, value }, origin.to_owned())
}

/// A single-slot change: the first e-mail or phone is `value` (`None` clears it).
pub(crate) fn primary(coll: Coll, value: Option<&str>, origin: &str) -> Change {
    let value = value.map(str::to_string);
    Change::new(Op::Primary { coll, value }, origin.to_owned())
}

/// A custom-property change; `null` removes the property.
pub(crate) fn prop(slug: &str, value: Value, origin: &str) -> Change {
    let slug = slug.to_string();
    let op = if value.is_null() {
        Op::PropertyRemove { slug }
    } else {
        Op::PropertySet { slug, value }
    };
    Change::new(op, origin.to_owned())
}

/// A collection entry.
pub(crate) fn entry(id: u64, kind: Option<&str>, value: &str) -> Entry {
    Entry {
        id,
        kind: kind.map(str::to_string),
        value: value.to_string(),
    }
}

/// The answer context of an ordinary update or read of `customer_id` from `upstream`: default
/// entry type `work`, no reload, nothing created, no location base. Tests change the rest with
/// struct-update syntax.
pub(crate) fn answer_cx(customer_id: &str, upstream: DialectId) -> AnswerCx<'_> {
    AnswerCx {
        customer_id,
        default_entry_type: "work",
        upstream,
        reload: false,
        created: None,
        location_base: "",
    }
}

/// A Help Scout customer as the upstream holds it: both name halves, gender, an address and
/// entries in three collections with the ids patch documents name (`/emails/1001`, …).
pub(crate) fn vernon() -> Customer {
    serde_json::from_value(json!({
        "first_name": "Vernon", "last_name": "Bear", "gender": "male",
        "address": {"lines": ["1 Main"], "city": "Dallas"},
        "emails": [{"id": 1001, "type": "work", "value": "vernon@acme.com"},
                   {"id": 1003, "type": "home", "value": "v@home.net"}],
        "phones": [{"id": 1002, "type": "home", "value": "222-333-4444"}],
        "websites": [{"id": 7, "value": "https://acme.com"}]
    }))
    .unwrap_or_default()
}
