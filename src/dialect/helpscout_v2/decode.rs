//! Help Scout v2 client side, inbound: JSON-Patch PATCH (a fast borrowed path for plain
//! documents, the precise `Value` walk for everything else, RFC 6902 test/move/copy documents),
//! PUT overwrite and the properties PATCH, validated against the vendor's rules.

use super::*;
/// Collects the changes and every violation of one request body.
#[derive(Default)]
pub(super) struct Decoded {
    pub(super) changes: Vec<Change>,
    pub(super) errors: Vec<Violation>,
}

impl Decoded {
    pub(super) fn push(&mut self, op: Op, origin: &str) {
        self.changes.push(Change::new(op, origin.to_owned()));
    }

    pub(super) fn finish(self, full: bool) -> Result<ClientRequest, ApiError> {
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
pub(super) fn patch_op<'a>(
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

pub(super) fn patch_path(obj: &Map<String, Value>, index: usize) -> Result<&str, Violation> {
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
pub(super) fn patch_element(item: &Value, index: usize) -> Result<&Map<String, Value>, Violation> {
    match item {
        Value::Object(obj) => Ok(obj),
        other => rules::object(other, &format!("/{index}")),
    }
}

pub(super) fn op_not_allowed(index: usize, op: &str, path: &str) -> Violation {
    Violation::new(
        format!("/{index}/op"),
        Rule::Op,
        format!("Operation '{op}' is not supported for path '{path}'"),
    )
    .with_value(Value::String(op.to_string()))
}

/// The `value` member an `add`/`replace` needs.
pub(super) fn required_value(value: Option<&Value>, index: usize) -> Result<&Value, Violation> {
    value
        .ok_or_else(|| Violation::new(format!("/{index}/value"), Rule::Required, "may not be null"))
}

/// Decodes one element of the customer PATCH array.
pub(super) fn decode_patch_op(index: usize, item: &Value, out: &mut Decoded) {
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
pub(super) fn decode_patch_parts(
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
pub(super) fn parsed_path(
    index: usize,
    member: &str,
    path_str: &str,
) -> Result<PatchPath, Violation> {
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

pub(super) fn decode_patch_target(
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
                    document::coll_key(coll)
                ),
            ));
        }
        (PatchPath::Entry(coll, id), "remove") => out.push(Op::EntryRemove { coll, id }, ptr),
        (
            PatchPath::Entry(coll, id)
            | PatchPath::EntryValue(coll, id)
            | PatchPath::EntryType(coll, id),
            "replace",
        ) => {
            // The whole entry, or one of its two members: the same update, of one or both.
            let value = required_value(value, index)?;
            let (kind, value) = match path {
                PatchPath::EntryValue(..) => {
                    let value = rules::string(value, ptr)?;
                    check_entry_value(coll, value, ptr)?;
                    (None, Some(value.to_string()))
                }
                PatchPath::EntryType(..) => {
                    let kind = rules::string(value, ptr)?;
                    check_entry_type(coll, kind, ptr)?;
                    (Some(canonical_kind(coll, kind)), None)
                }
                _ => entry_object(coll, value, ptr, false)?,
            };
            let update = EntryUpdate {
                coll,
                id,
                kind,
                value,
            };
            out.push(Op::EntryUpdate(update), ptr);
        }
        (_, op) => return Err(op_not_allowed(index, op, ptr)),
    }
    Ok(())
}

/// A scalar field's new value (string or null; address lines an array of strings or null),
/// checked against the v2 rules. Gender is stored lower-case.
pub(super) fn field_value(field: Field, value: &Value, ptr: &str) -> Result<Value, Violation> {
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
pub(super) fn entry_object(
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
pub(super) struct FastOp<'a> {
    #[serde(borrow)]
    pub(super) op: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) path: Cow<'a, str>,
    #[serde(default, deserialize_with = "present")]
    pub(super) value: Option<Value>,
}

/// Keeps an explicit `null` apart from an absent member; a repeated key inside fails the parse.
pub(super) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    rules::unique_value(d).map(Some)
}

/// The patch array of the plainest shape, read by a byte scan: every element an object of
/// `op`, `path` and optionally `value`, each once, strings without escapes or control
/// characters, `value` a string or `null`. That is what nearly every client sends, and for it
/// the scan gives exactly the `FastOp`s serde would, for a fraction of serde's cost (its
/// per-string and per-field machinery was most of decoding a v2 patch). Anything else is
/// `None` and goes to serde, which is then the judge, as before.
pub(super) fn plain_ops(body: &[u8]) -> Option<Vec<FastOp<'_>>> {
    let text = std::str::from_utf8(body).ok()?;
    let b = text.as_bytes();
    // Every byte the scan stops at is ASCII, so every slice it takes is at character
    // boundaries. The cursor is a local: the helpers are inlined and it stays in a register.
    // (Built on `dialect::scan::Reader`, whose cursor is a field, this scan measured ~600
    // instructions more per v2 request; HelpCrunch's and Reach's plain bodies, with longer
    // strings, gain from the reader's word-at-a-time string scan and use it.)
    let mut i = 0;
    let ws = |i: &mut usize| {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(*i) {
            *i += 1;
        }
    };
    let eat = |i: &mut usize, c: u8| {
        ws(i);
        let hit = b.get(*i) == Some(&c);
        *i += usize::from(hit);
        hit
    };
    // A string without escapes or control characters, borrowed from the body.
    let string = |i: &mut usize| -> Option<&str> {
        if !eat(i, b'"') {
            return None;
        }
        let start = *i;
        let mut end = start;
        loop {
            match *b.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        *i = end + 1;
        text.get(start..end)
    };
    if !eat(&mut i, b'[') {
        return None;
    }
    // A typical patch element is some 60 bytes.
    let mut ops = Vec::with_capacity(body.len() / 48 + 1);
    if !eat(&mut i, b']') {
        loop {
            if !eat(&mut i, b'{') {
                return None;
            }
            let (mut op, mut path, mut value) = (None, None, None);
            loop {
                let key = string(&mut i)?;
                if !eat(&mut i, b':') {
                    return None;
                }
                let slot_taken = match key {
                    "op" => op.replace(string(&mut i)?).is_some(),
                    "path" => path.replace(string(&mut i)?).is_some(),
                    "value" => {
                        ws(&mut i);
                        let v = if b.get(i) == Some(&b'"') {
                            Value::String(string(&mut i)?.to_owned())
                        } else if b.get(i..)?.starts_with(b"null") {
                            // A longer word then fails at the next delimiter.
                            i += 4;
                            Value::Null
                        } else {
                            return None;
                        };
                        value.replace(v).is_some()
                    }
                    _ => return None,
                };
                if slot_taken {
                    return None;
                }
                if !eat(&mut i, b',') {
                    if !eat(&mut i, b'}') {
                        return None;
                    }
                    break;
                }
            }
            ops.push(FastOp {
                op: Cow::Borrowed(op?),
                path: Cow::Borrowed(path?),
                value,
            });
            if !eat(&mut i, b',') {
                if !eat(&mut i, b']') {
                    return None;
                }
                break;
            }
        }
    }
    ws(&mut i);
    (i == b.len()).then_some(ops)
}

/// Decodes a patch array (customer or properties) through the fast path, or `None` when the body
/// needs the precise one.
pub(super) fn decode_fast(
    body: &[u8],
    properties: bool,
) -> Option<Result<ClientRequest, ApiError>> {
    let ops: Vec<FastOp<'_>> = match plain_ops(body) {
        Some(ops) => ops,
        None => crate::dialect::wire::from_json(body).ok()?,
    };
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

/// The operations of a JSON Patch body (customer or properties): it must be an array.
fn patch_items(doc: &Value) -> Result<&Vec<Value>, ApiError> {
    doc.as_array().ok_or_else(|| {
        ApiError::invalid_one(Violation::new(
            "",
            Rule::Shape,
            "Request payload must be in the form of array (enclosed by square brackets)",
        ))
    })
}

pub(super) fn decode_patch(doc: &Value) -> Result<ClientRequest, ApiError> {
    let items = patch_items(doc)?;
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
pub(super) const DOCUMENT_OPS: &[&str] = &["add", "remove", "replace", "test", "move", "copy"];

/// An element whose op only makes sense against the customer's current state. The fast path
/// never sees these (it refuses any op outside add/remove/replace, and the `from` member).
pub(super) fn is_document_op(item: &Value) -> bool {
    matches!(
        item.get("op").and_then(Value::as_str),
        Some("test" | "move" | "copy")
    )
}

/// A customer PATCH with `test`, `move` or `copy`: every element is validated with the same
/// grammar and value rules as the plain ops, and becomes RFC 6902 operations on the customer
/// document (`dialect::document`), evaluated later against the upstream's state.
pub(super) fn decode_patch_document(items: &[Value]) -> Result<ClientRequest, ApiError> {
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
pub(super) fn document_element(
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
                    format!(
                        "/{}/{}",
                        document::coll_key(coll),
                        document::fresh_key(*fresh)
                    )
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
pub(super) fn check_from(
    index: usize,
    op: &str,
    from_str: &str,
    from: &PatchPath,
) -> Result<(), Violation> {
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
pub(super) fn canonical_test_value(path: &PatchPath, value: &Value) -> Value {
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
pub(super) fn decode_put(doc: &Value) -> Result<ClientRequest, ApiError> {
    let obj = rules::object(doc, "").map_err(ApiError::invalid_one)?;
    let mut out = Decoded {
        changes: Vec::with_capacity(entity_fields().count()),
        errors: Vec::new(),
    };
    let mut ptr = String::with_capacity(16);
    for (key, field) in entity_fields() {
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

pub(super) fn decode_properties(doc: &Value) -> Result<ClientRequest, ApiError> {
    let items = patch_items(doc)?;
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

pub(super) fn decode_property_op(
    index: usize,
    item: &Value,
    out: &mut Decoded,
) -> Result<(), Violation> {
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
pub(super) fn decode_property_parts(
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

pub(super) fn check_target(changes: &[Change]) -> Vec<Violation> {
    let mut out = Vec::new();
    for change in changes {
        let ptr = &*change.origin;
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
            Op::EntryUpdate(update) => {
                out.extend(check_entry_id(update.id, ptr).err());
                if let Some(k) = &update.kind {
                    out.extend(check_entry_type(update.coll, k, ptr).err());
                }
                if let Some(v) = &update.value {
                    out.extend(check_entry_value(update.coll, v, ptr).err());
                }
            }
            _ => {}
        }
    }
    out
}

pub(super) fn decode_request(ep: &Endpoint, body: &[u8]) -> Result<ClientRequest, ApiError> {
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

#[cfg(test)]
mod plain_ops_tests {
    use super::*;

    fn parts(ops: Vec<FastOp<'_>>) -> Vec<(String, String, Option<Value>)> {
        ops.into_iter()
            .map(|o| (o.op.into_owned(), o.path.into_owned(), o.value))
            .collect()
    }

    /// Where the scan answers, serde answers the same; the scan leaves every other body to
    /// serde (escapes, other value types, unknown or repeated members, bad JSON, trailing data).
    #[test]
    fn the_scan_agrees_with_serde_or_leaves_the_body_to_it() {
        let answered = [
            "[]",
            " [ ] ",
            r#"[{"op":"replace","path":"/firstName","value":"Vernon"}]"#,
            "[{\"op\":\"replace\",\"path\":\"/firstName\",\"value\":\"Zo\u{eb} \u{1F600}\"}]",
            "[ {\"path\" : \"/x\" ,\n\"op\":\"remove\"} ,\r\t{\"value\":null,\"op\":\"add\",\"path\":\"\"} ]\n",
            r#"[{"op":"replace","path":"/emails/1/value","value":"a@b.co"},{"op":"remove","path":"/phones/1"}]"#,
            r#"[{"op":"x","path":"y","value":""}]"#,
        ];
        for body in answered {
            let scanned = plain_ops(body.as_bytes()).expect(body);
            let serde: Vec<FastOp<'_>> =
                crate::dialect::wire::from_json(body.as_bytes()).expect(body);
            assert_eq!(parts(scanned), parts(serde), "{body}");
        }
        let left = [
            "",
            "{}",
            "[",
            "[{}]",
            r#"[{"op":"replace"}]"#,
            r#"[{"path":"/a"}]"#,
            r#"[{"op":"replace","path":"/a","value":1}]"#,
            r#"[{"op":"replace","path":"/a","value":true}]"#,
            r#"[{"op":"replace","path":"/a","value":{"type":"work"}}]"#,
            r#"[{"op":"replace","path":"/a","value":nullx}]"#,
            r#"[{"op":"replace","path":"/a","value":nul}]"#,
            r#"[{"op":"replace","path":"/a\/b","value":"x"}]"#,
            r#"[{"op":"replace","path":"/a","value":"\u0041"}]"#,
            "[{\"op\":\"replace\",\"path\":\"/a\",\"value\":\"a\u{1}b\"}]",
            r#"[{"op":"replace","op":"add","path":"/a"}]"#,
            r#"[{"op":"replace","path":"/a","value":"x","value":null}]"#,
            r#"[{"op":"replace","path":"/a","from":"/b"}]"#,
            r#"[{"op":"replace","path":"/a"}] x"#,
            r#"[{"op":"replace","path":"/a"},]"#,
            r#"[{"op":"replace","path":"/a",}]"#,
            r#"[{"op":"replace","path":"/a"}"#,
            r#"[{"op" "replace","path":"/a"}]"#,
            r#"[{op:"replace","path":"/a"}]"#,
        ];
        for body in left {
            assert!(plain_ops(body.as_bytes()).is_none(), "{body}");
        }
        assert!(plain_ops(b"[{\"op\":\"a\",\"path\":\"\xff\"}]").is_none());
    }
}
