//! Builders the dialects' unit tests and the contract suite share, so each test file states only
//! what differs in its case.

use super::{AnswerCx, DialectId};
use crate::canonical::Entry;

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
