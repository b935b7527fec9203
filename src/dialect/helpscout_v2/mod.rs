//! Help Scout Mailbox API v2 (`helpscout-v2`): JSON-Patch-like `PATCH`, overwriting `PUT`, the
//! properties endpoint, HAL `GET` answers and vnd.error errors.
//!
//! Vendor facts are in `shared/dialects/helpscout.md` §2; the mapping and the pointer conventions
//! are in `docs/dialects.md` (section "helpscout-v2"). Entries are addressed by id, never by array
//! index, so v2 entry ops map one-to-one onto the canonical `Entry*` ops.

#![allow(
    clippy::result_large_err,
    reason = "Violation is the shared error currency of every rules:: helper; boxing it here alone buys nothing"
)]

mod answer;
mod decode;
mod route;
mod sub;
#[cfg(test)]
mod tests;
mod upstream;

use super::document;
use super::rules;
use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{pointer_token, Change, ChangeSet, Entry, EntryUpdate, ErrorKind, Op, Rule};
use bytes::Bytes;
use decode::*;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use route::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use sub::*;
use upstream::*;

/// The helpscout-v2 codec.
pub struct HelpscoutV2;

/// The entity fields of the overwrite `PUT` (D2) and the top-level PATCH paths, in the order the
/// vendor lists them: the profile's top-level field rows.
fn entity_fields() -> impl Iterator<Item = (&'static str, Field)> {
    super::fields::scalar_fields(&profile::HELPSCOUT_V2).filter(|(wire, _)| !wire.contains('/'))
}

/// `/address/<name>` members: the profile's rows below `address`.
fn address_fields() -> impl Iterator<Item = (&'static str, Field)> {
    super::fields::scalar_fields(&profile::HELPSCOUT_V2)
        .filter_map(|(wire, f)| Some((wire.strip_prefix("address/")?, f)))
}

/// The photo types (the unit tests walk them).
#[cfg(test)]
const PHOTO_TYPES: &[&str] = profile::HELPSCOUT_V2_PHOTO_TYPES;

const PATCH_OPS: &[&str] = &["add", "remove", "replace"];
const PROPERTY_OPS: &[&str] = &["replace", "remove"];

/// Characters escaped when a customer id is put into an upstream path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

const ERRORS_ABOUT: &str = "http://developer.helpscout.net/mailbox-api/overview/errors";

// === names ===

/// The collection of a path segment (`social-profiles`): the profile's collection rows.
fn coll_from_segment(s: &str) -> Option<Coll> {
    super::fields::coll_by_wire(&profile::HELPSCOUT_V2, s)
}

/// The key under `_embedded` in a GET customer: social profiles use an underscore there
/// (helpscout.md §2.2), unlike everywhere else.
fn embedded_key(coll: Coll) -> &'static str {
    match coll {
        Coll::SocialProfiles => "social_profiles",
        other => document::coll_key(other),
    }
}

/// The v2 pointer of a field v2 holds.
fn field_pointer(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::FirstName => "/firstName",
        Field::LastName => "/lastName",
        Field::Organization => "/organization",
        Field::JobTitle => "/jobTitle",
        Field::Notes => "/background",
        Field::PhotoUrl => "/photoUrl",
        Field::PhotoType => "/photoType",
        Field::Gender => "/gender",
        Field::Age => "/age",
        Field::Location => "/location",
        Field::AddressLines => "/address/lines",
        Field::AddressCity => "/address/city",
        Field::AddressState => "/address/state",
        Field::AddressPostalCode => "/address/postalCode",
        Field::AddressCountry => "/address/country",
        _ => return None,
    })
}

/// The canonical social type is `foursquare`; v2 documents (and is sent) `forsquare`.
fn canonical_kind(coll: Coll, kind: &str) -> String {
    if coll == Coll::SocialProfiles && kind == "forsquare" {
        "foursquare".to_string()
    } else {
        kind.to_string()
    }
}

fn wire_kind(coll: Coll, kind: &str) -> &str {
    if coll == Coll::SocialProfiles && kind == "foursquare" {
        "forsquare"
    } else {
        kind
    }
}

/// The type written for an entry that has none (single-slot entries, adds from dialects
/// without types): `preferred` when v2 accepts it for the collection, else `other`.
fn fallback_kind(coll: Coll, preferred: &str) -> Option<&str> {
    let allowed = coll.v2_types()?;
    Some(if allowed.contains(&preferred) {
        preferred
    } else {
        "other"
    })
}

/// `male` → `Male`, as the real service echoes it.
fn capitalised(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    if let Some(first) = chars.next() {
        out.extend(first.to_uppercase());
        out.extend(chars.flat_map(char::to_lowercase));
    }
    out
}

// === value rules ===

/// The rules v2 enforces on a scalar string value (helpscout.md §2.1): the value rule of the
/// field's row in the profile.
fn check_field_value(field: Field, s: &str, pointer: &str) -> Result<(), Violation> {
    super::fields::rule_of(&profile::HELPSCOUT_V2, field)
        .map_or(Ok(()), |rule| super::fields::check_value(rule, s, pointer))
}

/// Entry type from the v2 enumeration; `foursquare` is accepted next to the documented
/// `forsquare` (docs/dialects.md, social profile spelling). Websites carry no type.
fn check_entry_type(coll: Coll, kind: &str, pointer: &str) -> Result<(), Violation> {
    match coll.v2_types() {
        Some(_) if coll == Coll::SocialProfiles && kind == "foursquare" => Ok(()),
        Some(allowed) => rules::one_of(kind, allowed, false, pointer),
        None => Ok(()),
    }
}

/// The largest id of at most 19 digits (`rules::positive_id`'s length limit).
const MAX_PATH_ENTRY_ID: u64 = 9_999_999_999_999_999_999;

/// An entry id the PATCH path grammar can carry (`positive_id`: at most 19 digits); a larger
/// one (a helpscout-v1 client may send any u64) would be refused by the vendor as a path error.
fn check_entry_id(id: u64, pointer: &str) -> Result<(), Violation> {
    // `positive_id` of the decimal, without writing it: not 0, at most 19 digits.
    if (1..=MAX_PATH_ENTRY_ID).contains(&id) {
        return Ok(());
    }
    Err(Violation::new(
        pointer,
        Rule::EntryId,
        "Value is not a valid entity identifier.",
    )
    .with_value(Value::from(id)))
}

fn check_entry_value(coll: Coll, value: &str, pointer: &str) -> Result<(), Violation> {
    if value.is_empty() {
        return Err(Violation::new(pointer, Rule::Required, "may not be empty")
            .with_value(Value::String(String::new())));
    }
    if coll == Coll::Emails {
        rules::email(value, pointer)?;
    }
    Ok(())
}

impl Wired for HelpscoutV2 {
    const CODEC: Codec = Codec {
        id: DialectId::HelpscoutV2,
        customer_id: route::customer_id,
        decode_request: |ep, _query, body| decode::decode_request(ep, body),
        answer_needs_customer: |ep, _req| answer::answer_needs_customer(ep),
        encode_success: answer::encode_success,
        encode_error: answer::encode_error,
        check_target: decode::check_target,
        encode_update: upstream::encode_update,
        encode_get: upstream::encode_get,
        decode_customer: upstream::decode_customer,
        decode_error: upstream::decode_error,
    };
}

#[cfg(test)]
mod entry_id_tests {
    use super::*;

    /// The range check is `positive_id` of the decimal id, at both ends of both limits.
    #[test]
    fn entry_id_range_is_positive_id_of_the_decimal() {
        let ten19 = 10_000_000_000_000_000_000u64;
        for id in [
            0,
            1,
            2,
            9,
            10,
            12345,
            ten19 - 1,
            ten19,
            ten19 + 1,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(
                check_entry_id(id, "/emails/x").is_ok(),
                rules::positive_id(&id.to_string()),
                "{id}"
            );
        }
    }
}
