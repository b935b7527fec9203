//! HelpCrunch client side, inbound: the customer paths and the PUT/PATCH body, validated the
//! way the vendor validates it (name rule, types, tags, customData, unknown keys); PUT turns
//! absent owned fields into clears.

use super::*;
/// JSON whitespace: the only characters the name rule treats as separators.
pub(super) fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// [`is_ws`] of a byte. The four are ASCII, and no byte of a multi-byte UTF-8 character is, so
/// byte positions found with it are character boundaries.
fn is_ws_byte(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Copies `s` with every run of JSON whitespace turned into one space.
pub(super) fn collapse_ws(s: &str) -> String {
    let b = s.as_bytes();
    if !b.iter().any(|c| matches!(c, b'\t' | b'\r' | b'\n')) && !b.windows(2).any(|w| w == b"  ") {
        // Single spaces only (every ordinary name): the copy is the string itself.
        return s.to_owned();
    }
    collapse_ws_chars(s)
}

/// [`collapse_ws`] without the shortcut, character by character (also the unit tests' reference).
fn collapse_ws_chars(s: &str) -> String {
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
pub(super) fn split_name(raw: &str) -> Option<(String, Option<String>)> {
    let bytes = raw.as_bytes();
    let start = bytes.iter().position(|b| !is_ws_byte(b))?;
    let end = bytes
        .iter()
        .rposition(|b| !is_ws_byte(b))
        .map_or(start, |e| e + 1);
    let name = &raw[start..end];
    match name.bytes().rposition(|b| is_ws_byte(&b)) {
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
pub(super) fn join_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let first = first.filter(|s| !s.is_empty());
    let last = last.filter(|s| !s.is_empty());
    match (first, last) {
        (Some(f), Some(l)) => {
            // Not `format!`: its machinery costs more than the copy on this hot path.
            let mut name = String::with_capacity(f.len() + 1 + l.len());
            name.push_str(f);
            name.push(' ');
            name.push_str(l);
            Some(name)
        }
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

/// A one-word `name` sets the first name and clears the last name (SPEC §2 "One-word names"):
/// HelpCrunch stores the name as one string, so the client must read back exactly the word it
/// wrote, not that word followed by a last name it never sent.
pub(super) fn push_name(cs: &mut ChangeSet, raw: Option<&str>) {
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

pub(super) fn child(base: &str, token: &str) -> String {
    let token = pointer_token(token);
    let mut p = String::with_capacity(base.len() + 1 + token.len());
    p.push_str(base);
    p.push('/');
    p.push_str(&token);
    p
}

/// The shape of `tags`: null, or an array of `{name, color?}` with a non-blank string name and
/// a string (or null) colour; anything else in a tag object is not expected.
pub(super) fn tag_violations(v: &Value, pointer: &str, out: &mut Vec<Violation>) {
    let items = match v {
        Value::Null => return,
        Value::Array(items) => items,
        other => {
            out.push(rules::wrong_type(other, "an array", pointer));
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
pub(super) fn locale_violation(v: &Value, pointer: &str) -> Option<Violation> {
    match rules::string_or_null(v, pointer) {
        Ok(Some(s)) => rules::locale(s, pointer).err(),
        Ok(None) => None,
        Err(e) => Some(e),
    }
}

/// A custom attribute value: a string, number or boolean (null is handled by the caller).
pub(super) fn scalar_violation(v: &Value, pointer: &str) -> Option<Violation> {
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
pub(super) fn decode_scalar(
    pointer: &'static str,
    field: Field,
    kind: Kind,
    value: Value,
    cs: &mut ChangeSet,
    bad: &mut Vec<Violation>,
) {
    let checked = match kind {
        Kind::Str => rules::string_or_null(&value, pointer).map(|_| ()),
        Kind::Bool => rules::bool_or_null(&value, pointer).map(|_| ()),
        Kind::Locale => locale_violation(&value, pointer).map_or(Ok(()), Err),
        Kind::Seen => match rules::unix_seconds(&value, pointer) {
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
pub(super) fn decode_slot(coll: Coll, value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
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
            bad.push(rules::wrong_type(&other, "a string", pointer));
            return;
        }
    };
    cs.push(Op::Primary { coll, value }, pointer);
}

/// `tags`: validated, then stored without `color: null` members.
pub(super) fn decode_tags(mut value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
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
pub(super) fn decode_custom_data(value: Value, cs: &mut ChangeSet, bad: &mut Vec<Violation>) {
    let items = match value {
        Value::Array(items) => items,
        other => {
            bad.push(rules::wrong_type(&other, "an array", "/customData"));
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
                bad.push(rules::wrong_type(
                    &other,
                    "a string",
                    &child(&base, "property"),
                ));
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
pub(super) fn echoed_location<'m>(
    location: Option<&'m Map<String, Value>>,
    key: &str,
) -> Option<&'m Value> {
    location?.get(key).filter(|v| !v.is_null())
}

pub(super) fn decode_body(body: &[u8], full: bool) -> Result<ChangeSet, ApiError> {
    // Duplicate keys and syntax in one pass (see `rules::parse_json_unique`); the top level is
    // only walked in order, so it stays a member list with borrowed keys.
    let doc = rules::parse_json_members(body, 1).map_err(rules::JsonFailure::into_error)?;
    let obj = match doc {
        rules::Members::Object(obj) => obj,
        rules::Members::Value(other) => return Err(ApiError::invalid_one(type_root(&other))),
    };
    let mut cs = ChangeSet {
        changes: Vec::with_capacity(obj.len() + 1),
    };
    let mut bad = Vec::new();
    let mut seen = 0u32;
    let mut location = None;
    for (key, value) in obj {
        let value = value.into_value();
        match key.as_ref() {
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
                    let (_, field, kind) = SCALARS[i];
                    decode_scalar(SCALAR_POINTERS[i], field, kind, value, &mut cs, &mut bad);
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

pub(super) fn type_root(v: &Value) -> Violation {
    Violation::new(
        "",
        Rule::Shape,
        format!("Expected a JSON object, got {}", rules::type_name(v)),
    )
}

/// PUT: every owned field the body left out becomes a clear (customData excepted: docs).
pub(super) fn clear_absent(
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
                SCALAR_POINTERS[i],
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

pub(super) fn check_target(changes: &[Change]) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in changes {
        let origin = &*c.origin;
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
            | Op::EntryUpdate(EntryUpdate {
                coll: Coll::Emails,
                value: Some(v),
                ..
            }) => rules::email(v, origin).err(),
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

pub(super) fn decode_request(ep: &Endpoint, body: &[u8]) -> Result<ClientRequest, ApiError> {
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

#[cfg(test)]
mod name_rule_tests {
    use super::{collapse_ws, collapse_ws_chars, is_ws, split_name};
    use proptest::prelude::*;

    /// The name rule as first written, on characters: the byte-level version must agree.
    fn reference(raw: &str) -> Option<(String, Option<String>)> {
        let name = raw.trim_matches(is_ws);
        if name.is_empty() {
            return None;
        }
        match name.rfind(is_ws) {
            None => Some((name.to_string(), None)),
            Some(i) => Some((
                collapse_ws_chars(name[..i].trim_end_matches(is_ws)),
                Some(name[i + 1..].to_string()),
            )),
        }
    }

    #[test]
    fn names_split_as_the_rule_says() {
        for raw in [
            "John Doe",
            "  John   Q\t\nDoe  ",
            "Madonna",
            " \t\r\n",
            "",
            "Zoë  Ünal",
            "a\u{a0}b c",
            "Jean  Paul Sartre",
        ] {
            assert_eq!(split_name(raw), reference(raw), "{raw:?}");
        }
        assert_eq!(collapse_ws("a \t b  c"), "a b c");
    }

    proptest! {
        #[test]
        fn byte_level_name_rule_agrees_with_the_character_rule(raw in "[ \t\r\na-zé\u{a0}\u{3000}]{0,16}") {
            prop_assert_eq!(split_name(&raw), reference(&raw));
        }
    }
}
