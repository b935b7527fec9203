//! Builders the dialects' unit tests and the contract suite share, so each test file states only
//! what differs in its case.

use super::{AnswerCx, DialectId};
use crate::canonical::{Customer, Entry};
use serde_json::json;

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
