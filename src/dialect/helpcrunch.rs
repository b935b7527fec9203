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

use super::rules;
use super::{
    AnswerCx, ClientRequest, Dialect, DialectId, EncodeCx, Endpoint, EndpointKind, Synthetic,
    Target, UpstreamRequest,
};
use crate::canonical::time::{self, Style};
use crate::canonical::{
    pointer_token, Address, ApiError, Change, ChangeSet, Coll, Customer, Entry, ErrorKind, Field,
    Op, Rule, Tag, Violation,
};
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Serialize;
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

// === names ===

/// JSON whitespace: the only characters the name rule treats as separators.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Copies `s` with every run of JSON whitespace turned into one space.
fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if is_ws(c) {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The name rule: `None` clears both halves; `(first, None)` for one word, which has no last
/// name (see [`push_name`]).
fn split_name(raw: &str) -> Option<(String, Option<String>)> {
    let name = raw.trim_matches(is_ws);
    if name.is_empty() {
        return None;
    }
    match name.rfind(is_ws) {
        None => Some((name.to_string(), None)),
        // The separator is a one-byte ASCII character, so `i + 1` is a char boundary; the
        // first part keeps at least one character because `name` starts with one.
        Some(i) => Some((
            collapse_ws(name[..i].trim_end_matches(is_ws)),
            Some(name[i + 1..].to_string()),
        )),
    }
}

/// `first + " " + last`, skipping an empty or missing part; `None` when both are.
fn join_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let first = first.filter(|s| !s.is_empty());
    let last = last.filter(|s| !s.is_empty());
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

/// A one-word `name` sets the first name and clears the last name (SPEC §2 "One-word names"):
/// HelpCrunch stores the name as one string, so the client must read back exactly the word it
/// wrote, not that word followed by a last name it never sent.
fn push_name(cs: &mut ChangeSet, raw: Option<&str>) {
    match raw.and_then(split_name) {
        Some((first, last)) => {
            cs.push(
                Op::Set {
                    field: Field::FirstName,
                    value: Value::String(first),
                },
                "/name",
            );
            cs.push(
                Op::Set {
                    field: Field::LastName,
                    value: last.map_or(Value::Null, Value::String),
                },
                "/name",
            );
        }
        None => {
            for field in [Field::FirstName, Field::LastName] {
                cs.push(
                    Op::Set {
                        field,
                        value: Value::Null,
                    },
                    "/name",
                );
            }
        }
    }
}

// === validation shared by the client decoder and the target check ===

fn type_error(pointer: &str, expected: &str, v: &Value) -> Violation {
    Violation::new(
        pointer,
        Rule::Type,
        format!("Expected {expected}, got {}", rules::type_name(v)),
    )
    .with_value(v.clone())
}

fn child(base: &str, token: &str) -> String {
    let token = pointer_token(token);
    let mut p = String::with_capacity(base.len() + 1 + token.len());
    p.push_str(base);
    p.push('/');
    p.push_str(&token);
    p
}

/// The shape of `tags`: null, or an array of `{name, color?}` with a non-blank string name and
/// a string (or null) colour; anything else in a tag object is not expected.
fn tag_violations(v: &Value, pointer: &str, out: &mut Vec<Violation>) {
    let items = match v {
        Value::Null => return,
        Value::Array(items) => items,
        other => {
            out.push(type_error(pointer, "an array", other));
            return;
        }
    };
    for (i, item) in items.iter().enumerate() {
        let base = format!("{pointer}/{i}");
        let obj = match rules::object(item, &base) {
            Ok(obj) => obj,
            Err(e) => {
                out.push(e);
                continue;
            }
        };
        match obj.get("name") {
            None => out.push(Violation::new(
                child(&base, "name"),
                Rule::Required,
                MISSING,
            )),
            Some(name) => match rules::string(name, &child(&base, "name")) {
                Ok("") => out.push(Violation::new(child(&base, "name"), Rule::Required, BLANK)),
                Ok(_) => {}
                Err(e) => out.push(e),
            },
        }
        if let Some(color) = obj.get("color") {
            if let Err(e) = rules::string_or_null(color, &child(&base, "color")) {
                out.push(e);
            }
        }
        for key in obj.keys().filter(|k| *k != "name" && *k != "color") {
            out.push(Violation::new(
                child(&base, key),
                Rule::UnknownField,
                UNEXPECTED,
            ));
        }
    }
}

/// `locale`: an ISO 639-1 code or null.
fn locale_violation(v: &Value, pointer: &str) -> Option<Violation> {
    match rules::string_or_null(v, pointer) {
        Ok(Some(s)) => rules::locale(s, pointer).err(),
        Ok(None) => None,
        Err(e) => Some(e),
    }
}

/// A custom attribute value: a string, number or boolean (null is handled by the caller).
fn scalar_violation(v: &Value, pointer: &str) -> Option<Violation> {
    matches!(v, Value::Array(_) | Value::Object(_)).then(|| {
        Violation::new(
            pointer,
            Rule::Type,
            "This value should be a string, a number or a boolean.",
        )
        .with_value(v.clone())
    })
}

// === client decoding ===

/// Validates one plain field and turns it into its change.
fn decode_scalar(
    key: &str,
    field: Field,
    kind: Kind,
    value: Value,
    cs: &mut ChangeSet,
    bad: &mut Vec<Violation>,
) {
    let pointer = child("", key);
    let checked = match kind {
        Kind::Str => rules::string_or_null(&value, &pointer).map(|_| ()),
        Kind::Bool => rules::bool_or_null(&value, &pointer).map(|_| ()),
        Kind::Locale => locale_violation(&value, &pointer).map_or(Ok(()), Err),
        Kind::Seen => match rules::unix_seconds(&value, &pointer) {
            Ok(Some(s)) if !value.is_string() => {
                cs.push(
                    Op::Set {
                        field,
                        value: Value::String(s),
                    },
                    pointer,
                );
                return;
            }
            other => other.map(|_| ()),
        },
    };
    match checked {
        Ok(()) => cs.push(Op::Set { field, value }, pointer),
        Err(e) => bad.push(e),
    }
}

/// `email` / `phone`: `""` and `null` both empty the slot (docs Decision).
fn decode_slot(coll: Coll, value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
    let pointer = if coll == Coll::Emails {
        "/email"
    } else {
        "/phone"
    };
    let value = match value {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => {
            if coll == Coll::Emails {
                if let Err(e) = rules::email(&s, pointer) {
                    bad.push(e);
                    return;
                }
            }
            Some(s)
        }
        other => {
            bad.push(type_error(pointer, "a string", &other));
            return;
        }
    };
    cs.push(Op::Primary { coll, value }, pointer);
}

/// `tags`: validated, then stored without `color: null` members.
fn decode_tags(mut value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
    let before = bad.len();
    tag_violations(&value, "/tags", bad);
    if bad.len() > before {
        return;
    }
    if let Value::Array(items) = &mut value {
        for item in items.iter_mut() {
            if let Value::Object(obj) = item {
                if obj.get("color").is_some_and(Value::is_null) {
                    obj.remove("color");
                }
            }
        }
    }
    cs.push(
        Op::Set {
            field: Field::Tags,
            value,
        },
        "/tags",
    );
}

/// `customData`: an array of `{property, value}`; `value: null` removes the attribute.
fn decode_custom_data(value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
    let items = match value {
        Value::Array(items) => items,
        other => {
            bad.push(type_error("/customData", "an array", &other));
            return;
        }
    };
    for (i, item) in items.into_iter().enumerate() {
        let base = format!("/customData/{i}");
        let mut obj = match item {
            Value::Object(obj) => obj,
            other => {
                if let Err(e) = rules::object(&other, &base) {
                    bad.push(e);
                }
                continue;
            }
        };
        let before = bad.len();
        for key in obj.keys().filter(|k| *k != "property" && *k != "value") {
            bad.push(Violation::new(
                child(&base, key),
                Rule::UnknownField,
                UNEXPECTED,
            ));
        }
        let slug = match obj.remove("property") {
            None => {
                bad.push(Violation::new(
                    child(&base, "property"),
                    Rule::Required,
                    MISSING,
                ));
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                bad.push(Violation::new(
                    child(&base, "property"),
                    Rule::Required,
                    BLANK,
                ));
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                bad.push(type_error(&child(&base, "property"), "a string", &other));
                None
            }
        };
        let origin = child(&base, "value");
        let value = match obj.remove("value") {
            None => {
                bad.push(Violation::new(origin.as_str(), Rule::Required, MISSING));
                None
            }
            Some(v) => match scalar_violation(&v, &origin) {
                Some(e) => {
                    bad.push(e);
                    None
                }
                None => Some(v),
            },
        };
        if let (Some(slug), Some(value), true) = (slug, value, bad.len() == before) {
            let op = if value.is_null() {
                Op::PropertyRemove { slug }
            } else {
                Op::PropertySet { slug, value }
            };
            cs.push(op, origin);
        }
    }
}

/// On PUT, an absent flat location key takes the value the echoed read-only `location` object
/// carries, so that GET-modify-PUT does not wipe the address (docs Decision).
fn echoed_location<'m>(location: Option<&'m Map<String, Value>>, key: &str) -> Option<&'m Value> {
    location?.get(key).filter(|v| !v.is_null())
}

fn decode_body(body: &[u8], full: bool) -> Result<ChangeSet, ApiError> {
    // Duplicate keys and syntax in one pass (see `rules::parse_json_unique`).
    let doc = rules::parse_json_unique(body).map_err(rules::JsonFailure::into_error)?;
    let obj = match doc {
        Value::Object(obj) => obj,
        other => return Err(ApiError::invalid_one(type_root(&other))),
    };
    let mut cs = ChangeSet {
        changes: Vec::with_capacity(obj.len() + 1),
    };
    let mut bad = Vec::new();
    let mut seen = 0u32;
    let mut location = None;
    for (key, value) in obj {
        match key.as_str() {
            "name" => {
                seen |= SEEN_NAME;
                match rules::string_or_null(&value, "/name") {
                    Ok(raw) => push_name(&mut cs, raw),
                    Err(e) => bad.push(e),
                }
            }
            "email" => {
                seen |= SEEN_EMAIL;
                decode_slot(Coll::Emails, value, &mut cs, &mut bad);
            }
            "phone" => {
                seen |= SEEN_PHONE;
                decode_slot(Coll::Phones, value, &mut cs, &mut bad);
            }
            "tags" => {
                seen |= SEEN_TAGS;
                decode_tags(value, &mut cs, &mut bad);
            }
            "customData" => decode_custom_data(value, &mut cs, &mut bad),
            "location" => {
                if let Value::Object(loc) = value {
                    location = Some(loc);
                }
            }
            k if READ_ONLY.contains(&k) => {}
            k => match SCALARS.iter().position(|(name, _, _)| *name == k) {
                Some(i) => {
                    seen |= 1 << i;
                    let (name, field, kind) = SCALARS[i];
                    decode_scalar(name, field, kind, value, &mut cs, &mut bad);
                }
                None => bad.push(Violation::new(child("", k), Rule::UnknownField, UNEXPECTED)),
            },
        }
    }
    if full {
        clear_absent(seen, location.as_ref(), &mut cs, &mut bad);
    }
    if bad.is_empty() {
        Ok(cs)
    } else {
        Err(ApiError::invalid(bad))
    }
}

fn type_root(v: &Value) -> Violation {
    Violation::new(
        "",
        Rule::Shape,
        format!("Expected a JSON object, got {}", rules::type_name(v)),
    )
}

/// PUT: every owned field the body left out becomes a clear (customData excepted: docs).
fn clear_absent(
    seen: u32,
    location: Option<&Map<String, Value>>,
    cs: &mut ChangeSet,
    bad: &mut Vec<Violation>,
) {
    if seen & SEEN_NAME == 0 {
        push_name(cs, None);
    }
    for (bit, coll, origin) in [
        (SEEN_EMAIL, Coll::Emails, "/email"),
        (SEEN_PHONE, Coll::Phones, "/phone"),
    ] {
        if seen & bit == 0 {
            cs.push(Op::Primary { coll, value: None }, origin);
        }
    }
    for (i, (key, field, _)) in SCALARS.iter().enumerate() {
        if seen & (1 << i) != 0 {
            continue;
        }
        match echoed_location(location, key) {
            Some(v) => {
                let pointer = child("/location", key);
                match rules::string(v, &pointer) {
                    Ok(_) => cs.push(
                        Op::Set {
                            field: *field,
                            value: v.clone(),
                        },
                        pointer,
                    ),
                    Err(e) => bad.push(e),
                }
            }
            None => cs.push(
                Op::Set {
                    field: *field,
                    value: Value::Null,
                },
                child("", key),
            ),
        }
    }
    if seen & SEEN_TAGS == 0 {
        cs.push(
            Op::Set {
                field: Field::Tags,
                value: Value::Null,
            },
            "/tags",
        );
    }
}

// === JSON writing ===

/// A minimal JSON writer for the hot encoders: keys are this module's ASCII constants or are
/// escaped through serde_json.
struct Out {
    buf: Vec<u8>,
    comma: bool,
}

impl Out {
    fn with_capacity(n: usize) -> Self {
        Out {
            buf: Vec::with_capacity(n),
            comma: false,
        }
    }

    fn open(&mut self, c: u8) {
        self.buf.push(c);
        self.comma = false;
    }

    fn close(&mut self, c: u8) {
        self.buf.push(c);
        self.comma = true;
    }

    fn sep(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
        self.comma = true;
    }

    /// A member name that needs no escaping.
    fn key(&mut self, k: &str) {
        self.sep();
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// A member name from data (a customData slug).
    fn key_escaped(&mut self, k: &str) {
        self.sep();
        self.ser(k);
        self.buf.push(b':');
    }

    fn ser<T: Serialize + ?Sized>(&mut self, v: &T) {
        // Serializing strings, numbers and `Value`s into a Vec cannot fail (no I/O, no maps
        // with non-string keys), so the Result carries no information here.
        let _ = serde_json::to_writer(&mut self.buf, v);
    }

    fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.ser(s),
            None => self.buf.extend_from_slice(b"null"),
        }
    }

    fn opt_bool(&mut self, v: Option<bool>) {
        self.buf.extend_from_slice(match v {
            Some(true) => b"true",
            Some(false) => b"false",
            None => b"null",
        });
    }

    fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

// === upstream encoding ===

/// Where a resolved change lands in a HelpCrunch update body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot<'a> {
    Name,
    Key(&'static str, Field),
    Email,
    Phone,
    Prop(&'a str),
}

fn wire_key(field: Field) -> Option<&'static str> {
    match field {
        Field::Tags => Some("tags"),
        f => SCALARS
            .iter()
            .find(|(_, sf, _)| *sf == f)
            .map(|(key, _, _)| *key),
    }
}

fn slot_of(op: &Op) -> Option<Slot<'_>> {
    match op {
        Op::Set {
            field: Field::FirstName | Field::LastName,
            ..
        } => Some(Slot::Name),
        Op::Set { field, .. } => wire_key(*field).map(|k| Slot::Key(k, *field)),
        Op::Primary {
            coll: Coll::Emails, ..
        } => Some(Slot::Email),
        Op::Primary {
            coll: Coll::Phones, ..
        } => Some(Slot::Phone),
        Op::PropertySet { slug, .. } | Op::PropertyRemove { slug } => Some(Slot::Prop(slug)),
        _ => None,
    }
}

fn internal(message: String) -> ApiError {
    ApiError::new(ErrorKind::Internal, message)
}

/// The last value given to a name half, if any.
fn last_set(changes: &[Change], wanted: Field) -> Option<&Value> {
    changes.iter().rev().find_map(|c| match &c.op {
        Op::Set { field, value } if *field == wanted => Some(value),
        _ => None,
    })
}

/// True when a later change writes the same slot (the last one wins; a JSON object must not
/// carry a key twice).
fn superseded(changes: &[Change], i: usize, slot: Slot<'_>) -> bool {
    changes[i + 1..]
        .iter()
        .any(|c| slot_of(&c.op) == Some(slot))
}

fn customer_path(id: &str) -> String {
    format!(
        "/v1/customers/{}",
        utf8_percent_encode(id, NON_ALPHANUMERIC)
    )
}

fn encode_patch(customer_id: &str, changes: &[Change]) -> Result<UpstreamRequest, ApiError> {
    let mut out = Out::with_capacity(64 + changes.len() * 32);
    out.open(b'{');
    let mut name_done = false;
    let mut has_props = false;
    for (i, change) in changes.iter().enumerate() {
        let slot = slot_of(&change.op).ok_or_else(|| {
            internal(format!(
                "helpcrunch cannot hold the change from {}",
                change.origin
            ))
        })?;
        if matches!(slot, Slot::Prop(_)) {
            has_props = true;
            continue;
        }
        if slot == Slot::Name {
            if name_done {
                continue;
            }
            name_done = true;
            let (Some(first), Some(last)) = (
                last_set(changes, Field::FirstName),
                last_set(changes, Field::LastName),
            ) else {
                return Err(internal(format!(
                    "a name change toward helpcrunch needs both halves ({})",
                    change.origin
                )));
            };
            out.key("name");
            out.opt_str(join_name(first.as_str(), last.as_str()).as_deref());
            continue;
        }
        if superseded(changes, i, slot) {
            continue;
        }
        match (&change.op, slot) {
            (Op::Primary { value, .. }, Slot::Email) => {
                out.key("email");
                out.opt_str(value.as_deref());
            }
            (Op::Primary { value, .. }, Slot::Phone) => {
                out.key("phone");
                out.opt_str(value.as_deref());
            }
            (Op::Set { value, .. }, Slot::Key(key, field)) => {
                out.key(key);
                match value {
                    // HelpCrunch documents timestamps as strings of UNIX seconds.
                    Value::Number(n) if matches!(field, Field::FirstSeen | Field::LastSeen) => {
                        out.ser(&n.to_string());
                    }
                    v => out.ser(v),
                }
            }
            _ => {}
        }
    }
    if has_props {
        out.key("customData");
        out.open(b'[');
        for (i, change) in changes.iter().enumerate() {
            let (slug, value) = match &change.op {
                Op::PropertySet { slug, value } => (slug, value),
                Op::PropertyRemove { slug } => (slug, &Value::Null),
                _ => continue,
            };
            if superseded(changes, i, Slot::Prop(slug)) {
                continue;
            }
            out.sep();
            out.open(b'{');
            out.key("property");
            out.ser(slug.as_str());
            out.key("value");
            out.ser(value);
            out.close(b'}');
        }
        out.close(b']');
    }
    out.close(b'}');
    Ok(UpstreamRequest {
        method: "PATCH",
        path: customer_path(customer_id),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some(out.into_bytes()),
    })
}

// === the Customer model ===

fn first_value(coll: &[Entry]) -> Option<&str> {
    coll.first().map(|e| e.value.as_str())
}

/// `tags_known`: whether the customer came from an upstream that has tags; when it has none the
/// model shows `tags: null` (SPEC §2: fields the upstream cannot know are `null`) rather than the
/// `[]` of a HelpCrunch customer without tags.
fn model_body(customer_id: &str, c: &Customer, tags_known: bool) -> Bytes {
    let mut out = Out::with_capacity(512);
    let addr = c.address.as_ref();
    out.open(b'{');
    out.key("id");
    match customer_id.parse::<u64>() {
        Ok(n) => out.ser(&n),
        Err(_) => out.ser(customer_id),
    }
    out.key("name");
    out.opt_str(join_name(c.first_name.as_deref(), c.last_name.as_deref()).as_deref());
    out.key("email");
    out.opt_str(first_value(&c.emails));
    out.key("userId");
    out.opt_str(c.external_id.as_deref());
    out.key("company");
    out.opt_str(c.organization.as_deref());
    out.key("phone");
    out.opt_str(first_value(&c.phones));
    // HelpCrunch's own format (UNIX seconds as a string) whatever the upstream wrote.
    out.key("firstSeen");
    out.opt_str(time::render_opt(c.first_seen.as_deref(), Style::Unix).as_deref());
    out.key("lastSeen");
    out.opt_str(time::render_opt(c.last_seen.as_deref(), Style::Unix).as_deref());
    out.key("location");
    out.open(b'{');
    out.key("regionCode");
    out.opt_str(addr.and_then(|a| a.state.as_deref()));
    out.key("countryCode");
    out.opt_str(addr.and_then(|a| a.country.as_deref()));
    out.key("city");
    out.opt_str(addr.and_then(|a| a.city.as_deref()));
    out.close(b'}');
    out.key("device");
    out.opt_str(None);
    out.key("unsubscribed");
    out.opt_bool(c.email_opt_out);
    out.key("blocked");
    out.opt_bool(c.blocked);
    for (key, v) in [
        ("source", &c.source),
        ("referer", &c.referer),
        ("lastPage", &c.last_page),
        ("locale", &c.locale),
        ("createdFrom", &c.created_from),
        ("integrationId", &c.integration_id),
        ("notes", &c.notes),
    ] {
        out.key(key);
        out.opt_str(v.as_deref());
    }
    out.key("tags");
    match &c.tags {
        Some(tags) => out.ser(tags),
        None if tags_known => out.buf.extend_from_slice(b"[]"),
        None => out.buf.extend_from_slice(b"null"),
    }
    out.key("customData");
    out.open(b'{');
    for (slug, value) in &c.properties {
        out.key_escaped(slug);
        out.ser(value);
    }
    out.close(b'}');
    out.close(b'}');
    out.into_bytes()
}

/// A string field of an upstream answer; numbers are kept in their text form.
fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn slot_entry(v: Option<Value>) -> Vec<Entry> {
    match v.and_then(text) {
        Some(value) if !value.is_empty() => vec![Entry {
            id: 1,
            kind: None,
            value,
        }],
        _ => Vec::new(),
    }
}

fn decode_model(mut m: Map<String, Value>) -> Customer {
    let mut take = |k: &str| m.remove(k).and_then(text);
    let (first_name, last_name) = match take("name").as_deref().and_then(split_name) {
        Some((first, last)) => (Some(first), last),
        None => (None, None),
    };
    let mut c = Customer {
        first_name,
        last_name,
        external_id: take("userId"),
        organization: take("company"),
        first_seen: take("firstSeen"),
        last_seen: take("lastSeen"),
        source: take("source"),
        referer: take("referer"),
        last_page: take("lastPage"),
        locale: take("locale"),
        created_from: take("createdFrom"),
        integration_id: take("integrationId"),
        notes: take("notes"),
        ..Customer::default()
    };
    let mut address = Address {
        city: take("city"),
        state: take("regionCode"),
        country: take("countryCode"),
        ..Address::default()
    };
    c.emails = slot_entry(m.remove("email"));
    c.phones = slot_entry(m.remove("phone"));
    c.email_opt_out = m.remove("unsubscribed").and_then(|v| v.as_bool());
    c.blocked = m.remove("blocked").and_then(|v| v.as_bool());
    if let Some(Value::Object(mut loc)) = m.remove("location") {
        let mut from_loc = |k: &str, slot: &mut Option<String>| {
            if let Some(s) = loc.remove(k).and_then(text) {
                *slot = Some(s);
            }
        };
        from_loc("city", &mut address.city);
        from_loc("regionCode", &mut address.state);
        from_loc("countryCode", &mut address.country);
    }
    if !address.is_empty() {
        c.address = Some(address);
    }
    if let Some(Value::Array(items)) = m.remove("tags") {
        c.tags = Some(
            items
                .into_iter()
                .filter_map(|t| {
                    let Value::Object(mut t) = t else { return None };
                    let name = t.remove("name").and_then(text)?;
                    let color = t.remove("color").and_then(text);
                    Some(Tag { name, color })
                })
                .collect(),
        );
    }
    match m.remove("customData") {
        Some(Value::Object(props)) => {
            c.properties = props.into_iter().filter(|(_, v)| !v.is_null()).collect();
        }
        // One older GET revision returns the request's array form.
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(mut item) = item else {
                    continue;
                };
                if let (Some(slug), Some(value)) = (
                    item.remove("property").and_then(text),
                    item.remove("value").filter(|v| !v.is_null()),
                ) {
                    c.properties.insert(slug, value);
                }
            }
        }
        _ => {}
    }
    c.meta.id = m.remove("id").filter(|v| !v.is_null());
    c
}

// === errors ===

/// The pointer an upstream error code names, when it names a field: a property path
/// (`customer`, `email`, `filter[0].field`) or the live API's `invalid_<field>_value`.
fn code_pointer(code: &str) -> Option<String> {
    if code.is_empty() || KIND_CODES.contains(&code) {
        return None;
    }
    if let Some(field) = code
        .strip_prefix("invalid_")
        .and_then(|c| c.strip_suffix("_value"))
        .filter(|f| !f.is_empty())
    {
        return Some(rules::undotted(field));
    }
    let path_like = code.contains(['.', '[']) || code.bytes().all(|b| b.is_ascii_alphanumeric());
    path_like.then(|| rules::undotted(code))
}

/// The code of the specific entry for an error that names no field.
fn kind_code(err: &ApiError) -> &'static str {
    match err.kind {
        ErrorKind::Invalid | ErrorKind::Unmappable => "bad_request",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::NotFound => "not_found",
        ErrorKind::MethodNotAllowed => "method_not_allowed",
        ErrorKind::Conflict => "conflict",
        ErrorKind::RateLimited => "too_many_requests",
        ErrorKind::TooLarge => "payload_too_large",
        ErrorKind::MediaType => "unsupported_media_type",
        ErrorKind::BadGateway => "bad_gateway",
        ErrorKind::GatewayTimeout => "gateway_timeout",
        // As an upstream's own 503 reads (`status_code`).
        ErrorKind::Unavailable | ErrorKind::UpstreamBusy => "internal_error",
        ErrorKind::Internal => "internal_error",
        // These carry whatever status the upstream answered (a partially applied write: the
        // second write's failure), so the code follows the status, not the kind.
        ErrorKind::Upstream | ErrorKind::PartiallyApplied => status_code(err.status),
    }
}

/// The code HelpCrunch's answers use for a status.
fn status_code(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        400..=499 => "bad_request",
        502 => "bad_gateway",
        504 => "gateway_timeout",
        _ => "internal_error",
    }
}

/// A violation's pointer as a HelpCrunch error code.
fn violation_code(v: &Violation) -> String {
    if v.pointer.is_empty() {
        "invalid_json".to_string()
    } else if v.pointer.starts_with('/') {
        rules::dotted(&v.pointer)
    } else {
        v.pointer.clone()
    }
}

fn status_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Upstream error")
}

// === the trait ===

fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "Not found")
}

impl Dialect for Helpcrunch {
    fn id(&self) -> DialectId {
        DialectId::Helpcrunch
    }

    fn holds(&self, field: Field) -> bool {
        matches!(field, Field::FirstName | Field::LastName) || wire_key(field).is_some()
    }

    fn holds_coll(&self, coll: Coll) -> bool {
        matches!(coll, Coll::Emails | Coll::Phones)
    }

    fn single_slot(&self) -> bool {
        true
    }

    fn has_properties(&self) -> bool {
        true
    }

    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        let mut out = Vec::new();
        for c in changes {
            let origin = c.origin.as_str();
            let problem = match &c.op {
                Op::Primary {
                    coll: Coll::Emails,
                    value: Some(v),
                }
                | Op::EntryAdd {
                    coll: Coll::Emails,
                    value: v,
                    ..
                }
                | Op::EntryUpdate {
                    coll: Coll::Emails,
                    value: Some(v),
                    ..
                } => rules::email(v, origin).err(),
                Op::Set {
                    field: Field::Locale,
                    value,
                } => locale_violation(value, origin),
                Op::Set {
                    field: Field::FirstSeen | Field::LastSeen,
                    value,
                } => rules::unix_seconds(value, origin).err(),
                Op::Set {
                    field: Field::Tags,
                    value,
                } => {
                    tag_violations(value, origin, &mut out);
                    None
                }
                Op::PropertySet { value, .. } => scalar_violation(value, origin),
                _ => None,
            };
            out.extend(problem);
        }
        out
    }

    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let Some(raw_id) = path.strip_prefix("/v1/customers/") else {
            return Err(not_found());
        };
        // `.json` is helpscout-v1; `batch` and `search` are HelpCrunch endpoints the gateway
        // does not serve, not malformed customer ids.
        if raw_id.is_empty()
            || raw_id.contains('/')
            || raw_id.ends_with(".json")
            || raw_id == "batch"
            || raw_id == "search"
        {
            return Err(not_found());
        }
        let kind = match method {
            "PATCH" => EndpointKind::Update { full: false },
            "PUT" => EndpointKind::Update { full: true },
            "GET" => EndpointKind::Get,
            _ => {
                return Err(ApiError::method_not_allowed(
                    "Method not allowed",
                    "GET, PATCH, PUT",
                ))
            }
        };
        let customer_id = rules::numeric_path_id(raw_id, "This value should be of type numeric.")?;
        Ok(Endpoint { kind, customer_id })
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        _query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        // Updates check duplicate keys while parsing (`decode_body`); other endpoints only here.
        if !matches!(ep.kind, EndpointKind::Update { .. }) {
            rules::reject_duplicate_keys(body)?;
        }
        let full = match ep.kind {
            EndpointKind::Update { full } => full,
            EndpointKind::Get => return Ok(ClientRequest::default()),
            EndpointKind::Properties | EndpointKind::Token | EndpointKind::SubResource { .. } => {
                return Err(ApiError::new(
                    ErrorKind::MethodNotAllowed,
                    "Method not allowed",
                ))
            }
        };
        Ok(ClientRequest {
            changes: decode_body(body, full)?,
            reload: false,
            full,
            document: None,
        })
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
        let Some(customer) = customer else {
            // Every HelpCrunch answer carries the customer; inventing an all-null one would
            // tell the client its data is gone.
            return self.encode_error(&ApiError::new(
                ErrorKind::BadGateway,
                "The upstream answer did not carry the customer",
            ));
        };
        Synthetic {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: model_body(
                cx.customer_id,
                customer,
                super::dialect(cx.upstream).holds(Field::Tags),
            ),
        }
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        let mut errors = Vec::with_capacity(err.violations.len() + 2);
        errors.push(json!({"code": "invalid_request", "message": "Invalid request"}));
        // A partially applied write says what was applied even when the failure names fields.
        if err.violations.is_empty() || err.kind == ErrorKind::PartiallyApplied {
            let message = if err.message.is_empty() {
                status_reason(err.status)
            } else {
                err.message.as_str()
            };
            errors.push(json!({"code": kind_code(err), "message": message}));
        }
        for v in &err.violations {
            errors.push(json!({"code": violation_code(v), "message": v.message}));
        }
        let reply = Synthetic::json(err.status, "application/json", &json!({ "errors": errors }))
            .with_error_headers(err);
        match err.retry_after {
            Some(secs) if err.status == 429 => reply.with_header("Retry-After", secs.to_string()),
            _ => reply,
        }
    }

    fn pointer_for(&self, target: &Target) -> String {
        match target {
            Target::Field(Field::FirstName | Field::LastName) => "/name".to_string(),
            Target::Field(field) => match wire_key(*field) {
                Some(key) => child("", key),
                None => child("", field.as_str()),
            },
            Target::Coll(Coll::Emails, _) => "/email".to_string(),
            Target::Coll(Coll::Phones, _) => "/phone".to_string(),
            Target::Coll(coll, _) => child("", coll.as_str()),
            Target::Property(_) => "/customData".to_string(),
        }
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        _cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        if !rules::positive_id(customer_id) {
            return Err(ApiError::invalid_one(
                Violation::new(
                    "id",
                    Rule::CustomerId,
                    "HelpCrunch customer ids are positive integers.",
                )
                .with_value(Value::String(customer_id.to_string())),
            ));
        }
        Ok(vec![encode_patch(customer_id, changes)?])
    }

    fn encode_get(&self, customer_id: &str, _cx: &EncodeCx) -> UpstreamRequest {
        UpstreamRequest::bodiless("GET", customer_path(customer_id))
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        match serde_json::from_slice(body).ok()? {
            Value::Object(m) => Some(decode_model(m)),
            _ => None,
        }
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        let doc: Option<Value> = serde_json::from_slice(body).ok();
        let entries = doc
            .as_ref()
            .and_then(|d| d.get("errors"))
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        let mut headline: Option<&str> = None;
        let mut generic: Option<&str> = None;
        let mut violations = Vec::new();
        for entry in entries {
            let code = entry.get("code").and_then(Value::as_str).unwrap_or("");
            let message = entry.get("message").and_then(Value::as_str).unwrap_or("");
            if code == "invalid_request" {
                generic = generic.or(Some(message));
            } else if let Some(pointer) = code_pointer(code) {
                violations.push(Violation::new(pointer, Rule::Upstream, message));
            } else if headline.is_none() {
                headline = Some(message);
            }
        }
        let message = headline
            .or(generic)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status_reason(status));
        ApiError::upstream(status, message, violations)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        let pointer = rules::undotted(upstream_path);
        let mut tokens = pointer.split('/').skip(1);
        let head = tokens.next()?;
        let target = match head {
            "name" => Target::Field(Field::FirstName),
            "email" => Target::Coll(Coll::Emails, Some(1)),
            "phone" => Target::Coll(Coll::Phones, Some(1)),
            "tags" => Target::Field(Field::Tags),
            "customData" => match tokens.next() {
                // An index names an item of the request array, not a slug.
                Some(t) if !t.is_empty() && !t.bytes().all(|b| b.is_ascii_digit()) => {
                    Target::Property(t.replace("~1", "/").replace("~0", "~"))
                }
                _ => Target::Property(String::new()),
            },
            "location" => match tokens.next()? {
                "city" => Target::Field(Field::AddressCity),
                "regionCode" => Target::Field(Field::AddressState),
                "countryCode" => Target::Field(Field::AddressCountry),
                _ => return None,
            },
            key => {
                let (_, field, _) = SCALARS.iter().find(|(k, _, _)| *k == key)?;
                Target::Field(*field)
            }
        };
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CURRENT_UPDATE: &str = r##"{
      "name": "John Doe", "email": "john.doe@example.com", "userId": "user_1234567890",
      "company": "Example Inc.", "phone": "+10233456781", "firstSeen": "1603885746",
      "lastSeen": "1603885746", "unsubscribed": false, "blocked": false,
      "source": "https://example.com", "referer": "https://example.com",
      "lastPage": "https://example.com", "locale": "uk", "createdFrom": "telegram",
      "integrationId": "465847687", "notes": "Lorem ipsum",
      "tags": [{"name": "vip", "color": "#ff0000"}],
      "customData": [
        {"property": "subscription_status", "value": "active"},
        {"property": "number_of_payments", "value": 15},
        {"property": "last_paid_amount", "value": 15.99},
        {"property": "last_payment_date", "value": "1603885746"},
        {"property": "last_invoice_url", "value": "https://example.com/invoice.html"},
        {"property": "last_payment_was_successful", "value": true}
      ]
    }"##;

    const MODEL: &str = r##"{
      "id": 542335, "name": "John Doe", "email": "john.doe@example.com",
      "userId": "user_1234567890", "company": "Example Inc.", "phone": "+10233456781",
      "firstSeen": "1603885746", "lastSeen": "1603885746",
      "location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": "UA", "city": "Kyiv"},
      "device": {"id": 542335, "ip": "192.168.1.1", "timezone": "Europe/Kiev",
                 "platform": "desktop", "userAgent": "Mozilla/5.0"},
      "unsubscribed": false, "blocked": false, "source": "https://example.com",
      "referer": "https://example.com", "lastPage": "https://example.com", "locale": "uk",
      "createdFrom": "telegram", "integrationId": "465847687", "notes": "Lorem ipsum",
      "tags": [{"name": "vip", "color": "#ff0000"}],
      "customData": {"subscription_status": "active", "number_of_payments": 15,
        "last_paid_amount": 15.99, "last_payment_date": 1603885746,
        "last_invoice_url": "https://example.com/invoice.html",
        "last_payment_was_successful": true}
    }"##;

    fn ep(full: bool) -> Endpoint {
        Endpoint {
            kind: EndpointKind::Update { full },
            customer_id: "12345".into(),
        }
    }

    fn patch(body: &str) -> Result<Vec<Change>, ApiError> {
        Helpcrunch
            .decode_request(&ep(false), None, body.as_bytes())
            .map(|r| r.changes.changes)
    }

    fn put(body: &str) -> Vec<Change> {
        match Helpcrunch.decode_request(&ep(true), None, body.as_bytes()) {
            Ok(r) => {
                assert!(r.full);
                r.changes.changes
            }
            Err(e) => panic!("PUT {body} rejected: {e}"),
        }
    }

    fn ok(body: &str) -> Vec<Change> {
        match patch(body) {
            Ok(c) => c,
            Err(e) => panic!("{body} rejected: {e}"),
        }
    }

    /// The (pointer, rule) pairs of a rejected body.
    fn rejected(body: &str) -> Vec<(String, Rule)> {
        match patch(body) {
            Ok(c) => panic!("{body} accepted: {c:?}"),
            Err(e) => {
                assert_eq!((e.status, e.kind), (400, ErrorKind::Invalid));
                e.violations
                    .into_iter()
                    .map(|v| (v.pointer, v.rule))
                    .collect()
            }
        }
    }

    fn one(pointer: &str, rule: Rule) -> Vec<(String, Rule)> {
        vec![(pointer.to_string(), rule)]
    }

    fn set(field: Field, value: Value, origin: &str) -> Change {
        Change::new(Op::Set { field, value }, origin)
    }

    fn primary(coll: Coll, value: Option<&str>, origin: &str) -> Change {
        Change::new(
            Op::Primary {
                coll,
                value: value.map(str::to_string),
            },
            origin,
        )
    }

    fn prop(slug: &str, value: Value, origin: &str) -> Change {
        let op = if value.is_null() {
            Op::PropertyRemove { slug: slug.into() }
        } else {
            Op::PropertySet {
                slug: slug.into(),
                value,
            }
        };
        Change::new(op, origin)
    }

    fn body_json(req: &UpstreamRequest) -> Value {
        let bytes = req.body.as_deref().unwrap_or_default();
        serde_json::from_slice(bytes).unwrap_or(Value::Null)
    }

    // --- route ---------------------------------------------------------------------------

    #[test]
    fn route_recognises_the_three_endpoints() {
        for (method, kind) in [
            ("PATCH", EndpointKind::Update { full: false }),
            ("PUT", EndpointKind::Update { full: true }),
            ("GET", EndpointKind::Get),
        ] {
            assert_eq!(
                Helpcrunch.route(method, "/v1/customers/1568834"),
                Ok(Endpoint {
                    kind,
                    customer_id: "1568834".into()
                })
            );
        }
    }

    #[test]
    fn route_leaves_other_paths_alone() {
        for path in [
            "/v1/customers/1.json",
            "/v1/customers/1/tags",
            "/v1/customers/1/",
            "/v1/customers/",
            "/v1/customers",
            "/v1/customers/batch",
            "/v2/customers/1",
            "/api/resources/customers/1",
            "",
        ] {
            let err = Helpcrunch.route("PATCH", path).err();
            assert_eq!(err.map(|e| e.status), Some(404), "{path}");
        }
    }

    #[test]
    fn route_wrong_method_is_405() {
        for method in ["DELETE", "POST", "HEAD", "patch"] {
            let err = Helpcrunch.route(method, "/v1/customers/7").err();
            assert_eq!(
                err.map(|e| (e.status, e.kind)),
                Some((405, ErrorKind::MethodNotAllowed)),
                "{method}"
            );
        }
    }

    #[test]
    fn route_invalid_id_is_400_naming_id() {
        for raw in [
            "abc",
            "0",
            "-1",
            "01",
            "1%0d%0aX:y",
            "1%2F2",
            "99999999999999999999",
        ] {
            let err = Helpcrunch.route("PATCH", &format!("/v1/customers/{raw}"));
            let Err(err) = err else {
                panic!("{raw} accepted");
            };
            assert_eq!(err.status, 400, "{raw}");
            let v: Vec<_> = err
                .violations
                .iter()
                .map(|v| (v.pointer.as_str(), v.rule))
                .collect();
            assert_eq!(v, [("id", Rule::CustomerId)], "{raw}");
        }
    }

    #[test]
    fn route_percent_decodes_the_id() {
        let ep = Helpcrunch.route("GET", "/v1/customers/%31%32");
        assert_eq!(ep.map(|e| e.customer_id), Ok("12".to_string()));
    }

    // --- decoding the vendor's examples ----------------------------------------------------

    #[test]
    fn decodes_current_update_example() {
        let expected = vec![
            set(Field::FirstName, json!("John"), "/name"),
            set(Field::LastName, json!("Doe"), "/name"),
            primary(Coll::Emails, Some("john.doe@example.com"), "/email"),
            set(Field::ExternalId, json!("user_1234567890"), "/userId"),
            set(Field::Organization, json!("Example Inc."), "/company"),
            primary(Coll::Phones, Some("+10233456781"), "/phone"),
            set(Field::FirstSeen, json!("1603885746"), "/firstSeen"),
            set(Field::LastSeen, json!("1603885746"), "/lastSeen"),
            set(Field::EmailOptOut, json!(false), "/unsubscribed"),
            set(Field::Blocked, json!(false), "/blocked"),
            set(Field::Source, json!("https://example.com"), "/source"),
            set(Field::Referer, json!("https://example.com"), "/referer"),
            set(Field::LastPage, json!("https://example.com"), "/lastPage"),
            set(Field::Locale, json!("uk"), "/locale"),
            set(Field::CreatedFrom, json!("telegram"), "/createdFrom"),
            set(Field::IntegrationId, json!("465847687"), "/integrationId"),
            set(Field::Notes, json!("Lorem ipsum"), "/notes"),
            set(
                Field::Tags,
                json!([{"name": "vip", "color": "#ff0000"}]),
                "/tags",
            ),
            prop(
                "subscription_status",
                json!("active"),
                "/customData/0/value",
            ),
            prop("number_of_payments", json!(15), "/customData/1/value"),
            prop("last_paid_amount", json!(15.99), "/customData/2/value"),
            prop(
                "last_payment_date",
                json!("1603885746"),
                "/customData/3/value",
            ),
            prop(
                "last_invoice_url",
                json!("https://example.com/invoice.html"),
                "/customData/4/value",
            ),
            prop(
                "last_payment_was_successful",
                json!(true),
                "/customData/5/value",
            ),
        ];
        assert_eq!(ok(CURRENT_UPDATE), expected);
    }

    #[test]
    fn decodes_vendor_doc_002_example() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/helpcrunch/vendor-update-example/request.json"
        ));
        let Ok(doc) = doc else {
            panic!("fixture missing");
        };
        let changes = ok(&doc);
        assert_eq!(changes.len(), 22);
        assert!(!changes.iter().any(|c| c.origin == "/createdFrom"));
    }

    #[test]
    fn decodes_older_update_example_with_flat_location_and_null() {
        let body = r##"{"notes": "He has never heard about magic", "source": null,
            "city": "London", "locale": "en", "regionCode": "London", "countryCode": "EN",
            "customData": [{"property": "Subscription Status", "value": "Suspended"},
                           {"property": "Number of payments", "value": 13}]}"##;
        assert_eq!(
            ok(body),
            vec![
                set(
                    Field::Notes,
                    json!("He has never heard about magic"),
                    "/notes"
                ),
                set(Field::Source, Value::Null, "/source"),
                set(Field::AddressCity, json!("London"), "/city"),
                set(Field::Locale, json!("en"), "/locale"),
                set(Field::AddressState, json!("London"), "/regionCode"),
                set(Field::AddressCountry, json!("EN"), "/countryCode"),
                prop(
                    "Subscription Status",
                    json!("Suspended"),
                    "/customData/0/value"
                ),
                prop("Number of payments", json!(13), "/customData/1/value"),
            ]
        );
    }

    #[test]
    fn decodes_older_create_example_with_integer_timestamp() {
        let body = r##"{"name": "Hakim Zarakim", "email": "hzarakim@example.com",
            "userId": "example_22", "company": "example", "source": "https://google.com",
            "locale": "en", "firstSeen": 1593547200, "notes": "magic",
            "customData": [{"property": "Subscription status", "value": "Active"}],
            "tags": [{"name": "Lead", "color": "#ccc"}, {"name": "Paid"}]}"##;
        let changes = ok(body);
        assert_eq!(changes.len(), 11);
        assert!(changes.contains(&set(Field::FirstSeen, json!("1593547200"), "/firstSeen")));
        assert!(changes.contains(&set(
            Field::Tags,
            json!([{"name": "Lead", "color": "#ccc"}, {"name": "Paid"}]),
            "/tags"
        )));
        assert_eq!(changes[0], set(Field::FirstName, json!("Hakim"), "/name"));
        assert_eq!(changes[1], set(Field::LastName, json!("Zarakim"), "/name"));
    }

    #[test]
    fn decodes_benchmark_body() {
        let body = r##"{"name":"John Doe","email":"john@example.com","phone":"+10233456781","company":"Example Inc.","notes":"Lorem","unsubscribed":false}"##;
        assert_eq!(
            ok(body),
            vec![
                set(Field::FirstName, json!("John"), "/name"),
                set(Field::LastName, json!("Doe"), "/name"),
                primary(Coll::Emails, Some("john@example.com"), "/email"),
                primary(Coll::Phones, Some("+10233456781"), "/phone"),
                set(Field::Organization, json!("Example Inc."), "/company"),
                set(Field::Notes, json!("Lorem"), "/notes"),
                set(Field::EmailOptOut, json!(false), "/unsubscribed"),
            ]
        );
    }

    #[test]
    fn read_only_model_keys_are_ignored() {
        let body = r##"{"id": 1, "device": {"ip": "x"}, "location": {"city": "Kyiv"},
            "createdAt": "x", "notes": "n"}"##;
        assert_eq!(ok(body), vec![set(Field::Notes, json!("n"), "/notes")]);
        assert_eq!(ok("{}"), vec![]);
    }

    // --- the name rule -------------------------------------------------------------------

    #[test]
    fn name_rule() {
        let name = |raw: Value| ok(&json!({ "name": raw }).to_string());
        assert_eq!(
            name(json!("Mary Ann Smith")),
            vec![
                set(Field::FirstName, json!("Mary Ann"), "/name"),
                set(Field::LastName, json!("Smith"), "/name"),
            ]
        );
        assert_eq!(
            name(json!("  José María \"Pepe\" O'Neil  ")),
            vec![
                set(Field::FirstName, json!("José María \"Pepe\""), "/name"),
                set(Field::LastName, json!("O'Neil"), "/name"),
            ]
        );
        // One word: the last name is cleared, so the name reads back as exactly that word.
        assert_eq!(
            name(json!("Cher")),
            vec![
                set(Field::FirstName, json!("Cher"), "/name"),
                set(Field::LastName, Value::Null, "/name"),
            ]
        );
        let cleared = vec![
            set(Field::FirstName, Value::Null, "/name"),
            set(Field::LastName, Value::Null, "/name"),
        ];
        assert_eq!(name(Value::Null), cleared);
        assert_eq!(name(json!("")), cleared);
        assert_eq!(name(json!(" \t\r\n ")), cleared);
        assert_eq!(
            name(json!("Mary Ann  Smith")),
            vec![
                set(Field::FirstName, json!("Mary Ann"), "/name"),
                set(Field::LastName, json!("Smith"), "/name"),
            ]
        );
        assert_eq!(
            name(json!("Mary\t\tAnn\nSmith")),
            vec![
                set(Field::FirstName, json!("Mary Ann"), "/name"),
                set(Field::LastName, json!("Smith"), "/name"),
            ]
        );
        // Unicode spaces are not JSON whitespace: they stay inside the word.
        assert_eq!(
            name(json!("Ann\u{a0}Lee")),
            vec![
                set(Field::FirstName, json!("Ann\u{a0}Lee"), "/name"),
                set(Field::LastName, Value::Null, "/name"),
            ]
        );
    }

    #[test]
    fn name_join() {
        assert_eq!(
            join_name(Some("Mary Ann"), Some("Smith")).as_deref(),
            Some("Mary Ann Smith")
        );
        assert_eq!(join_name(Some("Cher"), None).as_deref(), Some("Cher"));
        assert_eq!(join_name(Some(""), Some("Smith")).as_deref(), Some("Smith"));
        assert_eq!(join_name(None, Some("")), None);
    }

    // --- validation rules ----------------------------------------------------------------

    #[test]
    fn body_must_be_a_json_object() {
        assert_eq!(rejected(r##"{"name": "John"##), one("", Rule::Json));
        assert_eq!(rejected(r##"["John Doe"]"##), one("", Rule::Shape));
        assert_eq!(rejected("null"), one("", Rule::Shape));
        assert_eq!(rejected(""), one("", Rule::Json));
        let not_utf8 = Helpcrunch.decode_request(&ep(false), None, b"{\"name\": \"\xff\"}");
        assert_eq!(
            not_utf8.err().map(|e| e.violations[0].rule),
            Some(Rule::Json)
        );
    }

    #[test]
    fn string_fields_reject_other_types() {
        for key in [
            "name",
            "email",
            "phone",
            "company",
            "userId",
            "source",
            "referer",
            "lastPage",
            "createdFrom",
            "integrationId",
            "notes",
            "city",
            "regionCode",
            "countryCode",
            "locale",
        ] {
            let body = json!({ key: 42 }).to_string();
            assert_eq!(
                rejected(&body),
                one(&format!("/{key}"), Rule::Type),
                "{key}"
            );
        }
    }

    #[test]
    fn boolean_fields_reject_other_types() {
        for key in ["unsubscribed", "blocked"] {
            let body = json!({ key: "false" }).to_string();
            assert_eq!(
                rejected(&body),
                one(&format!("/{key}"), Rule::Type),
                "{key}"
            );
            assert_eq!(
                ok(&json!({ key: null }).to_string()).len(),
                1,
                "{key}: null clears"
            );
        }
    }

    #[test]
    fn email_must_be_well_formed() {
        assert_eq!(
            rejected(r##"{"email": "john@"}"##),
            one("/email", Rule::Email)
        );
        assert_eq!(
            rejected(r##"{"email": "john doe@x.com"}"##),
            one("/email", Rule::Email)
        );
        assert_eq!(
            ok(r##"{"email": null}"##),
            vec![primary(Coll::Emails, None, "/email")]
        );
        assert_eq!(
            ok(r##"{"email": ""}"##),
            vec![primary(Coll::Emails, None, "/email")]
        );
        assert_eq!(
            ok(r##"{"phone": ""}"##),
            vec![primary(Coll::Phones, None, "/phone")]
        );
        // Phones are "any string, no checks for number".
        assert_eq!(
            ok(r##"{"phone": "call me"}"##),
            vec![primary(Coll::Phones, Some("call me"), "/phone")]
        );
    }

    #[test]
    fn locale_must_be_iso_639_1() {
        assert_eq!(
            rejected(r##"{"locale": "english"}"##),
            one("/locale", Rule::Locale)
        );
        assert_eq!(
            rejected(r##"{"locale": "EN"}"##),
            one("/locale", Rule::Locale)
        );
        assert_eq!(
            rejected(r##"{"locale": "xx"}"##),
            one("/locale", Rule::Locale)
        );
        assert_eq!(
            ok(r##"{"locale": null}"##),
            vec![set(Field::Locale, Value::Null, "/locale")]
        );
    }

    #[test]
    fn seen_timestamps_are_unix_seconds() {
        for bad in [
            r##""2020-07-01""##,
            "-5",
            "1.5",
            r##""""##,
            r##""12a""##,
            "true",
        ] {
            assert_eq!(
                rejected(&format!(r##"{{"firstSeen": {bad}}}"##)),
                one("/firstSeen", Rule::Date),
                "{bad}"
            );
            assert_eq!(
                rejected(&format!(r##"{{"lastSeen": {bad}}}"##)),
                one("/lastSeen", Rule::Date),
                "{bad}"
            );
        }
        assert_eq!(
            ok(r##"{"lastSeen": 1603885746, "firstSeen": null}"##),
            vec![
                set(Field::LastSeen, json!("1603885746"), "/lastSeen"),
                set(Field::FirstSeen, Value::Null, "/firstSeen"),
            ]
        );
    }

    #[test]
    fn tags_shape() {
        assert_eq!(rejected(r##"{"tags": "vip"}"##), one("/tags", Rule::Type));
        assert_eq!(
            rejected(r##"{"tags": ["vip"]}"##),
            one("/tags/0", Rule::Shape)
        );
        assert_eq!(
            rejected(r##"{"tags": [{"name": "a"}, {"color": "#fff"}]}"##),
            one("/tags/1/name", Rule::Required)
        );
        assert_eq!(
            rejected(r##"{"tags": [{"name": ""}]}"##),
            one("/tags/0/name", Rule::Required)
        );
        assert_eq!(
            rejected(r##"{"tags": [{"name": 1}]}"##),
            one("/tags/0/name", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"tags": [{"name": "a", "color": 3}]}"##),
            one("/tags/0/color", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"tags": [{"name": "a", "id": 3}]}"##),
            one("/tags/0/id", Rule::UnknownField)
        );
        assert_eq!(
            ok(r##"{"tags": [{"name": "a", "color": null}]}"##),
            vec![set(Field::Tags, json!([{"name": "a"}]), "/tags")]
        );
        assert_eq!(
            ok(r##"{"tags": null}"##),
            vec![set(Field::Tags, Value::Null, "/tags")]
        );
        assert_eq!(
            ok(r##"{"tags": []}"##),
            vec![set(Field::Tags, json!([]), "/tags")]
        );
    }

    #[test]
    fn custom_data_shape() {
        assert_eq!(
            rejected(r##"{"customData": {"plan": "pro"}}"##),
            one("/customData", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"customData": null}"##),
            one("/customData", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"customData": [1]}"##),
            one("/customData/0", Rule::Shape)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"value": 1}]}"##),
            one("/customData/0/property", Rule::Required)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"property": "", "value": 1}]}"##),
            one("/customData/0/property", Rule::Required)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"property": 5, "value": 1}]}"##),
            one("/customData/0/property", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"property": "a"}]}"##),
            one("/customData/0/value", Rule::Required)
        );
        assert_eq!(
            rejected(
                r##"{"customData": [{"property": "a", "value": 1}, {"property": "b", "value": {"x": 1}}]}"##
            ),
            one("/customData/1/value", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"property": "a", "value": [1]}]}"##),
            one("/customData/0/value", Rule::Type)
        );
        assert_eq!(
            rejected(r##"{"customData": [{"property": "a", "value": 1, "type": "x"}]}"##),
            one("/customData/0/type", Rule::UnknownField)
        );
        assert_eq!(
            ok(r##"{"customData": [{"property": "plan", "value": null}]}"##),
            vec![prop("plan", Value::Null, "/customData/0/value")]
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert_eq!(
            rejected(r##"{"fullName": "x", "customer": 1}"##),
            vec![
                ("/fullName".to_string(), Rule::UnknownField),
                ("/customer".to_string(), Rule::UnknownField),
            ]
        );
        assert_eq!(
            rejected(r##"{"a/b": 1}"##),
            one("/a~1b", Rule::UnknownField)
        );
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let body = r##"{"name": 1, "email": "bad", "locale": "zz", "firstSeen": "x",
            "tags": [{}], "customData": [{"property": "p", "value": []}], "extra": 1}"##;
        assert_eq!(
            rejected(body),
            vec![
                ("/name".to_string(), Rule::Type),
                ("/email".to_string(), Rule::Email),
                ("/locale".to_string(), Rule::Locale),
                ("/firstSeen".to_string(), Rule::Date),
                ("/tags/0/name".to_string(), Rule::Required),
                ("/customData/0/value".to_string(), Rule::Type),
                ("/extra".to_string(), Rule::UnknownField),
            ]
        );
    }

    // --- PUT -----------------------------------------------------------------------------

    #[test]
    fn put_clears_every_owned_field_left_out() {
        let changes = put(r##"{"name": "Cher", "email": "c@example.com", "customData": []}"##);
        let mut expected = vec![
            set(Field::FirstName, json!("Cher"), "/name"),
            set(Field::LastName, Value::Null, "/name"),
            primary(Coll::Emails, Some("c@example.com"), "/email"),
            primary(Coll::Phones, None, "/phone"),
        ];
        for (key, field, _) in SCALARS {
            expected.push(set(field, Value::Null, &format!("/{key}")));
        }
        expected.push(set(Field::Tags, Value::Null, "/tags"));
        assert_eq!(changes, expected);
        // Nothing about customData: it is merged per attribute even on PUT.
        assert!(!changes.iter().any(|c| c.origin.starts_with("/customData")));
    }

    #[test]
    fn put_of_an_empty_body_clears_both_name_halves() {
        let changes = put("{}");
        assert_eq!(
            &changes[..2],
            &[
                set(Field::FirstName, Value::Null, "/name"),
                set(Field::LastName, Value::Null, "/name"),
            ]
        );
        assert_eq!(changes.len(), 2 + 2 + SCALARS.len() + 1);
    }

    #[test]
    fn put_of_the_model_keeps_the_echoed_location() {
        // The model's customData is an object, which a request may not carry: drop it.
        let mut model: Value = serde_json::from_str(MODEL).unwrap_or_default();
        if let Some(m) = model.as_object_mut() {
            m.remove("customData");
        }
        let changes = put(&model.to_string());
        let echoed: Vec<_> = changes
            .iter()
            .filter(|c| c.origin.starts_with("/location"))
            .collect();
        assert_eq!(echoed.len(), 3);
        assert!(!changes.iter().any(|c| c.origin == "/city"));
        assert_eq!(changes.len(), 2 + 2 + SCALARS.len() + 1);
        let body = r##"{"location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": null,
            "city": "Kyiv"}}"##;
        let changes = put(body);
        assert!(changes.contains(&set(Field::AddressCity, json!("Kyiv"), "/location/city")));
        assert!(changes.contains(&set(
            Field::AddressState,
            json!("Kyyivs'ka Oblast"),
            "/location/regionCode"
        )));
        assert!(changes.contains(&set(Field::AddressCountry, Value::Null, "/countryCode")));
        // A flat key wins over the echoed object.
        let changes = put(r##"{"city": "Lviv", "location": {"city": "Kyiv"}}"##);
        assert!(changes.contains(&set(Field::AddressCity, json!("Lviv"), "/city")));
        assert!(!changes.iter().any(|c| c.origin == "/location/city"));
        // On PATCH the echoed object changes nothing.
        assert_eq!(ok(r##"{"location": {"city": "Kyiv"}}"##), vec![]);
    }

    #[test]
    fn put_rejects_a_malformed_echoed_location() {
        let err = Helpcrunch.decode_request(&ep(true), None, br##"{"location": {"city": 5}}"##);
        let pointers: Vec<_> = err
            .err()
            .map(|e| {
                e.violations
                    .into_iter()
                    .map(|v| (v.pointer, v.rule))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(pointers, one("/location/city", Rule::Type));
    }

    #[test]
    fn get_decodes_to_nothing() {
        let get = Endpoint {
            kind: EndpointKind::Get,
            customer_id: "1".into(),
        };
        assert_eq!(
            Helpcrunch.decode_request(&get, None, b""),
            Ok(ClientRequest::default())
        );
        assert!(Helpcrunch.answer_needs_customer(&get, &ClientRequest::default()));
        assert!(Helpcrunch.answer_needs_customer(&ep(false), &ClientRequest::default()));
    }

    // --- errors toward the client ----------------------------------------------------------

    fn error_json(err: &ApiError) -> (u16, Option<String>, Value) {
        let reply = Helpcrunch.encode_error(err);
        let ct = reply.header("Content-Type").map(str::to_string);
        (reply.status, ct, reply.json_body().unwrap_or_default())
    }

    #[test]
    fn validation_error_body() {
        let Err(err) = patch(r##"{"email": "x", "customData": [{"property": "a"}]}"##) else {
            panic!("accepted");
        };
        assert_eq!(
            error_json(&err),
            (
                400,
                Some("application/json".into()),
                json!({"errors": [
                    {"code": "invalid_request", "message": "Invalid request"},
                    {"code": "email", "message": "Value is not a well formed email address."},
                    {"code": "customData[0].value", "message": "This field is missing."},
                ]})
            )
        );
    }

    #[test]
    fn root_and_path_id_errors() {
        let Err(err) = patch("[1]") else {
            panic!("accepted");
        };
        let (status, _, body) = error_json(&err);
        assert_eq!(status, 400);
        assert_eq!(body["errors"][1]["code"], "invalid_json");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
        let Err(err) = Helpcrunch.route("PUT", "/v1/customers/abc") else {
            panic!("accepted");
        };
        assert_eq!(
            error_json(&err).2,
            json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "id", "message": "This value should be of type numeric."},
            ]})
        );
    }

    #[test]
    fn non_validation_error_bodies() {
        for (err, code, status) in [
            (
                ApiError::new(ErrorKind::Unauthorized, "Unauthorized"),
                "unauthorized",
                401,
            ),
            (
                ApiError::new(ErrorKind::NotFound, "Customer not found"),
                "not_found",
                404,
            ),
            (
                ApiError::new(ErrorKind::MethodNotAllowed, "Method not allowed"),
                "method_not_allowed",
                405,
            ),
            (
                ApiError::new(ErrorKind::TooLarge, "Too large"),
                "payload_too_large",
                413,
            ),
            (
                ApiError::new(ErrorKind::MediaType, "Use JSON"),
                "unsupported_media_type",
                415,
            ),
            (
                ApiError::new(ErrorKind::BadGateway, "Upstream down"),
                "bad_gateway",
                502,
            ),
            (
                ApiError::new(ErrorKind::GatewayTimeout, "Slow"),
                "gateway_timeout",
                504,
            ),
            (
                ApiError::new(ErrorKind::Internal, "Oops"),
                "internal_error",
                500,
            ),
            (
                ApiError::upstream(503, "Busy", vec![]),
                "internal_error",
                503,
            ),
            (
                ApiError::upstream(409, "Duplicate", vec![]),
                "bad_request",
                409,
            ),
        ] {
            let message = err.message.clone();
            assert_eq!(
                error_json(&err),
                (
                    status,
                    Some("application/json".into()),
                    json!({"errors": [
                        {"code": "invalid_request", "message": "Invalid request"},
                        {"code": code, "message": message},
                    ]})
                )
            );
        }
    }

    #[test]
    fn rate_limit_error_carries_retry_after() {
        let err =
            ApiError::new(ErrorKind::RateLimited, "Too many requests").with_retry_after(Some(30));
        let reply = Helpcrunch.encode_error(&err);
        assert_eq!(reply.status, 429);
        assert_eq!(reply.header("Retry-After"), Some("30"));
        assert_eq!(
            reply.json_body(),
            Some(json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "too_many_requests", "message": "Too many requests"},
            ]}))
        );
        let plain = Helpcrunch.encode_error(&ApiError::new(ErrorKind::RateLimited, "x"));
        assert_eq!(plain.header("Retry-After"), None);
    }

    #[test]
    fn empty_message_falls_back_to_the_status_reason() {
        let (_, _, body) = error_json(&ApiError::new(ErrorKind::NotFound, ""));
        assert_eq!(body["errors"][1]["message"], "Not Found");
    }

    // --- the success answer ----------------------------------------------------------------

    fn full_customer() -> Customer {
        Customer {
            first_name: Some("Mary Ann".into()),
            last_name: Some("Smith".into()),
            organization: Some("Example Inc.".into()),
            notes: Some("Lorem \"ipsum\"".into()),
            address: Some(Address {
                lines: vec!["1 Main St".into()],
                city: Some("Kyiv".into()),
                state: Some("Kyyivs'ka Oblast".into()),
                postal_code: Some("01001".into()),
                country: Some("UA".into()),
            }),
            emails: vec![
                Entry {
                    id: 7,
                    kind: Some("work".into()),
                    value: "a@example.com".into(),
                },
                Entry {
                    id: 9,
                    kind: Some("home".into()),
                    value: "b@example.com".into(),
                },
            ],
            phones: vec![Entry {
                id: 8,
                kind: None,
                value: "+1555".into(),
            }],
            external_id: Some("user_1".into()),
            email_opt_out: Some(true),
            blocked: Some(false),
            locale: Some("uk".into()),
            source: Some("https://example.com".into()),
            referer: Some("https://example.com/r".into()),
            last_page: Some("https://example.com/p".into()),
            first_seen: Some("1603885746".into()),
            last_seen: Some("1603885747".into()),
            created_from: Some("telegram".into()),
            integration_id: Some("465847687".into()),
            tags: Some(vec![
                Tag {
                    name: "vip".into(),
                    color: Some("#ff0000".into()),
                },
                Tag {
                    name: "Paid".into(),
                    color: None,
                },
            ]),
            properties: json!({"plan": "pro", "seats": 3, "a\"b": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ..Customer::default()
        }
    }

    fn answer(customer: Option<&Customer>, id: &str) -> Synthetic {
        let cx = AnswerCx {
            customer_id: id,
            default_entry_type: "work",
            upstream: DialectId::HelpscoutV2,
            reload: false,
            created: None,
            location_base: "",
        };
        Helpcrunch.encode_success(&ep(false), customer, &cx)
    }

    #[test]
    fn success_is_the_full_model_in_vendor_key_order() {
        let reply = answer(Some(&full_customer()), "542335");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("Content-Type"), Some("application/json"));
        let expected = json!({
            "id": 542335, "name": "Mary Ann Smith", "email": "a@example.com",
            "userId": "user_1", "company": "Example Inc.", "phone": "+1555",
            "firstSeen": "1603885746", "lastSeen": "1603885747",
            "location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": "UA", "city": "Kyiv"},
            "device": null, "unsubscribed": true, "blocked": false,
            "source": "https://example.com", "referer": "https://example.com/r",
            "lastPage": "https://example.com/p", "locale": "uk", "createdFrom": "telegram",
            "integrationId": "465847687", "notes": "Lorem \"ipsum\"",
            "tags": [{"name": "vip", "color": "#ff0000"}, {"name": "Paid"}],
            "customData": {"plan": "pro", "seats": 3, "a\"b": true}
        });
        // Byte equality also pins the key order (serde_json keeps insertion order here).
        assert_eq!(
            std::str::from_utf8(&reply.body).unwrap_or_default(),
            expected.to_string()
        );
    }

    #[test]
    fn success_of_an_empty_customer_has_nulls_and_empty_collections() {
        let reply = answer(Some(&Customer::default()), "12");
        assert_eq!(
            reply.json_body(),
            Some(json!({
                "id": 12, "name": null, "email": null, "userId": null, "company": null,
                "phone": null, "firstSeen": null, "lastSeen": null,
                "location": {"regionCode": null, "countryCode": null, "city": null},
                "device": null, "unsubscribed": null, "blocked": null, "source": null,
                "referer": null, "lastPage": null, "locale": null, "createdFrom": null,
                "integrationId": null, "notes": null, "tags": null, "customData": {}
            }))
        );
        // `tags: null` above: the answer is built from helpscout-v2, which has no tags (SPEC §2:
        // unknowable fields are null). From HelpCrunch itself, no tags is `[]`.
        let cx = AnswerCx {
            customer_id: "12",
            default_entry_type: "work",
            upstream: DialectId::Helpcrunch,
            reload: false,
            created: None,
            location_base: "",
        };
        let own = Helpcrunch.encode_success(&ep(false), Some(&Customer::default()), &cx);
        assert_eq!(own.json_body().map(|b| b["tags"].clone()), Some(json!([])));
    }

    #[test]
    fn success_without_a_customer_is_a_502() {
        let reply = answer(None, "12");
        assert_eq!(reply.status, 502);
        assert_eq!(
            reply.json_body().map(|b| b["errors"][1]["code"].clone()),
            Some(json!("bad_gateway"))
        );
    }

    // --- upstream side: decoding answers -----------------------------------------------------

    #[test]
    fn decodes_the_model_example() {
        let c = Helpcrunch
            .decode_customer(MODEL.as_bytes())
            .unwrap_or_default();
        let expected = Customer {
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            organization: Some("Example Inc.".into()),
            notes: Some("Lorem ipsum".into()),
            address: Some(Address {
                city: Some("Kyiv".into()),
                state: Some("Kyyivs'ka Oblast".into()),
                country: Some("UA".into()),
                ..Address::default()
            }),
            emails: vec![Entry {
                id: 1,
                kind: None,
                value: "john.doe@example.com".into(),
            }],
            phones: vec![Entry {
                id: 1,
                kind: None,
                value: "+10233456781".into(),
            }],
            external_id: Some("user_1234567890".into()),
            email_opt_out: Some(false),
            blocked: Some(false),
            locale: Some("uk".into()),
            source: Some("https://example.com".into()),
            referer: Some("https://example.com".into()),
            last_page: Some("https://example.com".into()),
            first_seen: Some("1603885746".into()),
            last_seen: Some("1603885746".into()),
            created_from: Some("telegram".into()),
            integration_id: Some("465847687".into()),
            tags: Some(vec![Tag {
                name: "vip".into(),
                color: Some("#ff0000".into()),
            }]),
            properties: json!({"subscription_status": "active", "number_of_payments": 15,
                "last_paid_amount": 15.99, "last_payment_date": 1603885746,
                "last_invoice_url": "https://example.com/invoice.html",
                "last_payment_was_successful": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
            meta: crate::canonical::Meta {
                id: Some(json!(542335)),
                ..Default::default()
            },
            ..Customer::default()
        };
        assert_eq!(c, expected);
    }

    #[test]
    fn decodes_the_older_model_forms() {
        let body = r##"{"id": 3, "name": "Cher", "email": null, "phone": "",
            "firstSeen": 1593547200, "lastSeen": null, "notes": null,
            "customData": [{"property": "plan", "value": "pro"}, {"property": "x", "value": null}],
            "tags": [{"name": "Lead", "color": "#ccc"}, {"color": "no name"}]}"##;
        let c = Helpcrunch
            .decode_customer(body.as_bytes())
            .unwrap_or_default();
        assert_eq!(c.first_name.as_deref(), Some("Cher"));
        assert_eq!(c.last_name, None);
        assert!(c.emails.is_empty() && c.phones.is_empty());
        assert_eq!(c.first_seen.as_deref(), Some("1593547200"));
        assert_eq!(
            c.properties,
            json!({"plan": "pro"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        assert_eq!(
            c.tags,
            Some(vec![Tag {
                name: "Lead".into(),
                color: Some("#ccc".into())
            }])
        );
        assert_eq!(c.address, None);
        assert_eq!(Helpcrunch.decode_customer(b"Ok"), None);
        assert_eq!(Helpcrunch.decode_customer(b"[]"), None);
        assert_eq!(Helpcrunch.decode_customer(b""), None);
    }

    #[test]
    fn answer_round_trips_through_the_model() {
        let mut c = full_customer();
        let reply = answer(Some(&c), "5");
        let back = Helpcrunch.decode_customer(&reply.body).unwrap_or_default();
        // What the model cannot carry: entry ids/types beyond the first, address lines, postal code.
        c.emails = vec![Entry {
            id: 1,
            kind: None,
            value: "a@example.com".into(),
        }];
        c.phones = vec![Entry {
            id: 1,
            kind: None,
            value: "+1555".into(),
        }];
        if let Some(a) = c.address.as_mut() {
            a.lines.clear();
            a.postal_code = None;
        }
        c.meta.id = Some(json!(5));
        assert_eq!(back, c);
    }

    #[test]
    fn decodes_current_error_bodies() {
        let body = br#"{"errors": [{"code": "invalid_request", "message": "Invalid request"},
            {"code": "customer", "message": "This value should be of type numeric."},
            {"code": "filter[0].field", "message": "This value should not be blank."}]}"#;
        let err = Helpcrunch.decode_error(400, body);
        assert_eq!((err.status, err.kind), (400, ErrorKind::Invalid));
        assert_eq!(err.message, "Invalid request");
        assert_eq!(
            err.violations,
            vec![
                Violation::new(
                    "/customer",
                    Rule::Upstream,
                    "This value should be of type numeric."
                ),
                Violation::new(
                    "/filter/0/field",
                    Rule::Upstream,
                    "This value should not be blank."
                ),
            ]
        );
        for (status, code, message, kind) in [
            (401, "unauthorized", "Unauthorized", ErrorKind::Unauthorized),
            (404, "not_found", "Chat not found", ErrorKind::NotFound),
            (
                429,
                "too_many_requests",
                "Too many requests",
                ErrorKind::RateLimited,
            ),
        ] {
            let body = json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": code, "message": message}]});
            let err = Helpcrunch.decode_error(status, body.to_string().as_bytes());
            assert_eq!(
                (err.status, err.kind, err.message.as_str()),
                (status, kind, message)
            );
            assert!(err.violations.is_empty());
        }
    }

    #[test]
    fn decodes_older_error_bodies() {
        for (status, code, message) in [
            (401, "invalid_token", "Invalid token"),
            (404, "entity_not_found", "Customer not found"),
            (
                429,
                "too_many_requests",
                "You have exceeded your requests limit",
            ),
        ] {
            let body = json!({"errors": [{"code": code, "message": message}]});
            let err = Helpcrunch.decode_error(status, body.to_string().as_bytes());
            assert_eq!((err.status, err.message.as_str()), (status, message));
            assert!(err.violations.is_empty());
        }
        let body = br#"{"errors": [{"code": "invalid_userId_value", "message": "Not unique"}]}"#;
        let err = Helpcrunch.decode_error(400, body);
        assert_eq!(
            err.violations,
            vec![Violation::new("/userId", Rule::Upstream, "Not unique")]
        );
        let body = br#"{"errors": [{"code": "customData[1].value", "message": "Bad"}]}"#;
        let err = Helpcrunch.decode_error(400, body);
        assert_eq!(err.violations[0].pointer, "/customData/1/value");
    }

    #[test]
    fn decodes_non_json_error_bodies() {
        let err = Helpcrunch.decode_error(502, b"<html>Bad Gateway</html>");
        assert_eq!((err.status, err.message.as_str()), (502, "Bad Gateway"));
        assert!(err.violations.is_empty());
        let err = Helpcrunch.decode_error(500, br#"{"errors": "nope"}"#);
        assert_eq!(err.message, "Internal Server Error");
        let err = Helpcrunch.decode_error(400, b"");
        assert_eq!(
            (err.kind, err.message.as_str()),
            (ErrorKind::Invalid, "Bad Request")
        );
    }

    #[test]
    fn locate_and_pointer_for() {
        for (path, target) in [
            ("/name", Target::Field(Field::FirstName)),
            ("name", Target::Field(Field::FirstName)),
            ("/email", Target::Coll(Coll::Emails, Some(1))),
            ("/phone", Target::Coll(Coll::Phones, Some(1))),
            ("/company", Target::Field(Field::Organization)),
            ("/userId", Target::Field(Field::ExternalId)),
            ("/city", Target::Field(Field::AddressCity)),
            ("/regionCode", Target::Field(Field::AddressState)),
            ("location.countryCode", Target::Field(Field::AddressCountry)),
            ("/tags/0/name", Target::Field(Field::Tags)),
            ("/customData", Target::Property(String::new())),
            ("customData[1].value", Target::Property(String::new())),
            ("customData.plan", Target::Property("plan".into())),
        ] {
            assert_eq!(Helpcrunch.locate(path), Some(target), "{path}");
        }
        for path in ["/customer", "/filter/0/field", "", "/location/street"] {
            assert_eq!(Helpcrunch.locate(path), None, "{path}");
        }
        for (target, pointer) in [
            (Target::Field(Field::FirstName), "/name"),
            (Target::Field(Field::LastName), "/name"),
            (Target::Field(Field::Organization), "/company"),
            (Target::Field(Field::AddressState), "/regionCode"),
            (Target::Field(Field::EmailOptOut), "/unsubscribed"),
            (Target::Field(Field::Tags), "/tags"),
            (Target::Field(Field::JobTitle), "/job_title"),
            (Target::Coll(Coll::Emails, Some(1)), "/email"),
            (Target::Coll(Coll::Phones, None), "/phone"),
            (Target::Coll(Coll::Websites, None), "/websites"),
            (Target::Property("plan".into()), "/customData"),
        ] {
            assert_eq!(Helpcrunch.pointer_for(&target), pointer);
        }
    }

    #[test]
    fn capabilities() {
        let held: Vec<_> = Field::ALL
            .into_iter()
            .filter(|f| Helpcrunch.holds(*f))
            .collect();
        assert_eq!(held.len(), 19);
        for f in [
            Field::JobTitle,
            Field::AddressLines,
            Field::AddressPostalCode,
            Field::SmsOptOut,
            Field::DetailUrl,
            Field::CreatedAt,
            Field::Gender,
        ] {
            assert!(!Helpcrunch.holds(f), "{f:?}");
        }
        assert!(Helpcrunch.holds_coll(Coll::Emails) && Helpcrunch.holds_coll(Coll::Phones));
        assert!(!Helpcrunch.holds_coll(Coll::Chats));
        assert!(Helpcrunch.single_slot() && Helpcrunch.has_properties());
        assert_eq!(Helpcrunch.id(), DialectId::Helpcrunch);
    }

    // --- upstream side: encoding ----------------------------------------------------------

    fn encode(changes: &[Change]) -> Result<Vec<UpstreamRequest>, ApiError> {
        Helpcrunch.encode_update("542335", changes, &EncodeCx::default())
    }

    fn encode_one(changes: &[Change]) -> (String, Value) {
        match encode(changes) {
            Ok(reqs) if reqs.len() == 1 => {
                assert_eq!(reqs[0].method, "PATCH");
                assert_eq!(
                    reqs[0].headers,
                    vec![("Content-Type".to_string(), "application/json".to_string())]
                );
                (reqs[0].path.clone(), body_json(&reqs[0]))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encodes_a_decoded_request_back_to_the_same_body() {
        let (path, body) = encode_one(&ok(CURRENT_UPDATE));
        assert_eq!(path, "/v1/customers/542335");
        let sent: Value = serde_json::from_str(CURRENT_UPDATE).unwrap_or_default();
        assert_eq!(body, sent);
    }

    #[test]
    fn encodes_names_slots_timestamps_and_flat_location() {
        let changes = vec![
            set(Field::Notes, json!("n"), "/background"),
            set(Field::FirstName, json!("Mary Ann"), "/firstName"),
            primary(Coll::Emails, None, "/emails/1"),
            set(Field::LastName, json!("Smith"), "/lastName"),
            primary(Coll::Phones, Some("+1"), "/phones/1/value"),
            set(Field::FirstSeen, json!(1603885746), "/x"),
            set(Field::AddressState, json!("CA"), "/address/state"),
            set(Field::AddressCountry, Value::Null, "/address/country"),
            prop("plan", Value::Null, "/plan"),
            set(Field::Tags, json!([{"name": "a"}]), "/tags"),
        ];
        let (_, body) = encode_one(&changes);
        assert_eq!(
            body.to_string(),
            json!({"notes": "n", "name": "Mary Ann Smith", "email": null, "phone": "+1",
                "firstSeen": "1603885746", "regionCode": "CA", "countryCode": null,
                "tags": [{"name": "a"}], "customData": [{"property": "plan", "value": null}]})
            .to_string()
        );
    }

    #[test]
    fn name_joins_skip_empty_halves() {
        let pair = |f: Value, l: Value| {
            encode_one(&[
                set(Field::FirstName, f, "/a"),
                set(Field::LastName, l, "/b"),
            ])
            .1
        };
        assert_eq!(pair(json!("Cher"), Value::Null), json!({"name": "Cher"}));
        assert_eq!(pair(json!(""), json!("Smith")), json!({"name": "Smith"}));
        assert_eq!(pair(Value::Null, Value::Null), json!({"name": null}));
    }

    #[test]
    fn the_last_change_to_a_key_wins() {
        let changes = vec![
            set(Field::Notes, json!("a"), "/0"),
            prop("p", json!(1), "/1"),
            set(Field::Notes, json!("b"), "/2"),
            prop("p", json!(2), "/3"),
            prop("q", json!(true), "/4"),
        ];
        assert_eq!(
            encode_one(&changes).1.to_string(),
            json!({"notes": "b", "customData": [{"property": "p", "value": 2},
                {"property": "q", "value": true}]})
            .to_string()
        );
    }

    #[test]
    fn encode_update_edge_cases() {
        assert_eq!(encode(&[]), Ok(vec![]));
        let half = encode(&[set(Field::FirstName, json!("Cher"), "/name")]);
        assert_eq!(half.err().map(|e| e.kind), Some(ErrorKind::Internal));
        let entry = encode(&[Change::new(
            Op::EntryRemove {
                coll: Coll::Emails,
                id: 3,
            },
            "/emails/3",
        )]);
        assert_eq!(entry.err().map(|e| e.kind), Some(ErrorKind::Internal));
        let job = encode(&[set(Field::JobTitle, json!("x"), "/jobTitle")]);
        assert_eq!(job.err().map(|e| e.kind), Some(ErrorKind::Internal));
        let bad_id = Helpcrunch.encode_update(
            "cus_1/../x",
            &[set(Field::Notes, json!("x"), "/data/notes")],
            &EncodeCx::default(),
        );
        let v = bad_id.err().map(|e| {
            (
                e.status,
                e.violations[0].pointer.clone(),
                e.violations[0].rule,
            )
        });
        assert_eq!(v, Some((400, "id".to_string(), Rule::CustomerId)));
    }

    #[test]
    fn encode_get_path() {
        let get = Helpcrunch.encode_get("542335", &EncodeCx::default());
        assert_eq!(
            (get.method, get.path.as_str(), get.body),
            ("GET", "/v1/customers/542335", None)
        );
        let odd = Helpcrunch.encode_get("a/b?c", &EncodeCx::default());
        assert_eq!(odd.path, "/v1/customers/a%2Fb%3Fc");
    }

    // --- target rules -------------------------------------------------------------------

    #[test]
    fn check_target_reports_at_each_origin() {
        let changes = vec![
            primary(Coll::Emails, Some("nope"), "/data/email"),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: Some("work".into()),
                    value: "x@".into(),
                },
                "/emails",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Emails,
                    id: 1,
                    kind: None,
                    value: Some("y".into()),
                },
                "/emails/1/value",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Emails,
                    id: 1,
                    kind: Some("home".into()),
                    value: None,
                },
                "/emails/1/type",
            ),
            primary(Coll::Emails, Some("ok@example.com"), "/email"),
            primary(Coll::Phones, Some("not checked"), "/phone"),
            set(Field::Locale, json!("english"), "/locale"),
            set(Field::Locale, json!(3), "/locale2"),
            set(Field::FirstSeen, json!("yesterday"), "/firstSeen"),
            set(Field::LastSeen, json!("1603885746"), "/lastSeen"),
            set(Field::Tags, json!([{"color": "#fff"}]), "/tags"),
            prop("p", json!({"nested": 1}), "/p"),
            prop("q", json!("fine"), "/q"),
        ];
        let got: Vec<_> = Helpcrunch
            .check_target(&changes)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect();
        let want: Vec<_> = [
            ("/data/email", Rule::Email),
            ("/emails", Rule::Email),
            ("/emails/1/value", Rule::Email),
            ("/locale", Rule::Locale),
            ("/locale2", Rule::Type),
            ("/firstSeen", Rule::Date),
            ("/tags/0/name", Rule::Required),
            ("/p", Rule::Type),
        ]
        .into_iter()
        .map(|(p, r)| (p.to_string(), r))
        .collect();
        assert_eq!(got, want);
    }

    // --- fixture inputs ---------------------------------------------------------------------

    #[test]
    fn fixture_inputs_decode_as_their_names_say() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/helpcrunch");
        let Ok(dirs) = std::fs::read_dir(root) else {
            panic!("no fixtures at {root}");
        };
        let mut seen = 0;
        for dir in dirs.flatten() {
            let path = dir.path();
            let name = dir.file_name().to_string_lossy().into_owned();
            let read = |f: &str| std::fs::read(path.join(f));
            let case: toml::Value = read("case.toml")
                .ok()
                .and_then(|b| toml::from_str(&String::from_utf8_lossy(&b)).ok())
                .unwrap_or_else(|| panic!("{name}: bad case.toml"));
            let field = |k: &str| case.get(k).and_then(toml::Value::as_str).unwrap_or("");
            assert!(!field("description").is_empty(), "{name}: description");
            let body = read("request.json").unwrap_or_else(|_| panic!("{name}: request.json"));
            if let Ok(state) = read("state.json") {
                let parsed = serde_json::from_slice::<Customer>(&state);
                assert!(parsed.is_ok(), "{name}: state.json is not a Customer");
            }
            let outcome = Helpcrunch
                .route(field("method"), field("path"))
                .and_then(|ep| Helpcrunch.decode_request(&ep, None, &body));
            let invalid = outcome.as_ref().err().map(|e| e.status);
            if name.starts_with("neg-") {
                assert_eq!(invalid, Some(400), "{name} should be rejected");
            } else {
                assert_eq!(invalid, None, "{name} should be accepted: {outcome:?}");
            }
            seen += 1;
        }
        assert!(seen >= 25, "only {seen} fixtures");
    }
}
