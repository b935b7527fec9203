//! Help Scout v1 upstream side: one partial PUT serialised from borrowed changes, the GET, and
//! reading the vendor's `{"item"}` answers back into the canonical customer.

use super::*;
use crate::dialect::wire::JsonWriter;
/// The v1 PUT body, borrowed from the changes and serialised in one pass (no cloned values):
/// scalars in change order, then `address`, then the entry arrays.
#[derive(Default)]
pub(super) struct PutBody<'a> {
    pub(super) scalars: Vec<(&'static str, &'a Value)>,
    pub(super) address: Vec<(&'static str, &'a Value)>,
    pub(super) colls: [Vec<EntryOut<'a>>; 5],
}

/// One entry object of a PUT body: `{"id"?, "value"?, "location"|"type"?}`.
pub(super) struct EntryOut<'a> {
    pub(super) id: Option<Value>,
    pub(super) value: Option<&'a str>,
    pub(super) kind: Option<(&'static str, &'a str)>,
}

/// A later change of the same key wins, as it would when applied in order.
pub(super) fn upsert<'a>(
    list: &mut Vec<(&'static str, &'a Value)>,
    key: &'static str,
    value: &'a Value,
) {
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => list.push((key, value)),
    }
}

/// The type key and value of an entry, when the collection has a type.
pub(super) fn typed(coll: Coll, kind: Option<&str>) -> Option<(&'static str, &str)> {
    type_key(coll).zip(kind)
}

/// Serialises borrowed `(key, value)` pairs as one JSON object.
pub(super) struct Pairs<'p, 'a>(pub(super) &'p [(&'static str, &'a Value)]);

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
        for (member, entries) in members().colls.iter().zip(&self.colls) {
            if !entries.is_empty() {
                m.serialize_entry(member.key, entries)?;
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

pub(super) fn str_of(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn address_of(v: Option<&Value>) -> Option<Address> {
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

pub(super) fn entries_of(v: Option<&Value>, coll: Coll) -> Vec<Entry> {
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

/// The PUT body, byte for byte what serde_json writes for `body` (its `Serialize` impl), with
/// the shared [`JsonWriter`]: serde_json's map serializer and its per-byte string escaping were
/// a fifth of a translation toward v1. Member names are the profile's ASCII constants.
pub(super) fn put_body(body: &PutBody<'_>) -> bytes::Bytes {
    // Room for a typical body up front.
    let mut w = JsonWriter::with_capacity(256);
    w.open(b'{');
    for (k, v) in &body.scalars {
        w.member_value(k, v);
    }
    if !body.address.is_empty() {
        w.key("address");
        w.open(b'{');
        for (k, v) in &body.address {
            w.member_value(k, v);
        }
        w.close(b'}');
    }
    for (member, entries) in members().colls.iter().zip(&body.colls) {
        if entries.is_empty() {
            continue;
        }
        w.key(member.key);
        w.open(b'[');
        for e in entries {
            w.sep();
            w.open(b'{');
            if let Some(id) = &e.id {
                w.member_value("id", id);
            }
            if let Some(v) = e.value {
                w.member_str("value", Some(v));
            }
            if let Some((k, v)) = e.kind {
                w.member_str(k, Some(v));
            }
            w.close(b'}');
        }
        w.close(b']');
    }
    w.close(b'}');
    w.into_bytes()
}

pub(super) fn encode_update(
    customer_id: &str,
    changes: &[Change],
    cx: &EncodeCx,
) -> Result<Vec<UpstreamRequest>, ApiError> {
    rules::numeric_id(customer_id, "Help Scout customer ids are positive integers")?;
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
            Op::EntryUpdate(EntryUpdate {
                coll,
                id,
                kind,
                value,
            }) => body.colls[coll_index(*coll)].push(EntryOut {
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
        return Err(wire::refuse_unencodable(
            unencodable,
            "Help Scout v1 has no place for this change",
        ));
    }
    let bytes = put_body(&body);
    let query = if cx.want_customer { "?reload=true" } else { "" };
    // Not `format!`: its machinery costs more than the copies on this hot path.
    let mut path =
        String::with_capacity(PREFIX.len() + customer_id.len() + SUFFIX.len() + query.len());
    for part in [PREFIX, customer_id, SUFFIX, query] {
        path.push_str(part);
    }
    let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
    headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    headers.extend(cx.passthrough_headers.iter().cloned());
    Ok(vec![UpstreamRequest {
        method: "PUT",
        path,
        headers,
        body: Some(bytes),
    }])
}

pub(super) fn encode_get(customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
    let id = utf8_percent_encode(customer_id, SEGMENT);
    let mut req = UpstreamRequest::bodiless("GET", format!("{PREFIX}{id}{SUFFIX}"));
    req.headers.extend(cx.passthrough_headers.iter().cloned());
    req
}

pub(super) fn decode_customer(body: &[u8]) -> Option<Customer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let doc: Value = crate::dialect::wire::from_json(body).ok()?;
    let item = doc.get("item")?.as_object()?;
    let s = |key: &str| str_of(item, key);
    let mut c = Customer {
        address: address_of(item.get("address")),
        meta: Meta {
            id: item.get("id").filter(|v| !v.is_null()).cloned(),
            record_created_at: s("createdAt"),
            record_updated_at: s("modifiedAt"),
            ..Meta::default()
        },
        ..document::helpscout_scalars(s)
    };
    for m in &members().colls {
        *c.coll_mut(m.canon) = entries_of(item.get(m.key), m.canon);
    }
    Some(c)
}

#[cfg(test)]
mod put_body_tests {
    use super::*;

    /// The writer's body is serde_json's, byte for byte: scalars, address, every collection,
    /// entry ids both ways, typed and untyped entries, strings that need escapes.
    #[test]
    fn put_body_is_what_serde_json_writes() {
        let name = Value::String("Ver\"non\\".into());
        let null = Value::Null;
        let lines = serde_json::json!(["a", "b\u{1}"]);
        let age = serde_json::json!(42);
        let mut body = PutBody {
            scalars: vec![("firstName", &name), ("age", &age), ("lastName", &null)],
            address: vec![("city", &name), ("lines", &lines)],
            ..PutBody::default()
        };
        for (i, coll) in body.colls.iter_mut().enumerate() {
            coll.push(EntryOut {
                id: None,
                value: Some("a@b.co"),
                kind: Some(("location", "work")),
            });
            if i % 2 == 0 {
                coll.push(EntryOut {
                    id: Some(Value::from(-7i64)),
                    value: None,
                    kind: None,
                });
            }
            coll.push(EntryOut {
                id: Some(Value::from(9u64)),
                value: Some("q\"t\u{7f}\u{e9}"),
                kind: Some(("type", "other")),
            });
        }
        let expected = serde_json::to_vec(&body).expect("serialises");
        assert_eq!(put_body(&body).as_ref(), expected.as_slice());
        let empty = PutBody::default();
        let expected = serde_json::to_vec(&empty).expect("serialises");
        assert_eq!(put_body(&empty).as_ref(), expected.as_slice());
    }
}
