//! Reach (embedreach) codec: `PATCH|GET /api/resources/customers/{externalId}`, bodies wrapped
//! in `{"data": {…}}`, answers in the `{"success", "message", "data": {"result", "included"}}`
//! envelope (SPEC §1, `docs/dialects.md` § reach, `helpcrunch-reach.md` §2).
//!
//! Reach is the upstream side of the load benchmark, so the hot upstream paths
//! ([`Reach::encode_update`], [`Reach::decode_customer`]) avoid building `serde_json::Value`
//! trees: bodies are written straight into a byte buffer and answers are read into borrowed
//! structs.

mod answer;
mod decode;
#[cfg(test)]
mod tests;
mod upstream;

use super::wire::{self, JsonWriter};
use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{pointer_token, Change, Entry, ErrorKind, Meta, Op, Rule};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use std::borrow::Cow;

/// The Reach dialect.
pub struct Reach;

/// Route prefix of the customer endpoints (after the gateway's own route prefix).
const PREFIX: &str = "/api/resources/customers/";

/// The vendor's batch endpoint shares the prefix; we do not serve it.
const BATCH: &str = "batch";

/// Longest external id accepted in the path, in characters.
const MAX_ID_CHARS: usize = 256;

/// What a `data` key maps to in the canonical model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Field(Field),
    Primary(Coll),
}

/// The `data` keys in the order the encoder writes them, with their body pointer.
const KEYS: [(&str, &str, Slot); 9] = [
    (
        "firstName",
        "/data/firstName",
        Slot::Field(Field::FirstName),
    ),
    ("lastName", "/data/lastName", Slot::Field(Field::LastName)),
    ("email", "/data/email", Slot::Primary(Coll::Emails)),
    ("phone", "/data/phone", Slot::Primary(Coll::Phones)),
    (
        "emailOptOut",
        "/data/emailOptOut",
        Slot::Field(Field::EmailOptOut),
    ),
    (
        "smsOptOut",
        "/data/smsOptOut",
        Slot::Field(Field::SmsOptOut),
    ),
    (
        "customerId",
        "/data/customerId",
        Slot::Field(Field::ExternalId),
    ),
    (
        "customerDetailUrl",
        "/data/customerDetailUrl",
        Slot::Field(Field::DetailUrl),
    ),
    (
        "createdAt",
        "/data/createdAt",
        Slot::Field(Field::CreatedAt),
    ),
];

fn key_index(key: &str) -> Option<usize> {
    KEYS.iter().position(|(k, _, _)| *k == key)
}

fn slot_index(slot: Slot) -> Option<usize> {
    KEYS.iter().position(|(_, _, s)| *s == slot)
}

impl Dialect for Reach {
    fn id(&self) -> DialectId {
        DialectId::Reach
    }

    fn holds(&self, field: Field) -> bool {
        slot_index(Slot::Field(field)).is_some()
    }
}

impl ClientSide for Reach {
    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        decode::route(method, path)
    }

    fn decode_request(
        &self,
        _ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        decode::decode_request(query, body)
    }

    fn answer_needs_customer(&self, _ep: &Endpoint, _req: &ClientRequest) -> bool {
        true
    }

    fn encode_success(
        &self,
        ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic {
        answer::encode_success(ep, customer, cx)
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        answer::encode_error(err)
    }

    fn pointer_for(&self, target: &Target) -> String {
        answer::pointer_for(target)
    }
}

impl UpstreamSide for Reach {
    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        decode::check_target(changes)
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        upstream::encode_update(customer_id, changes, cx)
    }

    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
        upstream::encode_get(customer_id, cx)
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        upstream::decode_customer(body)
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        upstream::decode_error(status, body)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        upstream::locate(upstream_path)
    }
}
