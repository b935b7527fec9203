//! Help Scout v2 upstream side: JSON-Patch requests for customer fields then properties, the
//! GET, and reading the vendor's HAL documents and `vnd.error` bodies back.

use super::*;
use crate::dialect::wire::JsonWriter;
/// One JSON-Patch operation as v2 expects it; borrowed so encoding allocates little.
#[derive(Serialize)]
pub(super) struct PatchOp<'a> {
    pub(super) op: &'static str,
    pub(super) path: OpPath<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<PatchValue<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum PatchValue<'a> {
    Json(&'a Value),
    Str(&'a str),
    Entry {
        #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
        kind: Option<&'a str>,
        value: &'a str,
    },
}

/// Where a patch operation applies: a path given as text, or an entry's path, which the body
/// writer writes in place (building it as a string first cost an allocation per operation).
pub(super) enum OpPath<'a> {
    Text(Cow<'a, str>),
    /// `/{coll}/{id}{sub}`, as [`entry_path`] spells it.
    Entry {
        coll: Coll,
        id: u64,
        sub: &'static str,
    },
}

impl Serialize for OpPath<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OpPath::Text(p) => s.serialize_str(p),
            OpPath::Entry { coll, id, sub } => s.serialize_str(&entry_path(*coll, *id, sub)),
        }
    }
}

pub(super) fn entry_path(coll: Coll, id: u64, sub: &str) -> Cow<'static, str> {
    // Not `format!`: its machinery costs more than the copies on this hot path.
    let key = document::coll_key(coll);
    let mut path = String::with_capacity(key.len() + sub.len() + 22);
    path.push('/');
    path.push_str(key);
    path.push('/');
    push_decimal(&mut path, id);
    path.push_str(sub);
    Cow::Owned(path)
}

/// Appends `n` in decimal, as `to_string` writes it.
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // `n % 10` is a single digit.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// The type v2 gets for an entry: the given one (v2 spelling) or, for dialects without types,
/// `work` for e-mails and phones (SPEC §2 default) and `other` for chats and social profiles.
pub(super) fn wire_entry_kind(coll: Coll, kind: Option<&str>) -> Option<&str> {
    match kind {
        Some(k) if coll.v2_types().is_some() => Some(wire_kind(coll, k)),
        _ => fallback_kind(coll, "work"),
    }
}

pub(super) fn unmappable(change: &Change) -> ApiError {
    wire::refuse_unencodable(
        [change],
        "Help Scout Mailbox API v2 has no place for this change",
    )
}

pub(super) fn customer_path(customer_id: &str) -> String {
    let mut path = String::with_capacity(14 + customer_id.len());
    path.push_str("/v2/customers/");
    path.extend(utf8_percent_encode(customer_id, SEGMENT));
    path
}

pub(super) fn patch_request(path: String, ops: &[PatchOp<'_>], cx: &EncodeCx) -> UpstreamRequest {
    let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
    headers.push(("Content-Type".to_string(), "application/json".to_string()));
    headers.extend(cx.passthrough_headers.iter().cloned());
    UpstreamRequest {
        method: "PATCH",
        path,
        headers,
        body: Some(patch_body(ops)),
    }
}

/// The JSON-Patch document, byte for byte what serde_json writes for `ops`, written with the
/// shared [`JsonWriter`]: serde_json's writer looks every string byte up and writes through
/// `io::Write`, which was most of the cost of encoding a v2 update. The punctuation and member
/// names around each operation are constants written in one piece each (`op` is one of the
/// three RFC 6902 names, plain ASCII); only the path and the values go through the escaping
/// writer.
pub(super) fn patch_body(ops: &[PatchOp<'_>]) -> Bytes {
    // Room for a typical patch up front.
    let mut w = JsonWriter::with_capacity(64 + 64 * ops.len());
    w.raw(b"[");
    for (i, op) in ops.iter().enumerate() {
        w.raw(if i == 0 {
            b"{\"op\":\""
        } else {
            b",{\"op\":\""
        });
        w.raw(op.op.as_bytes());
        w.raw(b"\",\"path\":");
        match &op.path {
            OpPath::Text(p) => w.str(p),
            OpPath::Entry { coll, id, sub } => {
                // The collection key, the decimal id and the member name are ASCII constants
                // that need no escape.
                w.raw(b"\"/");
                w.raw(document::coll_key(*coll).as_bytes());
                w.raw(b"/");
                w.raw(itoa::Buffer::new().format(*id).as_bytes());
                w.raw(sub.as_bytes());
                w.raw(b"\"");
            }
        }
        match &op.value {
            None => {}
            Some(PatchValue::Json(v)) => {
                w.raw(b",\"value\":");
                w.value(v);
            }
            Some(PatchValue::Str(s)) => {
                w.raw(b",\"value\":");
                w.str(s);
            }
            Some(PatchValue::Entry { kind, value }) => {
                match kind {
                    Some(kind) => {
                        w.raw(b",\"value\":{\"type\":");
                        w.str(kind);
                        w.raw(b",\"value\":");
                    }
                    None => w.raw(b",\"value\":{\"value\":"),
                }
                w.str(value);
                w.raw(b"}");
            }
        }
        w.raw(b"}");
    }
    w.raw(b"]");
    w.into_bytes()
}

pub(super) fn scalar_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn decode_entries(coll: Coll, v: Option<&Value>) -> Vec<Entry> {
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

pub(super) fn decode_address(v: Option<&Value>) -> Option<crate::canonical::Address> {
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

pub(super) fn encode_update(
    customer_id: &str,
    changes: &[Change],
    cx: &EncodeCx,
) -> Result<Vec<UpstreamRequest>, ApiError> {
    let mut ops: Vec<PatchOp<'_>> = Vec::with_capacity(changes.len());
    let mut props: Vec<PatchOp<'_>> = Vec::new();
    for change in changes {
        match &change.op {
            Op::Set { field, value } => {
                let path = field_pointer(*field).ok_or_else(|| unmappable(change))?;
                let path = OpPath::Text(Cow::Borrowed(path));
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
                path: OpPath::Text(Cow::Borrowed(match coll {
                    Coll::Emails => "/emails",
                    Coll::Phones => "/phones",
                    Coll::Chats => "/chats",
                    Coll::SocialProfiles => "/social-profiles",
                    Coll::Websites => "/websites",
                })),
                value: Some(PatchValue::Entry {
                    kind: wire_entry_kind(*coll, kind.as_deref()),
                    value,
                }),
            }),
            Op::EntryRemove { coll, id } => ops.push(PatchOp {
                op: "remove",
                path: OpPath::Entry {
                    coll: *coll,
                    id: *id,
                    sub: "",
                },
                value: None,
            }),
            Op::EntryUpdate(update) => {
                let (coll, id) = (update.coll, update.id);
                let kind = update
                    .kind
                    .as_deref()
                    .filter(|_| coll.v2_types().is_some())
                    .map(|k| wire_kind(coll, k));
                let op = match (kind, update.value.as_deref()) {
                    (Some(kind), Some(value)) => PatchOp {
                        op: "replace",
                        path: OpPath::Entry { coll, id, sub: "" },
                        value: Some(PatchValue::Entry {
                            kind: Some(kind),
                            value,
                        }),
                    },
                    (None, Some(value)) => PatchOp {
                        op: "replace",
                        path: OpPath::Entry {
                            coll,
                            id,
                            sub: "/value",
                        },
                        value: Some(PatchValue::Str(value)),
                    },
                    (Some(kind), None) => PatchOp {
                        op: "replace",
                        path: OpPath::Entry {
                            coll,
                            id,
                            sub: "/type",
                        },
                        value: Some(PatchValue::Str(kind)),
                    },
                    (None, None) => continue,
                };
                ops.push(op);
            }
            Op::PropertySet { slug, value } => props.push(PatchOp {
                op: "replace",
                path: OpPath::Text(Cow::Owned(format!("/{}", pointer_token(slug)))),
                value: Some(PatchValue::Json(value)),
            }),
            Op::PropertyRemove { slug } => props.push(PatchOp {
                op: "remove",
                path: OpPath::Text(Cow::Owned(format!("/{}", pointer_token(slug)))),
                value: None,
            }),
            Op::Primary { .. } => return Err(unmappable(change)),
        }
    }
    let mut out = Vec::with_capacity(2);
    let base = customer_path(customer_id);
    let props_path = (!props.is_empty()).then(|| format!("{base}/properties"));
    if !ops.is_empty() {
        out.push(patch_request(base, &ops, cx));
    }
    if let Some(path) = props_path {
        out.push(patch_request(path, &props, cx));
    }
    Ok(out)
}

pub(super) fn encode_get(customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
    let mut req = UpstreamRequest::bodiless("GET", customer_path(customer_id));
    req.headers.extend(cx.passthrough_headers.iter().cloned());
    req
}

pub(super) fn decode_customer(body: &[u8]) -> Option<Customer> {
    let doc: Value = crate::dialect::wire::from_json(body).ok()?;
    let obj = doc.as_object()?;
    let s = |key: &str| scalar_string(obj.get(key));
    let embedded = obj.get("_embedded").and_then(Value::as_object);
    let emb = |key: &str| embedded.and_then(|e| e.get(key));
    let mut c = Customer {
        address: decode_address(emb("address").or_else(|| obj.get("address"))),
        ..document::helpscout_scalars(s)
    };
    for coll in Coll::ALL {
        let v = emb(embedded_key(coll)).or_else(|| emb(document::coll_key(coll)));
        *c.coll_mut(coll) = decode_entries(coll, v);
    }
    if let Some(Value::Array(props)) = emb("properties") {
        for p in props {
            let (Some(slug), Some(value)) = (p.get("slug").and_then(Value::as_str), p.get("value"))
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

/// The reason phrase used when an upstream error body carries no message.
pub(super) fn status_message(status: u16) -> &'static str {
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

pub(super) fn decode_error(status: u16, body: &[u8]) -> ApiError {
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

#[cfg(test)]
mod path_tests {
    use super::{entry_path, Coll};

    /// The hand-written decimal is `to_string`'s.
    #[test]
    fn entry_paths_write_ids_in_decimal() {
        for id in [0, 1, 9, 10, 1002, 4_294_967_296, u64::MAX] {
            assert_eq!(
                entry_path(Coll::Emails, id, "/value"),
                format!("/emails/{id}/value")
            );
        }
        assert_eq!(
            entry_path(Coll::SocialProfiles, 7, ""),
            "/social-profiles/7"
        );
    }
}

#[cfg(test)]
mod patch_body_tests {
    use super::*;

    /// The writer's document is serde_json's, byte for byte, for every kind of operation and
    /// for strings that need escapes.
    #[test]
    fn patch_body_is_what_serde_json_writes() {
        let json = serde_json::json!({"a": [1, "x\"y"], "b": null});
        let plain = Value::String("Vernon".into());
        let escaped = Value::String("quote \" and \\ and \u{1}".into());
        let number = serde_json::json!(12.5);
        let ops = [
            PatchOp {
                op: "replace",
                path: OpPath::Text(Cow::Borrowed("/firstName")),
                value: Some(PatchValue::Json(&plain)),
            },
            PatchOp {
                op: "replace",
                path: OpPath::Text(Cow::Borrowed("/background")),
                value: Some(PatchValue::Json(&escaped)),
            },
            PatchOp {
                op: "replace",
                path: OpPath::Text(Cow::Borrowed("/age")),
                value: Some(PatchValue::Json(&number)),
            },
            PatchOp {
                op: "replace",
                path: OpPath::Text(Cow::Owned("/sl~1ug \"q\"".into())),
                value: Some(PatchValue::Json(&json)),
            },
            PatchOp {
                op: "remove",
                path: OpPath::Entry {
                    coll: Coll::Emails,
                    id: 7,
                    sub: "",
                },
                value: None,
            },
            PatchOp {
                op: "add",
                path: OpPath::Text(Cow::Borrowed("/emails")),
                value: Some(PatchValue::Entry {
                    kind: Some("work"),
                    value: "a@b.c",
                }),
            },
            PatchOp {
                op: "add",
                path: OpPath::Text(Cow::Borrowed("/websites")),
                value: Some(PatchValue::Entry {
                    kind: None,
                    value: "http://x/\u{e9}\t",
                }),
            },
            PatchOp {
                op: "replace",
                path: OpPath::Entry {
                    coll: Coll::Phones,
                    id: 1,
                    sub: "/value",
                },
                value: Some(PatchValue::Str("+1 \"2\"")),
            },
        ];
        for n in 0..=ops.len() {
            let expected = serde_json::to_vec(&ops[..n]).expect("serialises");
            assert_eq!(
                patch_body(&ops[..n]).as_ref(),
                expected.as_slice(),
                "{}",
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
