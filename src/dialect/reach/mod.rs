//! Reach (embedreach) codec: `PATCH|GET /api/resources/customers/{externalId}`, bodies wrapped
//! in `{"data": {…}}`, answers in the `{"success", "message", "data": {"result", "included"}}`
//! envelope (SPEC §1, `docs/dialects.md` § reach, `helpcrunch-reach.md` §2).
//!
//! Reach is the upstream side of the load benchmark, so the hot upstream paths
//! (`upstream::encode_update`, `upstream::decode_customer`) avoid building `serde_json::Value`
//! trees: bodies are written straight into a byte buffer and answers are read into borrowed
//! structs by `dialect::scan`'s strict reader.

mod answer;
mod decode;
#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
mod upstream;

use super::wire::{self, JsonWriter};
use super::*;
use crate::canonical::time::{self, Style};
#[cfg(test)]
use crate::canonical::ErrorKind;
use crate::canonical::{pointer_token, Change, Entry, Meta, Op, Rule};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use std::borrow::Cow;

/// The Reach dialect.
pub struct Reach;

/// Route prefix of the customer endpoints (after the gateway's own route prefix).
const PREFIX: &str = "/api/resources/customers/";

/// Longest external id accepted in the path, in characters.
const MAX_ID_CHARS: usize = 256;

/// What a `data` key maps to in the canonical model: a field, or the one e-mail or phone.
type Slot = super::fields::Canon;

/// The `data` keys, in the order the encoder writes them: the profile's field rows.
const KEYS: &[super::fields::FieldRow] = profile::REACH.fields;

/// The client pointer of each [`KEYS`] row (`/data/` + its wire name), as constants: a change's
/// origin then borrows instead of allocating (a test checks them against the rows).
const DATA_POINTERS: [&str; 9] = [
    "/data/firstName",
    "/data/lastName",
    "/data/email",
    "/data/phone",
    "/data/emailOptOut",
    "/data/smsOptOut",
    "/data/customerId",
    "/data/customerDetailUrl",
    "/data/createdAt",
];

fn key_index(key: &str) -> Option<usize> {
    KEYS.iter().position(|r| r.wire == key)
}

fn slot_index(slot: Slot) -> Option<usize> {
    KEYS.iter().position(|r| r.canon == slot)
}

impl Wired for Reach {
    const CODEC: Codec = Codec {
        id: DialectId::Reach,
        customer_id: |raw| {
            let id = decode::decode_id(raw)?;
            decode::check_id(&id)?;
            Ok(id.into_owned())
        },
        decode_request: |_ep, query, body| decode::decode_request(query, body),
        answer_needs_customer: |_ep, _req| true,
        encode_success: answer::encode_success,
        encode_error: answer::encode_error,
        check_target: decode::check_target,
        encode_update: upstream::encode_update,
        encode_get: upstream::encode_get,
        decode_customer: upstream::decode_customer,
        decode_error: upstream::decode_error,
    };
}
