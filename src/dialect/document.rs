//! The customer document: the canonical [`Customer`] as one JSON document whose JSON pointers
//! are the helpscout-v2 PATCH paths, and RFC 6902 evaluation against it (SPEC §3).
//!
//! A helpscout-v2 PATCH that contains `test`, `move` or `copy` cannot be translated op by op:
//! `test` compares against the current customer, `move` and `copy` read from it. Such a request
//! is decoded into [`PatchDocument`] (RFC 6902 operations on this document, built by
//! `helpscout_v2`), and [`evaluate`] runs it with the `json-patch` crate against the document of
//! the customer the upstream holds. The change set is the **difference** between the document
//! before and after, so everything downstream (resolve, target rules, encoders, the sandbox's
//! `Customer::apply`) sees ordinary changes. Requests with only add/remove/replace never come
//! here: they keep the stateless fast path.
//!
//! Layout (docs/dialects.md, "helpscout-v2 patch documents"):
//!
//! ```json
//! {"firstName": "Vernon", "lastName": null, …, "gender": "male",
//!  "address": {"lines": null, "city": "Dallas", "state": null, "postalCode": null, "country": null},
//!  "emails": {"1001": {"type": "work", "value": "vernon@acme.com"}},
//!  "phones": {}, "chats": {}, "social-profiles": {}, "websites": {"7": {"value": "https://…"}}}
//! ```
//!
//! - Every scalar member is always present (`null` when unset), so `replace` and `test` on an
//!   unset field work as a Help Scout client expects; a member a `move` took away is put back as
//!   `null` after each operation (Help Scout's `remove /field` clears, it never deletes the key).
//! - Collections are objects keyed by entry id, because Help Scout addresses entries by id, never
//!   by index. A single-slot upstream's entry is id `1` with the route's default type.
//! - Help Scout's `add /emails {entry}` (append) becomes an RFC `add` of a fresh key
//!   ([`fresh_key`], never a number, so no client path can name it); the difference turns fresh
//!   keys into `EntryAdd`s, and the upstream assigns the id.
//! - Values are canonical: gender lower case, the social type `foursquare`.
//! - Custom properties are not in the document: they have their own endpoint, whose ops are
//!   `replace`/`remove` only.

use crate::canonical::{
    ApiError, Change, Coll, Customer, Entry, EntryUpdate, ErrorKind, Field, Op, Rule, Violation,
};
use crate::dialect::UpstreamSide;
use json_patch::jsonptr::PointerBuf;
use json_patch::{PatchErrorKind, PatchOperation};
use serde::Serialize;
use serde_json::{Map, Value};

/// The scalar members and their pointers (= helpscout-v2 PATCH paths), top-level ones first.
pub const FIELDS: [(&str, Field); 15] = [
    ("/firstName", Field::FirstName),
    ("/lastName", Field::LastName),
    ("/photoUrl", Field::PhotoUrl),
    ("/photoType", Field::PhotoType),
    ("/jobTitle", Field::JobTitle),
    ("/location", Field::Location),
    ("/background", Field::Notes),
    ("/age", Field::Age),
    ("/gender", Field::Gender),
    ("/organization", Field::Organization),
    ("/address/lines", Field::AddressLines),
    ("/address/city", Field::AddressCity),
    ("/address/state", Field::AddressState),
    ("/address/postalCode", Field::AddressPostalCode),
    ("/address/country", Field::AddressCountry),
];

/// How many of [`FIELDS`] are top-level members (the rest live under `/address`).
const TOP_LEVEL: usize = 10;

/// The member of a collection (helpscout-v2 path segment).
pub fn coll_key(coll: Coll) -> &'static str {
    match coll {
        Coll::Emails => "emails",
        Coll::Phones => "phones",
        Coll::Chats => "chats",
        Coll::SocialProfiles => "social-profiles",
        Coll::Websites => "websites",
    }
}

/// The pointer of a scalar field, when the document holds it.
pub fn field_pointer(field: Field) -> Option<&'static str> {
    FIELDS.iter().find(|(_, f)| *f == field).map(|(p, _)| *p)
}

/// The key of the `n`-th entry a patch appends. Not a number, so it never collides with an
/// entry id and no client path (ids are positive integers) can address it.
pub fn fresh_key(n: usize) -> String {
    format!("new{n}")
}

/// The number of a fresh key (`new3` → 3): the order in which the client appended.
fn fresh_number(key: &str) -> Option<usize> {
    key.strip_prefix("new")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
}

fn is_fresh(key: &str) -> bool {
    fresh_number(key).is_some()
}

/// One RFC 6902 operation and the index of the client's patch element it came from (one
/// element may give two operations: an entry replace with both type and value).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DocOp {
    /// Index of the element in the client's patch array (errors name `/{index}/…`).
    pub index: usize,
    /// The operation, with pointers into the customer document.
    pub op: PatchOperation,
}

/// A helpscout-v2 PATCH that needs RFC 6902 evaluation against the customer's state.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PatchDocument {
    /// The operations, in the client's order.
    pub ops: Vec<DocOp>,
}

/// Parses a pointer the v2 path grammar already accepted (or that this module built).
pub fn pointer(s: &str) -> Result<PointerBuf, Violation> {
    PointerBuf::parse(s).map_err(|_| {
        Violation::new(s, Rule::Path, "Not a JSON pointer").with_value(Value::String(s.into()))
    })
}

fn entry_value(entry: &Entry, typed: bool, default_kind: Option<&str>) -> Value {
    let mut e = Map::with_capacity(2);
    match (entry.kind.as_deref(), typed) {
        (Some(k), _) => {
            e.insert("type".into(), Value::String(k.to_string()));
        }
        (None, true) => {
            e.insert(
                "type".into(),
                default_kind.map_or(Value::Null, |k| Value::String(k.to_string())),
            );
        }
        (None, false) => {}
    }
    e.insert("value".into(), Value::String(entry.value.clone()));
    Value::Object(e)
}

/// Renders the customer as its document. `default_kind` is the type shown for entries that have
/// none in a typed collection (a single-slot upstream's entry shows the route's default type, as
/// in a translated GET); `None` keeps them `null`.
pub fn to_document(customer: &Customer, default_kind: Option<&str>) -> Value {
    let mut doc = Map::with_capacity(TOP_LEVEL + 6);
    for (ptr, field) in &FIELDS[..TOP_LEVEL] {
        doc.insert(ptr[1..].to_string(), customer.get(*field));
    }
    let mut address = Map::with_capacity(5);
    for (ptr, field) in &FIELDS[TOP_LEVEL..] {
        address.insert(ptr["/address/".len()..].to_string(), customer.get(*field));
    }
    doc.insert("address".into(), Value::Object(address));
    for coll in Coll::ALL {
        let typed = coll.v2_types().is_some();
        let entries = customer
            .coll(coll)
            .iter()
            .map(|e| (e.id.to_string(), entry_value(e, typed, default_kind)))
            .collect();
        doc.insert(coll_key(coll).into(), Value::Object(entries));
    }
    Value::Object(doc)
}

/// A customer holding the top-level scalar members of a Help Scout customer (v1's `item` and
/// v2's answer name them alike), each read by `member`; the rest stays default. The gender is
/// lower-cased, as it is canonical.
pub fn helpscout_scalars(member: impl Fn(&str) -> Option<String>) -> Customer {
    Customer {
        first_name: member("firstName"),
        last_name: member("lastName"),
        organization: member("organization"),
        job_title: member("jobTitle"),
        notes: member("background"),
        photo_url: member("photoUrl"),
        photo_type: member("photoType"),
        gender: member("gender").map(|g| g.to_ascii_lowercase()),
        age: member("age"),
        location: member("location"),
        ..Customer::default()
    }
}

/// The way back: the customer a document describes (only the members the document holds; the
/// rest of a `Customer` stays default). Fails, naming the member, on a value of the wrong shape
/// or an entry key that is not an id (a fresh key has no id yet: [`evaluate`] turns it into an
/// `EntryAdd` instead).
pub fn from_document(doc: &Value) -> Result<Customer, Vec<Violation>> {
    let mut customer = Customer::default();
    let mut errors = Vec::new();
    for (ptr, field) in FIELDS {
        match read_field(doc, ptr, field) {
            Ok(v) => customer.set(field, &v),
            Err(e) => errors.push(e),
        }
    }
    for coll in Coll::ALL {
        let entries = match read_coll(doc, coll) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for (key, v) in entries {
            let origin = format!("/{}/{key}", coll_key(coll));
            let Some(id) = entry_id(key) else {
                errors.push(unknown_entry(&origin));
                continue;
            };
            match read_entry(v, &origin) {
                Ok((kind, value)) => customer.coll_mut(coll).push(Entry { id, kind, value }),
                Err(e) => errors.push(e),
            }
        }
    }
    if errors.is_empty() {
        Ok(customer)
    } else {
        Err(errors)
    }
}

fn entry_id(key: &str) -> Option<u64> {
    if crate::dialect::rules::positive_id(key) {
        key.parse().ok()
    } else {
        None
    }
}

fn unknown_entry(origin: &str) -> Violation {
    Violation::new(
        origin,
        Rule::EntryId,
        "No such entry: new entries are added with `add` on the collection, and the upstream gives them their id",
    )
}

/// A scalar member as the canonical value: a string or `null` (address lines: an array of
/// strings, `null` when empty); gender lower case.
fn read_field(doc: &Value, ptr: &str, field: Field) -> Result<Value, Violation> {
    let v = doc.pointer(ptr).unwrap_or(&Value::Null);
    let wrong = |expected: &str| {
        Violation::new(
            ptr,
            Rule::Type,
            format!(
                "Expected {expected}, got {}",
                crate::dialect::rules::type_name(v)
            ),
        )
        .with_value(v.clone())
    };
    match (field, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Field::AddressLines, Value::Array(items)) if items.is_empty() => Ok(Value::Null),
        (Field::AddressLines, Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(v.clone())
        }
        (Field::AddressLines, _) => Err(wrong("an array of strings")),
        (Field::Gender, Value::String(s)) => Ok(Value::String(s.to_ascii_lowercase())),
        (_, Value::String(_)) => Ok(v.clone()),
        _ => Err(wrong("a string")),
    }
}

fn read_coll(doc: &Value, coll: Coll) -> Result<&Map<String, Value>, Violation> {
    let key = coll_key(coll);
    doc.get(key).and_then(Value::as_object).ok_or_else(|| {
        Violation::new(
            format!("/{key}"),
            Rule::Shape,
            "The collection must stay an object of entries keyed by id",
        )
    })
}

/// An entry object: `value` a non-empty string, `type` a string or absent/`null`.
fn read_entry(v: &Value, origin: &str) -> Result<(Option<String>, String), Violation> {
    let bad = |msg: &str| Violation::new(origin, Rule::Type, msg).with_value(v.clone());
    let obj = v
        .as_object()
        .ok_or_else(|| bad("Expected an entry object {type, value}"))?;
    let kind = match obj.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return Err(bad("type: expected a string")),
    };
    match obj.get("value") {
        Some(Value::String(s)) => Ok((kind, s.clone())),
        _ => Err(bad("value: expected a string")),
    }
}

/// Puts back every scalar member an operation took away (a `move` from a field removes the
/// member; in Help Scout terms that clears the field, and later operations may still address it).
fn restore_members(doc: &mut Value) {
    let Value::Object(map) = doc else { return };
    for (ptr, _) in &FIELDS[..TOP_LEVEL] {
        if !map.contains_key(&ptr[1..]) {
            map.insert(ptr[1..].to_string(), Value::Null);
        }
    }
    if let Some(Value::Object(address)) = map.get_mut("address") {
        for (ptr, _) in &FIELDS[TOP_LEVEL..] {
            let key = &ptr["/address/".len()..];
            if !address.contains_key(key) {
                address.insert(key.to_string(), Value::Null);
            }
        }
    }
}

fn op_pointers(op: &PatchOperation) -> (&str, Option<&str>) {
    match op {
        PatchOperation::Move(m) => (m.path.as_str(), Some(m.from.as_str())),
        PatchOperation::Copy(c) => (c.path.as_str(), Some(c.from.as_str())),
        other => (other.path().as_str(), None),
    }
}

/// The client's error for an operation the document refused. A failed `test` is a conflict with
/// the resource's current state (RFC 5789 §2.2: 409), answered at `/N/value`; a path or `from`
/// that does not exist for this customer is a bad request naming that member.
fn op_error(d: &DocOp, kind: &PatchErrorKind) -> ApiError {
    let i = d.index;
    let (path, from) = op_pointers(&d.op);
    if let PatchOperation::Test(t) = &d.op {
        let message = match kind {
            PatchErrorKind::TestFailed => {
                format!("Test failed: '{path}' does not hold the expected value")
            }
            _ => format!("Test failed: '{path}' does not exist for this customer"),
        };
        return ApiError {
            violations: vec![Violation::new(format!("/{i}/value"), Rule::Test, message)
                .with_value(t.value.clone())],
            ..ApiError::new(ErrorKind::Conflict, "Conflict")
        };
    }
    let v = match (kind, from) {
        (PatchErrorKind::InvalidFromPointer, Some(from)) => Violation::new(
            format!("/{i}/from"),
            Rule::EntryId,
            format!("'{from}' does not exist for this customer"),
        )
        .with_value(Value::String(from.to_string())),
        (PatchErrorKind::CannotMoveInsideItself, _) => Violation::new(
            format!("/{i}/path"),
            Rule::Path,
            "A value cannot be moved inside itself",
        )
        .with_value(Value::String(path.to_string())),
        _ => Violation::new(
            format!("/{i}/path"),
            Rule::EntryId,
            format!("'{path}' does not exist for this customer"),
        )
        .with_value(Value::String(path.to_string())),
    };
    ApiError::invalid_one(v)
}

/// Evaluates a patch document against the customer the upstream holds and returns the change
/// set it amounts to (see the module docs). Nothing is written here: a failed `test` or a
/// missing target is an error and the caller sends nothing. `default_kind` is the type shown for
/// untyped entries (the route's `default_entry_type`).
pub fn evaluate(
    patch: &PatchDocument,
    state: &Customer,
    default_kind: &str,
) -> Result<Vec<Change>, ApiError> {
    let (before, after) = patched(patch, state, default_kind)?;
    let changes = difference(&before, &after)?;
    // Values a `move`/`copy` put somewhere obey the rules of the place they landed in, exactly
    // as if the client had written them there.
    let violations = super::helpscout_v2::HelpscoutV2.check_target(&changes);
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    Ok(changes)
}

/// The customer's document before and after the operations.
fn patched(
    patch: &PatchDocument,
    state: &Customer,
    default_kind: &str,
) -> Result<(Value, Value), ApiError> {
    let before = to_document(state, Some(default_kind));
    let mut doc = before.clone();
    for d in &patch.ops {
        // One operation at a time, so that a member a `move` took away is back before the next
        // one reads it; the whole document is discarded on any error, so `patch_unsafe` (no
        // undo log) is enough.
        json_patch::patch_unsafe(&mut doc, std::slice::from_ref(&d.op))
            .map_err(|e| op_error(d, &e.kind))?;
        restore_members(&mut doc);
    }
    Ok((before, doc))
}

/// The change set from `before` to `after`: scalar `Set`s in document order, then per
/// collection removes, updates and adds (removes first, so that a single slot freed and refilled
/// in one patch reads as such to the planner). Each change's origin is the document pointer it
/// concerns, which is the helpscout-v2 path a client would have written for it.
pub fn difference(before: &Value, after: &Value) -> Result<Vec<Change>, ApiError> {
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (ptr, field) in FIELDS {
        let old = read_field(before, ptr, field).unwrap_or(Value::Null);
        match read_field(after, ptr, field) {
            Ok(new) if new != old => changes.push(Change::new(Op::Set { field, value: new }, ptr)),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    for coll in Coll::ALL {
        let key = coll_key(coll);
        let typed = coll.v2_types().is_some();
        let empty = Map::new();
        let old = read_coll(before, coll).unwrap_or(&empty);
        let new = match read_coll(after, coll) {
            Ok(m) => m,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for k in old.keys().filter(|k| !new.contains_key(*k)) {
            if let Some(id) = entry_id(k) {
                changes.push(Change::new(
                    Op::EntryRemove { coll, id },
                    format!("/{key}/{k}"),
                ));
            }
        }
        let mut adds = Vec::new();
        for (k, v) in new {
            // An appended entry is named by the collection path the client wrote, never by its
            // internal fresh key.
            let origin = if is_fresh(k) {
                format!("/{key}")
            } else {
                format!("/{key}/{k}")
            };
            let (kind, value) = match read_entry(v, &origin) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            // Websites have no type (one copied in with an entry is ignored, as v2 ignores it in
            // an add); every other entry keeps one, as v2 requires it in an add.
            let kind = kind.filter(|_| typed);
            let untyped = || {
                Violation::new(origin.clone(), Rule::Required, "type: may not be null")
                    .with_value(v.clone())
            };
            match (old.get(k), entry_id(k)) {
                (Some(prev), Some(id)) => {
                    let (old_kind, old_value) = read_entry(prev, &origin).unwrap_or_default();
                    let old_kind = old_kind.filter(|_| typed);
                    if kind.is_none() && old_kind.is_some() {
                        errors.push(untyped());
                        continue;
                    }
                    let kind = kind.filter(|k| Some(k) != old_kind.as_ref());
                    let value = (value != old_value).then_some(value);
                    let origin = match (&kind, &value) {
                        (None, None) => continue,
                        (Some(_), None) => format!("{origin}/type"),
                        (None, Some(_)) => format!("{origin}/value"),
                        (Some(_), Some(_)) => origin,
                    };
                    changes.push(Change::new(
                        Op::EntryUpdate(EntryUpdate {
                            coll,
                            id,
                            kind,
                            value,
                        }),
                        origin,
                    ));
                }
                _ if is_fresh(k) && typed && kind.is_none() => errors.push(untyped()),
                _ if is_fresh(k) => adds.push((
                    fresh_number(k),
                    Change::new(Op::EntryAdd { coll, kind, value }, format!("/{key}")),
                )),
                _ => errors.push(unknown_entry(&origin)),
            }
        }
        // An RFC `remove` on an object moves its last member into the hole (serde_json's
        // ordered map), so document order is not the client's: appends keep the order in which
        // the client wrote them, and the upstream numbers them in that order.
        adds.sort_by_key(|(n, _)| *n);
        changes.extend(adds.into_iter().map(|(_, c)| c));
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(ApiError::invalid(errors))
    }
}

/// The document operations of one decoded add/remove/replace change, in Help Scout's meaning:
/// `remove /field` clears (the member stays, `null`), `add /emails` appends a fresh key, an
/// entry replace changes only the members it names. `None` for changes a customer PATCH never
/// decodes into (properties, single-slot primaries).
pub fn change_ops(change: &Change, fresh: &mut usize) -> Option<Vec<PatchOperation>> {
    use json_patch::{AddOperation, RemoveOperation, ReplaceOperation};
    let ptr = |s: &str| PointerBuf::parse(s).ok();
    Some(match &change.op {
        Op::Set { field, value } => vec![PatchOperation::Replace(ReplaceOperation {
            path: ptr(field_pointer(*field)?)?,
            value: value.clone(),
        })],
        Op::EntryAdd { coll, kind, value } => {
            *fresh += 1;
            let mut e = Map::with_capacity(2);
            if coll.v2_types().is_some() || kind.is_some() {
                e.insert(
                    "type".into(),
                    kind.clone().map_or(Value::Null, Value::String),
                );
            }
            e.insert("value".into(), Value::String(value.clone()));
            vec![PatchOperation::Add(AddOperation {
                path: ptr(&format!("/{}/{}", coll_key(*coll), fresh_key(*fresh)))?,
                value: Value::Object(e),
            })]
        }
        Op::EntryRemove { coll, id } => vec![PatchOperation::Remove(RemoveOperation {
            path: ptr(&format!("/{}/{id}", coll_key(*coll)))?,
        })],
        Op::EntryUpdate(update) => {
            let (coll, id) = (coll_key(update.coll), update.id);
            let mut ops = Vec::with_capacity(2);
            for (member, v) in [("type", &update.kind), ("value", &update.value)] {
                if let Some(v) = v {
                    ops.push(PatchOperation::Replace(ReplaceOperation {
                        path: ptr(&format!("/{coll}/{id}/{member}"))?,
                        value: Value::String(v.clone()),
                    }));
                }
            }
            ops
        }
        Op::Primary { .. } | Op::PropertySet { .. } | Op::PropertyRemove { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    use crate::dialect::test_support::vernon as customer;

    fn patch(ops: Value) -> PatchDocument {
        let ops: Vec<PatchOperation> = serde_json::from_value(ops).unwrap_or_default();
        PatchDocument {
            ops: ops
                .into_iter()
                .enumerate()
                .map(|(index, op)| DocOp { index, op })
                .collect(),
        }
    }

    /// `ops` evaluated against the shared customer with default entry type `work`, as every
    /// example below evaluates its patch: each states only its ops and what must come out.
    fn evaluate_ops(ops: Value) -> Result<Vec<Change>, ApiError> {
        evaluate(&patch(ops), &customer(), "work")
    }

    #[test]
    fn document_layout_uses_v2_paths_and_entry_ids() {
        let doc = to_document(&customer(), Some("work"));
        assert_eq!(doc.pointer("/firstName"), Some(&json!("Vernon")));
        assert_eq!(doc.pointer("/jobTitle"), Some(&Value::Null));
        assert_eq!(doc.pointer("/address/city"), Some(&json!("Dallas")));
        assert_eq!(doc.pointer("/address/postalCode"), Some(&Value::Null));
        assert_eq!(
            doc.pointer("/emails/1003"),
            Some(&json!({"type": "home", "value": "v@home.net"}))
        );
        assert_eq!(
            doc.pointer("/websites/7"),
            Some(&json!({"value": "https://acme.com"}))
        );
        assert_eq!(doc.pointer("/social-profiles"), Some(&json!({})));
        // An untyped entry of a typed collection shows the default type only when asked.
        let slot = Customer {
            emails: vec![Entry {
                id: 1,
                kind: None,
                value: "a@b.co".into(),
            }],
            ..Customer::default()
        };
        assert_eq!(
            to_document(&slot, Some("work")).pointer("/emails/1/type"),
            Some(&json!("work"))
        );
        assert_eq!(
            to_document(&slot, None).pointer("/emails/1/type"),
            Some(&Value::Null)
        );
    }

    #[test]
    fn from_document_names_bad_members() {
        let mut doc = to_document(&customer(), None);
        doc["firstName"] = json!(5);
        doc["emails"]["new1"] = json!({"type": "work", "value": "x@y.z"});
        doc["phones"]["1002"] = json!("555");
        let Err(errors) = from_document(&doc) else {
            panic!("accepted a bad document");
        };
        let pointers: Vec<&str> = errors.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(pointers, ["/firstName", "/emails/new1", "/phones/1002"]);
    }

    #[test]
    fn difference_yields_sets_removes_updates_then_adds() {
        let evaluated = evaluate_ops(json!([
            {"op": "test", "path": "/firstName", "value": "Vernon"},
            {"op": "copy", "from": "/firstName", "path": "/jobTitle"},
            {"op": "move", "from": "/emails/1003", "path": "/emails/1001"},
            {"op": "replace", "path": "/phones/1002/type", "value": "work"},
            {"op": "add", "path": "/chats/new1", "value": {"type": "aim", "value": "vb"}},
            {"op": "move", "from": "/address/city", "path": "/location"}
        ]));
        let Ok(changes) = evaluated else {
            panic!("evaluation failed");
        };
        let got: Vec<(Op, &str)> = changes
            .iter()
            .map(|c| (c.op.clone(), c.origin.as_ref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Op::Set {
                        field: Field::JobTitle,
                        value: json!("Vernon")
                    },
                    "/jobTitle"
                ),
                (
                    Op::Set {
                        field: Field::Location,
                        value: json!("Dallas")
                    },
                    "/location"
                ),
                (
                    Op::Set {
                        field: Field::AddressCity,
                        value: Value::Null
                    },
                    "/address/city"
                ),
                (
                    Op::EntryRemove {
                        coll: Coll::Emails,
                        id: 1003
                    },
                    "/emails/1003"
                ),
                (
                    Op::EntryUpdate(EntryUpdate {
                        coll: Coll::Emails,
                        id: 1001,
                        kind: Some("home".into()),
                        value: Some("v@home.net".into())
                    }),
                    "/emails/1001"
                ),
                (
                    Op::EntryUpdate(EntryUpdate {
                        coll: Coll::Phones,
                        id: 1002,
                        kind: Some("work".into()),
                        value: None
                    }),
                    "/phones/1002/type"
                ),
                (
                    Op::EntryAdd {
                        coll: Coll::Chats,
                        kind: Some("aim".into()),
                        value: "vb".into()
                    },
                    "/chats"
                ),
            ]
        );
    }

    /// serde_json's ordered map fills a removed member's hole with its last member: the adds
    /// must still come out in the client's order.
    #[test]
    fn appends_keep_the_clients_order_across_removes() {
        let added: Vec<String> = evaluate_ops(json!([
            {"op": "add", "path": "/emails/new1", "value": {"type": "work", "value": "a@acme.com"}},
            {"op": "add", "path": "/emails/new2", "value": {"type": "work", "value": "b@acme.com"}},
            {"op": "add", "path": "/emails/new3", "value": {"type": "work", "value": "c@acme.com"}},
            {"op": "remove", "path": "/emails/1001"}
        ]))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| match c.op {
            Op::EntryAdd { value, .. } => Some(value),
            _ => None,
        })
        .collect();
        assert_eq!(added, ["a@acme.com", "b@acme.com", "c@acme.com"]);
    }

    #[test]
    fn a_failed_test_is_a_conflict_at_the_ops_value() {
        for (ops, detail) in [
            (
                json!([{"op": "replace", "path": "/lastName", "value": "B"},
                       {"op": "test", "path": "/firstName", "value": "Karl"}]),
                "does not hold",
            ),
            (
                json!([{"op": "replace", "path": "/lastName", "value": "B"},
                       {"op": "test", "path": "/emails/42", "value": {"value": "x"}}]),
                "does not exist",
            ),
        ] {
            let Some(err) = evaluate_ops(ops).err() else {
                panic!("a failing test passed")
            };
            assert_eq!((err.status, err.kind), (409, ErrorKind::Conflict));
            assert_eq!(err.violations[0].pointer, "/1/value");
            assert_eq!(err.violations[0].rule, Rule::Test);
            assert!(err.violations[0].message.contains(detail), "{err}");
        }
    }

    /// A patch the customer cannot take, and the pointer its 400 must name.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MissingTarget {
        /// What the case pins, for the failure message.
        why: String,
        patch: Value,
        pointer: String,
    }

    #[test]
    fn missing_targets_and_misplaced_values_are_named() {
        // The cases are data (`document/tests/missing_targets.json`): one patch and one
        // pointer each, so adding a case is adding an object.
        let cases: Vec<MissingTarget> =
            serde_json::from_str(include_str!("document/tests/missing_targets.json"))
                .unwrap_or_else(|e| panic!("missing_targets.json: {e}"));
        assert!(!cases.is_empty());
        for case in cases {
            assert_eq!(
                evaluate_ops(case.patch.clone())
                    .err()
                    .map(|e| (e.status, e.violations[0].pointer.clone())),
                Some((400, case.pointer)),
                "{}: {}",
                case.why,
                case.patch
            );
        }
    }

    #[test]
    fn a_patch_that_changes_nothing_derives_nothing() {
        let evaluated = evaluate_ops(json!([
            {"op": "test", "path": "/gender", "value": "male"},
            {"op": "copy", "from": "/firstName", "path": "/firstName"},
            {"op": "replace", "path": "/emails/1001/type", "value": "work"}
        ]));
        assert_eq!(evaluated, Ok(vec![]));
    }

    #[test]
    fn change_ops_keep_help_scout_meaning() {
        let mut fresh = 0;
        let ops = change_ops(
            &Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: Some("work".into()),
                    value: "a@b.co".into(),
                },
                "/emails",
            ),
            &mut fresh,
        );
        assert_eq!(
            ops.map(|o| serde_json::to_value(o).unwrap_or_default()),
            Some(json!([{"op": "add", "path": "/emails/new1",
                          "value": {"type": "work", "value": "a@b.co"}}]))
        );
        let clear = change_ops(
            &Change::new(
                Op::Set {
                    field: Field::AddressCity,
                    value: Value::Null,
                },
                "/address/city",
            ),
            &mut fresh,
        );
        assert_eq!(
            clear.map(|o| serde_json::to_value(o).unwrap_or_default()),
            Some(json!([{"op": "replace", "path": "/address/city", "value": null}]))
        );
        let prop = Change::new(Op::PropertyRemove { slug: "a".into() }, "/a");
        assert_eq!(change_ops(&prop, &mut fresh), None);
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-zA-Z0-9 @.]{1,12}")
    }

    fn entries(types: Option<&'static [&'static str]>) -> impl Strategy<Value = Vec<Entry>> {
        let kind = match types {
            Some(t) => proptest::option::of(proptest::sample::select(t))
                .prop_map(|k| k.map(str::to_string))
                .boxed(),
            None => Just(None).boxed(),
        };
        proptest::collection::btree_map(1u64..1_000_000, (kind, "[a-z0-9@.]{1,10}"), 0..4).prop_map(
            |m| {
                m.into_iter()
                    .map(|(id, (kind, value))| Entry { id, kind, value })
                    .collect()
            },
        )
    }

    prop_compose! {
        fn v2_customer()(
            names in (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
            more in (opt_text(), opt_text(), opt_text(), opt_text(),
                     proptest::option::of(proptest::sample::select(&["male", "female", "unknown"][..]))),
            lines in proptest::collection::vec("[a-z0-9 ]{1,8}", 0..3),
            addr in (opt_text(), opt_text(), opt_text(), opt_text()),
            emails in entries(Coll::Emails.v2_types()),
            phones in entries(Coll::Phones.v2_types()),
            chats in entries(Coll::Chats.v2_types()),
            social in entries(Coll::SocialProfiles.v2_types()),
            websites in entries(None),
        ) -> Customer {
            let address = crate::canonical::Address {
                lines, city: addr.0, state: addr.1, postal_code: addr.2, country: addr.3,
            };
            Customer {
                first_name: names.0, last_name: names.1, organization: names.2,
                job_title: names.3, notes: names.4,
                photo_url: more.0, photo_type: more.1, age: more.2, location: more.3,
                gender: more.4.map(str::to_string),
                address: (!address.is_empty()).then_some(address),
                emails, phones, chats, social_profiles: social, websites,
                ..Customer::default()
            }
        }
    }

    /// An entry's type and value.
    type EntryMeaning = (Option<String>, String);

    /// What a document says, keys of entries aside (an appended entry has a fresh key in the
    /// patched document and an upstream id once applied).
    fn meaning(doc: &Value) -> (Vec<Value>, Vec<Vec<EntryMeaning>>) {
        let fields = FIELDS
            .iter()
            .map(|(p, f)| read_field(doc, p, *f).unwrap_or(json!("<bad>")))
            .collect();
        let colls = Coll::ALL
            .iter()
            .map(|c| {
                read_coll(doc, *c)
                    .map(|m| {
                        // Entries are keyed by id: their order in the document means nothing.
                        let mut entries: Vec<_> = m
                            .values()
                            .map(|e| read_entry(e, "").unwrap_or_default())
                            .map(|(k, v)| (k.filter(|_| c.v2_types().is_some()), v))
                            .collect();
                        entries.sort();
                        entries
                    })
                    .unwrap_or_default()
            })
            .collect();
        (fields, colls)
    }

    fn any_op() -> impl Strategy<Value = Value> {
        let pointers = proptest::sample::select(vec![
            "/firstName",
            "/lastName",
            "/jobTitle",
            "/address/city",
            "/address/lines",
            "/emails/1001",
            "/emails/1003",
            "/emails/1001/value",
            "/emails/1003/type",
            "/phones/1002",
            "/phones/1002/value",
            "/websites/7",
            "/websites/7/value",
            "/chats/new1",
            "/emails/new2",
        ]);
        let values = proptest::sample::select(vec![
            json!("Karl"),
            json!("k@acme.com"),
            json!(null),
            json!(["2 Main"]),
            json!({"type": "home", "value": "h@acme.com"}),
            json!({"value": "plain"}),
            json!({"type": "aim", "value": "vb"}),
        ]);
        let kinds =
            proptest::sample::select(vec!["add", "replace", "remove", "test", "move", "copy"]);
        (kinds, pointers.clone(), pointers, values).prop_map(
            |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
        )
    }

    proptest! {
        /// Whatever a patch does to the document, the derived change set applied to the
        /// customer says the same thing: the difference loses nothing and invents nothing.
        #[test]
        fn the_difference_reproduces_the_patched_document(
            ops in proptest::collection::vec(any_op(), 1..6)
        ) {
            let ops: Vec<PatchOperation> = ops
                .into_iter()
                .filter_map(|o| serde_json::from_value(o).ok())
                .collect();
            let p = PatchDocument {
                ops: ops.into_iter().enumerate().map(|(index, op)| DocOp { index, op }).collect(),
            };
            let state = customer();
            let Ok((_, after)) = patched(&p, &state, "work") else {
                return Ok(());
            };
            if let Ok(changes) = evaluate(&p, &state, "work") {
                let mut applied = state.clone();
                let mut next = 9000;
                let ok = applied.apply(&changes, &mut || { next += 1; next }, "work");
                prop_assert!(ok.is_ok(), "{:?}", ok);
                prop_assert_eq!(meaning(&to_document(&applied, None)), meaning(&after));
            }
        }

        /// Customer → document → Customer is the identity on everything the document holds,
        /// and a document differs from itself by nothing.
        #[test]
        fn document_round_trip_is_identity(c in v2_customer()) {
            let doc = to_document(&c, None);
            prop_assert_eq!(from_document(&doc), Ok(c));
            prop_assert_eq!(difference(&doc, &doc), Ok(vec![]));
        }
    }
}
