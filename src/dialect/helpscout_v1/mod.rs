//! Help Scout legacy Mailbox API v1 (`helpscout-v1`): `PUT|GET /v1/customers/{id}.json`.
//!
//! v1 updates are partial and entry-oriented: the `id` of each entry object says what happens to
//! it (positive: update that entry, absent/0/false/null: create one, negative: delete entry
//! `-id`); e-mails and phones carry their type in `location`, chats and social profiles in
//! `type`. Answers and errors copy the real service's shapes (`{"item": …}` and
//! `{"code", "error", "validationErrors"}`, `helpscout.md` §3.4). Where the vendor is silent the
//! decision is written under `### helpscout-v1` in `docs/dialects.md`.

mod answer;
mod decode;
mod error;
#[cfg(test)]
mod tests;
mod upstream;

use super::rules;
use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{pointer_token, Address, Change, Entry, ErrorKind, Meta, Op, Rule};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Map, Value};

/// Help Scout legacy API v1.
pub struct HelpscoutV1;

const PREFIX: &str = "/v1/customers/";
const SUFFIX: &str = ".json";
/// What the real service answers with (`helpscout.md` §1.1).
const JSON_UTF8: &str = "application/json; charset=utf-8";
/// Error bodies use the plain media type (docs/dialects.md, error bodies).
const JSON: &str = "application/json";
/// v1 person object: "Must be shorter than 40 characters".
const NAME_MAX: usize = 39;
/// v1 photoType list (L4): v2's list without `instagram`.
const PHOTO_TYPES: &[&str] = &[
    "unknown",
    "gravatar",
    "twitter",
    "facebook",
    "googleprofile",
    "googleplus",
    "linkedin",
];
const GENDERS: &[&str] = &["male", "female", "unknown"];
/// Keeps a path id a single segment when an id from another dialect is not numeric.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Top-level scalar keys: (body key, pointer, canonical field).
const SCALARS: [(&str, &str, Field); 10] = [
    ("firstName", "/firstName", Field::FirstName),
    ("lastName", "/lastName", Field::LastName),
    ("organization", "/organization", Field::Organization),
    ("jobTitle", "/jobTitle", Field::JobTitle),
    ("background", "/background", Field::Notes),
    ("photoUrl", "/photoUrl", Field::PhotoUrl),
    ("photoType", "/photoType", Field::PhotoType),
    ("gender", "/gender", Field::Gender),
    ("age", "/age", Field::Age),
    ("location", "/location", Field::Location),
];

/// Keys of the `address` object: (key, pointer, canonical field).
const ADDRESS: [(&str, &str, Field); 5] = [
    ("lines", "/address/lines", Field::AddressLines),
    ("city", "/address/city", Field::AddressCity),
    ("state", "/address/state", Field::AddressState),
    (
        "postalCode",
        "/address/postalCode",
        Field::AddressPostalCode,
    ),
    ("country", "/address/country", Field::AddressCountry),
];

/// Entry collections: (body key, pointer, collection).
const COLLS: [(&str, &str, Coll); 5] = [
    ("emails", "/emails", Coll::Emails),
    ("phones", "/phones", Coll::Phones),
    ("chats", "/chats", Coll::Chats),
    ("socialProfiles", "/socialProfiles", Coll::SocialProfiles),
    ("websites", "/websites", Coll::Websites),
];

fn scalar_by_key(key: &str) -> Option<(&'static str, Field)> {
    SCALARS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, p, f)| (*p, *f))
}

fn address_by_key(key: &str) -> Option<(&'static str, Field)> {
    ADDRESS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, p, f)| (*p, *f))
}

fn coll_by_key(key: &str) -> Option<(&'static str, Coll)> {
    COLLS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, p, c)| (*p, *c))
}

/// The body key of a top-level scalar field.
fn scalar_key(field: Field) -> Option<&'static str> {
    SCALARS.iter().find(|(_, _, f)| *f == field).map(|e| e.0)
}

/// The key inside `address` of an address field.
fn address_key(field: Field) -> Option<&'static str> {
    ADDRESS.iter().find(|(_, _, f)| *f == field).map(|e| e.0)
}

/// The JSON pointer of any field v1 holds (top-level or inside `address`).
fn field_pointer(field: Field) -> Option<&'static str> {
    SCALARS
        .iter()
        .chain(ADDRESS.iter())
        .find(|(_, _, f)| *f == field)
        .map(|e| e.1)
}

fn coll_index(coll: Coll) -> usize {
    match coll {
        Coll::Emails => 0,
        Coll::Phones => 1,
        Coll::Chats => 2,
        Coll::SocialProfiles => 3,
        Coll::Websites => 4,
    }
}

/// Which key carries an entry's type: `location` for e-mails and phones, `type` for chats and
/// social profiles, none for websites.
fn type_key(coll: Coll) -> Option<&'static str> {
    match coll {
        Coll::Emails | Coll::Phones => Some("location"),
        Coll::Chats | Coll::SocialProfiles => Some("type"),
        Coll::Websites => None,
    }
}

impl Dialect for HelpscoutV1 {
    fn id(&self) -> DialectId {
        DialectId::HelpscoutV1
    }

    fn holds(&self, field: Field) -> bool {
        field_pointer(field).is_some()
    }
}

impl ClientSide for HelpscoutV1 {
    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        decode::route(method, path)
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        decode::decode_request(ep, query, body)
    }

    fn answer_needs_customer(&self, ep: &Endpoint, req: &ClientRequest) -> bool {
        match ep.kind {
            EndpointKind::Get => true,
            EndpointKind::Update { .. } => req.reload,
            EndpointKind::Properties | EndpointKind::Token | EndpointKind::SubResource { .. } => {
                false
            }
        }
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
        error::encode_error(err)
    }

    fn pointer_for(&self, target: &Target) -> String {
        error::pointer_for(target)
    }
}

impl UpstreamSide for HelpscoutV1 {
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
        error::decode_error(status, body)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        upstream::locate(upstream_path)
    }
}
