//! Reach upstream side: the PATCH/GET written straight into a byte buffer and the answer
//! envelope read into borrowed structs (the load benchmark's hot path), vendor errors located.

use super::*;
/// Unreserved characters (RFC 3986 §2.3) stay as they are in a path segment; everything else is
/// percent-encoded.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `/api/resources/customers/{externalId}` with the id percent-encoded as one segment. The dot
/// segments `.` and `..` are encoded too, so that no server on the way normalises them away.
pub(super) fn customer_path(id: &str) -> String {
    let mut path = String::with_capacity(PREFIX.len() + id.len() + 8);
    path.push_str(PREFIX);
    if id == "." || id == ".." {
        id.chars().for_each(|_| path.push_str("%2E"));
    } else if id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        // Only unreserved characters (`SEGMENT` keeps them): nothing to encode.
        path.push_str(id);
    } else {
        path.extend(utf8_percent_encode(id, SEGMENT));
    }
    path
}

/// One slot of the body [`Reach::encode_update`] writes.
#[derive(Clone, Copy)]
pub(super) enum Out<'a> {
    Json(&'a Value),
    Str(Option<&'a str>),
}

/// A string of an upstream answer, borrowed from the body unless it had escapes. serde's own
/// `Option<Cow<str>>` always copies (its borrow support covers a bare `Cow` only); the record
/// repeats every id and timestamp, and only one copy of each is kept.
pub(super) struct WireStr<'a>(pub(super) Cow<'a, str>);

impl WireStr<'_> {
    pub(super) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for WireStr<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = WireStr<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(WireStr(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(WireStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

/// The customer fields of a Reach record (`record.data`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireFields<'a> {
    #[serde(borrow, default)]
    pub(super) customer_id: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) first_name: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) last_name: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) created_at: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) email: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) phone: Option<WireStr<'a>>,
    #[serde(default)]
    pub(super) email_opt_out: Option<bool>,
    #[serde(default)]
    pub(super) sms_opt_out: Option<bool>,
    #[serde(borrow, default)]
    pub(super) customer_detail_url: Option<WireStr<'a>>,
}

/// A Reach resource record, or the envelope's `data` holding one under `result`: one recursive
/// struct reads both the current shape (`data.result`) and the older create shape (record
/// directly under `data`) in a single pass. Ids and timestamps come twice (snake_case and
/// camelCase); serde aliases would reject that as a duplicate, hence separate members.
#[derive(serde::Deserialize)]
pub(super) struct WireRecord<'a> {
    #[serde(borrow, default)]
    pub(super) result: Option<Box<WireRecord<'a>>>,
    #[serde(default)]
    pub(super) id: Option<Value>,
    #[serde(borrow, default)]
    pub(super) schema_definition_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "schemaDefinitionId")]
    pub(super) schema_definition_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) platform_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "platformId")]
    pub(super) platform_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) business_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "businessId")]
    pub(super) business_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) created_at: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "createdAt")]
    pub(super) created_at_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) updated_at: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "updatedAt")]
    pub(super) updated_at_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    pub(super) data: Option<WireFields<'a>>,
}

#[derive(serde::Deserialize)]
pub(super) struct WireEnvelope<'a> {
    #[serde(borrow, default)]
    pub(super) data: Option<WireRecord<'a>>,
}

pub(super) fn owned(a: Option<WireStr<'_>>, b: Option<WireStr<'_>>) -> Option<String> {
    a.or(b).map(WireStr::into_owned)
}

/// A single-slot value as the one entry (id 1) of a canonical collection; an empty string is no
/// entry.
pub(super) fn slot_entry(v: Option<WireStr<'_>>) -> Vec<Entry> {
    match v {
        Some(s) if !s.0.is_empty() => vec![Entry {
            id: 1,
            kind: None,
            value: s.into_owned(),
        }],
        _ => Vec::new(),
    }
}

pub(super) fn encode_update(
    customer_id: &str,
    changes: &[Change],
    cx: &EncodeCx,
) -> Result<Vec<UpstreamRequest>, ApiError> {
    let mut slots: [Option<Out<'_>>; KEYS.len()] = [None; KEYS.len()];
    let mut unmappable = Vec::new();
    for change in changes {
        // A later change to the same slot wins, as when the changes are applied in order.
        let (slot, out) = match &change.op {
            Op::Set { field, value } => (Slot::Field(*field), Out::Json(value)),
            Op::Primary { coll, value } => (Slot::Coll(*coll), Out::Str(value.as_deref())),
            _ => {
                unmappable.push(change);
                continue;
            }
        };
        match slot_index(slot) {
            Some(i) => slots[i] = Some(out),
            None => unmappable.push(change),
        }
    }
    if !unmappable.is_empty() {
        // The planner filters these out; refusing beats silently dropping a change.
        return Err(wire::refuse_unencodable(
            unmappable,
            "Reach has no place for this change",
        ));
    }
    let mut out = JsonWriter::with_capacity(256);
    out.open(b'{');
    out.key("data");
    out.open(b'{');
    for (row, slot) in KEYS.iter().zip(slots) {
        let key = row.wire;
        match slot {
            Some(Out::Json(v)) => out.member_value(key, v),
            Some(Out::Str(s)) => out.member_str(key, s),
            None => {}
        }
    }
    out.close(b'}');
    out.close(b'}');
    let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
    headers.push(("Content-Type".to_string(), "application/json".to_string()));
    headers.extend(cx.passthrough_headers.iter().cloned());
    Ok(vec![UpstreamRequest {
        method: "PATCH",
        path: customer_path(customer_id),
        headers,
        body: Some(out.into_bytes()),
    }])
}

pub(super) fn encode_get(customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
    UpstreamRequest {
        method: "GET",
        path: customer_path(customer_id),
        headers: cx.passthrough_headers.clone(),
        body: None,
    }
}

pub(super) fn decode_customer(body: &[u8]) -> Option<Customer> {
    let env: WireEnvelope<'_> = wire::from_json(body).ok()?;
    let outer = env.data?;
    let rec = match outer.result {
        Some(inner) => *inner,
        None => outer,
    };
    if rec.data.is_none() && rec.id.is_none() {
        return None;
    }
    let mut c = Customer {
        meta: Meta {
            id: rec.id,
            record_created_at: owned(rec.created_at, rec.created_at_camel),
            record_updated_at: owned(rec.updated_at, rec.updated_at_camel),
            schema_definition_id: owned(rec.schema_definition_id, rec.schema_definition_id_camel),
            platform_id: owned(rec.platform_id, rec.platform_id_camel),
            business_id: owned(rec.business_id, rec.business_id_camel),
        },
        ..Customer::default()
    };
    if let Some(f) = rec.data {
        c.external_id = f.customer_id.map(WireStr::into_owned);
        c.first_name = f.first_name.map(WireStr::into_owned);
        c.last_name = f.last_name.map(WireStr::into_owned);
        c.created_at = f.created_at.map(WireStr::into_owned);
        c.emails = slot_entry(f.email);
        c.phones = slot_entry(f.phone);
        c.email_opt_out = f.email_opt_out;
        c.sms_opt_out = f.sms_opt_out;
        c.detail_url = f.customer_detail_url.map(WireStr::into_owned);
    }
    Some(c)
}

pub(super) fn decode_error(status: u16, body: &[u8]) -> ApiError {
    let fallback = || format!("Upstream answered with status {status}");
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return ApiError::upstream(status, fallback(), Vec::new());
    };
    let message = ["message", "error"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .map_or_else(fallback, str::to_string);
    let violations = map
        .get("errors")
        .and_then(Value::as_array)
        .map(|errors| {
            errors
                .iter()
                .map(|e| wire::upstream_violation(e, "path"))
                .collect()
        })
        .unwrap_or_default();
    ApiError::upstream(status, message, violations)
}
