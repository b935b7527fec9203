//! Reach upstream side: the PATCH/GET written straight into a byte buffer and the answer
//! envelope read into borrowed structs (the load benchmark's hot path), vendor errors located.

use super::*;
use crate::dialect::scan::{self, Reader};
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

/// The customer fields of a Reach record (`record.data`); strings borrowed from the answer
/// unless they had escapes.
#[derive(Default)]
pub(super) struct WireFields<'a> {
    pub(super) customer_id: Option<Cow<'a, str>>,
    pub(super) first_name: Option<Cow<'a, str>>,
    pub(super) last_name: Option<Cow<'a, str>>,
    pub(super) created_at: Option<Cow<'a, str>>,
    pub(super) email: Option<Cow<'a, str>>,
    pub(super) phone: Option<Cow<'a, str>>,
    pub(super) email_opt_out: Option<bool>,
    pub(super) sms_opt_out: Option<bool>,
    pub(super) customer_detail_url: Option<Cow<'a, str>>,
}

/// A Reach resource record, or the envelope's `data` holding one under `result`: one reader
/// takes both the current shape (`data.result`) and the older create shape (record directly
/// under `data`) in a single pass. Ids and timestamps come twice (snake_case and camelCase);
/// either name is read, and neither may repeat.
#[derive(Default)]
pub(super) struct WireRecord<'a> {
    pub(super) result: Option<Box<WireRecord<'a>>>,
    pub(super) id: Option<Value>,
    pub(super) schema_definition_id: Option<Cow<'a, str>>,
    pub(super) schema_definition_id_camel: Option<Cow<'a, str>>,
    pub(super) platform_id: Option<Cow<'a, str>>,
    pub(super) platform_id_camel: Option<Cow<'a, str>>,
    pub(super) business_id: Option<Cow<'a, str>>,
    pub(super) business_id_camel: Option<Cow<'a, str>>,
    pub(super) created_at: Option<Cow<'a, str>>,
    pub(super) created_at_camel: Option<Cow<'a, str>>,
    pub(super) updated_at: Option<Cow<'a, str>>,
    pub(super) updated_at_camel: Option<Cow<'a, str>>,
    pub(super) data: Option<WireFields<'a>>,
}

/// Marks member `bit` as read; a member named twice is an error (serde's derived readers,
/// which this replaced, refused it too: which of the two would be the record's?).
fn first_time(seen: &mut u32, bit: u32) -> scan::Result<()> {
    if *seen & (1 << bit) != 0 {
        return Err(scan::Invalid);
    }
    *seen |= 1 << bit;
    Ok(())
}

/// `null` (no record) or a record object; unknown members are skipped.
fn read_record<'a>(r: &mut Reader<'a>) -> scan::Result<Option<WireRecord<'a>>> {
    if r.null()? {
        return Ok(None);
    }
    let mut rec = WireRecord::default();
    let mut seen = 0;
    r.object(|r, key| {
        let (bit, slot) = match key.as_ref() {
            "result" => {
                first_time(&mut seen, 0)?;
                rec.result = read_record(r)?.map(Box::new);
                return Ok(());
            }
            "id" => {
                first_time(&mut seen, 1)?;
                rec.id = r.opt_value()?;
                return Ok(());
            }
            "data" => {
                first_time(&mut seen, 2)?;
                rec.data = read_fields(r)?;
                return Ok(());
            }
            "schema_definition_id" => (3, &mut rec.schema_definition_id),
            "schemaDefinitionId" => (4, &mut rec.schema_definition_id_camel),
            "platform_id" => (5, &mut rec.platform_id),
            "platformId" => (6, &mut rec.platform_id_camel),
            "business_id" => (7, &mut rec.business_id),
            "businessId" => (8, &mut rec.business_id_camel),
            "created_at" => (9, &mut rec.created_at),
            "createdAt" => (10, &mut rec.created_at_camel),
            "updated_at" => (11, &mut rec.updated_at),
            "updatedAt" => (12, &mut rec.updated_at_camel),
            _ => return r.skip().map(drop),
        };
        first_time(&mut seen, bit)?;
        *slot = r.opt_string()?;
        Ok(())
    })?;
    Ok(Some(rec))
}

/// `null` (no fields) or the record's `data` object.
fn read_fields<'a>(r: &mut Reader<'a>) -> scan::Result<Option<WireFields<'a>>> {
    if r.null()? {
        return Ok(None);
    }
    let mut f = WireFields::default();
    let mut seen = 0;
    r.object(|r, key| {
        let (bit, slot) = match key.as_ref() {
            "emailOptOut" => {
                first_time(&mut seen, 0)?;
                f.email_opt_out = r.opt_bool()?;
                return Ok(());
            }
            "smsOptOut" => {
                first_time(&mut seen, 1)?;
                f.sms_opt_out = r.opt_bool()?;
                return Ok(());
            }
            "customerId" => (2, &mut f.customer_id),
            "firstName" => (3, &mut f.first_name),
            "lastName" => (4, &mut f.last_name),
            "createdAt" => (5, &mut f.created_at),
            "email" => (6, &mut f.email),
            "phone" => (7, &mut f.phone),
            "customerDetailUrl" => (8, &mut f.customer_detail_url),
            _ => return r.skip().map(drop),
        };
        first_time(&mut seen, bit)?;
        *slot = r.opt_string()?;
        Ok(())
    })?;
    Ok(Some(f))
}

/// The envelope `{"data": record-or-null, …}`: the record, if any.
fn read_envelope(text: &str) -> scan::Result<Option<WireRecord<'_>>> {
    let mut r = Reader::new(text);
    let mut data = None;
    let mut seen = 0;
    r.object(|r, key| {
        if key == "data" {
            first_time(&mut seen, 0)?;
            data = read_record(r)?;
            Ok(())
        } else {
            r.skip().map(drop)
        }
    })?;
    r.finish()?;
    Ok(data)
}

pub(super) fn owned(a: Option<Cow<'_, str>>, b: Option<Cow<'_, str>>) -> Option<String> {
    a.or(b).map(Cow::into_owned)
}

/// A single-slot value as the one entry (id 1) of a canonical collection; an empty string is no
/// entry.
pub(super) fn slot_entry(v: Option<Cow<'_, str>>) -> Vec<Entry> {
    match v {
        Some(s) if !s.is_empty() => vec![Entry {
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

/// The customer of a Reach answer (a GET's or a write's); `None` when the body is not a Reach
/// envelope holding a record. JSON is UTF-8 (RFC 8259 §8.1): a body that is not is no answer.
pub(super) fn decode_customer(body: &[u8]) -> Option<Customer> {
    let text = std::str::from_utf8(body).ok()?;
    customer_from(read_envelope(text).ok()??)
}

/// The customer of the envelope's `data` record (or of the record under its `result`); `None`
/// when that record has neither fields nor an id.
pub(super) fn customer_from(outer: WireRecord<'_>) -> Option<Customer> {
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
        c.external_id = f.customer_id.map(Cow::into_owned);
        c.first_name = f.first_name.map(Cow::into_owned);
        c.last_name = f.last_name.map(Cow::into_owned);
        c.created_at = f.created_at.map(Cow::into_owned);
        c.emails = slot_entry(f.email);
        c.phones = slot_entry(f.phone);
        c.email_opt_out = f.email_opt_out;
        c.sms_opt_out = f.sms_opt_out;
        c.detail_url = f.customer_detail_url.map(Cow::into_owned);
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
