//! Help Scout v1 upstream side: one partial PUT serialised from borrowed changes, the GET, and
//! reading the vendor's `{"item"}` answers back into the canonical customer.

use super::*;
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
    // Room for a typical body up front (`to_vec` starts at 128 bytes and regrows).
    let mut bytes = Vec::with_capacity(256);
    serde_json::to_writer(&mut bytes, &body)
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("encoding failed: {e}")))?;
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
        body: Some(bytes.into()),
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
