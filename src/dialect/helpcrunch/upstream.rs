//! HelpCrunch upstream side: resolved changes written as one PATCH body straight into a buffer
//! (the last change to a key wins), and the customer GET.

use super::*;
/// Where a resolved change lands in a HelpCrunch update body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot<'a> {
    Name,
    Key(&'static str, Field),
    Email,
    Phone,
    Prop(&'a str),
}

/// The body key of a field (the profile's row; the joined name's halves are `slot_of`'s own case).
pub(super) fn wire_key(field: Field) -> Option<&'static str> {
    crate::dialect::fields::field_wire(&crate::dialect::profile::HELPCRUNCH, field)
}

pub(super) fn slot_of(op: &Op) -> Option<Slot<'_>> {
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

pub(super) fn internal(message: String) -> ApiError {
    ApiError::new(ErrorKind::Internal, message)
}

/// The last value given to a name half, if any.
pub(super) fn last_set(changes: &[Change], wanted: Field) -> Option<&Value> {
    changes.iter().rev().find_map(|c| match &c.op {
        Op::Set { field, value } if *field == wanted => Some(value),
        _ => None,
    })
}

/// True when a later change writes the same slot (the last one wins; a JSON object must not
/// carry a key twice).
pub(super) fn superseded(changes: &[Change], i: usize, slot: Slot<'_>) -> bool {
    changes[i + 1..]
        .iter()
        .any(|c| slot_of(&c.op) == Some(slot))
}

pub(super) fn customer_path(id: &str) -> String {
    const PREFIX: &str = "/v1/customers/";
    let mut path = String::with_capacity(PREFIX.len() + id.len());
    path.push_str(PREFIX);
    if id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        // Every valid (numeric) id: nothing to encode, and no `format!` machinery.
        path.push_str(id);
    } else {
        path.extend(utf8_percent_encode(id, NON_ALPHANUMERIC));
    }
    path
}

pub(super) fn encode_patch(
    customer_id: &str,
    changes: &[Change],
) -> Result<UpstreamRequest, ApiError> {
    let mut out = JsonWriter::with_capacity(64 + changes.len() * 32);
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
                    v => out.value(v),
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
            out.str(slug);
            out.key("value");
            out.value(value);
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

pub(super) fn encode_update(
    customer_id: &str,
    changes: &[Change],
    cx: &EncodeCx,
) -> Result<Vec<UpstreamRequest>, ApiError> {
    rules::numeric_id(
        customer_id,
        "HelpCrunch customer ids are positive integers.",
    )?;
    let mut patch = encode_patch(customer_id, changes)?;
    patch.headers.extend(cx.passthrough_headers.iter().cloned());
    Ok(vec![patch])
}

pub(super) fn encode_get(customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
    let mut get = UpstreamRequest::bodiless("GET", customer_path(customer_id));
    get.headers.extend(cx.passthrough_headers.iter().cloned());
    get
}
