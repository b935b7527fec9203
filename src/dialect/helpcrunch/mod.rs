//! HelpCrunch REST API v1 (`helpcrunch`), both as the client's dialect and as an upstream.
//!
//! The body is the customer object itself: one `name` (split into first and last name by the
//! rule in `docs/dialects.md`), single-slot `email` and `phone`, flat `city` / `regionCode` /
//! `countryCode` on the way in but a nested `location` on the way out, and `customData` that is
//! an array of `{property, value}` in requests but an object in the Customer model
//! (`helpcrunch-reach.md` §1.5–§1.6). Errors are `{"errors": [{code, message}, …]}` (§1.9).
//!
//! This dialect is the client side of the load benchmark, so the hot paths (request decoding,
//! update encoding, the success answer) move strings out of the parsed document and write JSON
//! straight into a byte buffer instead of building intermediate `serde_json::Value` trees.

mod decode;
mod error;
mod model;
#[cfg(test)]
mod tests;
mod upstream;

use super::rules;
use super::wire::{self, JsonWriter};
use super::{
    AnswerCx, ClientRequest, Codec, DialectId, EncodeCx, Endpoint, EndpointKind, Synthetic,
    UpstreamRequest, Wired,
};
use crate::canonical::time::{self, Style};
use crate::canonical::{
    pointer_token, Address, ApiError, Change, ChangeSet, Coll, Customer, Entry, EntryUpdate,
    ErrorKind, Field, Op, Rule, Tag, Violation,
};
use bytes::Bytes;
// The unit tests call the codec through the traits and name canonical locations.
#[cfg(test)]
use super::{ClientSide, Dialect, UpstreamSide};
use decode::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};

/// HelpCrunch REST API v1.
pub struct Helpcrunch;

/// How a plain top-level field is validated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// String or null.
    Str,
    /// Boolean or null.
    Bool,
    /// ISO 639-1 code or null.
    Locale,
    /// UNIX seconds as a string or an integer, or null.
    Seen,
}

/// The plain top-level request keys, in the order of the Customer model (§1.6); the order is
/// also the order in which a PUT clears what the body left out.
const SCALARS: [(&str, Field, Kind); 16] = [
    ("userId", Field::ExternalId, Kind::Str),
    ("company", Field::Organization, Kind::Str),
    ("firstSeen", Field::FirstSeen, Kind::Seen),
    ("lastSeen", Field::LastSeen, Kind::Seen),
    ("city", Field::AddressCity, Kind::Str),
    ("regionCode", Field::AddressState, Kind::Str),
    ("countryCode", Field::AddressCountry, Kind::Str),
    ("unsubscribed", Field::EmailOptOut, Kind::Bool),
    ("blocked", Field::Blocked, Kind::Bool),
    ("source", Field::Source, Kind::Str),
    ("referer", Field::Referer, Kind::Str),
    ("lastPage", Field::LastPage, Kind::Str),
    ("locale", Field::Locale, Kind::Locale),
    ("createdFrom", Field::CreatedFrom, Kind::Str),
    ("integrationId", Field::IntegrationId, Kind::Str),
    ("notes", Field::Notes, Kind::Str),
];

/// The JSON pointer of each [`SCALARS`] key in the body (`/` + the key; none needs escaping),
/// as constants: a change's origin then borrows instead of allocating.
const SCALAR_POINTERS: [&str; 16] = [
    "/userId",
    "/company",
    "/firstSeen",
    "/lastSeen",
    "/city",
    "/regionCode",
    "/countryCode",
    "/unsubscribed",
    "/blocked",
    "/source",
    "/referer",
    "/lastPage",
    "/locale",
    "/createdFrom",
    "/integrationId",
    "/notes",
];

/// Presence bits for the keys a PUT must clear when absent (scalars use bits 0..16).
const SEEN_NAME: u32 = 1 << 16;
const SEEN_EMAIL: u32 = 1 << 17;
const SEEN_PHONE: u32 = 1 << 18;
const SEEN_TAGS: u32 = 1 << 19;

/// Keys of the Customer model the client may echo back but cannot write (docs Decision).
const READ_ONLY: [&str; 4] = ["id", "device", "location", "createdAt"];

/// Error codes that name a kind of failure rather than a field (both doc generations, the
/// internal framework's vocabulary, and the codes this gateway emits).
const KIND_CODES: [&str; 20] = [
    "invalid_request",
    "invalid_json",
    "malformed_json",
    "unauthorized",
    "invalid_token",
    "forbidden",
    "not_found",
    "entity_not_found",
    "method_not_allowed",
    "too_many_requests",
    "payload_too_large",
    "unsupported_media_type",
    "bad_request",
    "bad_gateway",
    "gateway_timeout",
    "internal_error",
    "invalid_parameter",
    "invalid_entity_id",
    "create_entity_fields_validation_failed",
    "update_entity_fields_validation_failed",
];

const UNEXPECTED: &str = "This field was not expected.";
const MISSING: &str = "This field is missing.";
const BLANK: &str = "This value should not be blank.";

impl Wired for Helpcrunch {
    const CODEC: Codec = Codec {
        id: DialectId::Helpcrunch,
        customer_id: |raw| rules::numeric_path_id(raw, "This value should be of type numeric."),
        decode_request: |ep, _query, body| decode::decode_request(ep, body),
        answer_needs_customer: |ep, _req| {
            matches!(ep.kind, EndpointKind::Update { .. } | EndpointKind::Get)
        },
        encode_success: |_ep, customer, cx| model::encode_success(customer, cx),
        encode_error: error::encode_error,
        check_target: decode::check_target,
        encode_update: upstream::encode_update,
        encode_get: upstream::encode_get,
        decode_customer: model::decode_customer,
        decode_error: error::decode_error,
    };
}
