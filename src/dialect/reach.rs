//! Reach (embedreach) codec: `PATCH|GET /api/resources/customers/{externalId}`, bodies wrapped
//! in `{"data": {…}}`, answers in the `{"success", "message", "data": {"result", "included"}}`
//! envelope (SPEC §1, `docs/dialects.md` § reach, `helpcrunch-reach.md` §2).
//!
//! Reach is the upstream side of the load benchmark, so the hot upstream paths
//! ([`Reach::encode_update`], [`Reach::decode_customer`]) avoid building `serde_json::Value`
//! trees: bodies are written straight into a byte buffer and answers are read into borrowed
//! structs.

use super::*;
use crate::canonical::time::{self, Style};
use crate::canonical::{pointer_token, Change, Entry, ErrorKind, Meta, Op, Rule};
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The Reach dialect.
pub struct Reach;

/// Route prefix of the customer endpoints (after the gateway's own route prefix).
const PREFIX: &str = "/api/resources/customers/";

/// The vendor's batch endpoint shares the prefix; we do not serve it.
const BATCH: &str = "batch";

/// Longest external id accepted in the path, in characters.
const MAX_ID_CHARS: usize = 256;

/// What a `data` key maps to in the canonical model.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Field(Field),
    Primary(Coll),
}

/// The `data` keys in the order the encoder writes them, with their body pointer.
const KEYS: [(&str, &str, Slot); 9] = [
    (
        "firstName",
        "/data/firstName",
        Slot::Field(Field::FirstName),
    ),
    ("lastName", "/data/lastName", Slot::Field(Field::LastName)),
    ("email", "/data/email", Slot::Primary(Coll::Emails)),
    ("phone", "/data/phone", Slot::Primary(Coll::Phones)),
    (
        "emailOptOut",
        "/data/emailOptOut",
        Slot::Field(Field::EmailOptOut),
    ),
    (
        "smsOptOut",
        "/data/smsOptOut",
        Slot::Field(Field::SmsOptOut),
    ),
    (
        "customerId",
        "/data/customerId",
        Slot::Field(Field::ExternalId),
    ),
    (
        "customerDetailUrl",
        "/data/customerDetailUrl",
        Slot::Field(Field::DetailUrl),
    ),
    (
        "createdAt",
        "/data/createdAt",
        Slot::Field(Field::CreatedAt),
    ),
];

fn key_index(key: &str) -> Option<usize> {
    KEYS.iter().position(|(k, _, _)| *k == key)
}

fn slot_index(slot: Slot) -> Option<usize> {
    KEYS.iter().position(|(_, _, s)| *s == slot)
}

/// Unreserved characters (RFC 3986 §2.3) stay as they are in a path segment; everything else is
/// percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `/api/resources/customers/{externalId}` with the id percent-encoded as one segment. The dot
/// segments `.` and `..` are encoded too, so that no server on the way normalises them away.
fn customer_path(id: &str) -> String {
    let mut path = String::with_capacity(PREFIX.len() + id.len() + 8);
    path.push_str(PREFIX);
    if id == "." || id == ".." {
        id.chars().for_each(|_| path.push_str("%2E"));
    } else {
        path.extend(utf8_percent_encode(id, SEGMENT));
    }
    path
}

fn bad_id(message: &str) -> ApiError {
    ApiError::invalid_one(Violation::new("id", Rule::CustomerId, message))
}

/// Percent-decodes the path id strictly: a `%` not followed by two hex digits and a result that
/// is not UTF-8 are errors (the `percent-encoding` crate passes both through silently).
fn decode_id(raw: &str) -> Result<Cow<'_, str>, ApiError> {
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
fn check_id(id: &str) -> Result<(), ApiError> {
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
fn field_violation(field: Field, value: &Value, pointer: &str) -> Option<Violation> {
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

fn unknown_field(pointer: String, key: &str) -> Violation {
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
fn ignore_unknown(query: Option<&str>) -> (bool, Option<Violation>) {
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

/// A tiny JSON object writer: keys are our own ASCII constants, values go through serde_json
/// (which escapes them).
struct ObjWriter<'b> {
    out: &'b mut Vec<u8>,
    empty: bool,
}

impl<'b> ObjWriter<'b> {
    fn open(out: &'b mut Vec<u8>) -> Self {
        out.push(b'{');
        ObjWriter { out, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn value<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.key(key);
        // Serialising strings, booleans and `Value`s into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *self.out, value);
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// One slot of the body [`Reach::encode_update`] writes.
#[derive(Clone, Copy)]
enum Out<'a> {
    Json(&'a Value),
    Str(Option<&'a str>),
}

/// A string of an upstream answer, borrowed from the body unless it had escapes. serde's own
/// `Option<Cow<str>>` always copies (its borrow support covers a bare `Cow` only); the record
/// repeats every id and timestamp, and only one copy of each is kept.
struct WireStr<'a>(Cow<'a, str>);

impl WireStr<'_> {
    fn into_owned(self) -> String {
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
struct WireFields<'a> {
    #[serde(borrow, default)]
    customer_id: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    first_name: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    last_name: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    created_at: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    email: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    phone: Option<WireStr<'a>>,
    #[serde(default)]
    email_opt_out: Option<bool>,
    #[serde(default)]
    sms_opt_out: Option<bool>,
    #[serde(borrow, default)]
    customer_detail_url: Option<WireStr<'a>>,
}

/// A Reach resource record, or the envelope's `data` holding one under `result`: one recursive
/// struct reads both the current shape (`data.result`) and the older create shape (record
/// directly under `data`) in a single pass. Ids and timestamps come twice (snake_case and
/// camelCase); serde aliases would reject that as a duplicate, hence separate members.
#[derive(serde::Deserialize)]
struct WireRecord<'a> {
    #[serde(borrow, default)]
    result: Option<Box<WireRecord<'a>>>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(borrow, default)]
    schema_definition_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "schemaDefinitionId")]
    schema_definition_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    platform_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "platformId")]
    platform_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    business_id: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "businessId")]
    business_id_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    created_at: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "createdAt")]
    created_at_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    updated_at: Option<WireStr<'a>>,
    #[serde(borrow, default, rename = "updatedAt")]
    updated_at_camel: Option<WireStr<'a>>,
    #[serde(borrow, default)]
    data: Option<WireFields<'a>>,
}

#[derive(serde::Deserialize)]
struct WireEnvelope<'a> {
    #[serde(borrow, default)]
    data: Option<WireRecord<'a>>,
}

/// The value of the first entry: what a single slot shows.
fn first_value(entries: &[Entry]) -> Option<&str> {
    entries.first().map(|e| e.value.as_str())
}

fn owned(a: Option<WireStr<'_>>, b: Option<WireStr<'_>>) -> Option<String> {
    a.or(b).map(WireStr::into_owned)
}

/// A single-slot value as the one entry (id 1) of a canonical collection; an empty string is no
/// entry.
fn slot_entry(v: Option<WireStr<'_>>) -> Vec<Entry> {
    match v {
        Some(s) if !s.0.is_empty() => vec![Entry {
            id: 1,
            kind: None,
            value: s.into_owned(),
        }],
        _ => Vec::new(),
    }
}

impl Dialect for Reach {
    fn id(&self) -> DialectId {
        DialectId::Reach
    }

    fn holds(&self, field: Field) -> bool {
        slot_index(Slot::Field(field)).is_some()
    }

    fn holds_coll(&self, coll: Coll) -> bool {
        matches!(coll, Coll::Emails | Coll::Phones)
    }

    fn single_slot(&self) -> bool {
        true
    }

    fn has_properties(&self) -> bool {
        false
    }

    fn check_target(&self, changes: &[Change]) -> Vec<Violation> {
        changes
            .iter()
            .filter_map(|c| match &c.op {
                Op::Set { field, value } if self.holds(*field) => {
                    field_violation(*field, value, &c.origin)
                }
                _ => None,
            })
            .collect()
    }

    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError> {
        let not_found = || ApiError::new(ErrorKind::NotFound, "Not found");
        let Some(raw) = path.strip_prefix(PREFIX) else {
            return Err(not_found());
        };
        if raw.contains('/') {
            return Err(not_found());
        }
        let id = decode_id(raw);
        if matches!(&id, Ok(id) if id == BATCH) {
            return Err(not_found());
        }
        let kind = match method {
            "PATCH" => EndpointKind::Update { full: false },
            "GET" => EndpointKind::Get,
            _ => {
                return Err(ApiError::method_not_allowed(
                    "Method not allowed",
                    "GET, PATCH",
                ))
            }
        };
        let id = id?;
        check_id(&id)?;
        Ok(Endpoint {
            kind,
            customer_id: id.into_owned(),
        })
    }

    fn decode_request(
        &self,
        _ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError> {
        // One pass: a repeated key is refused before anything else is looked at, as a separate
        // `reject_duplicate_keys` would (it is the only error reported then).
        let parsed = rules::parse_json_unique(body);
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
            Value::Object(m) => m,
            other => {
                violations.extend(rules::object(&other, "").err());
                return Err(ApiError::invalid(violations));
            }
        };
        let mut changes = ChangeSet::new();
        let mut seen_data = false;
        for (key, value) in top {
            if key == "data" {
                seen_data = true;
                match value {
                    Value::Object(data) => decode_data(data, ignore, &mut changes, &mut violations),
                    other => violations.extend(rules::object(&other, "/data").err()),
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

    fn answer_needs_customer(&self, _ep: &Endpoint, _req: &ClientRequest) -> bool {
        true
    }

    fn encode_success(
        &self,
        ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic {
        let fallback;
        let c = match customer {
            Some(c) => c,
            None => {
                fallback = Customer::default();
                &fallback
            }
        };
        let message = match ep.kind {
            EndpointKind::Get => "Customer retrieved",
            _ => "Customer updated",
        };
        let m = &c.meta;
        let reach = cx.upstream == DialectId::Reach;
        let null = Value::Null;
        let id = if reach {
            m.id.as_ref().unwrap_or(&null)
        } else {
            &null
        };

        // Reach's own format (RFC 3339) whatever the upstream wrote; `null` when unreadable.
        let created = time::render_opt(m.record_created_at.as_deref(), Style::Rfc3339);
        let updated = time::render_opt(m.record_updated_at.as_deref(), Style::Rfc3339);
        let customer_created = time::render_opt(c.created_at.as_deref(), Style::Rfc3339);
        let mut out = Vec::with_capacity(768);
        let mut env = ObjWriter::open(&mut out);
        env.value("success", &true);
        env.value("message", message);
        env.key("data");
        let mut data = ObjWriter::open(&mut *env.out);
        data.key("result");
        let mut rec = ObjWriter::open(&mut *data.out);
        rec.value("id", id);
        for (snake, camel, v) in [
            (
                "schema_definition_id",
                "schemaDefinitionId",
                m.schema_definition_id.as_deref().filter(|_| reach),
            ),
            (
                "platform_id",
                "platformId",
                m.platform_id.as_deref().filter(|_| reach),
            ),
            (
                "business_id",
                "businessId",
                m.business_id.as_deref().filter(|_| reach),
            ),
            (
                "resource_external_id",
                "resourceExternalId",
                Some(cx.customer_id),
            ),
            ("created_at", "createdAt", created.as_deref()),
            ("updated_at", "updatedAt", updated.as_deref()),
        ] {
            rec.value(snake, &v);
            rec.value(camel, &v);
        }
        rec.key("data");
        let mut fields = ObjWriter::open(&mut *rec.out);
        fields.value("customerId", &c.external_id);
        fields.value("firstName", &c.first_name);
        fields.value("lastName", &c.last_name);
        fields.value("createdAt", &customer_created);
        fields.value("email", &first_value(&c.emails));
        fields.value("phone", &first_value(&c.phones));
        fields.value("emailOptOut", &c.email_opt_out);
        fields.value("smsOptOut", &c.sms_opt_out);
        fields.value("customerDetailUrl", &c.detail_url);
        fields.close();
        rec.close();
        data.value("included", &[] as &[Value]);
        data.close();
        env.close();
        Synthetic {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Bytes::from(out),
        }
    }

    fn encode_error(&self, err: &ApiError) -> Synthetic {
        let errors: Vec<Value> = err
            .violations
            .iter()
            .map(|v| {
                let path = if v.pointer.is_empty() {
                    "body".to_string()
                } else if v.pointer.starts_with('/') {
                    rules::dotted(&v.pointer)
                } else {
                    v.pointer.clone()
                };
                serde_json::json!({"path": path, "message": v.message})
            })
            .collect();
        let body = serde_json::json!({
            "success": false,
            "message": err.message,
            "errors": errors,
        });
        let answer = Synthetic::json(err.status, "application/json", &body).with_error_headers(err);
        match err.retry_after {
            Some(secs) => answer.with_header("Retry-After", secs.to_string()),
            None => answer,
        }
    }

    fn pointer_for(&self, target: &Target) -> String {
        let slot = match target {
            Target::Field(f) => Slot::Field(*f),
            Target::Coll(c, _) => Slot::Primary(*c),
            Target::Property(slug) if slug.is_empty() => return "/data/properties".into(),
            Target::Property(slug) => return format!("/data/properties/{}", pointer_token(slug)),
        };
        match slot_index(slot) {
            Some(i) => KEYS[i].1.to_string(),
            None => match target {
                Target::Field(f) => format!("/data/{}", f.as_str()),
                Target::Coll(c, _) => format!("/data/{}", c.as_str()),
                Target::Property(_) => String::new(),
            },
        }
    }

    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut slots: [Option<Out<'_>>; KEYS.len()] = [None; KEYS.len()];
        let mut unmappable = Vec::new();
        for change in changes {
            // A later change to the same slot wins, as when the changes are applied in order.
            let (slot, out) = match &change.op {
                Op::Set { field, value } => (Slot::Field(*field), Out::Json(value)),
                Op::Primary { coll, value } => (Slot::Primary(*coll), Out::Str(value.as_deref())),
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
            return Err(ApiError::unmappable(
                unmappable
                    .into_iter()
                    .map(|c| {
                        Violation::new(
                            c.origin.clone(),
                            Rule::Unmappable,
                            "Reach has no place for this change",
                        )
                    })
                    .collect(),
            ));
        }
        let mut out = Vec::with_capacity(256);
        let mut env = ObjWriter::open(&mut out);
        env.key("data");
        let mut data = ObjWriter::open(&mut *env.out);
        for ((key, _, _), slot) in KEYS.iter().zip(slots) {
            match slot {
                Some(Out::Json(v)) => data.value(key, v),
                Some(Out::Str(s)) => data.value(key, &s),
                None => {}
            }
        }
        data.close();
        env.close();
        let mut headers = Vec::with_capacity(1 + cx.passthrough_headers.len());
        headers.push(("Content-Type".to_string(), "application/json".to_string()));
        headers.extend(cx.passthrough_headers.iter().cloned());
        Ok(vec![UpstreamRequest {
            method: "PATCH",
            path: customer_path(customer_id),
            headers,
            body: Some(Bytes::from(out)),
        }])
    }

    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest {
        UpstreamRequest {
            method: "GET",
            path: customer_path(customer_id),
            headers: cx.passthrough_headers.clone(),
            body: None,
        }
    }

    fn decode_customer(&self, body: &[u8]) -> Option<Customer> {
        let env: WireEnvelope<'_> = serde_json::from_slice(body).ok()?;
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
                schema_definition_id: owned(
                    rec.schema_definition_id,
                    rec.schema_definition_id_camel,
                ),
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

    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError {
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
                    .map(|e| {
                        let path = e.get("path").and_then(Value::as_str).unwrap_or("");
                        let text = e
                            .get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("Invalid value");
                        Violation::new(rules::undotted(path), Rule::Upstream, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        ApiError::upstream(status, message, violations)
    }

    fn locate(&self, upstream_path: &str) -> Option<Target> {
        let key = ["/data/", "data.", "/"]
            .iter()
            .find_map(|p| upstream_path.strip_prefix(p))
            .unwrap_or(upstream_path);
        match KEYS[key_index(key)?].2 {
            Slot::Field(f) => Some(Target::Field(f)),
            Slot::Primary(c) => Some(Target::Coll(c, Some(1))),
        }
    }
}

/// Decodes the members of `data` into changes, in the client's order.
fn decode_data(
    data: Map<String, Value>,
    ignore: Option<bool>,
    changes: &mut ChangeSet,
    violations: &mut Vec<Violation>,
) {
    for (key, value) in data {
        let Some(i) = key_index(&key) else {
            if ignore == Some(false) {
                let pointer = format!("/data/{}", pointer_token(&key));
                violations.push(unknown_field(pointer, &key));
            }
            continue;
        };
        let (_, pointer, slot) = KEYS[i];
        match slot {
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
            Slot::Primary(coll) => match value {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STUB: &str = r#"{"success":true,"message":"Customer updated","data":{"result":{"id":"0b6f3c1e-8d2a-4f57-9c3e-2a1d5e7f9b40","schema_definition_id":"7c2e9a54-1f3b-4d86-a0e7-5b9c3d2f1a68","schemaDefinitionId":"7c2e9a54-1f3b-4d86-a0e7-5b9c3d2f1a68","platform_id":"e4a1b7d2-6c3f-4e98-8b5a-0f2d9c7e1a36","platformId":"e4a1b7d2-6c3f-4e98-8b5a-0f2d9c7e1a36","business_id":"9d8c7b6a-5e4f-4a3b-9c2d-1e0f2a3b4c5d","businessId":"9d8c7b6a-5e4f-4a3b-9c2d-1e0f2a3b4c5d","resource_external_id":"12345","resourceExternalId":"12345","created_at":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","updated_at":"2024-01-02T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z","data":{"customerId":"12345","firstName":"John","lastName":"Doe","email":"john@example.com","phone":"+10233456781","emailOptOut":false,"smsOptOut":false}},"included":[]}}"#;

    fn ep(kind: EndpointKind) -> Endpoint {
        Endpoint {
            kind,
            customer_id: "12345".into(),
        }
    }

    fn patch() -> Endpoint {
        ep(EndpointKind::Update { full: false })
    }

    fn decode(query: Option<&str>, body: Value) -> Result<ClientRequest, ApiError> {
        Reach.decode_request(&patch(), query, body.to_string().as_bytes())
    }

    /// The single violation of a rejected body, as (pointer, rule).
    fn only_violation(query: Option<&str>, body: Value) -> (String, Rule) {
        let err = decode(query, body).expect_err("must be rejected");
        assert_eq!(err.status, 400);
        assert_eq!(err.violations.len(), 1, "{:?}", err.violations);
        (err.violations[0].pointer.clone(), err.violations[0].rule)
    }

    fn ops(req: &ClientRequest) -> Vec<(Op, &str)> {
        req.changes
            .changes
            .iter()
            .map(|c| (c.op.clone(), c.origin.as_str()))
            .collect()
    }

    fn set(field: Field, value: Value) -> Op {
        Op::Set { field, value }
    }

    fn primary(coll: Coll, value: Option<&str>) -> Op {
        Op::Primary {
            coll,
            value: value.map(str::to_string),
        }
    }

    // === route ===

    #[test]
    fn routes_patch_and_get() {
        let e = Reach
            .route("PATCH", "/api/resources/customers/cus_abc")
            .expect("route");
        assert_eq!(e.kind, EndpointKind::Update { full: false });
        assert_eq!(e.customer_id, "cus_abc");
        let e = Reach
            .route("GET", "/api/resources/customers/a%20b%C3%A9")
            .expect("route");
        assert_eq!(e.kind, EndpointKind::Get);
        assert_eq!(e.customer_id, "a bé");
    }

    #[test]
    fn route_rejects_wrong_method_and_foreign_paths() {
        let status = |m: &str, p: &str| Reach.route(m, p).map(|_| 200).unwrap_or_else(|e| e.status);
        assert_eq!(status("PUT", "/api/resources/customers/1"), 405);
        assert_eq!(status("POST", "/api/resources/customers/1"), 405);
        assert_eq!(status("patch", "/api/resources/customers/1"), 405);
        assert_eq!(status("PATCH", "/api/resources/customers/batch"), 404);
        assert_eq!(status("GET", "/api/resources/customers/batch"), 404);
        assert_eq!(status("PATCH", "/api/resources/customers/1/x"), 404);
        assert_eq!(status("PATCH", "/api/resources/customers"), 404);
        assert_eq!(status("PATCH", "/v1/customers/1"), 404);
        let e = Reach
            .route("DELETE", "/api/resources/customers/1")
            .expect_err("405");
        assert_eq!(e.kind, ErrorKind::MethodNotAllowed);
    }

    #[test]
    fn route_rejects_invalid_ids() {
        let long = "a".repeat(257);
        let max = "é".repeat(256);
        assert!(Reach.route("GET", &format!("{PREFIX}{max}")).is_ok());
        for id in [
            "", &long, "%zz", "%4", "abc%", "%ff", "%C3", "a%0Ab", "a%0D", "%00", "a%2Fb", "%7F",
            "..", ".", "%2E%2E",
        ] {
            let err = Reach
                .route("PATCH", &format!("{PREFIX}{id}"))
                .expect_err(id);
            assert_eq!(err.status, 400, "{id}");
            assert_eq!(err.violations[0].pointer, "id", "{id}");
            assert_eq!(err.violations[0].rule, Rule::CustomerId, "{id}");
        }
    }

    // === decode_request ===

    #[test]
    fn decodes_the_vendor_example() {
        let body = json!({"data": {
            "customerId": "cus_8f3a2b",
            "email": "jane.doe@example.com",
            "phone": "+14155550123",
            "firstName": "Jane",
            "lastName": "Doe",
            "emailOptOut": true,
            "smsOptOut": true,
            "customerDetailUrl": "https://crm.example.com/customers/cus_8f3a2b",
            "createdAt": "2023-11-07T05:31:56Z"
        }});
        let req = decode(None, body).expect("valid");
        assert!(!req.full && !req.reload);
        assert_eq!(
            ops(&req),
            vec![
                (
                    set(Field::ExternalId, json!("cus_8f3a2b")),
                    "/data/customerId"
                ),
                (
                    primary(Coll::Emails, Some("jane.doe@example.com")),
                    "/data/email"
                ),
                (primary(Coll::Phones, Some("+14155550123")), "/data/phone"),
                (set(Field::FirstName, json!("Jane")), "/data/firstName"),
                (set(Field::LastName, json!("Doe")), "/data/lastName"),
                (set(Field::EmailOptOut, json!(true)), "/data/emailOptOut"),
                (set(Field::SmsOptOut, json!(true)), "/data/smsOptOut"),
                (
                    set(
                        Field::DetailUrl,
                        json!("https://crm.example.com/customers/cus_8f3a2b")
                    ),
                    "/data/customerDetailUrl"
                ),
                (
                    set(Field::CreatedAt, json!("2023-11-07T05:31:56Z")),
                    "/data/createdAt"
                ),
            ]
        );
    }

    #[test]
    fn nulls_clear() {
        let body = json!({"data": {"email": null, "phone": null, "firstName": null,
            "smsOptOut": null, "createdAt": null, "customerDetailUrl": null}});
        let req = decode(None, body).expect("valid");
        assert_eq!(
            ops(&req),
            vec![
                (primary(Coll::Emails, None), "/data/email"),
                (primary(Coll::Phones, None), "/data/phone"),
                (set(Field::FirstName, Value::Null), "/data/firstName"),
                (set(Field::SmsOptOut, Value::Null), "/data/smsOptOut"),
                (set(Field::CreatedAt, Value::Null), "/data/createdAt"),
                (
                    set(Field::DetailUrl, Value::Null),
                    "/data/customerDetailUrl"
                ),
            ]
        );
        assert!(decode(None, json!({"data": {}}))
            .expect("empty")
            .changes
            .is_empty());
    }

    #[test]
    fn each_rule_names_pointer_and_rule() {
        let cases = [
            (
                json!({"data": {"customerId": 12345}}),
                "/data/customerId",
                Rule::Type,
            ),
            (json!({"data": {"email": 1}}), "/data/email", Rule::Type),
            (
                json!({"data": {"phone": 4155550123_u64}}),
                "/data/phone",
                Rule::Type,
            ),
            (
                json!({"data": {"firstName": ["J"]}}),
                "/data/firstName",
                Rule::Type,
            ),
            (
                json!({"data": {"lastName": {}}}),
                "/data/lastName",
                Rule::Type,
            ),
            (
                json!({"data": {"customerDetailUrl": false}}),
                "/data/customerDetailUrl",
                Rule::Type,
            ),
            (
                json!({"data": {"emailOptOut": "yes"}}),
                "/data/emailOptOut",
                Rule::Type,
            ),
            (
                json!({"data": {"smsOptOut": 0}}),
                "/data/smsOptOut",
                Rule::Type,
            ),
            (
                json!({"data": {"createdAt": "2023-11-07"}}),
                "/data/createdAt",
                Rule::Date,
            ),
            (
                json!({"data": {"createdAt": "yesterday"}}),
                "/data/createdAt",
                Rule::Date,
            ),
            (
                json!({"data": {"createdAt": 1699335116}}),
                "/data/createdAt",
                Rule::Type,
            ),
            (
                json!({"data": {"nickname": "JD"}}),
                "/data/nickname",
                Rule::UnknownField,
            ),
            (
                json!({"data": {"a/b~c": 1}}),
                "/data/a~1b~0c",
                Rule::UnknownField,
            ),
            (json!({"data": {}, "meta": 1}), "/meta", Rule::UnknownField),
            (
                json!({"customerId": "1"}),
                "/customerId",
                Rule::UnknownField,
            ),
            (json!({}), "/data", Rule::Required),
            (json!({"data": null}), "/data", Rule::Shape),
            (json!({"data": [{"email": "a@b.co"}]}), "/data", Rule::Shape),
            (json!({"data": "x"}), "/data", Rule::Shape),
            (json!([{"data": {}}]), "", Rule::Shape),
            (json!("data"), "", Rule::Shape),
        ];
        for (body, pointer, rule) in cases {
            let got = if pointer == "/customerId" {
                // The missing `data` is reported too; the unknown key comes first.
                let err = decode(None, body).expect_err("invalid");
                (err.violations[0].pointer.clone(), err.violations[0].rule)
            } else {
                only_violation(None, body.clone())
            };
            assert_eq!(got, (pointer.to_string(), rule));
        }
    }

    #[test]
    fn not_json_is_rejected_at_the_root() {
        for body in [&b"{\"data\": "[..], b"\xff\xfe", b"", b"{} {}"] {
            let err = Reach
                .decode_request(&patch(), None, body)
                .expect_err("json");
            assert_eq!(err.violations.len(), 1);
            assert_eq!(err.violations[0].pointer, "");
            assert_eq!(err.violations[0].rule, Rule::Json);
        }
    }

    #[test]
    fn collects_every_violation() {
        let body = json!({"extra": 1, "data": {"firstName": 1, "email": "x@y.co",
            "createdAt": "nope", "customerId": null, "zip": "123"}});
        let err = decode(None, body).expect_err("invalid");
        let got: Vec<(&str, Rule)> = err
            .violations
            .iter()
            .map(|v| (v.pointer.as_str(), v.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/extra", Rule::UnknownField),
                ("/data/firstName", Rule::Type),
                ("/data/createdAt", Rule::Date),
                ("/data/zip", Rule::UnknownField),
            ]
        );
    }

    /// `customerId: null` is a rule of Reach's storage, not of the request's shape: the decoder
    /// lets it through (toward Help Scout it is the echo of an unknown field) and Reach's own
    /// rules refuse it where Reach stores it.
    #[test]
    fn customer_id_null_is_refused_by_reach_as_the_target() {
        let req = decode(None, json!({"data": {"customerId": null}})).expect("decodes");
        assert_eq!(
            req.changes.changes,
            vec![Change::new(
                set(Field::ExternalId, Value::Null),
                "/data/customerId"
            )]
        );
        let err = crate::dialect::vendor_rules(DialectId::Reach, &req).expect_err("refused");
        let got: Vec<(&str, Rule)> = err
            .violations
            .iter()
            .map(|v| (v.pointer.as_str(), v.rule))
            .collect();
        assert_eq!(got, vec![("/data/customerId", Rule::NotNull)]);
        assert_eq!(
            err.violations[0].message,
            "customerId is required and cannot be deleted"
        );
    }

    #[test]
    fn ignore_unknown_fields_switch() {
        let body = json!({"data": {"firstName": "Jane", "nickname": "JJ"}, "meta": {}});
        for q in [
            None,
            Some("ignoreUnknownFields=false"),
            Some("x=1&ignoreUnknownFields=false"),
        ] {
            let err = decode(q, body.clone()).expect_err("unknown keys");
            assert_eq!(err.violations.len(), 2, "{q:?}");
            assert!(err.violations.iter().all(|v| v.rule == Rule::UnknownField));
        }
        let req = decode(Some("ignoreUnknownFields=true"), body.clone()).expect("dropped");
        assert_eq!(
            ops(&req),
            vec![(set(Field::FirstName, json!("Jane")), "/data/firstName")]
        );
        for q in [
            "ignoreUnknownFields=yes",
            "ignoreUnknownFields=TRUE",
            "ignoreUnknownFields",
            "ignoreUnknownFields=null",
        ] {
            // The switch is unknown, so extra keys are not judged; the switch is named.
            assert_eq!(
                only_violation(Some(q), body.clone()),
                ("ignoreUnknownFields".to_string(), Rule::Type)
            );
        }
        let err = decode(
            Some("ignoreUnknownFields=1"),
            json!({"data": {"smsOptOut": "no"}}),
        )
        .expect_err("two");
        let got: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(got, vec!["ignoreUnknownFields", "/data/smsOptOut"]);
    }

    // === check_target ===

    #[test]
    fn target_rules_at_the_origin() {
        let changes = vec![
            Change::new(set(Field::CreatedAt, json!("1699335116")), "/firstSeen"),
            Change::new(set(Field::ExternalId, Value::Null), "/userId"),
            Change::new(set(Field::FirstName, json!(5)), "/0/value"),
            Change::new(set(Field::EmailOptOut, json!("no")), "/unsubscribed"),
            Change::new(set(Field::FirstName, json!("Ann")), "/name"),
            Change::new(set(Field::ExternalId, json!("u1")), "/userId"),
            Change::new(set(Field::CreatedAt, json!("2023-11-07T05:31:56Z")), "/x"),
            Change::new(set(Field::Organization, json!(5)), "/company"),
            Change::new(primary(Coll::Emails, None), "/email"),
        ];
        let got: Vec<(String, Rule)> = Reach
            .check_target(&changes)
            .into_iter()
            .map(|v| (v.pointer, v.rule))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/firstSeen".to_string(), Rule::Date),
                ("/userId".to_string(), Rule::NotNull),
                ("/0/value".to_string(), Rule::Type),
                ("/unsubscribed".to_string(), Rule::Type),
            ]
        );
    }

    // === encode_error ===

    #[test]
    fn error_bodies() {
        let err = ApiError::invalid(vec![
            Violation::new("", Rule::Json, "Not JSON"),
            Violation::new("id", Rule::CustomerId, "Bad id"),
            Violation::new("/data/email", Rule::Type, "Expected a string, got number"),
            Violation::new("ignoreUnknownFields", Rule::Type, "must be true or false"),
        ]);
        let a = Reach.encode_error(&err);
        assert_eq!(a.status, 400);
        assert_eq!(a.header("content-type"), Some("application/json"));
        assert_eq!(
            a.json_body(),
            Some(
                json!({"success": false, "message": "Bad request", "errors": [
                    {"path": "body", "message": "Not JSON"},
                    {"path": "id", "message": "Bad id"},
                    {"path": "data.email", "message": "Expected a string, got number"},
                    {"path": "ignoreUnknownFields", "message": "must be true or false"},
                ]})
            )
        );
        let a = Reach.encode_error(&ApiError::new(ErrorKind::NotFound, "Not found"));
        assert_eq!(a.status, 404);
        assert_eq!(
            a.json_body(),
            Some(json!({"success": false, "message": "Not found", "errors": []}))
        );
        assert_eq!(a.header("Retry-After"), None);
        let a = Reach.encode_error(
            &ApiError::new(ErrorKind::RateLimited, "Too many requests").with_retry_after(Some(7)),
        );
        assert_eq!(a.status, 429);
        assert_eq!(a.header("Retry-After"), Some("7"));
    }

    // === encode_success ===

    fn customer() -> Customer {
        Customer {
            first_name: Some("John".into()),
            last_name: None,
            emails: vec![
                Entry {
                    id: 7,
                    kind: Some("work".into()),
                    value: "john@example.com".into(),
                },
                Entry {
                    id: 8,
                    kind: Some("home".into()),
                    value: "j@home.example".into(),
                },
            ],
            external_id: Some("u-1".into()),
            email_opt_out: Some(false),
            created_at: Some("2023-11-07T05:31:56Z".into()),
            meta: Meta {
                id: Some(json!("0b6f")),
                record_created_at: Some("2024-01-01T00:00:00Z".into()),
                record_updated_at: None,
                schema_definition_id: Some("7c2e".into()),
                platform_id: Some("e4a1".into()),
                business_id: Some("9d8c".into()),
            },
            ..Customer::default()
        }
    }

    fn answer(kind: EndpointKind, upstream: DialectId, c: Option<&Customer>) -> Synthetic {
        let cx = AnswerCx {
            customer_id: "12345",
            default_entry_type: "work",
            upstream,
            reload: false,
            created: None,
            location_base: "",
        };
        Reach.encode_success(&ep(kind), c, &cx)
    }

    #[test]
    fn success_from_a_reach_upstream() {
        let a = answer(
            EndpointKind::Update { full: false },
            DialectId::Reach,
            Some(&customer()),
        );
        assert_eq!(a.status, 200);
        assert_eq!(a.header("Content-Type"), Some("application/json"));
        let expected = json!({"success": true, "message": "Customer updated", "data": {
            "result": {
                "id": "0b6f",
                "schema_definition_id": "7c2e", "schemaDefinitionId": "7c2e",
                "platform_id": "e4a1", "platformId": "e4a1",
                "business_id": "9d8c", "businessId": "9d8c",
                "resource_external_id": "12345", "resourceExternalId": "12345",
                "created_at": "2024-01-01T00:00:00Z", "createdAt": "2024-01-01T00:00:00Z",
                "updated_at": null, "updatedAt": null,
                "data": {
                    "customerId": "u-1", "firstName": "John", "lastName": null,
                    "createdAt": "2023-11-07T05:31:56Z", "email": "john@example.com",
                    "phone": null, "emailOptOut": false, "smsOptOut": null,
                    "customerDetailUrl": null
                }
            },
            "included": []
        }});
        // Exact bytes: key order is part of the contract.
        assert_eq!(
            std::str::from_utf8(&a.body).expect("utf8"),
            expected.to_string()
        );
    }

    #[test]
    fn success_from_another_upstream_nulls_reach_ids() {
        let a = answer(EndpointKind::Get, DialectId::Helpcrunch, Some(&customer()));
        let body = a.json_body().expect("json");
        assert_eq!(body["message"], "Customer retrieved");
        let rec = &body["data"]["result"];
        for k in [
            "id",
            "schema_definition_id",
            "schemaDefinitionId",
            "platform_id",
            "platformId",
            "business_id",
            "businessId",
        ] {
            assert_eq!(rec[k], Value::Null, "{k}");
        }
        assert_eq!(rec["resourceExternalId"], "12345");
        assert_eq!(rec["created_at"], "2024-01-01T00:00:00Z");
        assert_eq!(rec["data"]["email"], "john@example.com");
        let a = answer(EndpointKind::Get, DialectId::HelpscoutV2, None);
        let body = a.json_body().expect("json");
        assert_eq!(body["data"]["result"]["resource_external_id"], "12345");
        assert_eq!(body["data"]["result"]["data"]["firstName"], Value::Null);
        assert_eq!(body["data"]["included"], json!([]));
    }

    // === upstream side ===

    #[test]
    fn decodes_the_bench_stub() {
        let c = Reach.decode_customer(STUB.as_bytes()).expect("customer");
        assert_eq!(c.external_id.as_deref(), Some("12345"));
        assert_eq!(c.first_name.as_deref(), Some("John"));
        assert_eq!(c.last_name.as_deref(), Some("Doe"));
        assert_eq!(
            c.emails,
            vec![Entry {
                id: 1,
                kind: None,
                value: "john@example.com".into()
            }]
        );
        assert_eq!(c.phones[0].value, "+10233456781");
        assert_eq!(c.phones[0].id, 1);
        assert_eq!((c.email_opt_out, c.sms_opt_out), (Some(false), Some(false)));
        assert_eq!(c.created_at, None);
        assert_eq!(c.detail_url, None);
        assert_eq!(
            c.meta,
            Meta {
                id: Some(json!("0b6f3c1e-8d2a-4f57-9c3e-2a1d5e7f9b40")),
                record_created_at: Some("2024-01-01T00:00:00Z".into()),
                record_updated_at: Some("2024-01-02T00:00:00Z".into()),
                schema_definition_id: Some("7c2e9a54-1f3b-4d86-a0e7-5b9c3d2f1a68".into()),
                platform_id: Some("e4a1b7d2-6c3f-4e98-8b5a-0f2d9c7e1a36".into()),
                business_id: Some("9d8c7b6a-5e4f-4a3b-9c2d-1e0f2a3b4c5d".into()),
            }
        );
    }

    #[test]
    fn decodes_the_documented_and_older_envelopes() {
        let fields = json!({"customerId": "cus_1", "firstName": "Jane", "lastName": "Doe",
            "createdAt": "2023-11-07T05:31:56Z", "email": "", "phone": "+1415\u{0022}5",
            "emailOptOut": true, "smsOptOut": null,
            "customerDetailUrl": "https://crm.example.com/c/1"});
        let record = json!({"id": "3c90", "schemaDefinitionId": "sd", "platformId": "pl",
            "businessId": "bu", "resourceExternalId": "cus_1", "createdAt": "c",
            "updatedAt": "u", "data": fields});
        let current = json!({"success": true, "message": "ok",
            "data": {"result": record, "included": [record]}});
        let older = json!({"success": true, "message": "ok", "data": record});
        for body in [current, older] {
            let c = Reach
                .decode_customer(body.to_string().as_bytes())
                .expect("customer");
            assert_eq!(c.external_id.as_deref(), Some("cus_1"));
            assert_eq!(c.emails, Vec::new(), "an empty e-mail is no entry");
            assert_eq!(c.phones[0].value, "+1415\"5");
            assert_eq!(c.email_opt_out, Some(true));
            assert_eq!(c.sms_opt_out, None);
            assert_eq!(c.detail_url.as_deref(), Some("https://crm.example.com/c/1"));
            assert_eq!(c.created_at.as_deref(), Some("2023-11-07T05:31:56Z"));
            assert_eq!(c.meta.schema_definition_id.as_deref(), Some("sd"));
            assert_eq!(c.meta.business_id.as_deref(), Some("bu"));
            assert_eq!(c.meta.record_created_at.as_deref(), Some("c"));
            assert_eq!(c.meta.record_updated_at.as_deref(), Some("u"));
        }
        for body in [
            &b""[..],
            b"not json",
            b"{}",
            b"{\"success\":true}",
            b"{\"data\":{\"result\":null}}",
            b"{\"data\":{\"result\":{\"data\":{\"email\":5}}}}",
        ] {
            assert_eq!(Reach.decode_customer(body), None);
        }
    }

    #[test]
    fn decodes_upstream_errors() {
        let body = json!({"success": false, "message": "Validation failed", "errors": [
            {"path": "data.email", "message": "Invalid"},
            {"path": "data.createdAt", "message": "Bad date"}]});
        let e = Reach.decode_error(400, body.to_string().as_bytes());
        assert_eq!((e.status, e.kind), (400, ErrorKind::Invalid));
        assert_eq!(e.message, "Validation failed");
        let got: Vec<(&str, Rule, &str)> = e
            .violations
            .iter()
            .map(|v| (v.pointer.as_str(), v.rule, v.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/data/email", Rule::Upstream, "Invalid"),
                ("/data/createdAt", Rule::Upstream, "Bad date")
            ]
        );
        let e = Reach.decode_error(404, br#"{"success":false,"message":"Customer not found"}"#);
        assert_eq!(
            (e.kind, e.message.as_str()),
            (ErrorKind::NotFound, "Customer not found")
        );
        assert!(e.violations.is_empty());
        let e = Reach.decode_error(502, b"<html>Bad Gateway</html>");
        assert_eq!(e.status, 502);
        assert_eq!(e.message, "Upstream answered with status 502");
    }

    #[test]
    fn locates_and_names_fields() {
        assert_eq!(
            Reach.locate("/data/email"),
            Some(Target::Coll(Coll::Emails, Some(1)))
        );
        assert_eq!(
            Reach.locate("data.phone"),
            Some(Target::Coll(Coll::Phones, Some(1)))
        );
        assert_eq!(
            Reach.locate("/data/firstName"),
            Some(Target::Field(Field::FirstName))
        );
        assert_eq!(
            Reach.locate("customerId"),
            Some(Target::Field(Field::ExternalId))
        );
        assert_eq!(
            Reach.locate("/data/customerDetailUrl"),
            Some(Target::Field(Field::DetailUrl))
        );
        assert_eq!(
            Reach.locate("/data/createdAt"),
            Some(Target::Field(Field::CreatedAt))
        );
        assert_eq!(Reach.locate("/data/nickname"), None);
        assert_eq!(Reach.locate(""), None);
        for (t, p) in [
            (Target::Field(Field::FirstName), "/data/firstName"),
            (Target::Field(Field::ExternalId), "/data/customerId"),
            (Target::Field(Field::SmsOptOut), "/data/smsOptOut"),
            (Target::Coll(Coll::Emails, Some(1)), "/data/email"),
            (Target::Coll(Coll::Phones, None), "/data/phone"),
            (Target::Field(Field::JobTitle), "/data/job_title"),
            (Target::Coll(Coll::Websites, None), "/data/websites"),
            (Target::Property("tier".into()), "/data/properties/tier"),
        ] {
            assert_eq!(Reach.pointer_for(&t), p);
        }
        for f in Field::ALL {
            assert_eq!(
                Reach.holds(f),
                matches!(
                    f,
                    Field::FirstName
                        | Field::LastName
                        | Field::ExternalId
                        | Field::EmailOptOut
                        | Field::SmsOptOut
                        | Field::DetailUrl
                        | Field::CreatedAt
                ),
                "{f:?}"
            );
        }
        assert!(Reach.single_slot() && !Reach.has_properties());
        assert!(Reach.holds_coll(Coll::Emails) && !Reach.holds_coll(Coll::Chats));
    }

    fn tenant() -> EncodeCx {
        EncodeCx {
            want_customer: false,
            passthrough_headers: vec![("reach-tenant-id".into(), "tenant-42".into())],
        }
    }

    #[test]
    fn encodes_updates_in_key_order() {
        let changes = vec![
            Change::new(set(Field::CreatedAt, json!("2023-11-07T05:31:56Z")), "/a"),
            Change::new(primary(Coll::Phones, None), "/b"),
            Change::new(set(Field::LastName, Value::Null), "/c"),
            Change::new(set(Field::FirstName, json!("Mary \"Ann\"")), "/d"),
            Change::new(primary(Coll::Emails, Some("m@example.com")), "/e"),
            Change::new(set(Field::SmsOptOut, json!(true)), "/f"),
            Change::new(set(Field::ExternalId, json!("u-9")), "/g"),
            Change::new(set(Field::DetailUrl, json!("https://x.example/9")), "/h"),
            Change::new(set(Field::EmailOptOut, json!(false)), "/i"),
            Change::new(set(Field::FirstName, json!("Mary Ann")), "/j"),
        ];
        let reqs = Reach
            .encode_update("12345", &changes, &tenant())
            .expect("encoded");
        assert_eq!(reqs.len(), 1);
        let r = &reqs[0];
        assert_eq!(
            (r.method, r.path.as_str()),
            ("PATCH", "/api/resources/customers/12345")
        );
        assert_eq!(
            r.headers,
            vec![
                ("Content-Type".to_string(), "application/json".to_string()),
                ("reach-tenant-id".to_string(), "tenant-42".to_string()),
            ]
        );
        let body = r.body.as_ref().expect("body");
        assert_eq!(
            std::str::from_utf8(body).expect("utf8"),
            r#"{"data":{"firstName":"Mary Ann","lastName":null,"email":"m@example.com","phone":null,"emailOptOut":false,"smsOptOut":true,"customerId":"u-9","customerDetailUrl":"https://x.example/9","createdAt":"2023-11-07T05:31:56Z"}}"#
        );
    }

    #[test]
    fn encode_update_edges() {
        assert_eq!(Reach.encode_update("1", &[], &tenant()), Ok(vec![]));
        let one = [Change::new(set(Field::FirstName, json!("A")), "/firstName")];
        let r = Reach
            .encode_update("cus abc/é?", &one, &EncodeCx::default())
            .expect("encoded");
        assert_eq!(r[0].path, "/api/resources/customers/cus%20abc%2F%C3%A9%3F");
        assert_eq!(r[0].headers.len(), 1);
        assert_eq!(customer_path(".."), "/api/resources/customers/%2E%2E");
        assert_eq!(
            customer_path("a-b_c.d~e"),
            "/api/resources/customers/a-b_c.d~e"
        );
        let foreign = [
            Change::new(set(Field::Organization, json!("Acme")), "/organization"),
            Change::new(
                Op::EntryAdd {
                    coll: Coll::Emails,
                    kind: None,
                    value: "a@b.co".into(),
                },
                "/0",
            ),
            Change::new(primary(Coll::Chats, Some("x")), "/chat"),
        ];
        let err = Reach
            .encode_update("1", &foreign, &tenant())
            .expect_err("unmappable");
        assert_eq!(err.kind, ErrorKind::Unmappable);
        let got: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
        assert_eq!(got, vec!["/organization", "/0", "/chat"]);
    }

    #[test]
    fn encodes_get() {
        let r = Reach.encode_get("cus_abc", &tenant());
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/api/resources/customers/cus_abc");
        assert_eq!(r.headers, tenant().passthrough_headers);
        assert_eq!(r.body, None);
    }

    #[test]
    fn round_trips_through_the_client_side() {
        // What a reach client sends toward a reach upstream arrives unchanged in meaning.
        let body = json!({"data": {"customerId": "c1", "email": "a@b.co", "smsOptOut": false}});
        let req = decode(None, body).expect("valid");
        assert!(Reach.check_target(&req.changes.changes).is_empty());
        let out = Reach
            .encode_update("c1", &req.changes.changes, &EncodeCx::default())
            .expect("encoded");
        let sent: Value =
            serde_json::from_slice(out[0].body.as_ref().expect("body")).expect("json");
        assert_eq!(
            sent,
            json!({"data": {"email": "a@b.co", "smsOptOut": false, "customerId": "c1"}})
        );
    }
}
