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
    AnswerCx, ClientRequest, ClientSide, Dialect, DialectId, EncodeCx, Endpoint, EndpointKind,
    Synthetic, Target, UpstreamRequest, UpstreamSide,
};
use crate::canonical::time::{self, Style};
use crate::canonical::{
    pointer_token, Address, ApiError, Change, ChangeSet, Coll, Customer, Entry, ErrorKind, Field,
    Op, Rule, Tag, Violation,
};
use bytes::Bytes;
use decode::*;
use error::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use upstream::*;

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

impl Dialect for Helpcrunch {
    fn id(&self) -> DialectId {
        DialectId::Helpcrunch
    }

    fn holds(&self, field: Field) -> bool {
        matches!(field, Field::FirstName | Field::LastName) || wire_key(field).is_some()
    }
}

impl ClientSide for Helpcrunch {
    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        decode::route(method, path)
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        _query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        decode::decode_request(ep, body)
    }

    fn answer_needs_customer(&self, ep: &Endpoint, _req: &ClientRequest) -> bool {
        matches!(ep.kind, EndpointKind::Update { .. } | EndpointKind::Get)
    }

    fn encode_success(
        &self,
        _ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic {
        model::encode_success(customer, cx)
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        error::encode_error(err)
    }

    fn pointer_for(&self, target: &Target) -> String {
        error::pointer_for(target)
    }
}

impl UpstreamSide for Helpcrunch {
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
        model::decode_customer(body)
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        error::decode_error(status, body)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        error::locate(upstream_path)
    }
}
