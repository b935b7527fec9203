//! Reach client side, inbound: the customer path (external id) and the `{"data": …}` PATCH
//! body, validated against Reach's own rules (including the target rule on `customerId`).

use super::*;
pub(super) fn bad_id(message: &str) -> ApiError {
    ApiError::invalid_one(Violation::new("id", Rule::CustomerId, message))
}

/// Percent-decodes the path id strictly: a `%` not followed by two hex digits and a result that
/// is not UTF-8 are errors (the `percent-encoding` crate passes both through silently).
pub(super) fn decode_id(raw: &str) -> Result<Cow<'_, str>, ApiError> {
    let decoded: Cow<'_, str> = if raw.contains('%') {
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err(bad_id("The customer id has an invalid percent-encoding"));
                };
                out.push(b);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        match String::from_utf8(out) {
            Ok(s) => Cow::Owned(s),
            Err(_) => return Err(bad_id("The customer id is not valid UTF-8")),
        }
    } else {
        Cow::Borrowed(raw)
    };
    Ok(decoded)
}

/// The checks that apply to a decoded external id.
pub(super) fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() {
        return Err(bad_id("The customer id must not be empty"));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(bad_id(
            "The customer id must be at most 256 characters long",
        ));
    }
    if id.contains(|c: char| c == '/' || c.is_control()) {
        return Err(bad_id(
            "The customer id must not contain '/' or control characters",
        ));
    }
    // A '%' left after decoding means the id was encoded twice (`%252e%252e%252f`): a classic
    // way past path checks when a server downstream decodes again. A backslash is a path
    // separator to some servers. Neither belongs in an external id.
    if id.contains(['%', '\\']) {
        return Err(bad_id(
            "The customer id must not contain '%' (double encoding) or '\\'",
        ));
    }
    if id == "." || id == ".." {
        return Err(bad_id("The customer id must not be '.' or '..'"));
    }
    Ok(())
}

/// The type and format rules of one canonical field Reach holds; shared by the client decoder
/// and [`Reach::check_target`] so both sides reject the same values with the same words.
pub(super) fn field_violation(field: Field, value: &Value, pointer: &str) -> Option<Violation> {
    match field {
        Field::ExternalId if value.is_null() => Some(Violation::new(
            pointer,
            Rule::NotNull,
            "customerId is required and cannot be deleted",
        )),
        Field::ExternalId => rules::string(value, pointer).err(),
        Field::CreatedAt => match rules::string_or_null(value, pointer) {
            Ok(Some(s)) if !rules::is_rfc3339(s) => Some(
                Violation::new(
                    pointer,
                    Rule::Date,
                    "Expected an RFC 3339 date-time such as 2023-11-07T05:31:56Z",
                )
                .with_value(value.clone()),
            ),
            other => other.err(),
        },
        Field::EmailOptOut | Field::SmsOptOut => rules::bool_or_null(value, pointer).err(),
        _ => rules::string_or_null(value, pointer).err(),
    }
}

pub(super) fn unknown_field(pointer: String, key: &str) -> Violation {
    Violation::new(
        pointer,
        Rule::UnknownField,
        format!(
            "Unknown field '{key}' is not allowed (ignoreUnknownFields=true accepts and drops it)"
        ),
    )
}

/// `ignoreUnknownFields` from the query: `false` when absent; the violation when it is neither
/// `true` nor `false`.
pub(super) fn ignore_unknown(query: Option<&str>) -> (bool, Option<Violation>) {
    match rules::query_param(query, "ignoreUnknownFields") {
        None | Some("false") => (false, None),
        Some("true") => (true, None),
        Some(other) => (
            false,
            Some(
                Violation::new(
                    "ignoreUnknownFields",
                    Rule::Type,
                    "ignoreUnknownFields must be true or false",
                )
                .with_value(Value::String(other.to_string())),
            ),
        ),
    }
}

/// Decodes the members of `data` into changes, in the client's order.
pub(super) fn decode_data(
    data: Vec<(Cow<'_, str>, rules::Members<'_>)>,
    ignore: Option<bool>,
    changes: &mut ChangeSet,
    violations: &mut Vec<Violation>,
) {
    for (key, value) in data {
        let value = value.into_value();
        let Some(i) = key_index(&key) else {
            if ignore == Some(false) {
                let pointer = format!("/data/{}", pointer_token(&key));
                violations.push(unknown_field(pointer, &key));
            }
            continue;
        };
        let row = &KEYS[i];
        let pointer = DATA_POINTERS[i];
        match row.canon {
            Slot::Field(field) => {
                // `customerId: null` breaks a rule of Reach's storage (a required field), which
                // `check_target` enforces where Reach is the target (`dialect::vendor_rules` on
                // a same-dialect route). Toward an upstream without an external id it is the
                // `null` a translated answer showed, echoed back (SPEC §2), so not refused here.
                let bad = if field == Field::ExternalId && value.is_null() {
                    None
                } else {
                    field_violation(field, &value, pointer)
                };
                match bad {
                    None => changes.push(Op::Set { field, value }, pointer),
                    Some(v) => violations.push(v),
                }
            }
            Slot::Coll(coll) => match value {
                Value::String(s) => changes.push(
                    Op::Primary {
                        coll,
                        value: Some(s),
                    },
                    pointer,
                ),
                Value::Null => changes.push(Op::Primary { coll, value: None }, pointer),
                other => violations.extend(rules::string(&other, pointer).err()),
            },
        }
    }
}

pub(super) fn check_target(changes: &[Change]) -> Vec<Violation> {
    changes
        .iter()
        .filter_map(|c| match &c.op {
            Op::Set { field, value } if Reach.holds(*field) => {
                field_violation(*field, value, &c.origin)
            }
            _ => None,
        })
        .collect()
}

pub(super) fn decode_request(query: Option<&str>, body: &[u8]) -> Result<ClientRequest, ApiError> {
    // One pass: a repeated key is refused before anything else is looked at, as a separate
    // `reject_duplicate_keys` would (it is the only error reported then). The root and `data`
    // are only walked in order, so they stay member lists with borrowed keys.
    let parsed = rules::parse_json_members(body, 2);
    if let Err(rules::JsonFailure::Duplicate(e)) = parsed {
        return Err(e);
    }
    let mut violations = Vec::new();
    // An invalid switch leaves it unknown whether extra keys are errors: they are then not
    // reported, every other rule still is.
    let ignore = match ignore_unknown(query) {
        (b, None) => Some(b),
        (_, Some(v)) => {
            violations.push(v);
            None
        }
    };
    let root = match parsed {
        Ok(v) => v,
        Err(f) => {
            violations.append(&mut f.into_error().violations);
            return Err(ApiError::invalid(violations));
        }
    };
    let top = match root {
        rules::Members::Object(m) => m,
        rules::Members::Value(other) => {
            violations.extend(rules::object(&other, "").err());
            return Err(ApiError::invalid(violations));
        }
    };
    let mut changes = ChangeSet {
        changes: Vec::with_capacity(8),
    };
    let mut seen_data = false;
    for (key, value) in top {
        if key == "data" {
            seen_data = true;
            match value {
                rules::Members::Object(data) => {
                    decode_data(data, ignore, &mut changes, &mut violations)
                }
                rules::Members::Value(other) => {
                    violations.extend(rules::object(&other, "/data").err())
                }
            }
        } else if ignore == Some(false) {
            let pointer = format!("/{}", pointer_token(&key));
            violations.push(unknown_field(pointer, &key));
        }
    }
    if !seen_data {
        violations.push(Violation::new(
            "/data",
            Rule::Required,
            "The data object is required",
        ));
    }
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    Ok(ClientRequest {
        changes,
        reload: false,
        full: false,
        document: None,
    })
}
