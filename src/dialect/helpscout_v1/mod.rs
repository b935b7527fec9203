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

use super::fields::Canon;
use super::rules;
use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{Address, Change, Entry, EntryUpdate, ErrorKind, Meta, Op, Rule};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

/// Help Scout legacy API v1.
pub struct HelpscoutV1;

const PREFIX: &str = "/v1/customers/";
const SUFFIX: &str = ".json";
/// What the real service answers with (`helpscout.md` §1.1).
const JSON_UTF8: &str = "application/json; charset=utf-8";
/// Error bodies use the plain media type (docs/dialects.md, error bodies).
const JSON: &str = "application/json";
/// Keeps a path id a single segment when an id from another dialect is not numeric.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One member of a v1 body: its key, the pointer its errors and changes name, and what it is.
pub(super) struct Member<T> {
    pub(super) key: &'static str,
    pub(super) pointer: String,
    pub(super) canon: T,
}

/// The members a v1 body can carry, in the profile's row order: top-level scalars, the keys of
/// `address`, and the entry collections.
pub(super) struct Members {
    pub(super) scalars: Vec<Member<Field>>,
    pub(super) address: Vec<Member<Field>>,
    pub(super) colls: Vec<Member<Coll>>,
}

/// [`Members`], derived once from the profile's field rows, so that a key is written in one
/// place (the row) and the decoder, the upstream encoder and the answer reader agree with it.
pub(super) static MEMBERS: LazyLock<Members> = LazyLock::new(|| {
    let mut m = Members {
        scalars: Vec::new(),
        address: Vec::new(),
        colls: Vec::new(),
    };
    for row in profile::HELPSCOUT_V1.fields {
        let pointer = format!("/{}", row.wire);
        match row.canon {
            Canon::Coll(canon) => m.colls.push(Member {
                key: row.wire,
                pointer,
                canon,
            }),
            Canon::Field(canon) => match row.wire.strip_prefix("address/") {
                Some(key) => m.address.push(Member {
                    key,
                    pointer,
                    canon,
                }),
                None => m.scalars.push(Member {
                    key: row.wire,
                    pointer,
                    canon,
                }),
            },
        }
    }
    m
});

/// The members, borrowed for the life of the program.
pub(super) fn members() -> &'static Members {
    &MEMBERS
}

/// The body key of a top-level scalar field (the profile's row).
fn scalar_key(field: Field) -> Option<&'static str> {
    super::fields::field_wire(&profile::HELPSCOUT_V1, field).filter(|w| !w.contains('/'))
}

/// The key inside `address` of an address field (the profile's row).
fn address_key(field: Field) -> Option<&'static str> {
    super::fields::field_wire(&profile::HELPSCOUT_V1, field)?.strip_prefix("address/")
}

/// The position of a collection in [`Members::colls`]; the profile lists every collection.
fn coll_index(coll: Coll) -> usize {
    members()
        .colls
        .iter()
        .position(|m| m.canon == coll)
        .expect("the helpscout-v1 profile has a row for every collection")
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

impl Wired for HelpscoutV1 {
    const CODEC: Codec = Codec {
        id: DialectId::HelpscoutV1,
        customer_id: |raw| {
            rules::numeric_path_id(raw, "The customer id must be a positive integer")
        },
        decode_request: decode::decode_request,
        answer_needs_customer: |ep, req| match ep.kind {
            EndpointKind::Get => true,
            EndpointKind::Update { .. } => req.reload,
            EndpointKind::Properties | EndpointKind::Token | EndpointKind::SubResource { .. } => {
                false
            }
        },
        encode_success: answer::encode_success,
        encode_error: error::encode_error,
        check_target: decode::check_target,
        encode_update: upstream::encode_update,
        encode_get: upstream::encode_get,
        decode_customer: upstream::decode_customer,
        decode_error: error::decode_error,
    };
}
