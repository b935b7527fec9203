//! Help Scout legacy Mailbox API v1 (`helpscout-v1`): `PUT|GET /v1/customers/{id}.json`.
//!
//! v1 updates are partial and entry-oriented: the `id` of each entry object says what happens to
//! it (positive: update that entry, absent/0/false/null: create one, negative: delete entry
//! `-id`); e-mails and phones carry their type in `location`, chats and social profiles in
//! `type`. Answers and errors copy the real service's shapes (`{"item": …}` and
//! `{"code", "error", "validationErrors"}`, `helpscout.md` §3.4). Where the vendor is silent the
//! decision is written under `### helpscout-v1` in `docs/dialects.md`.

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

/// Rules v1 applies to scalar values, on both sides (client validation and target check).
fn check_scalar(field: Field, s: &str, pointer: &str) -> Option<Violation> {
    match field {
        Field::FirstName | Field::LastName => rules::length(s, 0, NAME_MAX, pointer).err(),
        Field::Gender => rules::one_of(s, GENDERS, true, pointer).err(),
        Field::PhotoType => rules::one_of(s, PHOTO_TYPES, false, pointer).err(),
        _ => None,
    }
}

/// Rules v1 applies to an entry's type and value; each failure is pushed at `pointer(leaf)`.
fn check_entry(
    coll: Coll,
    kind: Option<&str>,
    value: Option<&str>,
    pointer: &dyn Fn(&str) -> String,
    out: &mut Vec<Violation>,
) {
    if let (Some(k), Some(allowed), Some(key)) = (kind, coll.v1_types(), type_key(coll)) {
        if !allowed.contains(&k) {
            if let Err(v) = rules::one_of(k, allowed, false, &pointer(key)) {
                out.push(v);
            }
        }
    }
    if let (Coll::Emails, Some(v)) = (coll, value) {
        if !rules::is_email(v) {
            if let Err(v) = rules::email(v, &pointer("value")) {
                out.push(v);
            }
        }
    }
}

/// What an entry's `id` asks for (L1: "an id that evaluates to false" creates).
enum EntryId {
    New,
    Update(u64),
    Remove(u64),
}

fn entry_id(v: Option<&Value>) -> Option<EntryId> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Some(EntryId::New),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
            (Some(0), _) => Some(EntryId::New),
            (Some(id), _) => Some(EntryId::Update(id)),
            (None, Some(neg)) => Some(EntryId::Remove(neg.unsigned_abs())),
            _ => None,
        },
        Some(_) => None,
    }
}

/// A type violation for a value that must be an array or object.
fn expected(what: &str, v: &Value, pointer: &str) -> Violation {
    Violation::new(
        pointer,
        Rule::Type,
        format!("Expected {what}, got {}", rules::type_name(v)),
    )
    .with_value(v.clone())
}

/// Moves a helper's violation (built at a placeholder pointer) to its real place, so the
/// pointer string is only built on failure.
fn relocate(mut v: Violation, pointer: String) -> Violation {
    v.pointer = pointer;
    v
}

/// A string-or-null member, absent counting as null; a wrong type is pushed at `pointer()`.
fn member_str(
    v: Option<Value>,
    pointer: impl FnOnce() -> String,
    out: &mut Vec<Violation>,
) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            if let Err(e) = rules::string_or_null(&other, "") {
                out.push(relocate(e, pointer()));
            }
            None
        }
    }
}

// === decoding a client body ===
//
// The body is walked once, straight from the bytes: containers the decoder understands (the
// top-level object, `address`, the entry arrays and entry objects) are visited in place, members
// become small `Value`s, and unknown keys are skipped without being built. Real client bodies
// are mostly read-only and unknown keys, and a `Value` tree of them costs several times the
// translation budget. A container found where another JSON type was expected is built as a
// `Value` only to be named in the violation.

/// Accumulates the changes and violations of one client body.
struct Decoder {
    changes: ChangeSet,
    violations: Vec<Violation>,
    reload: bool,
}

/// Which top-level key a body member has.
enum Key {
    Reload,
    Address,
    Scalar(usize),
    Coll(usize),
    Other,
}

/// Which member of an entry object a key names.
enum EntryKey {
    Id,
    Value,
    Location,
    Type,
    Other,
}

/// Which member of `address` a key names (index into [`ADDRESS`]).
struct AddressKey(Option<usize>);

/// Matches a key without allocating it; `F` maps the key to its meaning.
struct KeySeed<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for KeySeed<F> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for KeySeed<F> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(v))
    }
}

fn top_key(k: &str) -> Key {
    match k {
        "reload" => Key::Reload,
        "address" => Key::Address,
        _ => match SCALARS.iter().position(|e| e.0 == k) {
            Some(i) => Key::Scalar(i),
            None => COLLS
                .iter()
                .position(|e| e.0 == k)
                .map_or(Key::Other, Key::Coll),
        },
    }
}

fn skip_key(_: &str) {}

fn entry_key(k: &str) -> EntryKey {
    match k {
        "id" => EntryKey::Id,
        "value" => EntryKey::Value,
        "location" => EntryKey::Location,
        "type" => EntryKey::Type,
        _ => EntryKey::Other,
    }
}

fn address_key_index(k: &str) -> AddressKey {
    AddressKey(ADDRESS.iter().position(|e| e.0 == k))
}

/// What the decoder does with the JSON value at one position: walk an object or an array in
/// place, or take any other value whole.
trait Walk<'de>: Sized {
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = collect_map(map)?;
        self.other(v);
        Ok(())
    }
    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v = collect_seq(seq)?;
        self.other(v);
        Ok(())
    }
    fn other(self, v: Value);
}

fn collect_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Value, A::Error> {
    let mut m = Map::new();
    while let Some((k, v)) = map.next_entry::<String, Value>()? {
        m.insert(k, v);
    }
    Ok(Value::Object(m))
}

fn collect_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Value, A::Error> {
    let mut items = Vec::new();
    while let Some(v) = seq.next_element::<Value>()? {
        items.push(v);
    }
    Ok(Value::Array(items))
}

/// Drives a [`Walk`] from a deserializer.
struct Walker<W>(W);

impl<'de, W: Walk<'de>> DeserializeSeed<'de> for Walker<W> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, W: Walk<'de>> Visitor<'de> for Walker<W> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.other(Value::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.other(Value::from(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.0.other(Value::from(v));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.other(Value::from(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.other(Value::String(v.to_owned()));
        Ok(())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.0.other(Value::String(v));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.other(Value::Null);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.other(Value::Null);
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.seq(seq)
    }
}

/// Skips a value without building it. Unlike `IgnoredAny` it goes through `deserialize_any`,
/// so serde_json's nesting limit applies to skipped members as it does to `rules::parse_json`.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(KeySeed(skip_key))?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
}

/// The body root: an object of customer fields.
struct Top<'d>(&'d mut Decoder);

impl<'de> Walk<'de> for Top<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let d = self.0;
        // Keys in the client's order, so changes keep the client's order.
        while let Some(key) = map.next_key_seed(KeySeed(top_key))? {
            match key {
                Key::Reload => {
                    let v: Value = map.next_value()?;
                    match rules::bool_or_null(&v, "/reload") {
                        Ok(b) => d.reload |= b.unwrap_or(false),
                        Err(e) => d.violations.push(e),
                    }
                }
                Key::Address => map.next_value_seed(Walker(AddressWalk(&mut *d)))?,
                Key::Scalar(i) => {
                    let (_, pointer, field) = SCALARS[i];
                    d.scalar(field, pointer, map.next_value()?);
                }
                Key::Coll(i) => map.next_value_seed(Walker(CollWalk(&mut *d, i)))?,
                Key::Other => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(())
    }
    fn other(self, v: Value) {
        if let Err(e) = rules::object(&v, "") {
            self.0.violations.push(e);
        }
    }
}

/// The `address` member.
struct AddressWalk<'d>(&'d mut Decoder);

impl<'de> Walk<'de> for AddressWalk<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // `id`, `createdAt`, `modifiedAt` and unknown keys (the docs' `postcalCode` typo) are
        // read-only or unknown to the service and ignored, as it does.
        while let Some(AddressKey(key)) = map.next_key_seed(KeySeed(address_key_index))? {
            match key {
                Some(i) => {
                    let (_, pointer, field) = ADDRESS[i];
                    let v: Value = map.next_value()?;
                    if field == Field::AddressLines {
                        self.0.lines(v);
                    } else {
                        self.0.scalar(field, pointer, v);
                    }
                }
                None => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(())
    }
    fn other(self, v: Value) {
        match v {
            Value::Null => {
                for (_, _, field) in ADDRESS {
                    let op = Op::Set {
                        field,
                        value: Value::Null,
                    };
                    self.0.changes.push(op, "/address");
                }
            }
            other => {
                let e = expected("an object", &other, "/address");
                self.0.violations.push(e);
            }
        }
    }
}

/// One entry collection (index into [`COLLS`]).
struct CollWalk<'d>(&'d mut Decoder, usize);

impl<'de> Walk<'de> for CollWalk<'_> {
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(Walker(EntryWalk(&mut *self.0, self.1, index)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
    fn other(self, v: Value) {
        // A null collection lists no entries, and entries not listed stay as they are.
        if !v.is_null() {
            let e = expected("an array", &v, COLLS[self.1].1);
            self.0.violations.push(e);
        }
    }
}

/// The members of one entry object that v1 reads.
#[derive(Default)]
struct EntryFields {
    id: Option<Value>,
    value: Option<Value>,
    location: Option<Value>,
    kind: Option<Value>,
}

/// One entry object: (decoder, collection index, array index).
struct EntryWalk<'d>(&'d mut Decoder, usize, usize);

impl<'de> Walk<'de> for EntryWalk<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut f = EntryFields::default();
        while let Some(key) = map.next_key_seed(KeySeed(entry_key))? {
            let slot = match key {
                EntryKey::Id => &mut f.id,
                EntryKey::Value => &mut f.value,
                EntryKey::Location => &mut f.location,
                EntryKey::Type => &mut f.kind,
                EntryKey::Other => {
                    map.next_value_seed(Skip)?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        self.0.entry(self.1, self.2, f);
        Ok(())
    }
    fn other(self, v: Value) {
        let base = format!("{}/{}", COLLS[self.1].1, self.2);
        self.0.violations.push(expected("an object", &v, &base));
    }
}

impl Decoder {
    fn scalar(&mut self, field: Field, pointer: &'static str, value: Value) {
        let value = match value {
            Value::String(mut s) => {
                if let Some(v) = check_scalar(field, &s, pointer) {
                    return self.violations.push(v);
                }
                // Gender is canonical in lower case (docs/dialects.md).
                if field == Field::Gender {
                    s.make_ascii_lowercase();
                }
                Value::String(s)
            }
            Value::Null => Value::Null,
            other => {
                if let Err(v) = rules::string_or_null(&other, pointer) {
                    self.violations.push(v);
                }
                return;
            }
        };
        self.changes.push(Op::Set { field, value }, pointer);
    }

    fn lines(&mut self, v: Value) {
        let pointer = "/address/lines";
        match &v {
            Value::Null => {}
            Value::Array(lines) => {
                let before = self.violations.len();
                for (i, line) in lines.iter().enumerate() {
                    if let Err(e) = rules::string(line, "") {
                        let e = relocate(e, format!("{pointer}/{i}"));
                        self.violations.push(e);
                    }
                }
                if self.violations.len() > before {
                    return;
                }
            }
            other => {
                let e = expected("an array of strings", other, pointer);
                return self.violations.push(e);
            }
        }
        let op = Op::Set {
            field: Field::AddressLines,
            value: v,
        };
        self.changes.push(op, pointer);
    }

    fn entry(&mut self, coll_index: usize, index: usize, f: EntryFields) {
        let (_, coll_pointer, coll) = COLLS[coll_index];
        let base = format!("{coll_pointer}/{index}");
        let at = |leaf: &str| format!("{base}/{leaf}");
        let id = match entry_id(f.id.as_ref()) {
            Some(id) => id,
            None => {
                let got = f.id.unwrap_or(Value::Null);
                return self.violations.push(
                    Violation::new(
                        at("id"),
                        Rule::EntryId,
                        "Entry id must be an integer: positive to update, negative to delete, \
                         absent, 0, false or null to create",
                    )
                    .with_value(got),
                );
            }
        };
        if let EntryId::Remove(id) = id {
            // The docs' own example sends value and location along with the negative id: a
            // delete ignores them.
            return self.changes.push(Op::EntryRemove { coll, id }, base);
        }
        let before = self.violations.len();
        // The other dialect's type key is ignored: the official PHP SDK sends `type` and
        // `location` on every entry, one of them null or a copy of the other.
        let kind = match type_key(coll) {
            Some("location") => member_str(f.location, || at("location"), &mut self.violations),
            Some(_) => member_str(f.kind, || at("type"), &mut self.violations),
            None => None,
        };
        let value = member_str(f.value, || at("value"), &mut self.violations);
        if self.violations.len() > before {
            return;
        }
        check_entry(
            coll,
            kind.as_deref(),
            value.as_deref(),
            &at,
            &mut self.violations,
        );
        if self.violations.len() > before {
            return;
        }
        match id {
            EntryId::New => {
                let Some(value) = value else {
                    return self.violations.push(Violation::new(
                        at("value"),
                        Rule::Required,
                        "A value is required to create an entry",
                    ));
                };
                // L4: the e-mail location "Defaults to work".
                let kind = match (coll, kind) {
                    (Coll::Emails, None) => Some("work".to_owned()),
                    (Coll::Websites, _) => None,
                    (_, k) => k,
                };
                self.changes.push(Op::EntryAdd { coll, kind, value }, base);
            }
            EntryId::Update(id) => {
                let op = Op::EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                };
                self.changes.push(op, base);
            }
            EntryId::Remove(_) => {}
        }
    }
}

/// Walks a body; a syntax error (or trailing data) ends the walk.
fn walk_body(text: &str, d: &mut Decoder) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    Walker(Top(d)).deserialize(&mut de)?;
    de.end()
}

// === encoding an upstream write ===

/// The v1 PUT body, borrowed from the changes and serialised in one pass (no cloned values):
/// scalars in change order, then `address`, then the entry arrays.
#[derive(Default)]
struct PutBody<'a> {
    scalars: Vec<(&'static str, &'a Value)>,
    address: Vec<(&'static str, &'a Value)>,
    colls: [Vec<EntryOut<'a>>; 5],
}

/// One entry object of a PUT body: `{"id"?, "value"?, "location"|"type"?}`.
struct EntryOut<'a> {
    id: Option<Value>,
    value: Option<&'a str>,
    kind: Option<(&'static str, &'a str)>,
}

/// A later change of the same key wins, as it would when applied in order.
fn upsert<'a>(list: &mut Vec<(&'static str, &'a Value)>, key: &'static str, value: &'a Value) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key, value)),
    }
}

/// The type key and value of an entry, when the collection has a type.
fn typed(coll: Coll, kind: Option<&str>) -> Option<(&'static str, &str)> {
    type_key(coll).zip(kind)
}

/// Serialises borrowed `(key, value)` pairs as one JSON object.
struct Pairs<'p, 'a>(&'p [(&'static str, &'a Value)]);

impl serde::Serialize for Pairs<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl serde::Serialize for PutBody<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.scalars {
            m.serialize_entry(k, v)?;
        }
        if !self.address.is_empty() {
            m.serialize_entry("address", &Pairs(&self.address))?;
        }
        for ((key, _, _), entries) in COLLS.iter().zip(&self.colls) {
            if !entries.is_empty() {
                m.serialize_entry(key, entries)?;
            }
        }
        m.end()
    }
}

impl serde::Serialize for EntryOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Some(id) = &self.id {
            m.serialize_entry("id", id)?;
        }
        if let Some(v) = self.value {
            m.serialize_entry("value", v)?;
        }
        if let Some((k, v)) = self.kind {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

// === answers ===

/// `firstName lastName`, skipping an empty or missing half, as the real `fullName` reads.
fn full_name(c: &Customer) -> Option<String> {
    let parts = [c.first_name.as_deref(), c.last_name.as_deref()];
    let mut out = String::new();
    for p in parts.into_iter().flatten().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(p);
    }
    (!out.is_empty()).then_some(out)
}

// === The `{"item": …}` answer ===
//
// Serialised straight from the canonical customer: building a `serde_json::Value` tree first
// (an `IndexMap` per object, with `preserve_order`) cost about three times the rest of the
// answer. Key order and null handling are those of the real service (helpscout.md §3.4).

/// `{"item": customer}`.
struct ItemAnswer<'a>(&'a Customer, &'a AnswerCx<'a>);

impl serde::Serialize for ItemAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut outer = s.serialize_map(Some(1))?;
        outer.serialize_entry("item", &Item(self.0, self.1))?;
        outer.end()
    }
}

struct Item<'a>(&'a Customer, &'a AnswerCx<'a>);

impl serde::Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (c, cx) = (self.0, self.1);
        let mut m = s.serialize_map(Some(20))?;
        match cx.customer_id.parse::<u64>() {
            Ok(n) => m.serialize_entry("id", &n)?,
            Err(_) => m.serialize_entry("id", cx.customer_id)?,
        }
        m.serialize_entry("firstName", &c.first_name)?;
        m.serialize_entry("lastName", &c.last_name)?;
        m.serialize_entry("fullName", &full_name(c))?;
        m.serialize_entry("photoUrl", &c.photo_url)?;
        m.serialize_entry("photoType", &c.photo_type)?;
        m.serialize_entry("gender", &c.gender)?;
        m.serialize_entry("age", &c.age)?;
        m.serialize_entry("organization", &c.organization)?;
        m.serialize_entry("jobTitle", &c.job_title)?;
        m.serialize_entry("location", &c.location)?;
        // Help Scout's own format whatever the upstream wrote (the published v1 client refuses
        // fractional seconds).
        fn stamp(v: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
            time::render_opt(v.as_deref(), Style::HelpScout)
        }
        let created = stamp(&c.meta.record_created_at).or_else(|| stamp(&c.created_at));
        m.serialize_entry("createdAt", &created)?;
        m.serialize_entry("modifiedAt", &stamp(&c.meta.record_updated_at))?;
        m.serialize_entry("background", &c.notes)?;
        m.serialize_entry("address", &c.address.as_ref().map(AddressItem))?;
        for (key, coll) in [
            ("socialProfiles", Coll::SocialProfiles),
            ("emails", Coll::Emails),
            ("phones", Coll::Phones),
            ("chats", Coll::Chats),
            ("websites", Coll::Websites),
        ] {
            m.serialize_entry(key, &Entries(coll, c.coll(coll), cx.default_entry_type))?;
        }
        m.end()
    }
}

struct AddressItem<'a>(&'a Address);

impl serde::Serialize for AddressItem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let a = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("lines", &a.lines)?;
        m.serialize_entry("city", &a.city)?;
        m.serialize_entry("state", &a.state)?;
        m.serialize_entry("postalCode", &a.postal_code)?;
        m.serialize_entry("country", &a.country)?;
        m.end()
    }
}

/// One collection: `[{id, value, location|type}]` (websites: no type key).
struct Entries<'a>(Coll, &'a [Entry], &'a str);

impl serde::Serialize for Entries<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let (coll, entries, default_type) = (self.0, self.1, self.2);
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in entries {
            seq.serialize_element(&EntryItem(coll, e, default_type))?;
        }
        return seq.end();

        struct EntryItem<'a>(Coll, &'a Entry, &'a str);
        impl serde::Serialize for EntryItem<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let (coll, e, default_type) = (self.0, self.1, self.2);
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("id", &e.id)?;
                m.serialize_entry("value", &e.value)?;
                if let Some(key) = type_key(coll) {
                    let kind = match (&e.kind, coll) {
                        (Some(k), _) => Some(k.as_str()),
                        // Single-slot upstreams have no type: show the route's default.
                        (None, Coll::Emails | Coll::Phones) => Some(default_type),
                        (None, _) => None,
                    };
                    m.serialize_entry(key, &kind)?;
                }
                m.end()
            }
        }
    }
}

/// The `{"item": …}` answer as a JSON body.
fn item_answer(c: &Customer, cx: &AnswerCx<'_>) -> Synthetic {
    let body = serde_json::to_vec(&ItemAnswer(c, cx)).unwrap_or_default();
    Synthetic {
        status: 200,
        headers: vec![("Content-Type".into(), JSON_UTF8.into())],
        body: bytes::Bytes::from(body),
    }
}

/// How a violation's location is written in `validationErrors[].property`.
fn property(pointer: &str) -> String {
    if pointer.is_empty() {
        "body".to_owned()
    } else if pointer.starts_with('/') {
        rules::dotted(pointer)
    } else {
        pointer.to_owned()
    }
}

/// `validationErrors[].value` is a string in the real bodies (`"value":"2562545"`).
fn value_text(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn reason(status: u16) -> String {
    ::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Upstream error")
        .to_owned()
}

// === decoding upstream answers ===

fn str_of(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn address_of(v: Option<&Value>) -> Option<Address> {
    let obj = v?.as_object()?;
    let lines = obj
        .get("lines")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let a = Address {
        lines,
        city: str_of(obj, "city"),
        state: str_of(obj, "state"),
        postal_code: str_of(obj, "postalCode"),
        country: str_of(obj, "country"),
    };
    (!a.is_empty()).then_some(a)
}

fn entries_of(v: Option<&Value>, coll: Coll) -> Vec<Entry> {
    let Some(items) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let obj = e.as_object()?;
            let id = obj.get("id")?.as_u64()?;
            let value = str_of(obj, "value")?;
            let kind = match type_key(coll) {
                None => None,
                Some(key) => str_of(obj, key).or_else(|| str_of(obj, "type")),
            };
            Some(Entry { id, kind, value })
        })
        .collect()
}

impl Dialect for HelpscoutV1 {
    fn id(&self) -> DialectId {
        DialectId::HelpscoutV1
    }

    fn holds(&self, field: Field) -> bool {
        field_pointer(field).is_some()
    }

    fn holds_coll(&self, _: Coll) -> bool {
        true
    }

    fn single_slot(&self) -> bool {
        false
    }

    fn has_properties(&self) -> bool {
        false
    }

    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        let mut out = Vec::new();
        for c in changes {
            let at = |_: &str| c.origin.clone();
            match &c.op {
                Op::Set {
                    field,
                    value: Value::String(s),
                } => {
                    if let Some(v) = check_scalar(*field, s, &c.origin) {
                        out.push(v);
                    }
                }
                Op::EntryAdd { coll, kind, value } => {
                    check_entry(*coll, kind.as_deref(), Some(value), &at, &mut out)
                }
                Op::EntryUpdate {
                    coll, kind, value, ..
                } => check_entry(*coll, kind.as_deref(), value.as_deref(), &at, &mut out),
                _ => {}
            }
        }
        out
    }

    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let raw_id = path
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix(SUFFIX))
            .filter(|id| !id.contains('/'))
            .ok_or_else(|| {
                ApiError::new(ErrorKind::NotFound, "The specified resource was not found")
            })?;
        let kind = match method {
            "PUT" => EndpointKind::Update { full: false },
            "GET" => EndpointKind::Get,
            _ => {
                return Err(ApiError::method_not_allowed(
                    "Invalid method type",
                    "GET, PUT",
                ))
            }
        };
        let customer_id =
            rules::numeric_path_id(raw_id, "The customer id must be a positive integer")?;
        Ok(Endpoint { kind, customer_id })
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        rules::reject_duplicate_keys(body)?;
        match ep.kind {
            EndpointKind::Update { .. } => {}
            EndpointKind::Get => return Ok(ClientRequest::default()),
            EndpointKind::Properties | EndpointKind::Token | EndpointKind::SubResource { .. } => {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    "The specified resource was not found",
                ))
            }
        }
        let mut d = Decoder {
            changes: ChangeSet::new(),
            violations: Vec::new(),
            reload: false,
        };
        match rules::query_param(query, "reload") {
            None => {}
            Some(v) if v.eq_ignore_ascii_case("true") => d.reload = true,
            Some(v) if v.eq_ignore_ascii_case("false") => {}
            Some(v) => d.violations.push(
                Violation::new("reload", Rule::Type, "Expected a boolean (true or false)")
                    .with_value(Value::String(v.to_owned())),
            ),
        }
        let query_violations = d.violations.len();
        // The UTF-8 check comes first: skipped strings are not checked by the walk.
        let walked = std::str::from_utf8(body)
            .ok()
            .map(|text| walk_body(text, &mut d));
        if !matches!(walked, Some(Ok(()))) {
            // Not JSON: the shared parser words the error (it fails the same way).
            let mut e = match (rules::parse_json(body), walked) {
                (Err(e), _) => e,
                (Ok(_), Some(Err(e))) => ApiError::invalid_one(Violation::new(
                    "",
                    Rule::Json,
                    format!("Error parsing request body into JSON: {e}"),
                )),
                (Ok(_), _) => ApiError::new(ErrorKind::Internal, "body walk failed"),
            };
            // Violations found before the syntax error are not reported: only the query's.
            d.violations.truncate(query_violations);
            d.violations.append(&mut e.violations);
            e.violations = d.violations;
            return Err(e);
        }
        if !d.violations.is_empty() {
            return Err(ApiError::invalid(d.violations));
        }
        Ok(ClientRequest {
            changes: d.changes,
            reload: d.reload,
            full: false,
            document: None,
        })
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
        match (ep.kind, customer) {
            (EndpointKind::Get, Some(c)) => item_answer(c, cx),
            (EndpointKind::Get, None) => self.encode_error(&ApiError::new(
                ErrorKind::BadGateway,
                "The upstream answered without a customer",
            )),
            (_, Some(c)) if cx.reload => item_answer(c, cx),
            // The write succeeded; without the customer there is nothing truthful to return.
            _ => Synthetic::empty(200),
        }
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        let body = if err.status == 400 && !err.violations.is_empty() {
            let list: Vec<Value> = err
                .violations
                .iter()
                .map(|v| {
                    json!({
                        "property": property(&v.pointer),
                        "value": value_text(v.rejected.as_ref()),
                        "message": v.message,
                    })
                })
                .collect();
            // A partially applied write keeps its message: it says what was applied.
            let headline = if err.kind == ErrorKind::PartiallyApplied {
                err.message.as_str()
            } else {
                "Input could not be validated"
            };
            json!({
                "code": err.status,
                "error": headline,
                "validationErrors": list,
            })
        } else {
            let message = if err.message.is_empty() {
                reason(err.status)
            } else {
                err.message.clone()
            };
            json!({ "code": err.status, "error": message })
        };
        let out = Synthetic::json(err.status, JSON, &body).with_error_headers(err);
        match err.retry_after {
            Some(secs) if err.status == 429 => out.with_header("Retry-After", secs.to_string()),
            _ => out,
        }
    }

    fn pointer_for(&self, target: &Target) -> String {
        match target {
            Target::Field(f) => {
                field_pointer(*f).map_or_else(|| format!("/{}", f.as_str()), str::to_owned)
            }
            Target::Coll(c, _) => COLLS[coll_index(*c)].1.to_owned(),
            Target::Property(slug) if slug.is_empty() => "/properties".to_owned(),
            Target::Property(slug) => format!("/properties/{}", pointer_token(slug)),
        }
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        if !rules::positive_id(customer_id) {
            return Err(ApiError::invalid_one(
                Violation::new(
                    "id",
                    Rule::CustomerId,
                    "Help Scout customer ids are positive integers",
                )
                .with_value(Value::String(customer_id.to_owned())),
            ));
        }
        let mut body = PutBody::default();
        let mut unencodable = Vec::new();
        for c in changes {
            match &c.op {
                Op::Set { field, value } => {
                    if let Some(key) = scalar_key(*field) {
                        upsert(&mut body.scalars, key, value);
                    } else if let Some(key) = address_key(*field) {
                        upsert(&mut body.address, key, value);
                    } else {
                        unencodable.push(c);
                    }
                }
                Op::EntryAdd { coll, kind, value } => {
                    body.colls[coll_index(*coll)].push(EntryOut {
                        id: None,
                        value: Some(value),
                        kind: typed(*coll, kind.as_deref()),
                    });
                }
                Op::EntryRemove { coll, id } => {
                    match i64::try_from(*id).ok().and_then(i64::checked_neg) {
                        Some(neg) => body.colls[coll_index(*coll)].push(EntryOut {
                            id: Some(Value::from(neg)),
                            value: None,
                            kind: None,
                        }),
                        None => unencodable.push(c),
                    }
                }
                Op::EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                } => body.colls[coll_index(*coll)].push(EntryOut {
                    id: Some(Value::from(*id)),
                    value: value.as_deref(),
                    kind: typed(*coll, kind.as_deref()),
                }),
                Op::Primary { .. } | Op::PropertySet { .. } | Op::PropertyRemove { .. } => {
                    unencodable.push(c)
                }
            }
        }
        if !unencodable.is_empty() {
            // The planner resolves these before encoding; if one slips through it is refused
            // by name rather than dropped.
            return Err(ApiError::unmappable(
                unencodable
                    .into_iter()
                    .map(|c| {
                        Violation::new(
                            c.origin.as_str(),
                            Rule::Unmappable,
                            "Help Scout v1 has no place for this change",
                        )
                    })
                    .collect(),
            ));
        }
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("encoding failed: {e}")))?;
        let query = if cx.want_customer { "?reload=true" } else { "" };
        let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        headers.extend(cx.passthrough_headers.iter().cloned());
        Ok(vec![UpstreamRequest {
            method: "PUT",
            path: format!("{PREFIX}{customer_id}{SUFFIX}{query}"),
            headers,
            body: Some(bytes.into()),
        }])
    }

    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
        let id = utf8_percent_encode(customer_id, SEGMENT);
        let mut req = UpstreamRequest::bodiless("GET", format!("{PREFIX}{id}{SUFFIX}"));
        req.headers.extend(cx.passthrough_headers.iter().cloned());
        req
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let doc: Value = serde_json::from_slice(body).ok()?;
        let item = doc.get("item")?.as_object()?;
        let s = |key: &str| str_of(item, key);
        let mut c = Customer {
            first_name: s("firstName"),
            last_name: s("lastName"),
            organization: s("organization"),
            job_title: s("jobTitle"),
            notes: s("background"),
            photo_url: s("photoUrl"),
            photo_type: s("photoType"),
            gender: s("gender").map(|g| g.to_ascii_lowercase()),
            age: s("age"),
            location: s("location"),
            address: address_of(item.get("address")),
            meta: Meta {
                id: item.get("id").filter(|v| !v.is_null()).cloned(),
                record_created_at: s("createdAt"),
                record_updated_at: s("modifiedAt"),
                ..Meta::default()
            },
            ..Customer::default()
        };
        for (key, _, coll) in COLLS {
            *c.coll_mut(coll) = entries_of(item.get(key), coll);
        }
        Some(c)
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        let doc: Option<Value> = serde_json::from_slice(body).ok();
        let obj = doc.as_ref().and_then(Value::as_object);
        // Real bodies say `error`; the superseded envelope (L7) said `message`.
        let message = obj
            .and_then(|o| o.get("error").or_else(|| o.get("message")))
            .and_then(Value::as_str)
            .map_or_else(|| reason(status), str::to_owned);
        let violations = obj
            .and_then(|o| o.get("validationErrors"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .map(|e| {
                        let property = e.get("property").and_then(Value::as_str).unwrap_or("");
                        let message = e
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("Invalid value");
                        let v = Violation::new(rules::undotted(property), Rule::Upstream, message);
                        match e.get("value") {
                            Some(Value::Null) | None => v,
                            Some(val) => v.with_value(val.clone()),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiError::upstream(status, message, violations)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        let pointer = rules::undotted(upstream_path);
        let mut parts = pointer.strip_prefix('/')?.split('/');
        let head = parts.next()?;
        if head == "address" {
            return address_by_key(parts.next()?).map(|(_, f)| Target::Field(f));
        }
        if let Some((_, field)) = scalar_by_key(head) {
            return Some(Target::Field(field));
        }
        // An index in an entry path is the array position, not the entry id.
        coll_by_key(head).map(|(_, coll)| Target::Coll(coll, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: HelpscoutV1 = HelpscoutV1;

    /// The vendor example of L1 (`helpscout.md` §3.4), fixed to valid JSON: comment and
    /// placeholder objects removed, missing comma added; the `postcalCode` typo kept.
    const VENDOR_EXAMPLE: &str = r#"{
        "firstName": "Vernon",
        "lastName": "Bear",
        "organization": "Acme, Inc",
        "jobTitle": "CEO and Co-Founder",
        "background": "I've worked with Vernon before and he's really great.",
        "address": {
            "id": 1234,
            "lines": ["123 West Main St", "Suite 123"],
            "city": "Dallas",
            "state": "TX",
            "postcalCode": "74206",
            "country": "US",
            "createdAt": "2012-07-23T12:34:12Z",
            "modifiedAt": "2012-07-24T20:18:33Z"
        },
        "socialProfiles": [{"id": 1234, "value": "https://twitter.com/helpscout", "type": "twitter"}],
        "emails": [{"id": -1234, "value": "vbear@mywork.com", "location": "work"}],
        "phones": [{"id": 1234, "value": "222-333-4444", "location": "home"}],
        "chats": [{"id": 1234, "value": "jsprout", "type": "aim"}],
        "websites": [{"id": 1234, "value": "http://www.somewhere.com"}]
    }"#;

    /// Real GET answer (P4 test_apis_customers_get.yml, `helpscout.md` §3.4).
    const REAL_GET: &str = r#"{"item":{"id":144228647,"firstName":"Test","lastName":"User","fullName":"Test User","photoUrl":null,"photoType":null,"gender":"unknown","age":null,"organization":"Test Company","jobTitle":"CEO","location":null,"createdAt":"2017-09-23T20:12:43Z","modifiedAt":"2017-12-13T22:39:59Z","background":null,"address":null,"socialProfiles":null,"emails":[{"id":191676921,"value":"test@example.com","location":"work"}],"phones":[{"id":198059533,"value":"1234567890","location":"work"}],"chats":null,"websites":null}}"#;

    /// Real PUT-with-reload answer (P4, `helpscout.md` §3.4).
    const REAL_RELOAD: &str = r#"{"item":{"id":156969664,"firstName":"A new name","lastName":"User","fullName":"A new name User","photoUrl":null,"photoType":null,"gender":"unknown","age":null,"organization":"Test Company","jobTitle":"CEO","location":null,"createdAt":"2017-12-13T22:50:25Z","modifiedAt":"2017-12-13T22:50:26Z","background":null,"address":null,"socialProfiles":null,"emails":[],"phones":[],"chats":null,"websites":null}}"#;

    fn update() -> Endpoint {
        Endpoint {
            kind: EndpointKind::Update { full: false },
            customer_id: "100".into(),
        }
    }

    fn get() -> Endpoint {
        Endpoint {
            kind: EndpointKind::Get,
            customer_id: "100".into(),
        }
    }

    fn decode(body: &str) -> Result<ClientRequest, ApiError> {
        V1.decode_request(&update(), None, body.as_bytes())
    }

    fn ops(body: &str) -> Vec<(Op, String)> {
        decode(body)
            .expect("valid body")
            .changes
            .changes
            .into_iter()
            .map(|c| (c.op, c.origin))
            .collect()
    }

    /// The (pointer, rule) pairs of a rejected body.
    fn rejected(body: &str) -> Vec<(String, Rule)> {
        let err = decode(body).expect_err("invalid body");
        assert_eq!(err.status, 400);
        err.violations
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect()
    }

    fn one(pointer: &str, rule: Rule) -> Vec<(String, Rule)> {
        vec![(pointer.to_owned(), rule)]
    }

    fn set(field: Field, value: Value) -> Op {
        Op::Set { field, value }
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    fn body_json(req: &UpstreamRequest) -> Value {
        serde_json::from_slice(req.body.as_deref().unwrap_or_default()).expect("JSON body")
    }

    fn cx<'a>(reload: bool) -> AnswerCx<'a> {
        AnswerCx {
            customer_id: "100",
            default_entry_type: "work",
            upstream: DialectId::HelpscoutV1,
            reload,
            created: None,
            location_base: "",
        }
    }

    // --- route ---

    #[test]
    fn route_recognises_put_and_get_with_json_suffix() {
        let ep = V1.route("PUT", "/v1/customers/100.json").expect("PUT");
        assert_eq!(ep.kind, EndpointKind::Update { full: false });
        assert_eq!(ep.customer_id, "100");
        let ep = V1
            .route("GET", "/v1/customers/%31%30%30.json")
            .expect("GET");
        assert_eq!(ep.kind, EndpointKind::Get);
        assert_eq!(ep.customer_id, "100");
    }

    #[test]
    fn route_leaves_other_paths_to_other_dialects() {
        for path in [
            "/v1/customers/100",
            "/v2/customers/100",
            "/v1/customers/100/emails.json",
            "/v1/customers.json",
            "/v1/customers/100.json/",
        ] {
            let err = V1.route("PUT", path).expect_err(path);
            assert_eq!(err.kind, ErrorKind::NotFound, "{path}");
        }
    }

    #[test]
    fn route_rejects_wrong_method_and_bad_ids() {
        let err = V1
            .route("PATCH", "/v1/customers/100.json")
            .expect_err("405");
        assert_eq!(err.status, 405);
        for path in [
            "/v1/customers/abc.json",
            "/v1/customers/0.json",
            "/v1/customers/-1.json",
            "/v1/customers/.json",
            "/v1/customers/1%2F2.json",
        ] {
            let err = V1.route("GET", path).expect_err(path);
            assert_eq!(err.status, 400, "{path}");
            assert_eq!(err.violations[0].pointer, "id");
            assert_eq!(err.violations[0].rule, Rule::CustomerId);
        }
    }

    // --- decode_request ---

    #[test]
    fn decodes_the_vendor_example() {
        let req = decode(VENDOR_EXAMPLE).expect("vendor example");
        assert!(!req.reload);
        assert!(!req.full);
        let got: Vec<(Op, String)> = req
            .changes
            .changes
            .into_iter()
            .map(|c| (c.op, c.origin))
            .collect();
        let want = vec![
            (set(Field::FirstName, json!("Vernon")), "/firstName"),
            (set(Field::LastName, json!("Bear")), "/lastName"),
            (
                set(Field::Organization, json!("Acme, Inc")),
                "/organization",
            ),
            (
                set(Field::JobTitle, json!("CEO and Co-Founder")),
                "/jobTitle",
            ),
            (
                set(
                    Field::Notes,
                    json!("I've worked with Vernon before and he's really great."),
                ),
                "/background",
            ),
            (
                set(
                    Field::AddressLines,
                    json!(["123 West Main St", "Suite 123"]),
                ),
                "/address/lines",
            ),
            (set(Field::AddressCity, json!("Dallas")), "/address/city"),
            (set(Field::AddressState, json!("TX")), "/address/state"),
            (set(Field::AddressCountry, json!("US")), "/address/country"),
            (
                Op::EntryUpdate {
                    coll: Coll::SocialProfiles,
                    id: 1234,
                    kind: s("twitter"),
                    value: s("https://twitter.com/helpscout"),
                },
                "/socialProfiles/0",
            ),
            (
                Op::EntryRemove {
                    coll: Coll::Emails,
                    id: 1234,
                },
                "/emails/0",
            ),
            (
                Op::EntryUpdate {
                    coll: Coll::Phones,
                    id: 1234,
                    kind: s("home"),
                    value: s("222-333-4444"),
                },
                "/phones/0",
            ),
            (
                Op::EntryUpdate {
                    coll: Coll::Chats,
                    id: 1234,
                    kind: s("aim"),
                    value: s("jsprout"),
                },
                "/chats/0",
            ),
            (
                Op::EntryUpdate {
                    coll: Coll::Websites,
                    id: 1234,
                    kind: None,
                    value: s("http://www.somewhere.com"),
                },
                "/websites/0",
            ),
        ];
        let want: Vec<(Op, String)> = want.into_iter().map(|(o, p)| (o, p.into())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn entry_ids_decide_create_update_delete() {
        let got = ops(r#"{"emails": [
            {"value": "a@b.co"},
            {"id": 0, "value": "c@d.co", "location": "home"},
            {"id": false, "value": "e@f.co"},
            {"id": null, "value": "g@h.co"},
            {"id": 7, "location": "other"},
            {"id": -8, "value": "not an email", "location": "nowhere"}
        ]}"#);
        let add = |v: &str, k: &str, i: usize| {
            (
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: s(k),
                    value: v.into(),
                },
                format!("/emails/{i}"),
            )
        };
        assert_eq!(
            got,
            vec![
                add("a@b.co", "work", 0),
                add("c@d.co", "home", 1),
                add("e@f.co", "work", 2),
                add("g@h.co", "work", 3),
                (
                    Op::EntryUpdate {
                        coll: Coll::Emails,
                        id: 7,
                        kind: s("other"),
                        value: None,
                    },
                    "/emails/4".into()
                ),
                (
                    Op::EntryRemove {
                        coll: Coll::Emails,
                        id: 8
                    },
                    "/emails/5".into()
                ),
            ]
        );
    }

    #[test]
    fn phones_without_location_have_no_default_and_websites_no_type() {
        let got = ops(
            r#"{"phones": [{"value": "555"}], "websites": [{"value": "https://x.io", "type": "home"}]}"#,
        );
        assert_eq!(
            got,
            vec![
                (
                    Op::EntryAdd {
                        coll: Coll::Phones,
                        kind: None,
                        value: "555".into()
                    },
                    "/phones/0".into()
                ),
                (
                    Op::EntryAdd {
                        coll: Coll::Websites,
                        kind: None,
                        value: "https://x.io".into()
                    },
                    "/websites/0".into()
                ),
            ]
        );
    }

    #[test]
    fn the_other_dialects_type_key_is_ignored() {
        // The PHP SDK sends both keys; only the one v1 reads for the collection counts.
        let got = ops(
            r#"{"phones": [{"id": 3, "value": "1", "location": "work", "type": "work"}],
                          "chats": [{"id": 4, "type": "skype", "location": null}]}"#,
        );
        assert_eq!(
            got[0].0,
            Op::EntryUpdate {
                coll: Coll::Phones,
                id: 3,
                kind: s("work"),
                value: s("1")
            }
        );
        assert_eq!(
            got[1].0,
            Op::EntryUpdate {
                coll: Coll::Chats,
                id: 4,
                kind: s("skype"),
                value: None
            }
        );
    }

    #[test]
    fn nulls_clear_and_null_collections_change_nothing() {
        let got = ops(r#"{"firstName": null, "address": null, "emails": null, "chats": []}"#);
        let mut want = vec![(set(Field::FirstName, Value::Null), "/firstName".to_owned())];
        for (_, _, f) in ADDRESS {
            want.push((set(f, Value::Null), "/address".to_owned()));
        }
        assert_eq!(got, want);
    }

    #[test]
    fn gender_any_case_is_stored_lower_case() {
        assert_eq!(
            ops(r#"{"gender": "Male"}"#),
            vec![(set(Field::Gender, json!("male")), "/gender".into())]
        );
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let got = ops(
            r#"{"id": 5, "fullName": "A B", "type": "user", "customerPersonType": null,
                          "createdAt": "2017-12-13T22:50:25Z", "modifiedAt": 3, "lastName": "B"}"#,
        );
        assert_eq!(
            got,
            vec![(set(Field::LastName, json!("B")), "/lastName".into())]
        );
    }

    #[test]
    fn reload_from_query_or_body() {
        let ep = update();
        let dec = |q: Option<&str>, b: &str| V1.decode_request(&ep, q, b.as_bytes());
        assert!(dec(Some("reload=true"), "{}").expect("q").reload);
        assert!(dec(Some("x=1&reload=True"), "{}").expect("q").reload);
        assert!(!dec(Some("reload=false"), "{}").expect("q").reload);
        assert!(!dec(None, "{}").expect("none").reload);
        assert!(dec(None, r#"{"reload": true}"#).expect("body").reload);
        assert!(!dec(None, r#"{"reload": null}"#).expect("body").reload);
        assert!(
            dec(Some("reload=false"), r#"{"reload": true}"#)
                .expect("both")
                .reload
        );
        let err = dec(Some("reload=yes"), "{}").expect_err("bad query");
        assert_eq!(err.violations[0].pointer, "reload");
        assert_eq!(err.violations[0].rule, Rule::Type);
        assert_eq!(
            rejected(r#"{"reload": "true"}"#),
            one("/reload", Rule::Type)
        );
        let err = dec(Some("reload=1"), "nope").expect_err("both bad");
        let rules: Vec<Rule> = err.violations.iter().map(|v| v.rule).collect();
        assert_eq!(rules, vec![Rule::Type, Rule::Json]);
    }

    #[test]
    fn get_has_no_body_to_decode() {
        let req = V1.decode_request(&get(), None, b"").expect("get");
        assert_eq!(req, ClientRequest::default());
    }

    #[test]
    fn rejects_bodies_that_are_not_json_objects() {
        assert_eq!(rejected(""), one("", Rule::Json));
        assert_eq!(rejected("{\"firstName\": "), one("", Rule::Json));
        assert_eq!(rejected("[]"), one("", Rule::Shape));
        assert_eq!(rejected("\"x\""), one("", Rule::Shape));
    }

    #[test]
    fn malformed_bodies_anywhere_are_json_errors() {
        let bad_utf8 = b"{\"fullName\": \"\xff\xfe\", \"firstName\": \"A\"}";
        let err = V1
            .decode_request(&update(), None, bad_utf8)
            .expect_err("not UTF-8");
        assert_eq!(err.violations[0].message, "Request body is not valid UTF-8");
        assert_eq!(rejected(r#"{"firstName": "A"} {}"#), one("", Rule::Json));
        // Violations before a syntax error are not reported: the body as a whole is broken.
        assert_eq!(rejected(r#"{"gender": "x", "age": }"#), one("", Rule::Json));
        let deep = format!(r#"{{"ignored": {}{}}}"#, "[".repeat(5000), "]".repeat(5000));
        assert_eq!(rejected(&deep), one("", Rule::Json));
        assert_eq!(rejected("null"), one("", Rule::Shape));
    }

    #[test]
    fn skipped_members_may_hold_anything() {
        let got = ops(
            r#"{"x": {"a": [1, {"b": null}], "c": "\u00e9"}, "address": {"id": {"n": 1}},
                          "emails": [{"id": 2, "extra": [true], "value": "a@b.co"}], "age": "3\n"}"#,
        );
        assert_eq!(
            got,
            vec![
                (
                    Op::EntryUpdate {
                        coll: Coll::Emails,
                        id: 2,
                        kind: None,
                        value: s("a@b.co")
                    },
                    "/emails/0".into()
                ),
                (set(Field::Age, json!("3\n")), "/age".into()),
            ]
        );
    }

    #[test]
    fn names_must_be_shorter_than_40() {
        let ok = "x".repeat(39);
        let long = "é".repeat(40);
        assert!(decode(&format!(r#"{{"firstName": "{ok}", "lastName": ""}}"#)).is_ok());
        assert_eq!(
            rejected(&format!(r#"{{"firstName": "{long}"}}"#)),
            one("/firstName", Rule::Length)
        );
        assert_eq!(
            rejected(&format!(r#"{{"lastName": "{long}"}}"#)),
            one("/lastName", Rule::Length)
        );
    }

    #[test]
    fn scalar_types_are_checked() {
        for key in [
            "firstName",
            "lastName",
            "organization",
            "jobTitle",
            "background",
            "photoUrl",
            "photoType",
            "gender",
            "age",
            "location",
        ] {
            assert_eq!(
                rejected(&format!(r#"{{"{key}": 30}}"#)),
                one(&format!("/{key}"), Rule::Type),
                "{key}"
            );
        }
    }

    #[test]
    fn gender_and_photo_type_enumerations() {
        assert_eq!(
            rejected(r#"{"gender": "robot"}"#),
            one("/gender", Rule::Enum)
        );
        assert_eq!(
            rejected(r#"{"photoType": "instagram"}"#),
            one("/photoType", Rule::Enum)
        );
        assert!(decode(r#"{"photoType": "googleprofile", "gender": "UNKNOWN"}"#).is_ok());
    }

    #[test]
    fn address_shape_and_types() {
        assert_eq!(
            rejected(r#"{"address": "Dallas"}"#),
            one("/address", Rule::Type)
        );
        assert_eq!(
            rejected(r#"{"address": {"lines": "123 Main"}}"#),
            one("/address/lines", Rule::Type)
        );
        assert_eq!(
            rejected(r#"{"address": {"lines": ["a", 2]}}"#),
            one("/address/lines/1", Rule::Type)
        );
        assert_eq!(
            rejected(r#"{"address": {"city": 5, "postalCode": true}}"#),
            vec![
                ("/address/city".into(), Rule::Type),
                ("/address/postalCode".into(), Rule::Type)
            ]
        );
    }

    #[test]
    fn collections_and_entries_must_be_arrays_of_objects() {
        assert_eq!(
            rejected(r#"{"emails": {"value": "a@b.co"}}"#),
            one("/emails", Rule::Type)
        );
        assert_eq!(
            rejected(r#"{"phones": ["555"]}"#),
            one("/phones/0", Rule::Type)
        );
    }

    #[test]
    fn entry_types_come_from_the_v1_lists() {
        assert_eq!(
            rejected(r#"{"emails": [{"value": "a@b.co", "location": "mobile"}]}"#),
            one("/emails/0/location", Rule::Enum)
        );
        assert_eq!(
            rejected(r#"{"phones": [{"value": "1", "location": "cell"}]}"#),
            one("/phones/0/location", Rule::Enum)
        );
        assert_eq!(
            rejected(r#"{"chats": [{"value": "x", "type": "whatsapp"}]}"#),
            one("/chats/0/type", Rule::Enum)
        );
        // v2's documented spelling is not v1's.
        assert_eq!(
            rejected(r#"{"socialProfiles": [{"value": "x", "type": "forsquare"}]}"#),
            one("/socialProfiles/0/type", Rule::Enum)
        );
        assert!(decode(r#"{"socialProfiles": [{"value": "x", "type": "foursquare"}]}"#).is_ok());
        assert_eq!(
            rejected(r#"{"chats": [{"id": 2, "type": 3}]}"#),
            one("/chats/0/type", Rule::Type)
        );
    }

    #[test]
    fn email_values_must_be_well_formed() {
        assert_eq!(
            rejected(r#"{"emails": [{"value": "vbear at mywork"}]}"#),
            one("/emails/0/value", Rule::Email)
        );
        assert_eq!(
            rejected(r#"{"emails": [{"id": 3, "value": "x@"}]}"#),
            one("/emails/0/value", Rule::Email)
        );
    }

    #[test]
    fn entry_ids_must_be_integers() {
        for id in [r#""12""#, "1.5", "true", "[]", r#"{"id": 1}"#] {
            let body = format!(r#"{{"phones": [{{"id": {id}, "value": "1"}}]}}"#);
            assert_eq!(rejected(&body), one("/phones/0/id", Rule::EntryId), "{id}");
        }
    }

    #[test]
    fn a_new_entry_needs_a_value() {
        assert_eq!(
            rejected(r#"{"phones": [{"location": "home"}]}"#),
            one("/phones/0/value", Rule::Required)
        );
        assert_eq!(
            rejected(r#"{"websites": [{"id": 0, "value": null}]}"#),
            one("/websites/0/value", Rule::Required)
        );
        assert_eq!(
            rejected(r#"{"websites": [{"id": 4, "value": 4}]}"#),
            one("/websites/0/value", Rule::Type)
        );
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let got = rejected(
            r#"{"firstName": 1, "gender": "x", "emails": [{"value": "bad"}, {"id": "1"}],
                "reload": 1, "address": {"city": []}}"#,
        );
        assert_eq!(
            got,
            vec![
                ("/firstName".into(), Rule::Type),
                ("/gender".into(), Rule::Enum),
                ("/emails/0/value".into(), Rule::Email),
                ("/emails/1/id".into(), Rule::EntryId),
                ("/reload".into(), Rule::Type),
                ("/address/city".into(), Rule::Type),
            ]
        );
    }

    // --- check_target ---

    #[test]
    fn target_rules_are_reported_at_the_origin() {
        let changes = vec![
            Change::new(
                set(Field::FirstName, json!("x".repeat(40))),
                "/data/firstName",
            ),
            Change::new(set(Field::LastName, json!("ok")), "/data/lastName"),
            Change::new(set(Field::PhotoType, json!("instagram")), "photoType"),
            Change::new(set(Field::Gender, json!("female")), "/gender"),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::SocialProfiles,
                    kind: s("forsquare"),
                    value: "x".into(),
                },
                "/social-profiles",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Emails,
                    id: 3,
                    kind: None,
                    value: s("nope"),
                },
                "/emails/3/value",
            ),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Phones,
                    kind: s("mobile"),
                    value: "1".into(),
                },
                "/phones",
            ),
            Change::new(
                Op::Primary {
                    coll: Coll::Emails,
                    value: s("not checked here"),
                },
                "/email",
            ),
        ];
        let got: Vec<(String, Rule)> = V1
            .check_target(&changes)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/data/firstName".into(), Rule::Length),
                ("photoType".into(), Rule::Enum),
                ("/social-profiles".into(), Rule::Enum),
                ("/emails/3/value".into(), Rule::Email),
            ]
        );
    }

    // --- encode_update / encode_get ---

    #[test]
    fn encodes_one_partial_put() {
        let changes = vec![
            Change::new(set(Field::FirstName, json!("Vernon")), "/firstName"),
            Change::new(set(Field::AddressCity, json!("Dallas")), "/address/city"),
            Change::new(set(Field::Notes, Value::Null), "/background"),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: s("work"),
                    value: "a@b.co".into(),
                },
                "/emails",
            ),
            Change::new(
                Op::EntryRemove {
                    coll: Coll::Emails,
                    id: 7,
                },
                "/emails/7",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::SocialProfiles,
                    id: 9,
                    kind: s("twitter"),
                    value: None,
                },
                "/social-profiles/9/type",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Websites,
                    id: 4,
                    kind: s("ignored"),
                    value: s("https://x.io"),
                },
                "/websites/4",
            ),
            Change::new(
                set(Field::AddressLines, json!(["1 Main"])),
                "/address/lines",
            ),
        ];
        let reqs = V1
            .encode_update("100", &changes, &EncodeCx::default())
            .expect("encodable");
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].method, "PUT");
        assert_eq!(reqs[0].path, "/v1/customers/100.json");
        assert_eq!(
            reqs[0].headers,
            vec![("Content-Type".to_owned(), "application/json".to_owned())]
        );
        assert_eq!(
            serde_json::to_string(&body_json(&reqs[0])).expect("json"),
            r#"{"firstName":"Vernon","background":null,"address":{"city":"Dallas","lines":["1 Main"]},"emails":[{"value":"a@b.co","location":"work"},{"id":-7}],"socialProfiles":[{"id":9,"type":"twitter"}],"websites":[{"id":4,"value":"https://x.io"}]}"#
        );
    }

    #[test]
    fn reload_and_passthrough_headers() {
        let cx = EncodeCx {
            want_customer: true,
            passthrough_headers: vec![("x-a".into(), "1".into())],
        };
        let changes = [Change::new(set(Field::Age, json!("30-35")), "/age")];
        let reqs = V1.encode_update("100", &changes, &cx).expect("ok");
        assert_eq!(reqs[0].path, "/v1/customers/100.json?reload=true");
        assert_eq!(reqs[0].headers[1], ("x-a".to_owned(), "1".to_owned()));
        assert_eq!(body_json(&reqs[0]), json!({"age": "30-35"}));
        let get = V1.encode_get("100", &cx);
        assert_eq!(
            (get.method, get.path.as_str()),
            ("GET", "/v1/customers/100.json")
        );
        assert!(get.body.is_none());
        assert_eq!(
            V1.encode_get("a/b c", &cx).path,
            "/v1/customers/a%2Fb%20c.json"
        );
    }

    #[test]
    fn nothing_to_encode_means_no_request() {
        let reqs = V1
            .encode_update("100", &[], &EncodeCx::default())
            .expect("empty");
        assert!(reqs.is_empty());
    }

    #[test]
    fn refuses_what_v1_cannot_hold() {
        let changes = [
            Change::new(set(Field::FirstName, json!("a")), "/name"),
            Change::new(set(Field::ExternalId, json!("u1")), "/userId"),
            Change::new(
                Op::PropertySet {
                    slug: "plan".into(),
                    value: json!("gold"),
                },
                "/customData/0/value",
            ),
        ];
        let err = V1
            .encode_update("100", &changes, &EncodeCx::default())
            .expect_err("unmappable");
        assert_eq!(err.kind, ErrorKind::Unmappable);
        let at: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(at, vec!["/userId", "/customData/0/value"]);
        let err = V1
            .encode_update("ext-1", &changes[..1], &EncodeCx::default())
            .expect_err("bad id");
        assert_eq!(
            (err.violations[0].pointer.as_str(), err.violations[0].rule),
            ("id", Rule::CustomerId)
        );
    }

    // --- decode_customer / decode_error ---

    #[test]
    fn decodes_the_real_get_answer() {
        let c = V1.decode_customer(REAL_GET.as_bytes()).expect("customer");
        assert_eq!(c.first_name.as_deref(), Some("Test"));
        assert_eq!(c.last_name.as_deref(), Some("User"));
        assert_eq!(c.organization.as_deref(), Some("Test Company"));
        assert_eq!(c.job_title.as_deref(), Some("CEO"));
        assert_eq!(c.gender.as_deref(), Some("unknown"));
        assert_eq!(c.notes, None);
        assert_eq!(c.address, None);
        assert_eq!(
            c.emails,
            vec![Entry {
                id: 191676921,
                kind: s("work"),
                value: "test@example.com".into()
            }]
        );
        assert_eq!(
            c.phones,
            vec![Entry {
                id: 198059533,
                kind: s("work"),
                value: "1234567890".into()
            }]
        );
        assert!(c.chats.is_empty() && c.social_profiles.is_empty() && c.websites.is_empty());
        assert_eq!(c.meta.id, Some(json!(144228647)));
        assert_eq!(
            c.meta.record_created_at.as_deref(),
            Some("2017-09-23T20:12:43Z")
        );
        assert_eq!(
            c.meta.record_updated_at.as_deref(),
            Some("2017-12-13T22:39:59Z")
        );
    }

    #[test]
    fn decodes_the_real_reload_answer_and_a_full_item() {
        let c = V1
            .decode_customer(REAL_RELOAD.as_bytes())
            .expect("customer");
        assert_eq!(c.first_name.as_deref(), Some("A new name"));
        assert!(c.emails.is_empty() && c.phones.is_empty());
        let full = r#"{"item": {"id": 1, "gender": "Male", "background": "n",
            "address": {"id": 9, "lines": ["a"], "city": "c", "state": "s", "postalCode": "p", "country": "US"},
            "chats": [{"id": 2, "value": "x", "type": "aim"}],
            "socialProfiles": [{"id": 3, "value": "y", "type": "twitter"}],
            "websites": [{"id": 4, "value": "z"}, {"value": "no id"}]}}"#;
        let c = V1.decode_customer(full.as_bytes()).expect("customer");
        assert_eq!(c.gender.as_deref(), Some("male"));
        assert_eq!(c.notes.as_deref(), Some("n"));
        assert_eq!(
            c.address,
            Some(Address {
                lines: vec!["a".into()],
                city: s("c"),
                state: s("s"),
                postal_code: s("p"),
                country: s("US"),
            })
        );
        assert_eq!(c.chats[0].kind.as_deref(), Some("aim"));
        assert_eq!(c.social_profiles[0].kind.as_deref(), Some("twitter"));
        assert_eq!(
            c.websites,
            vec![Entry {
                id: 4,
                kind: None,
                value: "z".into()
            }]
        );
    }

    #[test]
    fn no_customer_in_empty_or_foreign_bodies() {
        assert_eq!(V1.decode_customer(b""), None);
        assert_eq!(V1.decode_customer(b" \n"), None);
        assert_eq!(V1.decode_customer(br#"{"item": null}"#), None);
        assert_eq!(V1.decode_customer(b"<html>"), None);
    }

    #[test]
    fn decodes_real_error_bodies() {
        let e = V1.decode_error(
            400,
            br#"{"code":400,"error":"Input could not be validated","validationErrors":[{"property":"emails[0].location","value":"2562545","message":"The specified location is not valid"}]}"#,
        );
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert_eq!(e.status, 400);
        assert_eq!(e.message, "Input could not be validated");
        assert_eq!(e.violations.len(), 1);
        assert_eq!(e.violations[0].pointer, "/emails/0/location");
        assert_eq!(e.violations[0].rule, Rule::Upstream);
        assert_eq!(
            e.violations[0].message,
            "The specified location is not valid"
        );
        assert_eq!(e.violations[0].rejected, Some(json!("2562545")));
        let e = V1.decode_error(
            404,
            br#"{"code":404,"error":"The specified conversation was not found: 1560007"}"#,
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(
            e.message,
            "The specified conversation was not found: 1560007"
        );
        assert!(e.violations.is_empty());
        let e = V1.decode_error(403, br#"{"status": 403, "message": "Access denied"}"#);
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::Forbidden, "Access denied")
        );
        let e = V1.decode_error(503, b"<html>Service Temporarily Unavailable</html>");
        assert_eq!((e.status, e.message.as_str()), (503, "Service Unavailable"));
        assert_eq!(V1.decode_error(429, b"").kind, ErrorKind::RateLimited);
    }

    #[test]
    fn locates_upstream_paths() {
        for (path, want) in [
            ("firstName", Some(Target::Field(Field::FirstName))),
            ("/background", Some(Target::Field(Field::Notes))),
            ("address.city", Some(Target::Field(Field::AddressCity))),
            ("/address/lines/1", Some(Target::Field(Field::AddressLines))),
            ("emails[0].location", Some(Target::Coll(Coll::Emails, None))),
            (
                "socialProfiles",
                Some(Target::Coll(Coll::SocialProfiles, None)),
            ),
            ("mailbox", None),
            ("address", None),
            ("", None),
        ] {
            assert_eq!(V1.locate(path), want, "{path}");
        }
    }

    #[test]
    fn pointers_for_targets() {
        for (target, want) in [
            (Target::Field(Field::FirstName), "/firstName"),
            (Target::Field(Field::Notes), "/background"),
            (
                Target::Field(Field::AddressPostalCode),
                "/address/postalCode",
            ),
            (Target::Field(Field::ExternalId), "/external_id"),
            (
                Target::Coll(Coll::SocialProfiles, Some(3)),
                "/socialProfiles",
            ),
            (Target::Coll(Coll::Emails, None), "/emails"),
            (Target::Property("a/b".into()), "/properties/a~1b"),
            (Target::Property(String::new()), "/properties"),
        ] {
            assert_eq!(V1.pointer_for(&target), want);
        }
    }

    // --- encode_error / encode_success ---

    #[test]
    fn validation_error_body() {
        let err = ApiError::invalid(vec![
            Violation::new(
                "/emails/0/location",
                Rule::Enum,
                "Expected one of these: 'work'",
            )
            .with_value(json!("mobile")),
            Violation::new("", Rule::Json, "Error parsing request body into JSON"),
            Violation::new("id", Rule::CustomerId, "bad id").with_value(json!(12)),
        ]);
        let out = V1.encode_error(&err);
        assert_eq!(out.status, 400);
        assert_eq!(out.header("content-type"), Some("application/json"));
        assert_eq!(
            std::str::from_utf8(&out.body).expect("utf8"),
            r#"{"code":400,"error":"Input could not be validated","validationErrors":[{"property":"emails[0].location","value":"mobile","message":"Expected one of these: 'work'"},{"property":"body","value":"","message":"Error parsing request body into JSON"},{"property":"id","value":"12","message":"bad id"}]}"#
        );
    }

    #[test]
    fn other_error_bodies() {
        let out = V1.encode_error(&ApiError::new(ErrorKind::NotFound, "No such customer"));
        assert_eq!(out.status, 404);
        assert_eq!(
            out.json_body(),
            Some(json!({"code": 404, "error": "No such customer"}))
        );
        assert_eq!(out.header("retry-after"), None);
        let out = V1.encode_error(&ApiError::new(ErrorKind::BadGateway, ""));
        assert_eq!(
            out.json_body(),
            Some(json!({"code": 502, "error": "Bad Gateway"}))
        );
        let limited =
            ApiError::new(ErrorKind::RateLimited, "Too Many Requests").with_retry_after(Some(7));
        let out = V1.encode_error(&limited);
        assert_eq!(out.status, 429);
        assert_eq!(out.header("Retry-After"), Some("7"));
        assert_eq!(
            out.json_body(),
            Some(json!({"code": 429, "error": "Too Many Requests"}))
        );
        // A 400 the upstream gave without field errors keeps its message.
        let out = V1.encode_error(&ApiError::upstream(
            400,
            "The request was not formatted correctly",
            vec![],
        ));
        assert_eq!(
            out.json_body(),
            Some(json!({"code": 400, "error": "The request was not formatted correctly"}))
        );
    }

    #[test]
    fn update_answers() {
        let c = Customer::default();
        let out = V1.encode_success(&update(), Some(&c), &cx(false));
        assert_eq!(out, Synthetic::empty(200));
        let out = V1.encode_success(&update(), None, &cx(true));
        assert_eq!(out, Synthetic::empty(200));
        let out = V1.encode_success(&update(), Some(&c), &cx(true));
        assert_eq!(out.status, 200);
        assert_eq!(out.header("content-type"), Some(JSON_UTF8));
        assert_eq!(
            out.json_body(),
            Some(json!({"item": {
                "id": 100, "firstName": null, "lastName": null, "fullName": null,
                "photoUrl": null, "photoType": null, "gender": null, "age": null,
                "organization": null, "jobTitle": null, "location": null, "createdAt": null,
                "modifiedAt": null, "background": null, "address": null, "socialProfiles": [],
                "emails": [], "phones": [], "chats": [], "websites": []
            }}))
        );
    }

    #[test]
    fn get_answer_round_trips_the_real_body() {
        let c = V1.decode_customer(REAL_GET.as_bytes()).expect("customer");
        let cx = AnswerCx {
            customer_id: "144228647",
            ..cx(false)
        };
        let out = V1.encode_success(&get(), Some(&c), &cx);
        assert_eq!(out.header("content-type"), Some(JSON_UTF8));
        // Collections the service wrote as null come back as [] (docs/dialects.md).
        let want = REAL_GET
            .replace(r#""socialProfiles":null"#, r#""socialProfiles":[]"#)
            .replace(r#""chats":null"#, r#""chats":[]"#)
            .replace(r#""websites":null"#, r#""websites":[]"#);
        assert_eq!(std::str::from_utf8(&out.body).expect("utf8"), want);
    }

    #[test]
    fn get_answer_from_a_single_slot_upstream() {
        let c = Customer {
            first_name: s("Mary Ann"),
            last_name: s("Smith"),
            gender: s("female"),
            address: Some(Address {
                city: s("Kyiv"),
                ..Address::default()
            }),
            emails: vec![Entry {
                id: 1,
                kind: None,
                value: "m@x.io".into(),
            }],
            phones: vec![Entry {
                id: 1,
                kind: None,
                value: "555".into(),
            }],
            created_at: s("2024-01-02T03:04:05Z"),
            ..Customer::default()
        };
        let cx = AnswerCx {
            default_entry_type: "home",
            upstream: DialectId::Reach,
            ..cx(false)
        };
        let body = V1
            .encode_success(&get(), Some(&c), &cx)
            .json_body()
            .expect("json");
        let item = &body["item"];
        assert_eq!(item["fullName"], json!("Mary Ann Smith"));
        assert_eq!(item["createdAt"], json!("2024-01-02T03:04:05Z"));
        assert_eq!(
            item["address"],
            json!({"lines": [], "city": "Kyiv", "state": null, "postalCode": null, "country": null})
        );
        assert_eq!(
            item["emails"],
            json!([{"id": 1, "value": "m@x.io", "location": "home"}])
        );
        assert_eq!(
            item["phones"],
            json!([{"id": 1, "value": "555", "location": "home"}])
        );
        let out = V1.encode_success(&get(), None, &cx);
        assert_eq!(out.status, 502);
    }

    /// Timestamps reach a v1 client in Help Scout's format whatever the upstream wrote (the
    /// published v1 client refuses `…00.000Z`); an unreadable one is `null`.
    #[test]
    fn answer_timestamps_are_in_help_scout_format() {
        let mut c = Customer {
            created_at: s("2025-06-30T23:30:00.250-01:30"),
            ..Customer::default()
        };
        c.meta.record_created_at = s("2026-01-01T00:00:00.000Z");
        c.meta.record_updated_at = s("1767229200");
        let cx = AnswerCx {
            upstream: DialectId::Reach,
            ..cx(true)
        };
        let item = |c: &Customer| {
            V1.encode_success(&update(), Some(c), &cx)
                .json_body()
                .expect("json")["item"]
                .clone()
        };
        let got = item(&c);
        assert_eq!(got["createdAt"], json!("2026-01-01T00:00:00Z"));
        assert_eq!(got["modifiedAt"], json!("2026-01-01T01:00:00Z"));
        // Without a record time, the customer's own creation date, converted to UTC.
        c.meta.record_created_at = s("garbage");
        c.meta.record_updated_at = s("garbage");
        let got = item(&c);
        assert_eq!(got["createdAt"], json!("2025-07-01T01:00:00Z"));
        assert_eq!(got["modifiedAt"], Value::Null);
    }

    #[test]
    fn capabilities() {
        assert_eq!(V1.id(), DialectId::HelpscoutV1);
        let held: Vec<Field> = Field::ALL.into_iter().filter(|f| V1.holds(*f)).collect();
        assert_eq!(held.len(), 15);
        assert!(!V1.holds(Field::ExternalId) && !V1.holds(Field::Tags));
        assert!(Coll::ALL.iter().all(|c| V1.holds_coll(*c)));
        assert!(!V1.single_slot() && !V1.has_properties());
        let req = ClientRequest {
            reload: true,
            ..ClientRequest::default()
        };
        assert!(V1.answer_needs_customer(&update(), &req));
        assert!(!V1.answer_needs_customer(&update(), &ClientRequest::default()));
        assert!(V1.answer_needs_customer(&get(), &ClientRequest::default()));
    }
}
