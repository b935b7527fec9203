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

use super::document;
use super::rules;
use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{pointer_token, Change, ChangeSet, Entry, ErrorKind, Op, Rule};
use bytes::Bytes;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// The helpscout-v2 codec.
pub struct HelpscoutV2;

/// The entity fields of the overwrite `PUT` (D2) and the top-level PATCH paths, in the order the
/// vendor lists them.
const ENTITY_FIELDS: [(&str, Field); 10] = [
    ("firstName", Field::FirstName),
    ("lastName", Field::LastName),
    ("photoUrl", Field::PhotoUrl),
    ("photoType", Field::PhotoType),
    ("jobTitle", Field::JobTitle),
    ("location", Field::Location),
    ("background", Field::Notes),
    ("age", Field::Age),
    ("gender", Field::Gender),
    ("organization", Field::Organization),
];

/// `/address/<name>` members.
const ADDRESS_FIELDS: [(&str, Field); 5] = [
    ("lines", Field::AddressLines),
    ("city", Field::AddressCity),
    ("state", Field::AddressState),
    ("postalCode", Field::AddressPostalCode),
    ("country", Field::AddressCountry),
];

const GENDERS: &[&str] = &["male", "female", "unknown"];

const PHOTO_TYPES: &[&str] = &[
    "unknown",
    "gravatar",
    "twitter",
    "facebook",
    "googleprofile",
    "googleplus",
    "linkedin",
    "instagram",
];

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

/// The collection's segment in PATCH paths and `_links`.
fn coll_segment(coll: Coll) -> &'static str {
    match coll {
        Coll::Emails => "emails",
        Coll::Phones => "phones",
        Coll::Chats => "chats",
        Coll::SocialProfiles => "social-profiles",
        Coll::Websites => "websites",
    }
}

fn coll_from_segment(s: &str) -> Option<Coll> {
    match s {
        "emails" => Some(Coll::Emails),
        "phones" => Some(Coll::Phones),
        "chats" => Some(Coll::Chats),
        "social-profiles" => Some(Coll::SocialProfiles),
        "websites" => Some(Coll::Websites),
        _ => None,
    }
}

/// The key under `_embedded` in a GET customer: social profiles use an underscore there
/// (helpscout.md §2.2), unlike everywhere else.
fn embedded_key(coll: Coll) -> &'static str {
    match coll {
        Coll::SocialProfiles => "social_profiles",
        other => coll_segment(other),
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

/// The rules v2 enforces on a scalar string value (helpscout.md §2.1).
fn check_field_value(field: Field, s: &str, pointer: &str) -> Result<(), Violation> {
    match field {
        Field::FirstName | Field::LastName => rules::length(s, 1, 40, pointer),
        Field::JobTitle | Field::Location | Field::Organization => rules::length(s, 0, 60, pointer),
        Field::PhotoUrl | Field::Notes => rules::length(s, 0, 200, pointer),
        Field::Gender => rules::one_of(s, GENDERS, true, pointer),
        Field::PhotoType => rules::one_of(s, PHOTO_TYPES, false, pointer),
        _ => Ok(()),
    }
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

/// An entry id the PATCH path grammar can carry (`positive_id`: at most 19 digits); a larger
/// one (a helpscout-v1 client may send any u64) would be refused by the vendor as a path error.
fn check_entry_id(id: u64, pointer: &str) -> Result<(), Violation> {
    if rules::positive_id(&id.to_string()) {
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

// === PATCH path grammar ===

/// A path of helpscout.md §2.4.1.
#[derive(Debug, PartialEq)]
enum PatchPath {
    Field(Field),
    Coll(Coll),
    Entry(Coll, u64),
    EntryValue(Coll, u64),
    EntryType(Coll, u64),
}

#[derive(Debug, PartialEq)]
enum PathError {
    /// Outside the grammar.
    Grammar,
    /// Right shape, but the entry id is not a positive integer.
    EntryId,
}

fn parse_path(path: &str) -> Result<PatchPath, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::Grammar)?;
    let mut segs = rest.split('/');
    let first = segs.next().unwrap_or_default();
    let (second, third, fourth) = (segs.next(), segs.next(), segs.next());
    if fourth.is_some() {
        return Err(PathError::Grammar);
    }
    if first == "address" {
        return match (second, third) {
            (Some(name), None) => ADDRESS_FIELDS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| PatchPath::Field(*f))
                .ok_or(PathError::Grammar),
            _ => Err(PathError::Grammar),
        };
    }
    if let Some(coll) = coll_from_segment(first) {
        let Some(id) = second else {
            return Ok(PatchPath::Coll(coll));
        };
        let sub = match third {
            None => None,
            Some("value") => Some(false),
            Some("type") if coll != Coll::Websites => Some(true),
            Some(_) => return Err(PathError::Grammar),
        };
        let id = entry_id(id).ok_or(PathError::EntryId)?;
        return Ok(match sub {
            None => PatchPath::Entry(coll, id),
            Some(false) => PatchPath::EntryValue(coll, id),
            Some(true) => PatchPath::EntryType(coll, id),
        });
    }
    if second.is_some() {
        return Err(PathError::Grammar);
    }
    ENTITY_FIELDS
        .iter()
        .find(|(n, _)| *n == first)
        .map(|(_, f)| PatchPath::Field(*f))
        .ok_or(PathError::Grammar)
}

fn entry_id(s: &str) -> Option<u64> {
    if rules::positive_id(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// What follows `/v2/customers/{id}` in a client path.
#[derive(Debug, PartialEq)]
enum SubPath<'a> {
    /// Nothing: the customer itself.
    Customer,
    /// `/properties`.
    Properties,
    /// `/emails` (and the other collections).
    Collection(Coll),
    /// `/emails/{entryId}`, the id not yet validated.
    Entry(Coll, &'a str),
    /// `/address`.
    Address,
}

/// Parses the rest of a customer path (after `{id}/`; `None` when the path ends at the id);
/// `None` for shapes that are not endpoints (a trailing `/`, deeper paths): 404.
fn sub_path(sub: Option<&str>) -> Option<SubPath<'_>> {
    let Some(sub) = sub else {
        return Some(SubPath::Customer);
    };
    match sub.split_once('/') {
        None => match sub {
            "properties" => Some(SubPath::Properties),
            "address" => Some(SubPath::Address),
            other => coll_from_segment(other).map(SubPath::Collection),
        },
        Some((coll, entry)) if !entry.is_empty() && !entry.contains('/') => {
            coll_from_segment(coll).map(|c| SubPath::Entry(c, entry))
        }
        Some(_) => None,
    }
}

// === client-side decoding ===

/// Collects the changes and every violation of one request body.
#[derive(Default)]
struct Decoded {
    changes: Vec<Change>,
    errors: Vec<Violation>,
}

impl Decoded {
    fn push(&mut self, op: Op, origin: &str) {
        self.changes.push(Change::new(op, origin));
    }

    fn finish(self, full: bool) -> Result<ClientRequest, ApiError> {
        if self.errors.is_empty() {
            Ok(ClientRequest {
                changes: ChangeSet {
                    changes: self.changes,
                },
                reload: false,
                full,
                document: None,
            })
        } else {
            Err(ApiError::invalid(self.errors))
        }
    }
}

/// `op` of one patch element, checked against `allowed`. Pointers are only formatted on the
/// error path: the valid case must not allocate per element.
fn patch_op<'a>(
    obj: &'a Map<String, Value>,
    index: usize,
    allowed: &[&str],
) -> Result<&'a str, Violation> {
    let pointer = || format!("/{index}/op");
    match obj.get("op") {
        None => Err(Violation::new(pointer(), Rule::Required, "may not be null")),
        Some(Value::String(op)) if allowed.contains(&op.as_str()) => Ok(op),
        Some(Value::String(op)) => match rules::one_of(op, allowed, false, &pointer()) {
            Ok(()) => Ok(op),
            Err(mut v) => {
                v.rule = Rule::Op;
                Err(v)
            }
        },
        Some(other) => Err(Violation::new(
            pointer(),
            Rule::Type,
            format!("Expected a string, got {}", rules::type_name(other)),
        )
        .with_value(other.clone())),
    }
}

fn patch_path(obj: &Map<String, Value>, index: usize) -> Result<&str, Violation> {
    match obj.get("path") {
        None => Err(Violation::new(
            format!("/{index}/path"),
            Rule::Required,
            "may not be null",
        )),
        Some(Value::String(path)) => Ok(path),
        Some(other) => Err(Violation::new(
            format!("/{index}/path"),
            Rule::Type,
            format!("Expected a string, got {}", rules::type_name(other)),
        )
        .with_value(other.clone())),
    }
}

/// One element of a patch array as an object.
fn patch_element(item: &Value, index: usize) -> Result<&Map<String, Value>, Violation> {
    match item {
        Value::Object(obj) => Ok(obj),
        other => rules::object(other, &format!("/{index}")),
    }
}

fn op_not_allowed(index: usize, op: &str, path: &str) -> Violation {
    Violation::new(
        format!("/{index}/op"),
        Rule::Op,
        format!("Operation '{op}' is not supported for path '{path}'"),
    )
    .with_value(Value::String(op.to_string()))
}

/// The `value` member an `add`/`replace` needs.
fn required_value(value: Option<&Value>, index: usize) -> Result<&Value, Violation> {
    value
        .ok_or_else(|| Violation::new(format!("/{index}/value"), Rule::Required, "may not be null"))
}

/// Decodes one element of the customer PATCH array.
fn decode_patch_op(index: usize, item: &Value, out: &mut Decoded) {
    let obj = match patch_element(item, index) {
        Ok(obj) => obj,
        Err(v) => {
            out.errors.push(v);
            return;
        }
    };
    // The list in the error names every op a customer PATCH accepts; test/move/copy never get
    // here (they make the whole patch a document, `decode_patch_document`).
    let op = patch_op(obj, index, DOCUMENT_OPS);
    let path = patch_path(obj, index);
    match (op, path) {
        (Ok(op), Ok(path)) => decode_patch_parts(index, op, path, obj.get("value"), out),
        (op, path) => {
            out.errors.extend(op.err());
            out.errors.extend(path.err());
        }
    }
}

/// Decodes one patch element from its members (`op` already one of add/remove/replace).
fn decode_patch_parts(
    index: usize,
    op: &str,
    path_str: &str,
    value: Option<&Value>,
    out: &mut Decoded,
) {
    let path = match parsed_path(index, "path", path_str) {
        Ok(p) => p,
        Err(v) => {
            out.errors.push(v);
            return;
        }
    };
    if let Err(v) = decode_patch_target(index, value, op, path_str, path, out) {
        out.errors.push(v);
    }
}

/// A `path` (or `from`) member parsed with the patch grammar; outside it, rule `path` at
/// `/{index}/{member}`; an entry id that is not a positive integer, rule `entry_id` at the path.
fn parsed_path(index: usize, member: &str, path_str: &str) -> Result<PatchPath, Violation> {
    match parse_path(path_str) {
        Ok(p) => Ok(p),
        Err(PathError::Grammar) => Err(Violation::new(
            format!("/{index}/{member}"),
            Rule::Path,
            format!("Unsupported patch path '{path_str}'"),
        )
        .with_value(Value::String(path_str.to_string()))),
        Err(PathError::EntryId) => Err(Violation::new(
            path_str,
            Rule::EntryId,
            "Value is not a valid entity identifier.",
        )
        .with_value(Value::String(path_str.to_string()))),
    }
}

fn decode_patch_target(
    index: usize,
    value: Option<&Value>,
    op: &str,
    ptr: &str,
    path: PatchPath,
    out: &mut Decoded,
) -> Result<(), Violation> {
    match (path, op) {
        (PatchPath::Field(field), "remove") => out.push(
            Op::Set {
                field,
                value: Value::Null,
            },
            ptr,
        ),
        (PatchPath::Field(field), _) => {
            let value = field_value(field, required_value(value, index)?, ptr)?;
            out.push(Op::Set { field, value }, ptr);
        }
        (PatchPath::Coll(coll), "add") => {
            let (kind, value) = entry_object(coll, required_value(value, index)?, ptr, true)?;
            out.push(
                Op::EntryAdd {
                    coll,
                    kind,
                    value: value.unwrap_or_default(),
                },
                ptr,
            );
        }
        (PatchPath::Coll(coll), "remove") => {
            return Err(Violation::new(
                ptr,
                Rule::RemoveCollection,
                format!(
                    "It is not possible to remove a whole customer entry collection ({})",
                    coll_segment(coll)
                ),
            ));
        }
        (PatchPath::Entry(coll, id), "remove") => out.push(Op::EntryRemove { coll, id }, ptr),
        (PatchPath::Entry(coll, id), "replace") => {
            let (kind, value) = entry_object(coll, required_value(value, index)?, ptr, false)?;
            out.push(
                Op::EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                },
                ptr,
            );
        }
        (PatchPath::EntryValue(coll, id), "replace") => {
            let value = rules::string(required_value(value, index)?, ptr)?;
            check_entry_value(coll, value, ptr)?;
            out.push(
                Op::EntryUpdate {
                    coll,
                    id,
                    kind: None,
                    value: Some(value.to_string()),
                },
                ptr,
            );
        }
        (PatchPath::EntryType(coll, id), "replace") => {
            let kind = rules::string(required_value(value, index)?, ptr)?;
            check_entry_type(coll, kind, ptr)?;
            out.push(
                Op::EntryUpdate {
                    coll,
                    id,
                    kind: Some(canonical_kind(coll, kind)),
                    value: None,
                },
                ptr,
            );
        }
        (_, op) => return Err(op_not_allowed(index, op, ptr)),
    }
    Ok(())
}

/// A scalar field's new value (string or null; address lines an array of strings or null),
/// checked against the v2 rules. Gender is stored lower-case.
fn field_value(field: Field, value: &Value, ptr: &str) -> Result<Value, Violation> {
    if field == Field::AddressLines {
        return match value {
            Value::Null => Ok(Value::Null),
            Value::Array(items) => {
                for item in items {
                    rules::string(item, ptr)?;
                }
                Ok(value.clone())
            }
            other => Err(Violation::new(
                ptr,
                Rule::Type,
                format!(
                    "Expected an array of strings, got {}",
                    rules::type_name(other)
                ),
            )
            .with_value(other.clone())),
        };
    }
    match rules::string_or_null(value, ptr)? {
        None => Ok(Value::Null),
        Some(s) => {
            check_field_value(field, s, ptr)?;
            Ok(Value::String(if field == Field::Gender {
                s.to_ascii_lowercase()
            } else {
                s.to_string()
            }))
        }
    }
}

/// An entry object `{type, value}` (websites `{value}`). For an add both members are required;
/// for a replace at least one. Unknown members are ignored, as the vendor does.
fn entry_object(
    coll: Coll,
    value: &Value,
    ptr: &str,
    add: bool,
) -> Result<(Option<String>, Option<String>), Violation> {
    let obj = rules::object(value, ptr)?;
    let typed = coll.v2_types().is_some();
    let kind = match obj.get("type").filter(|_| typed) {
        None | Some(Value::Null) => None,
        Some(k) => {
            let k = rules::string(k, ptr)?;
            check_entry_type(coll, k, ptr)?;
            Some(canonical_kind(coll, k))
        }
    };
    let val = match obj.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let v = rules::string(v, ptr)?;
            check_entry_value(coll, v, ptr)?;
            Some(v.to_string())
        }
    };
    if add && typed && kind.is_none() {
        return Err(Violation::new(ptr, Rule::Required, "type: may not be null"));
    }
    if add && val.is_none() {
        return Err(Violation::new(
            ptr,
            Rule::Required,
            "value: may not be null",
        ));
    }
    if !add && kind.is_none() && val.is_none() {
        return Err(Violation::new(
            ptr,
            Rule::Required,
            "An entry replace needs a type or a value",
        ));
    }
    Ok((kind, val))
}

/// A patch element of the common, valid shape, deserialized without building a `Value` tree for
/// the whole body (the tree costs more than the rest of the translation). Anything unusual (a
/// missing or non-string member, a member other than these three, a duplicate key anywhere, bad
/// JSON) fails here, and the body is decoded again through `Value`, which names every problem
/// precisely. Because a body this accepts has no repeated key (serde refuses a repeated field,
/// unknown members are refused, `value` is built by `rules::unique_value`), the separate
/// duplicate-key pass is only needed on the slow path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastOp<'a> {
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow)]
    path: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
}

/// Keeps an explicit `null` apart from an absent member; a repeated key inside fails the parse.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    rules::unique_value(d).map(Some)
}

/// Decodes a patch array (customer or properties) through the fast path, or `None` when the body
/// needs the precise one.
fn decode_fast(body: &[u8], properties: bool) -> Option<Result<ClientRequest, ApiError>> {
    let ops: Vec<FastOp<'_>> = serde_json::from_slice(body).ok()?;
    let allowed = if properties { PROPERTY_OPS } else { PATCH_OPS };
    let mut out = Decoded {
        changes: Vec::with_capacity(ops.len()),
        errors: Vec::new(),
    };
    for (index, item) in ops.iter().enumerate() {
        if !allowed.contains(&item.op.as_ref()) {
            return None;
        }
        if properties {
            if let Err(v) =
                decode_property_parts(index, &item.op, &item.path, item.value.as_ref(), &mut out)
            {
                out.errors.push(v);
            }
        } else {
            decode_patch_parts(index, &item.op, &item.path, item.value.as_ref(), &mut out);
        }
    }
    Some(out.finish(false))
}

fn decode_patch(doc: &Value) -> Result<ClientRequest, ApiError> {
    let Value::Array(items) = doc else {
        return Err(ApiError::invalid_one(Violation::new(
            "",
            Rule::Shape,
            "Request payload must be in the form of array (enclosed by square brackets)",
        )));
    };
    if items.iter().any(is_document_op) {
        return decode_patch_document(items);
    }
    let mut out = Decoded {
        changes: Vec::with_capacity(items.len()),
        errors: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        decode_patch_op(index, item, &mut out);
    }
    out.finish(false)
}

// === RFC 6902 patch documents (test / move / copy) ===

/// Every op of a customer PATCH once the patch is evaluated as a document.
const DOCUMENT_OPS: &[&str] = &["add", "remove", "replace", "test", "move", "copy"];

/// An element whose op only makes sense against the customer's current state. The fast path
/// never sees these (it refuses any op outside add/remove/replace, and the `from` member).
fn is_document_op(item: &Value) -> bool {
    matches!(
        item.get("op").and_then(Value::as_str),
        Some("test" | "move" | "copy")
    )
}

/// A customer PATCH with `test`, `move` or `copy`: every element is validated with the same
/// grammar and value rules as the plain ops, and becomes RFC 6902 operations on the customer
/// document (`dialect::document`), evaluated later against the upstream's state.
fn decode_patch_document(items: &[Value]) -> Result<ClientRequest, ApiError> {
    let mut ops = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    let mut fresh = 0;
    for (index, item) in items.iter().enumerate() {
        match document_element(index, item, &mut fresh) {
            Ok(element) => ops.extend(element.into_iter().map(|op| document::DocOp { index, op })),
            Err(mut v) => errors.append(&mut v),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    Ok(ClientRequest {
        changes: ChangeSet::new(),
        reload: false,
        full: false,
        document: Some(document::PatchDocument { ops }),
    })
}

/// The document operations of one element of a patch document.
fn document_element(
    index: usize,
    item: &Value,
    fresh: &mut usize,
) -> Result<Vec<json_patch::PatchOperation>, Vec<Violation>> {
    use json_patch::{CopyOperation, MoveOperation, PatchOperation, TestOperation};
    let obj = patch_element(item, index).map_err(|v| vec![v])?;
    let (op, path_str) = match (patch_op(obj, index, DOCUMENT_OPS), patch_path(obj, index)) {
        (Ok(op), Ok(path)) => (op, path),
        (op, path) => return Err(op.err().into_iter().chain(path.err()).collect()),
    };
    let path = parsed_path(index, "path", path_str).map_err(|v| vec![v])?;
    let one = |v: Violation| vec![v];
    match op {
        "test" => {
            let value = required_value(obj.get("value"), index).map_err(one)?;
            Ok(vec![PatchOperation::Test(TestOperation {
                path: document::pointer(path_str).map_err(one)?,
                value: canonical_test_value(&path, value),
            })])
        }
        "move" | "copy" => {
            let from_str = match obj.get("from") {
                Some(Value::String(s)) => s.as_str(),
                None => {
                    return Err(one(Violation::new(
                        format!("/{index}/from"),
                        Rule::Required,
                        "may not be null",
                    )))
                }
                Some(other) => {
                    return Err(one(Violation::new(
                        format!("/{index}/from"),
                        Rule::Type,
                        format!("Expected a string, got {}", rules::type_name(other)),
                    )
                    .with_value(other.clone())))
                }
            };
            let from = parsed_path(index, "from", from_str).map_err(one)?;
            check_from(index, op, from_str, &from).map_err(one)?;
            // Help Scout's collection path means "a new entry": the value lands under a fresh
            // key, exactly as `add /emails {entry}` does.
            let target = match path {
                PatchPath::Coll(coll) => {
                    *fresh += 1;
                    format!("/{}/{}", coll_segment(coll), document::fresh_key(*fresh))
                }
                _ => path_str.to_string(),
            };
            let (from, path) = (
                document::pointer(from_str).map_err(one)?,
                document::pointer(&target).map_err(one)?,
            );
            Ok(vec![if op == "move" {
                PatchOperation::Move(MoveOperation { from, path })
            } else {
                PatchOperation::Copy(CopyOperation { from, path })
            }])
        }
        _ => {
            let mut scratch = Decoded::default();
            decode_patch_target(index, obj.get("value"), op, path_str, path, &mut scratch)
                .map_err(one)?;
            let mut ops = Vec::with_capacity(2);
            for change in &scratch.changes {
                ops.extend(document::change_ops(change, fresh).ok_or_else(|| {
                    one(Violation::new(
                        path_str,
                        Rule::Path,
                        "This change cannot be part of a patch document",
                    ))
                })?);
            }
            Ok(ops)
        }
    }
}

/// Where a `move` or `copy` may read from: not a whole collection (it is not a value an entry or
/// field can hold), and for `move` only what `remove` may take away (a field, which is cleared,
/// or a whole entry): an entry without its value or type is not an entry.
fn check_from(index: usize, op: &str, from_str: &str, from: &PatchPath) -> Result<(), Violation> {
    let refuse = |rule, message: String| {
        Err(Violation::new(format!("/{index}/from"), rule, message)
            .with_value(Value::String(from_str.to_string())))
    };
    match (from, op) {
        (PatchPath::Coll(_), _) => refuse(
            Rule::Path,
            format!("A whole collection cannot be the source of '{op}'"),
        ),
        (PatchPath::EntryValue(..) | PatchPath::EntryType(..), "move") => refuse(
            Rule::Op,
            format!(
                "'{from_str}' cannot be removed from its entry, so it cannot be moved; use 'copy', or move the whole entry"
            ),
        ),
        _ => Ok(()),
    }
}

/// A `test` value in the document's canonical form (gender lower case, the social type
/// `foursquare`), so that a client comparing against what it reads back matches.
fn canonical_test_value(path: &PatchPath, value: &Value) -> Value {
    match (path, value) {
        (PatchPath::Field(Field::Gender), Value::String(s)) => {
            Value::String(s.to_ascii_lowercase())
        }
        (PatchPath::EntryType(coll, _), Value::String(s)) => {
            Value::String(canonical_kind(*coll, s))
        }
        (PatchPath::Entry(coll, _), Value::Object(obj)) => {
            let mut obj = obj.clone();
            if let Some(Value::String(k)) = obj.get("type") {
                let k = canonical_kind(*coll, k);
                obj.insert("type".into(), Value::String(k));
            }
            Value::Object(obj)
        }
        _ => value.clone(),
    }
}

/// The overwrite PUT: every entity field left out becomes an explicit clear.
fn decode_put(doc: &Value) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut out = Decoded {
        changes: Vec::with_capacity(ENTITY_FIELDS.len()),
        errors: Vec::new(),
    };
    let mut ptr = String::with_capacity(16);
    for (key, field) in ENTITY_FIELDS {
        ptr.clear();
        ptr.push('/');
        ptr.push_str(key);
        match obj.get(key) {
            None => out.push(
                Op::Set {
                    field,
                    value: Value::Null,
                },
                &ptr,
            ),
            Some(v) => match field_value(field, v, &ptr) {
                Ok(value) => out.push(Op::Set { field, value }, &ptr),
                Err(e) => out.errors.push(e),
            },
        }
    }
    out.finish(true)
}

fn decode_properties(doc: &Value) -> Result<ClientRequest, ApiError> {
    let Value::Array(items) = doc else {
        return Err(ApiError::invalid_one(Violation::new(
            "",
            Rule::Shape,
            "Request payload must be in the form of array (enclosed by square brackets)",
        )));
    };
    let mut out = Decoded {
        changes: Vec::with_capacity(items.len()),
        errors: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        if let Err(v) = decode_property_op(index, item, &mut out) {
            out.errors.push(v);
        }
    }
    out.finish(false)
}

fn decode_property_op(index: usize, item: &Value, out: &mut Decoded) -> Result<(), Violation> {
    let obj = patch_element(item, index)?;
    match (patch_op(obj, index, PROPERTY_OPS), patch_path(obj, index)) {
        (Ok(op), Ok(path)) => decode_property_parts(index, op, path, obj.get("value"), out),
        (op, path) => {
            out.errors.extend(path.err());
            op.map(|_| ())
        }
    }
}

/// Decodes one properties element from its members (`op` already replace or remove).
fn decode_property_parts(
    index: usize,
    op: &str,
    path: &str,
    value: Option<&Value>,
    out: &mut Decoded,
) -> Result<(), Violation> {
    let Some(slug) = path
        .strip_prefix('/')
        .filter(|s| !s.is_empty() && !s.contains('/'))
    else {
        return Err(Violation::new(
            format!("/{index}/path"),
            Rule::Path,
            "path to the property is formed by the property slug and a leading slash",
        )
        .with_value(Value::String(path.to_string())));
    };
    let slug = if slug.contains('~') {
        slug.replace("~1", "/").replace("~0", "~")
    } else {
        slug.to_string()
    };
    if op == "remove" {
        out.push(Op::PropertyRemove { slug }, path);
        return Ok(());
    }
    match required_value(value, index)? {
        Value::Null => out.push(Op::PropertyRemove { slug }, path),
        v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => out.push(
            Op::PropertySet {
                slug,
                value: v.clone(),
            },
            path,
        ),
        other => {
            return Err(Violation::new(
                path,
                Rule::Type,
                format!(
                    "Expected a string, number or boolean, got {}",
                    rules::type_name(other)
                ),
            )
            .with_value(other.clone()))
        }
    }
    Ok(())
}

// === sub-resource endpoints ===

/// The equivalent patch path of an entry sub-resource: the origin of its change, so that
/// unmappable errors, `Patchbay-Dropped-Fields` and single-slot id errors read exactly as for
/// the equivalent PATCH (`/emails`, `/emails/7`).
fn entry_origin(coll: Coll, entry: Option<u64>) -> String {
    match entry {
        None => format!("/{}", coll_segment(coll)),
        Some(id) => format!("/{}/{id}", coll_segment(coll)),
    }
}

/// `POST /{coll}` and `PUT /{coll}/{entryId}`: the body is one entry object. Both members are
/// required (websites: `value` only), as the vendor documents for both calls; members other
/// than `type` and `value` are ignored, as in a patch op's entry object. Violations name the
/// member (`/type`, `/value`); all of them are reported.
fn decode_entry_body(
    coll: Coll,
    entry: Option<u64>,
    doc: &Value,
) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut errors = Vec::new();
    let missing = |ptr: &str| Violation::new(ptr, Rule::Required, "may not be null");
    let kind = match (coll.v2_types(), obj.get("type")) {
        (None, _) => None,
        (Some(_), None | Some(Value::Null)) => {
            errors.push(missing("/type"));
            None
        }
        (Some(_), Some(k)) => {
            match rules::string(k, "/type")
                .and_then(|k| check_entry_type(coll, k, "/type").map(|()| k))
            {
                Ok(k) => Some(canonical_kind(coll, k)),
                Err(v) => {
                    errors.push(v);
                    None
                }
            }
        }
    };
    let value = match obj.get("value") {
        None | Some(Value::Null) => {
            errors.push(missing("/value"));
            None
        }
        Some(v) => match rules::string(v, "/value")
            .and_then(|v| check_entry_value(coll, v, "/value").map(|()| v))
        {
            Ok(v) => Some(v.to_string()),
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    let (Some(value), true) = (value, errors.is_empty()) else {
        return Err(ApiError::invalid(errors));
    };
    let op = match entry {
        None => Op::EntryAdd { coll, kind, value },
        Some(id) => Op::EntryUpdate {
            coll,
            id,
            kind,
            value: Some(value),
        },
    };
    let mut changes = ChangeSet::new();
    changes.push(op, entry_origin(coll, entry));
    Ok(ClientRequest {
        changes,
        reload: false,
        full: false,
        document: None,
    })
}

/// `POST|PUT /address`: the body is the whole address. `city`, `state`, `postalCode` and
/// `country` are required non-empty strings (the vendor's address object); `lines` an optional
/// array of strings, cleared when left out, since the object replaces the address. Each member
/// becomes the `Set` of the equivalent `/address/<field>` patch op, with the member's pointer
/// (`/city`) as its origin.
fn decode_address_body(doc: &Value) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut out = Decoded {
        changes: Vec::with_capacity(ADDRESS_FIELDS.len()),
        errors: Vec::new(),
    };
    for (key, field) in ADDRESS_FIELDS {
        let ptr = format!("/{key}");
        let value = match (field, obj.get(key)) {
            (Field::AddressLines, None) => Ok(Value::Null),
            (Field::AddressLines, Some(v)) => field_value(field, v, &ptr),
            (_, None | Some(Value::Null)) => Err(Violation::new(
                ptr.as_str(),
                Rule::Required,
                "may not be null",
            )),
            (_, Some(v)) => rules::string(v, &ptr).and_then(|s| {
                if s.is_empty() {
                    Err(
                        Violation::new(ptr.as_str(), Rule::Required, "may not be empty")
                            .with_value(Value::String(String::new())),
                    )
                } else {
                    Ok(Value::String(s.to_string()))
                }
            }),
        };
        match value {
            Ok(value) => out.push(Op::Set { field, value }, &ptr),
            Err(v) => out.errors.push(v),
        }
    }
    out.finish(false)
}

/// `DELETE /address`: every address field cleared (origins `/address/<field>`, as the
/// equivalent patch ops).
fn clear_address() -> ClientRequest {
    let mut changes = ChangeSet::new();
    for (key, field) in ADDRESS_FIELDS {
        changes.push(
            Op::Set {
                field,
                value: Value::Null,
            },
            format!("/address/{key}"),
        );
    }
    ClientRequest {
        changes,
        reload: false,
        full: false,
        document: None,
    }
}

/// Decodes a sub-resource call. `DELETE` carries no body: whatever was sent is not read.
fn decode_sub(
    sub: SubResource,
    entry: Option<u64>,
    action: SubAction,
    body: &[u8],
) -> Result<ClientRequest, ApiError> {
    match (sub, action) {
        (SubResource::Entries(coll), SubAction::Delete) => {
            let id = entry.ok_or_else(|| {
                ApiError::new(
                    ErrorKind::Internal,
                    "entry delete routed without an entry id",
                )
            })?;
            let mut changes = ChangeSet::new();
            changes.push(Op::EntryRemove { coll, id }, entry_origin(coll, entry));
            Ok(ClientRequest {
                changes,
                reload: false,
                full: false,
                document: None,
            })
        }
        (SubResource::Address, SubAction::Delete) => Ok(clear_address()),
        (sub, _) => {
            let doc = rules::parse_json_unique(body).map_err(rules::JsonFailure::into_error)?;
            match sub {
                SubResource::Entries(coll) => decode_entry_body(coll, entry, &doc),
                SubResource::Address => decode_address_body(&doc),
            }
        }
    }
}

/// The `Location` of what a sub-resource `POST` created: the client-visible path (see
/// `AnswerCx::location_base`).
fn created_location(cx: &AnswerCx<'_>, sub: SubResource, id: Option<u64>) -> String {
    let base = customer_path(cx.customer_id);
    match (sub, id) {
        (SubResource::Entries(coll), Some(id)) => {
            format!("{}{base}/{}/{id}", cx.location_base, coll_segment(coll))
        }
        (SubResource::Entries(coll), None) => {
            format!("{}{base}/{}", cx.location_base, coll_segment(coll))
        }
        (SubResource::Address, _) => format!("{}{base}/address", cx.location_base),
    }
}

// === upstream-side encoding ===

/// One JSON-Patch operation as v2 expects it; borrowed so encoding allocates little.
#[derive(Serialize)]
struct PatchOp<'a> {
    op: &'static str,
    path: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<PatchValue<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum PatchValue<'a> {
    Json(&'a Value),
    Str(&'a str),
    Entry {
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        kind: Option<&'a str>,
        value: &'a str,
    },
}

fn entry_path(coll: Coll, id: u64, sub: &str) -> Cow<'static, str> {
    Cow::Owned(format!("/{}/{id}{sub}", coll_segment(coll)))
}

/// The type v2 gets for an entry: the given one (v2 spelling) or, for dialects without types,
/// `work` for e-mails and phones (SPEC §2 default) and `other` for chats and social profiles.
fn wire_entry_kind(coll: Coll, kind: Option<&str>) -> Option<&str> {
    match kind {
        Some(k) if coll.v2_types().is_some() => Some(wire_kind(coll, k)),
        _ => fallback_kind(coll, "work"),
    }
}

fn unmappable(change: &Change) -> ApiError {
    ApiError::unmappable(vec![Violation::new(
        change.origin.clone(),
        Rule::Unmappable,
        "Help Scout Mailbox API v2 has no place for this change",
    )])
}

fn customer_path(customer_id: &str) -> String {
    let mut path = String::with_capacity(14 + customer_id.len());
    path.push_str("/v2/customers/");
    path.extend(utf8_percent_encode(customer_id, SEGMENT));
    path
}

fn patch_request(path: String, ops: &[PatchOp<'_>], cx: &EncodeCx) -> UpstreamRequest {
    let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
    headers.push(("Content-Type".to_string(), "application/json".to_string()));
    headers.extend(cx.passthrough_headers.iter().cloned());
    UpstreamRequest {
        method: "PATCH",
        path,
        headers,
        body: Some(Bytes::from(serde_json::to_vec(ops).unwrap_or_default())),
    }
}

// === client-side answers ===

fn customer_document(customer: &Customer, customer_id: &str, default_kind: &str) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "id".into(),
        customer_id
            .parse::<u64>()
            .map_or_else(|_| Value::String(customer_id.to_string()), Value::from),
    );
    let mut put = |key: &str, v: &Option<String>| {
        if let Some(s) = v {
            doc.insert(key.into(), Value::String(s.clone()));
        }
    };
    put("firstName", &customer.first_name);
    put("lastName", &customer.last_name);
    put("gender", &customer.gender.as_deref().map(capitalised));
    put("jobTitle", &customer.job_title);
    put("location", &customer.location);
    put("organization", &customer.organization);
    put("photoType", &customer.photo_type);
    put("photoUrl", &customer.photo_url);
    put("age", &customer.age);
    // Help Scout's own format whatever the upstream wrote; left out when unreadable.
    let stamp = |s: &Option<String>| {
        time::render_opt(s.as_deref(), Style::HelpScout).map(std::borrow::Cow::into_owned)
    };
    put("createdAt", &stamp(&customer.meta.record_created_at));
    put("updatedAt", &stamp(&customer.meta.record_updated_at));
    put("background", &customer.notes);

    let mut embedded = Map::new();
    for coll in Coll::ALL {
        let entries = customer
            .coll(coll)
            .iter()
            .map(|e| entry_document(coll, e, default_kind))
            .collect();
        embedded.insert(embedded_key(coll).into(), Value::Array(entries));
    }
    let properties = customer
        .properties
        .iter()
        .map(|(slug, value)| json!({"slug": slug, "value": value}))
        .collect();
    embedded.insert("properties".into(), Value::Array(properties));
    if let Some(addr) = &customer.address {
        let mut a = Map::new();
        a.insert("lines".into(), json!(addr.lines));
        for (key, v) in [
            ("city", &addr.city),
            ("state", &addr.state),
            ("postalCode", &addr.postal_code),
            ("country", &addr.country),
        ] {
            if let Some(s) = v {
                a.insert(key.into(), Value::String(s.clone()));
            }
        }
        embedded.insert("address".into(), Value::Object(a));
    }
    doc.insert("_embedded".into(), Value::Object(embedded));

    let base = customer_path(customer_id);
    let mut links = Map::new();
    for key in ["address", "chats", "emails", "phones"] {
        links.insert(key.into(), json!({"href": format!("{base}/{key}/")}));
    }
    links.insert("self".into(), json!({ "href": base }));
    for key in ["social-profiles", "websites"] {
        links.insert(key.into(), json!({"href": format!("{base}/{key}/")}));
    }
    doc.insert("_links".into(), Value::Object(links));
    Value::Object(doc)
}

fn entry_document(coll: Coll, entry: &Entry, default_kind: &str) -> Value {
    let mut e = Map::new();
    e.insert("id".into(), Value::from(entry.id));
    e.insert("value".into(), Value::String(entry.value.clone()));
    let kind = match entry.kind.as_deref() {
        Some(k) if coll.v2_types().is_some() => Some(wire_kind(coll, k)),
        _ => fallback_kind(coll, default_kind),
    };
    if let Some(k) = kind {
        e.insert("type".into(), Value::String(k.to_string()));
    }
    Value::Object(e)
}

// === upstream-side decoding ===

fn scalar_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn decode_entries(coll: Coll, v: Option<&Value>) -> Vec<Entry> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let id = item.get("id")?.as_u64()?;
            let value = scalar_string(item.get("value"))?;
            let kind = match coll.v2_types() {
                Some(_) => scalar_string(item.get("type")).map(|k| canonical_kind(coll, &k)),
                None => None,
            };
            Some(Entry { id, kind, value })
        })
        .collect()
}

fn decode_address(v: Option<&Value>) -> Option<crate::canonical::Address> {
    let obj = v?.as_object()?;
    let lines = match obj.get("lines") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|l| scalar_string(Some(l)))
            .collect(),
        _ => Vec::new(),
    };
    let addr = crate::canonical::Address {
        lines,
        city: scalar_string(obj.get("city")),
        state: scalar_string(obj.get("state")),
        postal_code: scalar_string(obj.get("postalCode")),
        country: scalar_string(obj.get("country")),
    };
    (!addr.is_empty()).then_some(addr)
}

/// Where an error `path` of the vendor (with or without leading slash, `/` or `.` separated)
/// lives in the canonical model.
fn locate_path(path: &str) -> Option<Target> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut segs = path.split(['/', '.']);
    let first = segs.next()?;
    let second = segs.next();
    if first == "properties" {
        return Some(Target::Property(second.unwrap_or_default().to_string()));
    }
    if first == "address" {
        let name = second?;
        return ADDRESS_FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| Target::Field(*f));
    }
    let coll = match first {
        "socialProfiles" | "social_profiles" => Some(Coll::SocialProfiles),
        other => coll_from_segment(other),
    };
    if let Some(coll) = coll {
        return Some(Target::Coll(coll, second.and_then(entry_id)));
    }
    if second.is_some() {
        return None;
    }
    ENTITY_FIELDS
        .iter()
        .chain(ADDRESS_FIELDS.iter())
        .find(|(n, _)| *n == first)
        .map(|(_, f)| *f)
        .or_else(|| Field::ALL.into_iter().find(|f| f.as_str() == first))
        .map(Target::Field)
}

/// The reason phrase used when an upstream error body carries no message.
fn status_message(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        413 => "Payload too large",
        415 => "Unsupported media type",
        429 => "API rate limit exceeded",
        500..=599 => "Upstream server error",
        _ => "Upstream error",
    }
}

// === impl Dialect ===

impl Dialect for HelpscoutV2 {
    fn id(&self) -> DialectId {
        DialectId::HelpscoutV2
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
        true
    }

    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        let mut out = Vec::new();
        for change in changes {
            let ptr = change.origin.as_str();
            match &change.op {
                Op::Set {
                    field,
                    value: Value::String(s),
                } => out.extend(check_field_value(*field, s, ptr).err()),
                Op::EntryAdd { coll, kind, value } => {
                    if let Some(k) = kind {
                        out.extend(check_entry_type(*coll, k, ptr).err());
                    }
                    out.extend(check_entry_value(*coll, value, ptr).err());
                }
                Op::EntryRemove { id, .. } => out.extend(check_entry_id(*id, ptr).err()),
                Op::EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                } => {
                    out.extend(check_entry_id(*id, ptr).err());
                    if let Some(k) = kind {
                        out.extend(check_entry_type(*coll, k, ptr).err());
                    }
                    if let Some(v) = value {
                        out.extend(check_entry_value(*coll, v, ptr).err());
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let not_found = || ApiError::new(ErrorKind::NotFound, "Not found");
        let method_not_allowed = |allowed: &str| {
            ApiError::method_not_allowed(
                format!("Method {method} not allowed; allowed: {allowed}"),
                allowed,
            )
        };
        let rest = path.strip_prefix("/v2/").ok_or_else(not_found)?;
        if rest == "oauth2/token" {
            return if method == "POST" {
                Ok(Endpoint {
                    kind: EndpointKind::Token,
                    customer_id: String::new(),
                })
            } else {
                Err(method_not_allowed("POST"))
            };
        }
        let rest = rest.strip_prefix("customers/").ok_or_else(not_found)?;
        let (raw_id, sub) = match rest.split_once('/') {
            None => (rest, None),
            Some((id, sub)) => (id, Some(sub)),
        };
        // The method is checked (405) before either id (400), on every path shape.
        let kind = match (sub_path(sub).ok_or_else(not_found)?, method) {
            (SubPath::Customer, "PATCH") => EndpointKind::Update { full: false },
            (SubPath::Customer, "PUT") => EndpointKind::Update { full: true },
            (SubPath::Customer, "GET") => EndpointKind::Get,
            (SubPath::Customer, _) => return Err(method_not_allowed("GET, PATCH, PUT")),
            (SubPath::Properties, "PATCH") => EndpointKind::Properties,
            (SubPath::Properties, _) => return Err(method_not_allowed("PATCH")),
            (SubPath::Collection(coll), "POST") => EndpointKind::SubResource {
                sub: SubResource::Entries(coll),
                entry: None,
                action: SubAction::Create,
            },
            (SubPath::Collection(_), _) => return Err(method_not_allowed("POST")),
            (SubPath::Entry(coll, raw_entry), "PUT" | "DELETE") => {
                // The entry id is named like the equivalent patch path (`/emails/0`).
                let entry = entry_id(raw_entry).ok_or_else(|| {
                    ApiError::invalid_one(
                        Violation::new(
                            format!("/{}/{raw_entry}", coll_segment(coll)),
                            Rule::EntryId,
                            "Value is not a valid entity identifier.",
                        )
                        .with_value(Value::String(raw_entry.to_string())),
                    )
                })?;
                EndpointKind::SubResource {
                    sub: SubResource::Entries(coll),
                    entry: Some(entry),
                    action: if method == "PUT" {
                        SubAction::Update
                    } else {
                        SubAction::Delete
                    },
                }
            }
            (SubPath::Entry(..), _) => return Err(method_not_allowed("PUT, DELETE")),
            (SubPath::Address, "POST" | "PUT" | "DELETE") => EndpointKind::SubResource {
                sub: SubResource::Address,
                entry: None,
                action: match method {
                    "POST" => SubAction::Create,
                    "PUT" => SubAction::Update,
                    _ => SubAction::Delete,
                },
            },
            (SubPath::Address, _) => return Err(method_not_allowed("POST, PUT, DELETE")),
        };
        let id = percent_decode_str(raw_id)
            .decode_utf8()
            .ok()
            .filter(|id| rules::positive_id(id))
            .ok_or_else(|| {
                ApiError::invalid_one(
                    Violation::new(
                        "id",
                        Rule::CustomerId,
                        "Value is not a valid entity identifier.",
                    )
                    .with_value(Value::String(raw_id.to_string())),
                )
            })?;
        Ok(Endpoint {
            kind,
            customer_id: id.into_owned(),
        })
    }

    fn decode_request(
        &self,
        ep: &Endpoint,
        _query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        // The fast path only succeeds on bodies without a repeated key (see `FastOp`); every
        // other body gets the duplicate-key check and the parse in one pass, as before.
        let fast = match ep.kind {
            EndpointKind::Update { full: false } => decode_fast(body, false),
            EndpointKind::Properties => decode_fast(body, true),
            _ => None,
        };
        if let Some(decoded) = fast {
            return decoded;
        }
        if let EndpointKind::SubResource { sub, entry, action } = ep.kind {
            return decode_sub(sub, entry, action, body);
        }
        let doc = rules::parse_json_unique(body).map_err(rules::JsonFailure::into_error)?;
        match ep.kind {
            EndpointKind::Update { full: false } => decode_patch(&doc),
            EndpointKind::Update { full: true } => decode_put(&doc),
            EndpointKind::Properties => decode_properties(&doc),
            EndpointKind::Get | EndpointKind::Token | EndpointKind::SubResource { .. } => {
                Err(ApiError::new(
                    ErrorKind::Internal,
                    "decode_request called for a read endpoint",
                ))
            }
        }
    }

    fn answer_needs_customer(&self, ep: &Endpoint, _req: &ClientRequest) -> bool {
        // An entry create answers with the id the upstream assigned, read from the customer
        // (helpscout-v1 returns it with `reload=true`; HelpCrunch and Reach always do).
        matches!(
            ep.kind,
            EndpointKind::Get
                | EndpointKind::SubResource {
                    sub: SubResource::Entries(_),
                    action: SubAction::Create,
                    ..
                }
        )
    }

    fn encode_success(
        &self,
        ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic {
        match ep.kind {
            EndpointKind::Get => {}
            EndpointKind::SubResource {
                sub: sub @ SubResource::Entries(_),
                action: SubAction::Create,
                ..
            } => {
                // Nothing was created when the add was dropped (`unmappable = "drop"`): a 201
                // would claim an entry that does not exist.
                let Some(id) = cx.created else {
                    return Synthetic::empty(204);
                };
                return Synthetic::empty(201)
                    .with_header("Resource-ID", id.to_string())
                    .with_header("Location", created_location(cx, sub, Some(id)));
            }
            EndpointKind::SubResource {
                sub: SubResource::Address,
                action: SubAction::Create,
                ..
            } => {
                return Synthetic::empty(201)
                    .with_header("Location", created_location(cx, SubResource::Address, None));
            }
            _ => return Synthetic::empty(204),
        }
        let empty = Customer::default();
        let doc = customer_document(
            customer.unwrap_or(&empty),
            cx.customer_id,
            cx.default_entry_type,
        );
        Synthetic::json(200, "application/hal+json", &doc)
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        let message = if err.violations.iter().any(|v| v.rule == Rule::Json) {
            "Error parsing request body into JSON"
        } else if err.status == 400 && err.kind != ErrorKind::PartiallyApplied {
            "Bad request"
        } else {
            err.message.as_str()
        };
        let errors: Vec<Value> = err
            .violations
            .iter()
            .map(|v| {
                let mut e = Map::new();
                let path = if v.pointer.is_empty() {
                    "body"
                } else {
                    v.path_without_slash()
                };
                e.insert("path".into(), Value::String(path.to_string()));
                e.insert("message".into(), Value::String(v.message.clone()));
                e.insert("source".into(), Value::String("JSON".into()));
                if let Some(r) = &v.rejected {
                    e.insert("rejectedValue".into(), r.clone());
                }
                Value::Object(e)
            })
            .collect();
        let body = json!({
            // The request id, so the client's error can be found in the access log; offline
            // (no request) a fresh uuid, the vendor's own format.
            "logRef": err.log_ref.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            "message": message,
            "_embedded": {"errors": errors},
            "_links": {"about": {"href": ERRORS_ABOUT}},
        });
        let out = Synthetic::json(err.status, "application/vnd.error+json", &body)
            .with_error_headers(err);
        match (err.status, err.retry_after) {
            (429, Some(secs)) => out.with_header("X-RateLimit-Retry-After", secs.to_string()),
            _ => out,
        }
    }

    fn pointer_for(&self, target: &Target) -> String {
        match target {
            Target::Field(f) => {
                field_pointer(*f).map_or_else(|| format!("/{}", f.as_str()), str::to_string)
            }
            Target::Coll(c, None) => format!("/{}", coll_segment(*c)),
            Target::Coll(c, Some(id)) => format!("/{}/{id}", coll_segment(*c)),
            Target::Property(slug) if slug.is_empty() => String::new(),
            Target::Property(slug) => format!("/{}", pointer_token(slug)),
        }
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        let mut ops: Vec<PatchOp<'_>> = Vec::with_capacity(changes.len());
        let mut props: Vec<PatchOp<'_>> = Vec::new();
        for change in changes {
            match &change.op {
                Op::Set { field, value } => {
                    let path =
                        Cow::Borrowed(field_pointer(*field).ok_or_else(|| unmappable(change))?);
                    ops.push(if value.is_null() {
                        PatchOp {
                            op: "remove",
                            path,
                            value: None,
                        }
                    } else {
                        PatchOp {
                            op: "replace",
                            path,
                            value: Some(PatchValue::Json(value)),
                        }
                    });
                }
                Op::EntryAdd { coll, kind, value } => ops.push(PatchOp {
                    op: "add",
                    path: Cow::Borrowed(match coll {
                        Coll::Emails => "/emails",
                        Coll::Phones => "/phones",
                        Coll::Chats => "/chats",
                        Coll::SocialProfiles => "/social-profiles",
                        Coll::Websites => "/websites",
                    }),
                    value: Some(PatchValue::Entry {
                        kind: wire_entry_kind(*coll, kind.as_deref()),
                        value,
                    }),
                }),
                Op::EntryRemove { coll, id } => ops.push(PatchOp {
                    op: "remove",
                    path: entry_path(*coll, *id, ""),
                    value: None,
                }),
                Op::EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                } => {
                    let kind = kind
                        .as_deref()
                        .filter(|_| coll.v2_types().is_some())
                        .map(|k| wire_kind(*coll, k));
                    let op = match (kind, value.as_deref()) {
                        (Some(kind), Some(value)) => PatchOp {
                            op: "replace",
                            path: entry_path(*coll, *id, ""),
                            value: Some(PatchValue::Entry {
                                kind: Some(kind),
                                value,
                            }),
                        },
                        (None, Some(value)) => PatchOp {
                            op: "replace",
                            path: entry_path(*coll, *id, "/value"),
                            value: Some(PatchValue::Str(value)),
                        },
                        (Some(kind), None) => PatchOp {
                            op: "replace",
                            path: entry_path(*coll, *id, "/type"),
                            value: Some(PatchValue::Str(kind)),
                        },
                        (None, None) => continue,
                    };
                    ops.push(op);
                }
                Op::PropertySet { slug, value } => props.push(PatchOp {
                    op: "replace",
                    path: Cow::Owned(format!("/{}", pointer_token(slug))),
                    value: Some(PatchValue::Json(value)),
                }),
                Op::PropertyRemove { slug } => props.push(PatchOp {
                    op: "remove",
                    path: Cow::Owned(format!("/{}", pointer_token(slug))),
                    value: None,
                }),
                Op::Primary { .. } => return Err(unmappable(change)),
            }
        }
        let mut out = Vec::with_capacity(2);
        let base = customer_path(customer_id);
        if !ops.is_empty() {
            out.push(patch_request(base.clone(), &ops, cx));
        }
        if !props.is_empty() {
            out.push(patch_request(format!("{base}/properties"), &props, cx));
        }
        Ok(out)
    }

    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
        let mut req = UpstreamRequest::bodiless("GET", customer_path(customer_id));
        req.headers.extend(cx.passthrough_headers.iter().cloned());
        req
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        let doc: Value = serde_json::from_slice(body).ok()?;
        let obj = doc.as_object()?;
        let s = |key: &str| scalar_string(obj.get(key));
        let embedded = obj.get("_embedded").and_then(Value::as_object);
        let emb = |key: &str| embedded.and_then(|e| e.get(key));
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
            address: decode_address(emb("address").or_else(|| obj.get("address"))),
            ..Customer::default()
        };
        for coll in Coll::ALL {
            let v = emb(embedded_key(coll)).or_else(|| emb(coll_segment(coll)));
            *c.coll_mut(coll) = decode_entries(coll, v);
        }
        if let Some(Value::Array(props)) = emb("properties") {
            for p in props {
                let (Some(slug), Some(value)) =
                    (p.get("slug").and_then(Value::as_str), p.get("value"))
                else {
                    continue;
                };
                if !value.is_null() {
                    c.properties.insert(slug.to_string(), value.clone());
                }
            }
        }
        c.meta.id = obj.get("id").filter(|v| !v.is_null()).cloned();
        c.meta.record_created_at = s("createdAt");
        c.meta.record_updated_at = s("updatedAt");
        Some(c)
    }

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
        let doc = serde_json::from_slice::<Value>(body).ok();
        let Some(obj) = doc.as_ref().and_then(Value::as_object) else {
            return ApiError::upstream(status, status_message(status), Vec::new());
        };
        let message = ["message", "error_description", "error"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str))
            .unwrap_or_else(|| status_message(status));
        let violations = obj
            .get("_embedded")
            .and_then(|e| e.get("errors"))
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| {
                        let path = e.get("path").and_then(Value::as_str).unwrap_or_default();
                        let pointer = match path {
                            "" | "body" => String::new(),
                            p if p.starts_with('/') => p.to_string(),
                            p => format!("/{p}"),
                        };
                        let msg = e.get("message").and_then(Value::as_str)?;
                        let v = Violation::new(pointer, Rule::Upstream, msg);
                        Some(match e.get("rejectedValue") {
                            Some(r) => v.with_value(r.clone()),
                            None => v,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiError::upstream(status, message, violations)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        locate_path(upstream_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn ep(kind: EndpointKind) -> Endpoint {
        Endpoint {
            kind,
            customer_id: "100".into(),
        }
    }

    const PATCH: EndpointKind = EndpointKind::Update { full: false };
    const PUT: EndpointKind = EndpointKind::Update { full: true };

    fn decode(kind: EndpointKind, body: &str) -> Result<ClientRequest, ApiError> {
        HelpscoutV2.decode_request(&ep(kind), None, body.as_bytes())
    }

    fn changes(kind: EndpointKind, body: &str) -> Vec<Change> {
        match decode(kind, body) {
            Ok(req) => req.changes.changes,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn violations(kind: EndpointKind, body: &str) -> Vec<(String, Rule)> {
        match decode(kind, body) {
            Ok(req) => panic!("expected an error, got {:?}", req.changes),
            Err(e) => {
                assert_eq!(e.status, 400);
                e.violations
                    .into_iter()
                    .map(|v| (v.pointer, v.rule))
                    .collect()
            }
        }
    }

    fn one(kind: EndpointKind, body: &str, pointer: &str, rule: Rule) {
        assert_eq!(
            violations(kind, body),
            vec![(pointer.to_string(), rule)],
            "body: {body}"
        );
    }

    fn set(field: Field, value: Value, origin: &str) -> Change {
        Change::new(Op::Set { field, value }, origin)
    }

    fn body_json(req: &UpstreamRequest) -> Value {
        req.body
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null)
    }

    // --- route -------------------------------------------------------------------------------

    #[test]
    fn routes_known_endpoints() {
        let r = |m, p| HelpscoutV2.route(m, p);
        assert_eq!(r("PATCH", "/v2/customers/100").map(|e| e.kind), Ok(PATCH));
        assert_eq!(r("PUT", "/v2/customers/100").map(|e| e.kind), Ok(PUT));
        assert_eq!(
            r("GET", "/v2/customers/100").map(|e| e.kind),
            Ok(EndpointKind::Get)
        );
        assert_eq!(
            r("PATCH", "/v2/customers/7/properties"),
            Ok(Endpoint {
                kind: EndpointKind::Properties,
                customer_id: "7".into()
            })
        );
        assert_eq!(
            r("POST", "/v2/oauth2/token"),
            Ok(Endpoint {
                kind: EndpointKind::Token,
                customer_id: String::new()
            })
        );
        // Percent-encoding is decoded before the id is validated.
        assert_eq!(
            r("GET", "/v2/customers/%31%30").map(|e| e.customer_id),
            Ok("10".to_string())
        );
    }

    #[test]
    fn route_rejects_wrong_method_with_405() {
        for (m, p) in [
            ("DELETE", "/v2/customers/100"),
            ("POST", "/v2/customers/100"),
            ("PUT", "/v2/customers/100/properties"),
            ("GET", "/v2/customers/100/properties"),
            ("GET", "/v2/oauth2/token"),
        ] {
            let e = HelpscoutV2.route(m, p).err();
            assert_eq!(
                e.map(|e| (e.kind, e.status)),
                Some((ErrorKind::MethodNotAllowed, 405))
            );
        }
    }

    #[test]
    fn route_rejects_invalid_customer_id_with_400() {
        for p in [
            "/v2/customers/abc",
            "/v2/customers/0",
            "/v2/customers/-1",
            "/v2/customers/007",
            "/v2/customers/",
            "/v2/customers/1%2F2",
            "/v2/customers/%FF",
            "/v2/customers/99999999999999999999/properties",
        ] {
            let e = HelpscoutV2.route("PATCH", p).err();
            let v = e.as_ref().map(|e| {
                (
                    e.status,
                    e.violations[0].pointer.as_str(),
                    e.violations[0].rule,
                )
            });
            assert_eq!(v, Some((400, "id", Rule::CustomerId)), "{p}");
        }
    }

    #[test]
    fn route_leaves_foreign_paths_with_404() {
        for p in [
            "/v1/customers/100.json",
            "/v1/customers/100",
            "/api/resources/customers/x",
            "/v2/customers",
            "/v2/customers/100/emails/",
            "/v2/customers/100/emails/7/",
            "/v2/customers/100/emails/7/value",
            "/v2/customers/100/address/city",
            "/v2/customers/100/address/",
            "/v2/customers/100/socialProfiles",
            "/v2/customers/100/notes",
            "/v2/customers/100/",
            "/v2/conversations/1",
            "/v2/oauth2/token/x",
        ] {
            let e = HelpscoutV2.route("PATCH", p).err();
            assert_eq!(e.map(|e| e.status), Some(404), "{p}");
        }
    }

    // --- sub-resource endpoints ----------------------------------------------------------------

    fn sub(sub: SubResource, entry: Option<u64>, action: SubAction) -> EndpointKind {
        EndpointKind::SubResource { sub, entry, action }
    }

    const EMAILS: SubResource = SubResource::Entries(Coll::Emails);

    #[test]
    fn routes_sub_resources() {
        let r = |m: &str, p: &str| HelpscoutV2.route(m, p).map(|e| (e.kind, e.customer_id));
        for coll in Coll::ALL {
            let seg = coll_segment(coll);
            let entries = SubResource::Entries(coll);
            assert_eq!(
                r("POST", &format!("/v2/customers/7/{seg}")),
                Ok((sub(entries, None, SubAction::Create), "7".to_string())),
                "{seg}"
            );
            assert_eq!(
                r("PUT", &format!("/v2/customers/7/{seg}/1001")),
                Ok((sub(entries, Some(1001), SubAction::Update), "7".to_string()))
            );
            assert_eq!(
                r("DELETE", &format!("/v2/customers/7/{seg}/3")),
                Ok((sub(entries, Some(3), SubAction::Delete), "7".to_string()))
            );
        }
        for (m, action) in [
            ("POST", SubAction::Create),
            ("PUT", SubAction::Update),
            ("DELETE", SubAction::Delete),
        ] {
            assert_eq!(
                r(m, "/v2/customers/%37/address"),
                Ok((sub(SubResource::Address, None, action), "7".to_string()))
            );
        }
    }

    #[test]
    fn sub_resources_refuse_wrong_methods_with_405_before_checking_ids() {
        for (m, p) in [
            ("GET", "/v2/customers/7/emails"),
            ("PUT", "/v2/customers/7/phones"),
            ("DELETE", "/v2/customers/7/websites"),
            ("PATCH", "/v2/customers/7/chats"),
            ("POST", "/v2/customers/7/emails/1001"),
            ("GET", "/v2/customers/7/social-profiles/1001"),
            ("PATCH", "/v2/customers/7/emails/1001"),
            ("GET", "/v2/customers/7/address"),
            ("PATCH", "/v2/customers/7/address"),
            // The method is judged before either id.
            ("GET", "/v2/customers/7/emails/0"),
            ("GET", "/v2/customers/x/address"),
        ] {
            let e = HelpscoutV2.route(m, p).err();
            assert_eq!(
                e.map(|e| (e.kind, e.status)),
                Some((ErrorKind::MethodNotAllowed, 405)),
                "{m} {p}"
            );
        }
    }

    #[test]
    fn sub_resources_refuse_invalid_ids_with_400() {
        for (p, pointer, rule) in [
            ("/v2/customers/7/emails/0", "/emails/0", Rule::EntryId),
            ("/v2/customers/7/emails/abc", "/emails/abc", Rule::EntryId),
            ("/v2/customers/7/phones/-2", "/phones/-2", Rule::EntryId),
            (
                "/v2/customers/7/websites/007",
                "/websites/007",
                Rule::EntryId,
            ),
            (
                "/v2/customers/7/chats/99999999999999999999",
                "/chats/99999999999999999999",
                Rule::EntryId,
            ),
            ("/v2/customers/0/emails/1", "id", Rule::CustomerId),
            ("/v2/customers/abc/emails/1", "id", Rule::CustomerId),
        ] {
            let e = HelpscoutV2.route("DELETE", p).err();
            let v = e.as_ref().map(|e| {
                (
                    e.status,
                    e.violations[0].pointer.as_str(),
                    e.violations[0].rule,
                )
            });
            assert_eq!(v, Some((400, pointer, rule)), "{p}");
        }
        let e = HelpscoutV2.route("POST", "/v2/customers/0/address").err();
        assert_eq!(e.map(|e| e.violations[0].rule), Some(Rule::CustomerId));
    }

    /// The change sets of a sub-resource call and of its equivalent patch op are the same.
    #[test]
    fn sub_resources_decode_into_the_equivalent_patch_changes() {
        let cases: [(EndpointKind, &str, &str); 8] = [
            (
                sub(EMAILS, None, SubAction::Create),
                r#"{"type":"work","value":"a@x.com"}"#,
                r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@x.com"}}]"#,
            ),
            (
                sub(
                    SubResource::Entries(Coll::SocialProfiles),
                    None,
                    SubAction::Create,
                ),
                r#"{"type":"forsquare","value":"https://4sq.com/x"}"#,
                r#"[{"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"https://4sq.com/x"}}]"#,
            ),
            (
                sub(
                    SubResource::Entries(Coll::Websites),
                    None,
                    SubAction::Create,
                ),
                r#"{"value":"https://x.example"}"#,
                r#"[{"op":"add","path":"/websites","value":{"value":"https://x.example"}}]"#,
            ),
            // Websites have no type: one sent is ignored, as in a patch op.
            (
                sub(
                    SubResource::Entries(Coll::Websites),
                    Some(4),
                    SubAction::Update,
                ),
                r#"{"type":"work","value":"https://y.example"}"#,
                r#"[{"op":"replace","path":"/websites/4","value":{"value":"https://y.example"}}]"#,
            ),
            (
                sub(
                    SubResource::Entries(Coll::Phones),
                    Some(1002),
                    SubAction::Update,
                ),
                r#"{"type":"mobile","value":"555"}"#,
                r#"[{"op":"replace","path":"/phones/1002","value":{"type":"mobile","value":"555"}}]"#,
            ),
            // Members other than type and value are ignored, as in a patch op's entry object.
            (
                sub(SubResource::Entries(Coll::Chats), None, SubAction::Create),
                r#"{"id":9,"type":"skype","value":"ada","primary":true}"#,
                r#"[{"op":"add","path":"/chats","value":{"type":"skype","value":"ada"}}]"#,
            ),
            (
                sub(EMAILS, Some(1001), SubAction::Delete),
                "",
                r#"[{"op":"remove","path":"/emails/1001"}]"#,
            ),
            (
                sub(SubResource::Address, None, SubAction::Delete),
                "",
                r#"[{"op":"remove","path":"/address/lines"},{"op":"remove","path":"/address/city"},
                    {"op":"remove","path":"/address/state"},{"op":"remove","path":"/address/postalCode"},
                    {"op":"remove","path":"/address/country"}]"#,
            ),
        ];
        for (kind, body, patch) in cases {
            assert_eq!(
                changes(kind, body),
                changes(PATCH, patch),
                "{kind:?} {body}"
            );
        }
    }

    #[test]
    fn address_bodies_set_every_address_field() {
        let ops = |kind| {
            changes(
                kind,
                r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US","lines":["1 Main St","Apt 2"]}"#,
            )
        };
        let want = vec![
            set(Field::AddressLines, json!(["1 Main St", "Apt 2"]), "/lines"),
            set(Field::AddressCity, json!("Dallas"), "/city"),
            set(Field::AddressState, json!("TX"), "/state"),
            set(Field::AddressPostalCode, json!("74206"), "/postalCode"),
            set(Field::AddressCountry, json!("US"), "/country"),
        ];
        assert_eq!(
            ops(sub(SubResource::Address, None, SubAction::Create)),
            want
        );
        assert_eq!(
            ops(sub(SubResource::Address, None, SubAction::Update)),
            want
        );
        // `lines` left out is cleared: the object replaces the whole address.
        let c = changes(
            sub(SubResource::Address, None, SubAction::Update),
            r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US"}"#,
        );
        assert_eq!(c[0], set(Field::AddressLines, Value::Null, "/lines"));
    }

    #[test]
    fn sub_resource_bodies_are_validated_naming_each_member() {
        let create = sub(EMAILS, None, SubAction::Create);
        let update = sub(
            SubResource::Entries(Coll::Phones),
            Some(5),
            SubAction::Update,
        );
        let addr = sub(SubResource::Address, None, SubAction::Create);
        for (kind, body, want) in [
            (create, "not json", vec![("", Rule::Json)]),
            (
                create,
                r#"{"type":"work","value":"a@x.com""#,
                vec![("", Rule::Json)],
            ),
            (
                create,
                r#"[{"type":"work","value":"a@x.com"}]"#,
                vec![("", Rule::Shape)],
            ),
            (
                create,
                r#"{"type":"work","type":"home","value":"a@x.com"}"#,
                vec![("/type", Rule::Json)],
            ),
            (
                create,
                "{}",
                vec![("/type", Rule::Required), ("/value", Rule::Required)],
            ),
            (
                create,
                r#"{"type":null,"value":"a@x.com"}"#,
                vec![("/type", Rule::Required)],
            ),
            (
                create,
                r#"{"type":"work"}"#,
                vec![("/value", Rule::Required)],
            ),
            (
                create,
                r#"{"type":"fax","value":"a@x.com"}"#,
                vec![("/type", Rule::Enum)],
            ),
            (
                create,
                r#"{"type":"Work","value":"a@x.com"}"#,
                vec![("/type", Rule::Enum)],
            ),
            (
                create,
                r#"{"type":7,"value":"a@x.com"}"#,
                vec![("/type", Rule::Type)],
            ),
            (
                create,
                r#"{"type":"work","value":"not-an-address"}"#,
                vec![("/value", Rule::Email)],
            ),
            (
                create,
                r#"{"type":"work","value":""}"#,
                vec![("/value", Rule::Required)],
            ),
            (
                create,
                r#"{"type":"work","value":["a@x.com"]}"#,
                vec![("/value", Rule::Type)],
            ),
            (
                update,
                r#"{"value":"555"}"#,
                vec![("/type", Rule::Required)],
            ),
            (
                update,
                r#"{"type":"cell","value":""}"#,
                vec![("/type", Rule::Enum), ("/value", Rule::Required)],
            ),
            (
                sub(
                    SubResource::Entries(Coll::Websites),
                    None,
                    SubAction::Create,
                ),
                r#"{"type":"work"}"#,
                vec![("/value", Rule::Required)],
            ),
            (addr, "[]", vec![("", Rule::Shape)]),
            (
                addr,
                "{}",
                vec![
                    ("/city", Rule::Required),
                    ("/state", Rule::Required),
                    ("/postalCode", Rule::Required),
                    ("/country", Rule::Required),
                ],
            ),
            (
                addr,
                r#"{"city":5,"state":"","postalCode":"1","country":null,"lines":"1 Main St"}"#,
                vec![
                    ("/lines", Rule::Type),
                    ("/city", Rule::Type),
                    ("/state", Rule::Required),
                    ("/country", Rule::Required),
                ],
            ),
            (
                addr,
                r#"{"city":"a","state":"b","postalCode":"1","country":"US","lines":[1]}"#,
                vec![("/lines", Rule::Type)],
            ),
        ] {
            let got = violations(kind, body);
            let got: Vec<(&str, Rule)> = got.iter().map(|(p, r)| (p.as_str(), *r)).collect();
            assert_eq!(got, want, "{kind:?} {body}");
        }
    }

    #[test]
    fn sub_resource_answers() {
        let mut cx = answer_cx(DialectId::Helpcrunch);
        cx.location_base = "/t/hs2/crunch";
        let ep_of = |kind| ep(kind);
        let create = ep_of(sub(
            SubResource::Entries(Coll::SocialProfiles),
            None,
            SubAction::Create,
        ));
        cx.created = Some(1);
        let a = HelpscoutV2.encode_success(&create, None, &cx);
        assert_eq!((a.status, a.body.len()), (201, 0));
        assert_eq!(a.header("resource-id"), Some("1"));
        assert_eq!(
            a.header("location"),
            Some("/t/hs2/crunch/v2/customers/500/social-profiles/1")
        );
        // Nothing created (the add was dropped): no 201.
        cx.created = None;
        let a = HelpscoutV2.encode_success(&create, None, &cx);
        assert_eq!((a.status, a.header("location")), (204, None));
        let a = HelpscoutV2.encode_success(
            &ep_of(sub(SubResource::Address, None, SubAction::Create)),
            None,
            &cx,
        );
        assert_eq!(a.status, 201);
        assert_eq!(a.header("resource-id"), None);
        assert_eq!(
            a.header("location"),
            Some("/t/hs2/crunch/v2/customers/500/address")
        );
        for kind in [
            sub(EMAILS, Some(3), SubAction::Update),
            sub(EMAILS, Some(3), SubAction::Delete),
            sub(SubResource::Address, None, SubAction::Update),
            sub(SubResource::Address, None, SubAction::Delete),
        ] {
            let a = HelpscoutV2.encode_success(&ep_of(kind), None, &cx);
            assert_eq!(
                (a.status, a.headers.len(), a.body.len()),
                (204, 0, 0),
                "{kind:?}"
            );
        }
        let req = ClientRequest::default();
        assert!(HelpscoutV2.answer_needs_customer(&create, &req));
        assert!(!HelpscoutV2.answer_needs_customer(
            &ep_of(sub(SubResource::Address, None, SubAction::Create)),
            &req
        ));
        assert!(!HelpscoutV2
            .answer_needs_customer(&ep_of(sub(EMAILS, Some(3), SubAction::Update)), &req));
    }

    // --- decode: documented examples ---------------------------------------------------------

    #[test]
    fn decodes_docs_request_example_karl() {
        let body = r#"[ { "op" : "replace", "path" : "/firstName", "value" : "Karl" } ]"#;
        assert_eq!(
            changes(PATCH, body),
            vec![set(Field::FirstName, json!("Karl"), "/firstName")]
        );
    }

    #[test]
    fn decodes_docs_add_email() {
        let body =
            r#"[{"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}]"#;
        assert_eq!(
            changes(PATCH, body),
            vec![Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: Some("other".into()),
                    value: "bear@acme.com".into()
                },
                "/emails"
            )]
        );
    }

    #[test]
    fn decodes_docs_delete_email() {
        let body = r#"[{"op":"remove","path":"/emails/1001"}]"#;
        assert_eq!(
            changes(PATCH, body),
            vec![Change::new(
                Op::EntryRemove {
                    coll: Coll::Emails,
                    id: 1001
                },
                "/emails/1001"
            )]
        );
    }

    #[test]
    fn decodes_docs_update_chat() {
        let body = r#"[{"op":"replace","path":"/chats/1002/value","value":"aim"}]"#;
        assert_eq!(
            changes(PATCH, body),
            vec![Change::new(
                Op::EntryUpdate {
                    coll: Coll::Chats,
                    id: 1002,
                    kind: None,
                    value: Some("aim".into())
                },
                "/chats/1002/value"
            )]
        );
    }

    #[test]
    fn decodes_docs_update_multiple_fields() {
        let body = r#"[
          {"op":"replace","path":"/firstName","value":"Vernon"},
          {"op":"replace","path":"/lastName","value":"Bear"},
          {"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}
        ]"#;
        let got = changes(PATCH, body);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], set(Field::FirstName, json!("Vernon"), "/firstName"));
        assert_eq!(got[1], set(Field::LastName, json!("Bear"), "/lastName"));
        assert_eq!(got[2].origin, "/emails");
    }

    #[test]
    fn decodes_docs_properties_example() {
        let body = r#"[ { "op" : "replace", "value" : "Tesla", "path" : "/car" },
                        { "op" : "remove", "path" : "/revenue" } ]"#;
        let req = decode(EndpointKind::Properties, body);
        assert_eq!(
            req.map(|r| (r.full, r.changes.changes)),
            Ok((
                false,
                vec![
                    Change::new(
                        Op::PropertySet {
                            slug: "car".into(),
                            value: json!("Tesla")
                        },
                        "/car"
                    ),
                    Change::new(
                        Op::PropertyRemove {
                            slug: "revenue".into()
                        },
                        "/revenue"
                    ),
                ]
            ))
        );
    }

    #[test]
    fn properties_accept_numbers_booleans_and_null() {
        let body = r#"[{"op":"replace","path":"/n","value":5},{"op":"replace","path":"/b","value":true},
                       {"op":"replace","path":"/x","value":null},{"op":"replace","path":"/a~1b","value":"v"}]"#;
        let got = changes(EndpointKind::Properties, body);
        assert_eq!(
            got.iter().map(|c| c.op.clone()).collect::<Vec<_>>(),
            vec![
                Op::PropertySet {
                    slug: "n".into(),
                    value: json!(5)
                },
                Op::PropertySet {
                    slug: "b".into(),
                    value: json!(true)
                },
                Op::PropertyRemove { slug: "x".into() },
                Op::PropertySet {
                    slug: "a/b".into(),
                    value: json!("v")
                },
            ]
        );
        assert_eq!(got[3].origin, "/a~1b");
    }

    #[test]
    fn decodes_docs_put_example() {
        let body = r#"{
          "firstName" : "Vernon", "lastName" : "Bear",
          "photoUrl" : "https://api.helpscout.net/img/some-avatar.jpg", "photoType" : "twitter",
          "jobTitle" : "CEO and Co-Founder", "location" : "Greater Dallas/FT Worth Area",
          "background" : "I've worked with Vernon before and he's really great.",
          "age" : "30-35", "gender" : "Male", "organization" : "Acme, Inc", "organizationId" : 35
        }"#;
        let req = decode(PUT, body).map_err(|e| e.to_string());
        let Ok(req) = req else {
            panic!("{req:?}");
        };
        assert!(req.full);
        assert_eq!(
            req.changes.changes,
            vec![
                set(Field::FirstName, json!("Vernon"), "/firstName"),
                set(Field::LastName, json!("Bear"), "/lastName"),
                set(
                    Field::PhotoUrl,
                    json!("https://api.helpscout.net/img/some-avatar.jpg"),
                    "/photoUrl"
                ),
                set(Field::PhotoType, json!("twitter"), "/photoType"),
                set(Field::JobTitle, json!("CEO and Co-Founder"), "/jobTitle"),
                set(
                    Field::Location,
                    json!("Greater Dallas/FT Worth Area"),
                    "/location"
                ),
                set(
                    Field::Notes,
                    json!("I've worked with Vernon before and he's really great."),
                    "/background"
                ),
                set(Field::Age, json!("30-35"), "/age"),
                set(Field::Gender, json!("male"), "/gender"),
                set(Field::Organization, json!("Acme, Inc"), "/organization"),
            ]
        );
    }

    #[test]
    fn put_clears_every_entity_field_left_out_and_ignores_entries() {
        let body =
            r#"{"firstName":"Vernon","emails":[{"type":"work","value":"x"}],"fullName":"x"}"#;
        let got = changes(PUT, body);
        assert_eq!(got.len(), 10);
        assert_eq!(got[0], set(Field::FirstName, json!("Vernon"), "/firstName"));
        for c in &got[1..] {
            assert!(
                matches!(
                    &c.op,
                    Op::Set {
                        value: Value::Null,
                        ..
                    }
                ),
                "{c:?}"
            );
        }
        assert_eq!(got[6], set(Field::Notes, Value::Null, "/background"));
    }

    #[test]
    fn decodes_every_path_form() {
        let body = r#"[
          {"op":"add","path":"/age","value":"30"},
          {"op":"remove","path":"/location"},
          {"op":"replace","path":"/gender","value":"FEMALE"},
          {"op":"replace","path":"/address/lines","value":["1 Main St","Suite 2"]},
          {"op":"replace","path":"/address/postalCode","value":"74206"},
          {"op":"remove","path":"/address/city"},
          {"op":"add","path":"/websites","value":{"value":"http://x.io"}},
          {"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"@me"}},
          {"op":"replace","path":"/phones/5","value":{"type":"mobile","value":"555"}},
          {"op":"replace","path":"/social-profiles/6/type","value":"twitter"},
          {"op":"replace","path":"/websites/8/value","value":"http://y.io"}
        ]"#;
        let ops: Vec<Op> = changes(PATCH, body).into_iter().map(|c| c.op).collect();
        assert_eq!(
            ops,
            vec![
                Op::Set {
                    field: Field::Age,
                    value: json!("30")
                },
                Op::Set {
                    field: Field::Location,
                    value: Value::Null
                },
                Op::Set {
                    field: Field::Gender,
                    value: json!("female")
                },
                Op::Set {
                    field: Field::AddressLines,
                    value: json!(["1 Main St", "Suite 2"])
                },
                Op::Set {
                    field: Field::AddressPostalCode,
                    value: json!("74206")
                },
                Op::Set {
                    field: Field::AddressCity,
                    value: Value::Null
                },
                Op::EntryAdd {
                    coll: Coll::Websites,
                    kind: None,
                    value: "http://x.io".into()
                },
                Op::EntryAdd {
                    coll: Coll::SocialProfiles,
                    kind: Some("foursquare".into()),
                    value: "@me".into()
                },
                Op::EntryUpdate {
                    coll: Coll::Phones,
                    id: 5,
                    kind: Some("mobile".into()),
                    value: Some("555".into())
                },
                Op::EntryUpdate {
                    coll: Coll::SocialProfiles,
                    id: 6,
                    kind: Some("twitter".into()),
                    value: None
                },
                Op::EntryUpdate {
                    coll: Coll::Websites,
                    id: 8,
                    kind: None,
                    value: Some("http://y.io".into())
                },
            ]
        );
    }

    #[test]
    fn empty_patch_array_is_an_empty_change_set() {
        assert_eq!(changes(PATCH, "[]"), vec![]);
    }

    // --- decode: every validation rule -------------------------------------------------------

    #[test]
    fn rule_json() {
        one(PATCH, "[{", "", Rule::Json);
        one(PATCH, "", "", Rule::Json);
        let e = HelpscoutV2
            .decode_request(&ep(PATCH), None, b"[\xff]")
            .err();
        assert_eq!(e.map(|e| e.violations[0].rule), Some(Rule::Json));
        one(PUT, "{\"firstName\":", "", Rule::Json);
    }

    #[test]
    fn rule_shape() {
        one(
            PATCH,
            r#"{"op":"replace","path":"/firstName","value":"K"}"#,
            "",
            Rule::Shape,
        );
        one(PATCH, r#"["replace"]"#, "/0", Rule::Shape);
        one(PUT, r#"[{"firstName":"K"}]"#, "", Rule::Shape);
        one(EndpointKind::Properties, r#"{"car":"x"}"#, "", Rule::Shape);
        one(EndpointKind::Properties, r#"[1]"#, "/0", Rule::Shape);
    }

    #[test]
    fn rule_type() {
        one(
            PATCH,
            r#"[{"op":"replace","path":"/firstName","value":5}]"#,
            "/firstName",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":1,"path":"/firstName","value":"K"}]"#,
            "/0/op",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":true,"value":"K"}]"#,
            "/0/path",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/address/lines","value":"x"}]"#,
            "/address/lines",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/address/lines","value":["a",1]}]"#,
            "/address/lines",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/emails","value":"a@b.co"}]"#,
            "/emails",
            Rule::Shape,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/phones","value":{"type":"work","value":5}}]"#,
            "/phones",
            Rule::Type,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/chats/3/value","value":null}]"#,
            "/chats/3/value",
            Rule::Type,
        );
        one(PUT, r#"{"age":30}"#, "/age", Rule::Type);
        one(
            EndpointKind::Properties,
            r#"[{"op":"replace","path":"/car","value":{"a":1}}]"#,
            "/car",
            Rule::Type,
        );
        one(
            EndpointKind::Properties,
            r#"[{"op":"replace","path":"/car","value":[1]}]"#,
            "/car",
            Rule::Type,
        );
    }

    #[test]
    fn rule_required() {
        one(
            PATCH,
            r#"[{"path":"/firstName","value":"K"}]"#,
            "/0/op",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"replace","value":"K"}]"#,
            "/0/path",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/firstName"}]"#,
            "/0/value",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/emails"}]"#,
            "/0/value",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/emails","value":{"value":"a@b.co"}}]"#,
            "/emails",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/chats","value":{"type":"aim"}}]"#,
            "/chats",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/phones","value":{"type":"work","value":""}}]"#,
            "/phones",
            Rule::Required,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/emails/4","value":{}}]"#,
            "/emails/4",
            Rule::Required,
        );
        one(
            EndpointKind::Properties,
            r#"[{"op":"replace","path":"/car"}]"#,
            "/0/value",
            Rule::Required,
        );
        assert_eq!(
            violations(PATCH, r#"[{}]"#),
            vec![
                ("/0/op".into(), Rule::Required),
                ("/0/path".into(), Rule::Required)
            ]
        );
    }

    #[test]
    fn rule_op() {
        one(
            PATCH,
            r#"[{"op":"merge","path":"/firstName","value":"K"}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            PATCH,
            r#"[{"op":"Test","path":"/firstName","value":"K"}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/emails","value":{"type":"work","value":"a@b.co"}}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/emails/7","value":{"type":"work","value":"a@b.co"}}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            PATCH,
            r#"[{"op":"remove","path":"/emails/7/value"}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            PATCH,
            r#"[{"op":"add","path":"/phones/7/type","value":"work"}]"#,
            "/0/op",
            Rule::Op,
        );
        one(
            EndpointKind::Properties,
            r#"[{"op":"add","path":"/car","value":"x"}]"#,
            "/0/op",
            Rule::Op,
        );
    }

    #[test]
    fn rule_path() {
        for path in [
            "/fullName",
            "firstName",
            "/",
            "/id",
            "/organizationId",
            "/address",
            "/address/zip",
            "/address/city/x",
            "/socialProfiles",
            "/social_profiles/1",
            "/emails/1/location",
            "/websites/1/type",
            "/emails/1/value/x",
            "/properties/car",
        ] {
            let body = format!(r#"[{{"op":"replace","path":"{path}","value":"x"}}]"#);
            one(PATCH, &body, "/0/path", Rule::Path);
        }
        one(
            EndpointKind::Properties,
            r#"[{"op":"replace","path":"car","value":"x"}]"#,
            "/0/path",
            Rule::Path,
        );
        one(
            EndpointKind::Properties,
            r#"[{"op":"replace","path":"/","value":"x"}]"#,
            "/0/path",
            Rule::Path,
        );
        one(
            EndpointKind::Properties,
            r#"[{"op":"remove","path":"/a/b"}]"#,
            "/0/path",
            Rule::Path,
        );
    }

    #[test]
    fn rule_remove_collection() {
        for coll in ["emails", "phones", "chats", "social-profiles", "websites"] {
            let body = format!(r#"[{{"op":"remove","path":"/{coll}"}}]"#);
            one(PATCH, &body, &format!("/{coll}"), Rule::RemoveCollection);
        }
    }

    #[test]
    fn rule_enum() {
        let add = |coll: &str, kind: &str| {
            format!(
                r#"[{{"op":"add","path":"/{coll}","value":{{"type":"{kind}","value":"a@b.co"}}}}]"#
            )
        };
        one(PATCH, &add("emails", "mobile"), "/emails", Rule::Enum);
        one(PATCH, &add("phones", "cell"), "/phones", Rule::Enum);
        one(PATCH, &add("chats", "whatsapp"), "/chats", Rule::Enum);
        one(
            PATCH,
            &add("social-profiles", "instagram"),
            "/social-profiles",
            Rule::Enum,
        );
        one(PATCH, &add("emails", "Work"), "/emails", Rule::Enum);
        one(
            PATCH,
            r#"[{"op":"replace","path":"/phones/3/type","value":"home2"}]"#,
            "/phones/3/type",
            Rule::Enum,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/chats/3","value":{"type":"icq2"}}]"#,
            "/chats/3",
            Rule::Enum,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/gender","value":"other"}]"#,
            "/gender",
            Rule::Enum,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/photoType","value":"myspace"}]"#,
            "/photoType",
            Rule::Enum,
        );
        one(PUT, r#"{"gender":"x"}"#, "/gender", Rule::Enum);
        // Every documented value passes, gender in any case.
        for kind in [
            "aboutme",
            "facebook",
            "flickr",
            "forsquare",
            "foursquare",
            "youtube",
        ] {
            assert!(
                decode(PATCH, &add("social-profiles", kind)).is_ok(),
                "{kind}"
            );
        }
        for g in ["male", "Female", "UNKNOWN"] {
            let body = format!(r#"[{{"op":"replace","path":"/gender","value":"{g}"}}]"#);
            assert!(decode(PATCH, &body).is_ok(), "{g}");
        }
        for t in PHOTO_TYPES {
            let body = format!(r#"[{{"op":"replace","path":"/photoType","value":"{t}"}}]"#);
            assert!(decode(PATCH, &body).is_ok(), "{t}");
        }
    }

    #[test]
    fn rule_length() {
        let long = |n: usize| "x".repeat(n);
        for (path, max, min) in [
            ("/firstName", 40, 1),
            ("/lastName", 40, 1),
            ("/jobTitle", 60, 0),
            ("/location", 60, 0),
            ("/organization", 60, 0),
            ("/photoUrl", 200, 0),
            ("/background", 200, 0),
        ] {
            let ok = format!(
                r#"[{{"op":"replace","path":"{path}","value":"{}"}}]"#,
                long(max)
            );
            assert!(decode(PATCH, &ok).is_ok(), "{path} at {max}");
            let bad = format!(
                r#"[{{"op":"replace","path":"{path}","value":"{}"}}]"#,
                long(max + 1)
            );
            one(PATCH, &bad, path, Rule::Length);
            let empty = format!(r#"[{{"op":"replace","path":"{path}","value":""}}]"#);
            if min == 1 {
                one(PATCH, &empty, path, Rule::Length);
            } else {
                assert!(decode(PATCH, &empty).is_ok(), "{path} empty");
            }
        }
        // Characters, not bytes.
        let ok = format!(
            r#"[{{"op":"replace","path":"/firstName","value":"{}"}}]"#,
            "é".repeat(40)
        );
        assert!(decode(PATCH, &ok).is_ok());
        one(
            PUT,
            &format!(r#"{{"lastName":"{}"}}"#, long(41)),
            "/lastName",
            Rule::Length,
        );
    }

    #[test]
    fn rule_email() {
        one(
            PATCH,
            r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"bear@acme"}}]"#,
            "/emails",
            Rule::Email,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/emails/9/value","value":"not an email"}]"#,
            "/emails/9/value",
            Rule::Email,
        );
        one(
            PATCH,
            r#"[{"op":"replace","path":"/emails/9","value":{"value":"a@@b.co"}}]"#,
            "/emails/9",
            Rule::Email,
        );
        // Other collections take any non-empty string.
        assert!(decode(
            PATCH,
            r#"[{"op":"replace","path":"/phones/9/value","value":"not an email"}]"#
        )
        .is_ok());
    }

    #[test]
    fn rule_entry_id() {
        for path in [
            "/emails/0",
            "/emails/-1",
            "/emails/abc",
            "/emails/01",
            "/chats/1.5/value",
            "/emails/",
        ] {
            let body = format!(r#"[{{"op":"remove","path":"{path}"}}]"#);
            one(PATCH, &body, path, Rule::EntryId);
        }
    }

    /// test/move/copy turn the patch into a document; every member is checked with the same
    /// grammar, and the plain ops inside keep every rule they have outside.
    #[test]
    fn patch_document_rules() {
        let cases: &[(&str, &str, Rule)] = &[
            (
                r#"[{"op":"move","path":"/lastName"}]"#,
                "/0/from",
                Rule::Required,
            ),
            (
                r#"[{"op":"copy","from":7,"path":"/lastName"}]"#,
                "/0/from",
                Rule::Type,
            ),
            (
                r#"[{"op":"copy","from":"/nope","path":"/lastName"}]"#,
                "/0/from",
                Rule::Path,
            ),
            (
                r#"[{"op":"copy","from":"/emails/0","path":"/lastName"}]"#,
                "/emails/0",
                Rule::EntryId,
            ),
            (
                r#"[{"op":"copy","from":"/emails","path":"/phones"}]"#,
                "/0/from",
                Rule::Path,
            ),
            (
                r#"[{"op":"move","from":"/emails/5/value","path":"/lastName"}]"#,
                "/0/from",
                Rule::Op,
            ),
            (
                r#"[{"op":"move","from":"/phones/5/type","path":"/phones/6/type"}]"#,
                "/0/from",
                Rule::Op,
            ),
            (
                r#"[{"op":"copy","from":"/firstName","path":"/address"}]"#,
                "/0/path",
                Rule::Path,
            ),
            (
                r#"[{"op":"test","path":"/firstName"}]"#,
                "/0/value",
                Rule::Required,
            ),
            (
                r#"[{"op":"test","path":"/properties/x","value":1}]"#,
                "/0/path",
                Rule::Path,
            ),
            (
                r#"[{"op":"test","path":"/firstName","value":"V"},{"op":"remove","path":"/emails"}]"#,
                "/emails",
                Rule::RemoveCollection,
            ),
            (
                r#"[{"op":"copy","from":"/firstName","path":"/lastName"},{"op":"replace","path":"/gender","value":"x"}]"#,
                "/gender",
                Rule::Enum,
            ),
            (
                r#"[{"op":"test","path":"/firstName","value":"V"},{"op":"add","path":"/emails/7","value":{"type":"work","value":"a@b.co"}}]"#,
                "/1/op",
                Rule::Op,
            ),
        ];
        for (body, pointer, rule) in cases {
            one(PATCH, body, pointer, *rule);
        }
    }

    /// A plain add/remove/replace patch means the same whether it is decoded op by op (the fast
    /// path) or evaluated as a document against the state: the customer ends up the same.
    #[test]
    fn plain_ops_mean_the_same_as_a_document() {
        let state: Customer = serde_json::from_value(json!({
            "first_name": "Vernon", "last_name": "Bear", "gender": "male",
            "address": {"lines": ["1 Main"], "city": "Dallas"},
            "emails": [{"id": 1001, "type": "work", "value": "vernon@acme.com"},
                       {"id": 1003, "type": "home", "value": "v@home.net"}],
            "phones": [{"id": 1002, "type": "home", "value": "222-333-4444"}],
            "websites": [{"id": 7, "value": "https://acme.com"}]
        }))
        .unwrap_or_default();
        let bodies = [
            json!([{"op": "replace", "path": "/firstName", "value": "Karl"},
                   {"op": "remove", "path": "/lastName"},
                   {"op": "add", "path": "/gender", "value": "FEMALE"}]),
            json!([{"op": "replace", "path": "/address/lines", "value": []},
                   {"op": "replace", "path": "/address/city", "value": null},
                   {"op": "add", "path": "/address/country", "value": "US"}]),
            json!([{"op": "remove", "path": "/emails/1001"},
                   {"op": "add", "path": "/emails", "value": {"type": "other", "value": "n@acme.com"}},
                   {"op": "replace", "path": "/emails/1003", "value": {"value": "w@home.net"}},
                   {"op": "replace", "path": "/phones/1002/type", "value": "mobile"},
                   {"op": "replace", "path": "/websites/7/value", "value": "https://acme.io"},
                   {"op": "add", "path": "/social-profiles", "value": {"type": "forsquare", "value": "@vb"}}]),
            json!([{"op": "replace", "path": "/firstName", "value": "Vernon"},
                   {"op": "replace", "path": "/emails/1001/type", "value": "work"}]),
        ];
        for body in bodies {
            let Value::Array(items) = &body else {
                panic!("not an array")
            };
            let plain = decode(PATCH, &body.to_string()).map(|r| r.changes.changes);
            let doc = decode_patch_document(items)
                .map(|r| r.document.unwrap_or_default())
                .and_then(|d| document::evaluate(&d, &state, "work"));
            let (Ok(plain), Ok(doc)) = (plain, doc) else {
                panic!("{body}: a decode failed");
            };
            let apply = |changes: &[Change]| {
                let mut c = state.clone();
                let applied = c.apply(changes, &mut || 5000, "work").is_ok();
                (applied, c)
            };
            assert_eq!(apply(&doc), apply(&plain), "{body}");
        }
    }

    #[test]
    fn patch_document_decodes_into_document_operations() {
        let body = r#"[
          {"op":"test","path":"/gender","value":"MALE"},
          {"op":"remove","path":"/jobTitle"},
          {"op":"add","path":"/emails","value":{"type":"home","value":"a@b.co"}},
          {"op":"replace","path":"/phones/3","value":{"type":"work","value":"555"}},
          {"op":"copy","from":"/emails/1","path":"/emails"},
          {"op":"move","from":"/firstName","path":"/lastName"}
        ]"#;
        let Ok(req) = decode(PATCH, body) else {
            panic!("patch document refused");
        };
        assert!(req.changes.is_empty());
        let ops: Vec<(usize, Value)> = req
            .document
            .map(|d| d.ops)
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.index, serde_json::to_value(d.op).unwrap_or_default()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (0, json!({"op": "test", "path": "/gender", "value": "male"})),
                (
                    1,
                    json!({"op": "replace", "path": "/jobTitle", "value": null})
                ),
                (
                    2,
                    json!({"op": "add", "path": "/emails/new1", "value": {"type": "home", "value": "a@b.co"}})
                ),
                (
                    3,
                    json!({"op": "replace", "path": "/phones/3/type", "value": "work"})
                ),
                (
                    3,
                    json!({"op": "replace", "path": "/phones/3/value", "value": "555"})
                ),
                (
                    4,
                    json!({"op": "copy", "from": "/emails/1", "path": "/emails/new2"})
                ),
                (
                    5,
                    json!({"op": "move", "from": "/firstName", "path": "/lastName"})
                ),
            ]
        );
        // Without test/move/copy nothing changes: the ops decode into the change set directly.
        let plain = decode(PATCH, r#"[{"op":"remove","path":"/jobTitle"}]"#);
        assert!(plain.is_ok_and(|r| r.document.is_none() && r.changes.changes.len() == 1));
    }

    #[test]
    fn collects_every_violation_of_the_body() {
        let body = r#"[
          {"op":"replace","path":"/firstName","value":""},
          {"op":"merge","path":"/lastName"},
          {"op":"replace","path":"/nope","value":"x"},
          {"op":"remove","path":"/emails"},
          {"op":"add","path":"/emails","value":{"type":"x","value":"a@b.co"}},
          {"op":"replace","path":"/lastName","value":"ok"}
        ]"#;
        assert_eq!(
            violations(PATCH, body),
            vec![
                ("/firstName".into(), Rule::Length),
                ("/1/op".into(), Rule::Op),
                ("/2/path".into(), Rule::Path),
                ("/emails".into(), Rule::RemoveCollection),
                ("/emails".into(), Rule::Enum),
            ]
        );
        assert_eq!(
            violations(PUT, r#"{"firstName":"","gender":"x","age":1}"#),
            vec![
                ("/firstName".into(), Rule::Length),
                ("/age".into(), Rule::Type),
                ("/gender".into(), Rule::Enum),
            ]
        );
    }

    // --- check_target ------------------------------------------------------------------------

    #[test]
    fn check_target_reports_at_the_client_origin() {
        let changes = vec![
            set(Field::FirstName, json!("x".repeat(41)), "/data/firstName"),
            set(Field::LastName, Value::Null, "/data/lastName"),
            set(Field::Gender, json!("MALE"), "/gender"),
            set(Field::PhotoType, json!("myspace"), "/photoType"),
            set(Field::Organization, json!("o".repeat(61)), "/company"),
            set(Field::Notes, json!("n".repeat(201)), "/notes"),
            set(Field::ExternalId, json!("x".repeat(500)), "/userId"),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Phones,
                    kind: Some("cell".into()),
                    value: "555".into(),
                },
                "/phones/0/location",
            ),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: None,
                    value: "nope".into(),
                },
                "/data/email",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::SocialProfiles,
                    id: 3,
                    kind: Some("foursquare".into()),
                    value: None,
                },
                "/socialProfiles/0/type",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Chats,
                    id: 3,
                    kind: Some("irc".into()),
                    value: Some("x".into()),
                },
                "/chats/1/type",
            ),
            Change::new(
                Op::Primary {
                    coll: Coll::Emails,
                    value: Some("nope".into()),
                },
                "/email",
            ),
        ];
        let got: Vec<(String, Rule)> = HelpscoutV2
            .check_target(&changes)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/data/firstName".into(), Rule::Length),
                ("/photoType".into(), Rule::Enum),
                ("/company".into(), Rule::Length),
                ("/notes".into(), Rule::Length),
                ("/phones/0/location".into(), Rule::Enum),
                ("/data/email".into(), Rule::Email),
                ("/chats/1/type".into(), Rule::Enum),
            ]
        );
    }

    // --- encode_error ------------------------------------------------------------------------

    fn error_body(err: &ApiError) -> (Synthetic, Value) {
        let s = HelpscoutV2.encode_error(err);
        let mut body = s.json_body().unwrap_or(Value::Null);
        let log_ref = body["logRef"].as_str().unwrap_or_default().to_string();
        assert!(uuid::Uuid::parse_str(&log_ref).is_ok(), "logRef {log_ref}");
        assert_ne!(
            log_ref,
            HelpscoutV2
                .encode_error(err)
                .json_body()
                .unwrap_or_default()["logRef"]
                .as_str()
                .unwrap_or_default()
        );
        body["logRef"] = json!("<uuid>");
        (s, body)
    }

    #[test]
    fn encode_error_validation_shape() {
        let err = ApiError::invalid(vec![
            Violation::new(
                "/emails/0/location",
                Rule::Enum,
                "Expected one of these: 'work'",
            )
            .with_value(json!("mobile")),
            Violation::new("id", Rule::CustomerId, "bad id"),
        ]);
        let (s, body) = error_body(&err);
        assert_eq!(s.status, 400);
        assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
        assert_eq!(
            body,
            json!({
                "logRef": "<uuid>",
                "message": "Bad request",
                "_embedded": {"errors": [
                    {"path": "emails/0/location", "message": "Expected one of these: 'work'",
                     "source": "JSON", "rejectedValue": "mobile"},
                    {"path": "id", "message": "bad id", "source": "JSON"}
                ]},
                "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}}
            })
        );
    }

    #[test]
    fn encode_error_json_root_and_unmappable() {
        let err = rules::parse_json(b"[{")
            .err()
            .unwrap_or_else(|| ApiError::invalid(vec![]));
        let (_, body) = error_body(&err);
        assert_eq!(body["message"], "Error parsing request body into JSON");
        assert_eq!(body["_embedded"]["errors"][0]["path"], "body");
        let err =
            ApiError::unmappable(vec![Violation::new("/chats", Rule::Unmappable, "no place")]);
        let (s, body) = error_body(&err);
        assert_eq!((s.status, &body["message"]), (400, &json!("Bad request")));
        assert_eq!(body["_embedded"]["errors"][0]["path"], "chats");
    }

    #[test]
    fn encode_error_non_validation_and_429() {
        let (s, body) = error_body(&ApiError::new(ErrorKind::NotFound, "Customer not found"));
        assert_eq!(s.status, 404);
        assert_eq!(
            body,
            json!({
                "logRef": "<uuid>",
                "message": "Customer not found",
                "_embedded": {"errors": []},
                "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}}
            })
        );
        let limited = ApiError::new(ErrorKind::RateLimited, "API rate limit exceeded")
            .with_retry_after(Some(17));
        let (s, body) = error_body(&limited);
        assert_eq!(s.status, 429);
        assert_eq!(s.header("X-RateLimit-Retry-After"), Some("17"));
        assert_eq!(body["message"], "API rate limit exceeded");
        let (s, _) = error_body(&ApiError::new(ErrorKind::GatewayTimeout, "Gateway timeout"));
        assert_eq!((s.status, s.header("X-RateLimit-Retry-After")), (504, None));
    }

    // --- encode_success ----------------------------------------------------------------------

    fn answer_cx(upstream: DialectId) -> AnswerCx<'static> {
        AnswerCx {
            customer_id: "500",
            default_entry_type: "work",
            upstream,
            reload: false,
            created: None,
            location_base: "",
        }
    }

    #[test]
    fn writes_answer_204_empty() {
        for kind in [PATCH, PUT, EndpointKind::Properties] {
            let s = HelpscoutV2.encode_success(&ep(kind), None, &answer_cx(DialectId::HelpscoutV2));
            assert_eq!((s.status, s.body.len()), (204, 0));
            let req = ClientRequest::default();
            assert!(!HelpscoutV2.answer_needs_customer(&ep(kind), &req));
        }
        assert!(
            HelpscoutV2.answer_needs_customer(&ep(EndpointKind::Get), &ClientRequest::default())
        );
    }

    #[test]
    fn get_answer_is_hal_like_the_vendor() {
        let customer: Customer = serde_json::from_value(json!({
            "first_name": "Vernon", "last_name": "Bear", "gender": "male", "age": null,
            "organization": "Acme, Inc", "notes": "", "photo_type": "twitter",
            "address": {"lines": ["1 Main"], "city": "Prague", "postal_code": "11000"},
            "emails": [{"id": 1, "type": "home", "value": "bear@acme.com"}],
            "phones": [{"id": 1, "value": "555"}],
            "chats": [{"id": 5, "type": "aim", "value": "54831172"}],
            "social_profiles": [{"id": 4, "type": "foursquare", "value": "@me"}],
            "websites": [{"id": 3, "value": "http://home.com"}],
            "properties": {"car": "Tesla", "seats": 5},
            "external_id": "ext-1",
            "meta": {"id": "abc", "record_created_at": "2012-07-23T12:34:12Z",
                     "record_updated_at": "1700000000"}
        }))
        .unwrap_or_default();
        let s = HelpscoutV2.encode_success(
            &ep(EndpointKind::Get),
            Some(&customer),
            &answer_cx(DialectId::Helpcrunch),
        );
        assert_eq!(s.status, 200);
        assert_eq!(s.header("Content-Type"), Some("application/hal+json"));
        let h = |k: &str| json!({"href": format!("/v2/customers/500/{k}/")});
        assert_eq!(
            s.json_body(),
            Some(json!({
                "id": 500,
                "firstName": "Vernon",
                "lastName": "Bear",
                "gender": "Male",
                "organization": "Acme, Inc",
                "photoType": "twitter",
                "createdAt": "2012-07-23T12:34:12Z",
                // HelpCrunch-style UNIX seconds, rendered in Help Scout's format.
                "updatedAt": "2023-11-14T22:13:20Z",
                "background": "",
                "_embedded": {
                    "emails": [{"id": 1, "value": "bear@acme.com", "type": "home"}],
                    "phones": [{"id": 1, "value": "555", "type": "work"}],
                    "chats": [{"id": 5, "value": "54831172", "type": "aim"}],
                    "social_profiles": [{"id": 4, "value": "@me", "type": "forsquare"}],
                    "websites": [{"id": 3, "value": "http://home.com"}],
                    "properties": [{"slug": "car", "value": "Tesla"}, {"slug": "seats", "value": 5}],
                    "address": {"lines": ["1 Main"], "city": "Prague", "postalCode": "11000"}
                },
                "_links": {
                    "address": h("address"), "chats": h("chats"), "emails": h("emails"),
                    "phones": h("phones"), "self": {"href": "/v2/customers/500"},
                    "social-profiles": h("social-profiles"), "websites": h("websites")
                }
            }))
        );
        // Key order follows the vendor's documents.
        let text = String::from_utf8_lossy(&s.body).into_owned();
        let pos = |k: &str| text.find(k).unwrap_or(usize::MAX);
        assert!(pos("\"id\"") < pos("firstName") && pos("firstName") < pos("_embedded"));
    }

    #[test]
    fn get_answer_for_an_empty_customer() {
        let s = HelpscoutV2.encode_success(
            &ep(EndpointKind::Get),
            Some(&Customer::default()),
            &answer_cx(DialectId::Reach),
        );
        let body = s.json_body().unwrap_or_default();
        assert_eq!(body["id"], 500);
        assert_eq!(body["_embedded"]["emails"], json!([]));
        assert!(body["_embedded"].get("address").is_none());
        assert!(body.get("firstName").is_none());
    }

    #[test]
    fn single_slot_default_type_falls_back_to_other_where_not_allowed() {
        let customer: Customer = serde_json::from_value(json!({
            "emails": [{"id": 1, "value": "a@b.co"}],
            "chats": [{"id": 2, "value": "handle"}]
        }))
        .unwrap_or_default();
        let cx = AnswerCx {
            customer_id: "9",
            default_entry_type: "mobile",
            upstream: DialectId::Reach,
            reload: false,
            created: None,
            location_base: "",
        };
        let body = HelpscoutV2
            .encode_success(&ep(EndpointKind::Get), Some(&customer), &cx)
            .json_body()
            .unwrap_or_default();
        assert_eq!(body["_embedded"]["emails"][0]["type"], "other");
        assert_eq!(body["_embedded"]["chats"][0]["type"], "other");
    }

    // --- decode_customer ---------------------------------------------------------------------

    const DOCS_GET: &str = r#"{
      "id" : 500, "firstName" : "Vernon", "lastName" : "Bear", "gender" : "Male",
      "jobTitle" : "CEO and Co-Founder", "location" : "Greater Dallas/FT Worth Area",
      "organization" : "Acme, Inc", "organizationId" : 35, "photoType" : "twitter",
      "photoUrl" : "http://twitter.com/img/some-avatar.jpg", "age" : "30-35",
      "createdAt" : "2012-07-23T12:34:12Z", "updatedAt" : "2012-07-24T20:18:33Z",
      "background" : "I've worked with Vernon before and he's really great.", "draft" : false,
      "_embedded" : {
        "emails" : [ { "id" : 1, "value" : "bear@acme.com", "type" : "home" } ],
        "phones" : [ { "id" : 2, "value" : "123-123-123", "type" : "home" } ],
        "chats" : [ { "id" : 5, "value" : "54831172", "type" : "aim" } ],
        "social_profiles" : [ { "id" : 4, "value" : "@me", "type" : "twitter" } ],
        "websites" : [ { "id" : 3, "value" : "http://home.com" } ],
        "properties" : [ { "type" : "text", "slug" : "car", "name" : "Car", "value" : "Tesla",
                           "text" : "Tesla", "source" : { "name" : "api" } } ],
        "address" : { "city" : "Prague", "lines" : [ ] }
      },
      "_links" : { "self" : { "href" : "..." } }
    }"#;

    const REAL_GET: &str = r#"{"id":123456,"firstName":"Andre","lastName":"Leblanc","gender":"Male","jobTitle":"Software Engineer","location":"Clearwater, FL 33756, United States","organization":"TaxJar","photoType":"gravatar","photoUrl":"https://secure.gravatar.com/avatar/8319f019fc608e7b550ce4852077b396","createdAt":"2017-11-06T02:55:50Z","updatedAt":"2019-06-02T13:47:21Z","background":"","_embedded":{"emails":[{"id":199681969,"value":"andre@example.com","type":"work"}],"websites":[{"id":233272925,"value":"http://BruiserConversions.com"},{"id":217623410,"value":"http://www.blancblog.co"}],"chats":[],"phones":[],"social_profiles":[{"id":290382267,"value":"https://www.flickr.com/people/33510707@N02","type":"flickr"},{"id":217623409,"value":"https://twitter.com/BruiserCustoms","type":"twitter"},{"id":217623408,"value":"https://www.linkedin.com/in/andremleblanc","type":"linkedin"}]},"_links":{"self":{"href":"https://api.helpscout.net/v2/customers/123456"}}}"#;

    #[test]
    fn decodes_docs_get_body() {
        let c = HelpscoutV2.decode_customer(DOCS_GET.as_bytes());
        let Some(c) = c else {
            panic!("no customer");
        };
        let expected: Customer = serde_json::from_value(json!({
            "first_name": "Vernon", "last_name": "Bear", "organization": "Acme, Inc",
            "job_title": "CEO and Co-Founder",
            "notes": "I've worked with Vernon before and he's really great.",
            "photo_url": "http://twitter.com/img/some-avatar.jpg", "photo_type": "twitter",
            "gender": "male", "age": "30-35", "location": "Greater Dallas/FT Worth Area",
            "address": {"city": "Prague"},
            "emails": [{"id": 1, "type": "home", "value": "bear@acme.com"}],
            "phones": [{"id": 2, "type": "home", "value": "123-123-123"}],
            "chats": [{"id": 5, "type": "aim", "value": "54831172"}],
            "social_profiles": [{"id": 4, "type": "twitter", "value": "@me"}],
            "websites": [{"id": 3, "value": "http://home.com"}],
            "properties": {"car": "Tesla"},
            "meta": {"id": 500, "record_created_at": "2012-07-23T12:34:12Z",
                     "record_updated_at": "2012-07-24T20:18:33Z"}
        }))
        .unwrap_or_default();
        assert_eq!(c, expected);
    }

    #[test]
    fn decodes_real_recorded_get_body() {
        let Some(c) = HelpscoutV2.decode_customer(REAL_GET.as_bytes()) else {
            panic!("no customer");
        };
        assert_eq!(c.first_name.as_deref(), Some("Andre"));
        assert_eq!(c.gender.as_deref(), Some("male"));
        assert_eq!(c.notes.as_deref(), Some(""));
        assert_eq!(c.age, None);
        assert_eq!(c.address, None);
        assert_eq!(c.emails.len(), 1);
        assert_eq!(c.emails[0].id, 199681969);
        assert_eq!(c.websites[1].value, "http://www.blancblog.co");
        assert_eq!(c.websites[1].kind, None);
        assert!(c.chats.is_empty() && c.phones.is_empty());
        assert_eq!(
            c.social_profiles
                .iter()
                .map(|e| e.kind.as_deref().unwrap_or_default())
                .collect::<Vec<_>>(),
            ["flickr", "twitter", "linkedin"]
        );
        assert_eq!(c.meta.id, Some(json!(123456)));
        assert!(c.properties.is_empty());
    }

    #[test]
    fn decode_customer_round_trips_its_own_get_answer() {
        let Some(c) = HelpscoutV2.decode_customer(DOCS_GET.as_bytes()) else {
            panic!("no customer");
        };
        let s = HelpscoutV2.encode_success(
            &ep(EndpointKind::Get),
            Some(&c),
            &answer_cx(DialectId::HelpscoutV2),
        );
        assert_eq!(HelpscoutV2.decode_customer(&s.body), Some(c));
        let forsquare =
            r#"{"_embedded":{"social_profiles":[{"id":1,"value":"x","type":"forsquare"}]}}"#;
        let c = HelpscoutV2
            .decode_customer(forsquare.as_bytes())
            .unwrap_or_default();
        assert_eq!(c.social_profiles[0].kind.as_deref(), Some("foursquare"));
    }

    #[test]
    fn decode_customer_needs_a_json_object() {
        assert_eq!(HelpscoutV2.decode_customer(b""), None);
        assert_eq!(HelpscoutV2.decode_customer(b"[]"), None);
        assert_eq!(HelpscoutV2.decode_customer(b"<html>"), None);
    }

    // --- decode_error ------------------------------------------------------------------------

    #[test]
    fn decodes_documented_vnd_error() {
        let body = r#"{
          "logRef": "64bb72b4-0a92-11e8-ba89-0ed5f89f718b", "message": "Bad request",
          "_embedded": { "errors": [
            { "path": "subject", "message": "may not be empty", "source": "JSON",
              "_links": { "about": { "href": "http://developer.helpscout.net/mailbox-api/overview/errors#NotEmpty" } } },
            { "path": "status", "message": "Expected one of these: 'active', 'spam', 'open', 'closed', 'pending'",
              "rejectedValue": "Wrong", "source": "JSON",
              "_links": { "about": { "href": "http://developer.helpscout.net/mailbox-api/overview/errors#EnumValue" } } }
          ] },
          "_links": { "about": { "href": "http://developer.helpscout.net/mailbox-api/overview/errors" } }
        }"#;
        let e = HelpscoutV2.decode_error(400, body.as_bytes());
        assert_eq!(
            (e.kind, e.status, e.message.as_str()),
            (ErrorKind::Invalid, 400, "Bad request")
        );
        assert_eq!(
            e.violations,
            vec![
                Violation::new("/subject", Rule::Upstream, "may not be empty"),
                Violation::new(
                    "/status",
                    Rule::Upstream,
                    "Expected one of these: 'active', 'spam', 'open', 'closed', 'pending'"
                )
                .with_value(json!("Wrong")),
            ]
        );
    }

    #[test]
    fn decodes_real_and_sdk_error_bodies() {
        let real = r#"{"logRef": "a6ee3949-ec16-4b39-92bc-3600adc3f671#178323051",
          "message": "Error parsing request body into JSON", "_embedded": {"errors": []},
          "_links": {"self": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors#invalid-json"}}}"#;
        let e = HelpscoutV2.decode_error(400, real.as_bytes());
        assert_eq!(e.message, "Error parsing request body into JSON");
        assert!(e.violations.is_empty());
        let sdk = r#"{"logRef":"cb73aad3-9a81-44fd-bf70-48250ea256ff#12","message":"Validation error","_embedded":{"errors":[{"path":"country","message":"may not be empty","links":[{"rel":"about","href":"http://developer.helpscout.net/help-desk-api-v2/errors#1"}]}]},"links":[{"rel":"about","href":"http://developer.helpscout.net/help-desk-api-v2/errors"}]}"#;
        let e = HelpscoutV2.decode_error(400, sdk.as_bytes());
        assert_eq!(e.violations[0].pointer, "/country");
        assert_eq!(
            HelpscoutV2.locate(&e.violations[0].pointer),
            Some(Target::Field(Field::AddressCountry))
        );
        let e = HelpscoutV2.decode_error(429, br#"{"message": "API rate limit exceeded"}"#);
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::RateLimited, "API rate limit exceeded")
        );
        let token = r#"{"error_description":"Invalid refresh_token","error":"invalid_request"}"#;
        let e = HelpscoutV2.decode_error(400, token.as_bytes());
        assert_eq!(e.message, "Invalid refresh_token");
    }

    #[test]
    fn decode_error_copes_with_non_json_bodies() {
        for (status, body) in [
            (502, &b"<html>Bad Gateway</html>"[..]),
            (500, b""),
            (404, b"\xff\xfe"),
        ] {
            let e = HelpscoutV2.decode_error(status, body);
            assert_eq!(e.status, status);
            assert!(e.violations.is_empty());
            assert!(!e.message.contains("html"));
        }
        assert_eq!(HelpscoutV2.decode_error(404, b"").kind, ErrorKind::NotFound);
    }

    // --- locate / pointer_for ----------------------------------------------------------------

    #[test]
    fn locate_maps_vendor_paths() {
        let l = |p| HelpscoutV2.locate(p);
        assert_eq!(l("/firstName"), Some(Target::Field(Field::FirstName)));
        assert_eq!(l("background"), Some(Target::Field(Field::Notes)));
        assert_eq!(l("/address/city"), Some(Target::Field(Field::AddressCity)));
        assert_eq!(
            l("address.postalCode"),
            Some(Target::Field(Field::AddressPostalCode))
        );
        assert_eq!(l("/emails"), Some(Target::Coll(Coll::Emails, None)));
        assert_eq!(l("/emails/7"), Some(Target::Coll(Coll::Emails, Some(7))));
        assert_eq!(
            l("/emails/7/value"),
            Some(Target::Coll(Coll::Emails, Some(7)))
        );
        assert_eq!(
            l("social-profiles/3/type"),
            Some(Target::Coll(Coll::SocialProfiles, Some(3)))
        );
        assert_eq!(
            l("socialProfiles"),
            Some(Target::Coll(Coll::SocialProfiles, None))
        );
        assert_eq!(l("/properties/car"), Some(Target::Property("car".into())));
        assert_eq!(l("/subject"), None);
        assert_eq!(l("/firstName/x"), None);
        assert_eq!(l(""), None);
    }

    #[test]
    fn pointer_for_and_locate_agree() {
        let mut targets: Vec<Target> = Field::ALL.into_iter().map(Target::Field).collect();
        for c in Coll::ALL {
            targets.push(Target::Coll(c, None));
            targets.push(Target::Coll(c, Some(42)));
        }
        for t in targets {
            let p = HelpscoutV2.pointer_for(&t);
            assert_eq!(HelpscoutV2.locate(&p), Some(t.clone()), "{p}");
        }
        assert_eq!(
            HelpscoutV2.pointer_for(&Target::Field(Field::Notes)),
            "/background"
        );
        assert_eq!(
            HelpscoutV2.pointer_for(&Target::Field(Field::Blocked)),
            "/blocked"
        );
        assert_eq!(
            HelpscoutV2.pointer_for(&Target::Coll(Coll::SocialProfiles, Some(7))),
            "/social-profiles/7"
        );
        assert_eq!(
            HelpscoutV2.pointer_for(&Target::Property("a/b".into())),
            "/a~1b"
        );
    }

    // --- encode_update / encode_get ----------------------------------------------------------

    #[test]
    fn encode_update_customer_then_properties() {
        let changes = vec![
            set(Field::FirstName, json!("Vernon"), "/name"),
            set(Field::JobTitle, Value::Null, "/jobTitle"),
            set(Field::AddressLines, json!(["1 Main"]), "/address/lines"),
            set(Field::AddressCountry, json!("US"), "/countryCode"),
            Change::new(
                Op::PropertySet {
                    slug: "car".into(),
                    value: json!("Tesla"),
                },
                "/customData/0",
            ),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::SocialProfiles,
                    kind: Some("foursquare".into()),
                    value: "@me".into(),
                },
                "/socialProfiles/0",
            ),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Websites,
                    kind: None,
                    value: "http://x.io".into(),
                },
                "/w",
            ),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: None,
                    value: "a@b.co".into(),
                },
                "/email",
            ),
            Change::new(
                Op::EntryRemove {
                    coll: Coll::Emails,
                    id: 7,
                },
                "/emails/0",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Phones,
                    id: 8,
                    kind: Some("home".into()),
                    value: Some("555".into()),
                },
                "/phones/0",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Chats,
                    id: 9,
                    kind: None,
                    value: Some("h".into()),
                },
                "/chats/0",
            ),
            Change::new(
                Op::EntryUpdate {
                    coll: Coll::Chats,
                    id: 10,
                    kind: Some("aim".into()),
                    value: None,
                },
                "/chats/1",
            ),
            Change::new(
                Op::PropertyRemove {
                    slug: "revenue".into(),
                },
                "/customData/1",
            ),
        ];
        let cx = EncodeCx {
            want_customer: false,
            passthrough_headers: vec![("x-trace".into(), "1".into())],
        };
        let Ok(reqs) = HelpscoutV2.encode_update("100", &changes, &cx) else {
            panic!("encode failed");
        };
        assert_eq!(reqs.len(), 2);
        assert_eq!(
            (reqs[0].method, reqs[0].path.as_str()),
            ("PATCH", "/v2/customers/100")
        );
        assert_eq!(
            reqs[0].headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("x-trace".to_string(), "1".to_string())
            ]
        );
        assert_eq!(
            body_json(&reqs[0]),
            json!([
                {"op": "replace", "path": "/firstName", "value": "Vernon"},
                {"op": "remove", "path": "/jobTitle"},
                {"op": "replace", "path": "/address/lines", "value": ["1 Main"]},
                {"op": "replace", "path": "/address/country", "value": "US"},
                {"op": "add", "path": "/social-profiles", "value": {"type": "forsquare", "value": "@me"}},
                {"op": "add", "path": "/websites", "value": {"value": "http://x.io"}},
                {"op": "add", "path": "/emails", "value": {"type": "work", "value": "a@b.co"}},
                {"op": "remove", "path": "/emails/7"},
                {"op": "replace", "path": "/phones/8", "value": {"type": "home", "value": "555"}},
                {"op": "replace", "path": "/chats/9/value", "value": "h"},
                {"op": "replace", "path": "/chats/10/type", "value": "aim"}
            ])
        );
        assert_eq!(
            (reqs[1].method, reqs[1].path.as_str()),
            ("PATCH", "/v2/customers/100/properties")
        );
        assert_eq!(
            body_json(&reqs[1]),
            json!([
                {"op": "replace", "path": "/car", "value": "Tesla"},
                {"op": "remove", "path": "/revenue"}
            ])
        );
    }

    #[test]
    fn encode_update_edge_cases() {
        let cx = EncodeCx::default();
        assert_eq!(HelpscoutV2.encode_update("1", &[], &cx), Ok(vec![]));
        let props = [Change::new(Op::PropertyRemove { slug: "a/b".into() }, "/x")];
        let reqs = HelpscoutV2
            .encode_update("1", &props, &cx)
            .unwrap_or_default();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].path, "/v2/customers/1/properties");
        assert_eq!(
            body_json(&reqs[0]),
            json!([{"op": "remove", "path": "/a~1b"}])
        );
        // An id from another dialect (reach external ids) stays one path segment.
        let names = [set(Field::FirstName, json!("K"), "/data/firstName")];
        let reqs = HelpscoutV2
            .encode_update("a b/c", &names, &cx)
            .unwrap_or_default();
        assert_eq!(reqs[0].path, "/v2/customers/a%20b%2Fc");
        // Ops v2 cannot hold are refused loudly, never dropped.
        for op in [
            Op::Set {
                field: Field::Blocked,
                value: json!(true),
            },
            Op::Primary {
                coll: Coll::Emails,
                value: None,
            },
        ] {
            let e = HelpscoutV2
                .encode_update("1", &[Change::new(op, "/blocked")], &cx)
                .err();
            assert_eq!(
                e.map(|e| (e.kind, e.violations[0].pointer.clone())),
                Some((ErrorKind::Unmappable, "/blocked".to_string()))
            );
        }
    }

    #[test]
    fn encode_get_reads_the_customer() {
        let r = HelpscoutV2.encode_get("100", &EncodeCx::default());
        assert_eq!(
            (r.method, r.path.as_str(), r.body.is_none()),
            ("GET", "/v2/customers/100", true)
        );
    }

    #[test]
    fn decode_then_encode_is_the_identity_for_patch_bodies() {
        let body = json!([
            {"op": "replace", "path": "/firstName", "value": "Vernon"},
            {"op": "remove", "path": "/age"},
            {"op": "replace", "path": "/address/city", "value": "Dallas"},
            {"op": "add", "path": "/emails", "value": {"type": "other", "value": "bear@acme.com"}},
            {"op": "remove", "path": "/emails/1001"},
            {"op": "replace", "path": "/chats/1002/value", "value": "aim"},
            {"op": "replace", "path": "/phones/3", "value": {"type": "work", "value": "555"}}
        ]);
        let changes = changes(PATCH, &body.to_string());
        let reqs = HelpscoutV2
            .encode_update("100", &changes, &EncodeCx::default())
            .unwrap_or_default();
        assert_eq!(body_json(&reqs[0]), body);
    }

    #[test]
    fn capabilities() {
        assert!(HelpscoutV2.holds(Field::Notes) && HelpscoutV2.holds(Field::AddressLines));
        assert!(!HelpscoutV2.holds(Field::ExternalId) && !HelpscoutV2.holds(Field::Tags));
        assert!(Coll::ALL.iter().all(|c| HelpscoutV2.holds_coll(*c)));
        assert!(HelpscoutV2.has_properties() && !HelpscoutV2.single_slot());
        assert_eq!(HelpscoutV2.id(), DialectId::HelpscoutV2);
    }

    // --- fixture inputs ----------------------------------------------------------------------

    /// The golden-fixture inputs must say what their names say: `neg-*` cases fail in this codec
    /// (route or decode; a `content_type` case is the proxy's 415), the others decode, and every
    /// `state.json` is a canonical customer.
    #[test]
    fn fixture_inputs_match_their_names() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helpscout-v2");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            panic!("no fixture directory {}", dir.display());
        };
        let mut seen = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let case_dir = entry.path();
            let read = |f: &str| std::fs::read(case_dir.join(f));
            let case: toml::Table = read("case.toml")
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{name}: bad case.toml"));
            let field = |k: &str| {
                case.get(k)
                    .and_then(toml::Value::as_str)
                    .unwrap_or_default()
            };
            assert!(!field("description").is_empty(), "{name}: description");
            let body = read("request.json").unwrap_or_else(|_| panic!("{name}: request.json"));
            if let Ok(state) = read("state.json") {
                let parsed: Result<Customer, _> = serde_json::from_slice(&state);
                assert!(parsed.is_ok(), "{name}: state.json {parsed:?}");
            }
            let outcome = HelpscoutV2
                .route(field("method"), field("path"))
                .and_then(|ep| {
                    if ep.is_write() {
                        HelpscoutV2
                            .decode_request(&ep, case.get("query").and_then(|q| q.as_str()), &body)
                            .map(|_| ())
                    } else {
                        Ok(())
                    }
                });
            let negative = name.starts_with("neg-");
            if negative && case.contains_key("content_type") {
                assert!(outcome.is_ok(), "{name}: only the media type is wrong");
            } else {
                assert_eq!(outcome.is_err(), negative, "{name}: {outcome:?}");
            }
            seen += 1;
        }
        assert!(seen >= 25, "only {seen} fixture cases");
    }

    #[test]
    fn fast_and_precise_decoders_agree() {
        let bodies = [
            r#"[]"#,
            r#"[{"op":"replace","path":"/firstName","value":"Karl"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":null,"extra":1}]"#,
            r#"[{"op":"replace","path":"/firstName"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":""}]"#,
            r#"[{"op":"replace","path":"/firstName","value":5}]"#,
            r#"[{"op":"replace","path":"/gender","value":"MALE"}]"#,
            r#"[{"op":"remove","path":"/age","value":"ignored"}]"#,
            r#"[{"op":"replace","path":"/address/lines","value":["a","b"]}]"#,
            r#"[{"op":"replace","path":"/address/lines","value":["a",1]}]"#,
            r#"[{"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}]"#,
            r#"[{"op":"add","path":"/emails","value":{"type":"x","value":"bear@acme"}}]"#,
            r#"[{"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"@me"}}]"#,
            r#"[{"op":"remove","path":"/emails"}]"#,
            r#"[{"op":"replace","path":"/emails","value":{}}]"#,
            r#"[{"op":"remove","path":"/emails/0"}]"#,
            r#"[{"op":"remove","path":"/emails/1001"}]"#,
            r#"[{"op":"replace","path":"/chats/1002/value","value":"aim"}]"#,
            r#"[{"op":"replace","path":"/phones/3/type","value":"cell"}]"#,
            r#"[{"op":"replace","path":"/websites/3/type","value":"x"}]"#,
            r#"[{"op":"replace","path":"/f\u0069rstName","value":"esc\"aped"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":"x"},{"op":"remove","path":"/nope"}]"#,
            r#"[{"op":"move","path":"/firstName"}]"#,
            r#"[{"op":"replace","path":"/firstName","path":"/lastName","value":"dup"}]"#,
        ];
        for body in bodies {
            let precise = rules::parse_json(body.as_bytes()).and_then(|d| decode_patch(&d));
            match decode_fast(body.as_bytes(), false) {
                Some(fast) => assert_eq!(fast, precise, "{body}"),
                None => assert!(
                    body.contains("move")
                        || body.contains("\"path\":\"/lastName\"")
                        || body.contains("\"extra\""),
                    "fast path refused {body}"
                ),
            }
        }
        let props = [
            r#"[{"op":"replace","path":"/car","value":"Tesla"},{"op":"remove","path":"/revenue"}]"#,
            r#"[{"op":"replace","path":"/car","value":null}]"#,
            r#"[{"op":"replace","path":"/car"}]"#,
            r#"[{"op":"replace","path":"/car","value":[1]}]"#,
            r#"[{"op":"replace","path":"car","value":1}]"#,
            r#"[{"op":"replace","path":"/a~1b~0c","value":true}]"#,
        ];
        for body in props {
            let precise = rules::parse_json(body.as_bytes()).and_then(|d| decode_properties(&d));
            assert_eq!(decode_fast(body.as_bytes(), true), Some(precise), "{body}");
        }
    }

    /// The fast path skips the separate duplicate-key pass: a body it accepts must have no
    /// repeated key, so every body decodes exactly as the duplicate-key check followed by the
    /// precise decoder.
    #[test]
    fn repeated_keys_anywhere_give_the_duplicate_error() {
        let bodies = [
            r#"[{"op":"replace","op":"replace","path":"/firstName","value":"a"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":"a","value":"b"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":"a","x":1,"x":2}]"#,
            r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@b.c","value":"d@e.f"}}]"#,
            r#"[{"op":"replace","path":"/address/lines","value":[{"k":1,"k":2}]}]"#,
            r#"[{"op":"replace","path":"/firstName","value":"a"},{"op":"remove","path":"/age","path":"/age"}]"#,
            r#"[{"op":"replace","path":"/firstName","value":"a","extra":{"y":1}}]"#,
            r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@b.c"}}]"#,
        ];
        for (i, body) in bodies.iter().enumerate() {
            let b = body.as_bytes();
            let reference = rules::reject_duplicate_keys(b)
                .and_then(|()| rules::parse_json(b))
                .and_then(|d| decode_patch(&d));
            let got =
                HelpscoutV2.decode_request(&ep(EndpointKind::Update { full: false }), None, b);
            assert_eq!(got, reference, "{body}");
            assert_eq!(got.is_err(), i < 6, "{body}: {got:?}");
        }
        let props = r#"[{"op":"replace","path":"/car","value":{"a":1,"a":2}}]"#.as_bytes();
        let reference = rules::reject_duplicate_keys(props)
            .and_then(|()| rules::parse_json(props))
            .and_then(|d| decode_properties(&d));
        assert_eq!(
            HelpscoutV2.decode_request(&ep(EndpointKind::Properties), None, props),
            reference
        );
        assert!(reference.is_err());
    }
}
