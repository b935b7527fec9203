//! The serde reader that `upstream::decode_customer` replaced, kept as the oracle of a
//! differential test: on every body both must find the same customer, or both none.
//!
//! Two differences are deliberate, and the oracle's verdict is adjusted for them rather than
//! the reader bent to match: serde's derived readers also take a struct written as a JSON array
//! (`{"data": ["…", …]}`, members by position), which no Reach answer is; and serde reads a
//! body that is not UTF-8 when the bad bytes sit in a string it skips, which JSON does not
//! allow (RFC 8259 §8.1). Both are no customer now.

use super::upstream::{customer_from, WireFields, WireRecord};
use super::*;
use proptest::prelude::*;

struct WireStr<'a>(Cow<'a, str>);

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
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

type S<'a> = Option<WireStr<'a>>;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields<'a> {
    #[serde(borrow, default)]
    customer_id: S<'a>,
    #[serde(borrow, default)]
    first_name: S<'a>,
    #[serde(borrow, default)]
    last_name: S<'a>,
    #[serde(borrow, default)]
    created_at: S<'a>,
    #[serde(borrow, default)]
    email: S<'a>,
    #[serde(borrow, default)]
    phone: S<'a>,
    #[serde(default)]
    email_opt_out: Option<bool>,
    #[serde(default)]
    sms_opt_out: Option<bool>,
    #[serde(borrow, default)]
    customer_detail_url: S<'a>,
}

#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    result: Option<Box<Record<'a>>>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(borrow, default)]
    schema_definition_id: S<'a>,
    #[serde(borrow, default, rename = "schemaDefinitionId")]
    schema_definition_id_camel: S<'a>,
    #[serde(borrow, default)]
    platform_id: S<'a>,
    #[serde(borrow, default, rename = "platformId")]
    platform_id_camel: S<'a>,
    #[serde(borrow, default)]
    business_id: S<'a>,
    #[serde(borrow, default, rename = "businessId")]
    business_id_camel: S<'a>,
    #[serde(borrow, default)]
    created_at: S<'a>,
    #[serde(borrow, default, rename = "createdAt")]
    created_at_camel: S<'a>,
    #[serde(borrow, default)]
    updated_at: S<'a>,
    #[serde(borrow, default, rename = "updatedAt")]
    updated_at_camel: S<'a>,
    #[serde(borrow, default)]
    data: Option<Fields<'a>>,
}

#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    data: Option<Record<'a>>,
}

fn cow(s: S<'_>) -> Option<Cow<'_, str>> {
    s.map(|s| s.0)
}

/// The serde record as the reader's: the customer is then built by the same code
/// (`upstream::customer_from`), and the test compares what was read.
fn record(r: Record<'_>) -> WireRecord<'_> {
    WireRecord {
        result: r.result.map(|inner| Box::new(record(*inner))),
        id: r.id,
        schema_definition_id: cow(r.schema_definition_id),
        schema_definition_id_camel: cow(r.schema_definition_id_camel),
        platform_id: cow(r.platform_id),
        platform_id_camel: cow(r.platform_id_camel),
        business_id: cow(r.business_id),
        business_id_camel: cow(r.business_id_camel),
        created_at: cow(r.created_at),
        created_at_camel: cow(r.created_at_camel),
        updated_at: cow(r.updated_at),
        updated_at_camel: cow(r.updated_at_camel),
        data: r.data.map(|f| WireFields {
            customer_id: cow(f.customer_id),
            first_name: cow(f.first_name),
            last_name: cow(f.last_name),
            created_at: cow(f.created_at),
            email: cow(f.email),
            phone: cow(f.phone),
            email_opt_out: f.email_opt_out,
            sms_opt_out: f.sms_opt_out,
            customer_detail_url: cow(f.customer_detail_url),
        }),
    }
}

/// The replaced `decode_customer`: serde's reading, then the shared building.
fn serde_decode(body: &[u8]) -> Option<Customer> {
    let env: Envelope<'_> = wire::from_json(body).ok()?;
    customer_from(record(env.data?))
}

/// Whether a struct position (the envelope, a record, a record's `data`) holds an array.
fn struct_as_array(v: &Value) -> bool {
    fn record(v: &Value) -> bool {
        match v {
            Value::Array(_) => true,
            Value::Object(m) => {
                m.get("result").is_some_and(record) || m.get("data").is_some_and(Value::is_array)
            }
            _ => false,
        }
    }
    match v {
        Value::Array(_) => true,
        Value::Object(m) => m.get("data").is_some_and(record),
        _ => false,
    }
}

/// What the reader must answer: the oracle's verdict, adjusted for the two deliberate
/// differences (module docs).
fn expected(body: &[u8]) -> Option<Customer> {
    std::str::from_utf8(body).ok()?;
    if serde_json::from_slice::<Value>(body).is_ok_and(|v| struct_as_array(&v)) {
        return None;
    }
    serde_decode(body)
}

fn agree(body: &[u8]) {
    assert_eq!(
        Reach.decode_customer(body),
        expected(body),
        "{}",
        String::from_utf8_lossy(body)
    );
}

/// The stub's answer (`benches/translate_cases.rs`), every field present.
const ANSWER: &str = r#"{"success":true,"message":"Customer updated","data":{"result":{"id":"0b6f3c1e-8a52","schema_definition_id":"7c2e","schemaDefinitionId":"7c2e","platform_id":"e4a1","platformId":"e4a1","business_id":"9d8c","businessId":"9d8c","resource_external_id":"12345","resourceExternalId":"12345","created_at":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","updated_at":"2024-01-02T00:00:00Z","updatedAt":"2024-01-02T00:00:00Z","data":{"customerId":"12345","firstName":"John","lastName":"Doe","email":"john@example.com","phone":"+10233456781","emailOptOut":false,"smsOptOut":false,"customerDetailUrl":"https://x.example/c/1","createdAt":"2023-11-07T05:31:56Z"}},"included":[{"id":1,"x":[true,null,-1.5e3]}]}}"#;

#[test]
fn the_reader_agrees_with_serde_on_chosen_bodies() {
    let deep = |n: usize| format!("{}0{}", "[".repeat(n), "]".repeat(n));
    let bodies = [
        ANSWER.to_string(),
        r#"{"data":{"id":7}}"#.into(),
        r#"{"data":{"id":null,"data":null}}"#.into(),
        r#"{"data":{"id":null,"data":{}}}"#.into(),
        r#"{"data":null}"#.into(),
        r#"{}"#.into(),
        r#"{"data":{"id":1},"data":{"id":2}}"#.into(),
        r#"{"data":{"id":1,"id":2}}"#.into(),
        r#"{"data":{"id":1,"createdAt":"a","created_at":"b"}}"#.into(),
        r#"{"data":{"id":1,"createdAt":"a","createdAt":"b"}}"#.into(),
        r#"{"data":{"data":{"email":"a","email":"b"}}}"#.into(),
        r#"{"data":{"data":{"email":5}}}"#.into(),
        r#"{"data":{"data":{"emailOptOut":"yes"}}}"#.into(),
        r#"{"data":{"data":{"emailOptOut":null,"smsOptOut":true}}}"#.into(),
        r#"{"data":{"data":{"firstName":"J\u00f6rg \ud83d\ude00 \"x\""}}}"#.into(),
        r#"{"data":{"data":{"firstName":"\ud800"}}}"#.into(),
        r#"{"data":{"data":{"other":"\ud800"}}}"#.into(),
        r#"{"data":{"data":{"oth\ud800er":1}}}"#.into(),
        r#"{"d\u0061ta":{"id":"x"}}"#.into(),
        r#"{"data":{"result":{"result":{"id":1},"id":2}}}"#.into(),
        r#"{"data":{"result":null,"id":3}}"#.into(),
        r#"{"data":{"result":5}}"#.into(),
        r#"{"data":{"id":1},}"#.into(),
        r#"{"data":{"id":1}} x"#.into(),
        " \n{\"data\":{\"id\":1}}\t ".into(),
        r#"{"data":{"id":1e400}}"#.into(),
        r#"{"data":{"id":{"a":[1,2,{"b":null}]}}}"#.into(),
        format!(r#"{{"data":{{"id":1,"x":{}}}}}"#, deep(300)),
        format!(r#"{{"data":{{"id":{}}}}}"#, deep(125)),
        format!(r#"{{"data":{{"id":{}}}}}"#, deep(126)),
        "[]".into(),
        r#"{"data":[{"id":1}]}"#.into(),
        r#"{"data":{"result":[null,5]}}"#.into(),
        r#"{"data":{"id":1,"data":["a","b"]}}"#.into(),
        "".into(),
        "null".into(),
        "{\"data\":{\"id\":\"a\u{1}b\"}}".into(),
    ];
    for body in &bodies {
        agree(body.as_bytes());
    }
    // Not UTF-8 in a skipped string: serde took it, the reader does not.
    let mut bad = br#"{"data":{"id":1},"x":"#.to_vec();
    bad.extend_from_slice(b"\"\xff\"}");
    assert!(serde_decode(&bad).is_some());
    assert_eq!(Reach.decode_customer(&bad), None);
    // An array where a record stands: serde read it by position.
    assert!(serde_decode(br#"{"data":[null,5]}"#).is_some());
    assert_eq!(Reach.decode_customer(br#"{"data":[null,5]}"#), None);
}

/// Bytes that move a JSON text between valid and invalid in interesting ways.
const ALPHABET: &[u8] = b"{}[]:,\"\\ u0019-.eE+tfnulx\n\x01\xc3\xa9";

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Edits of a full answer: a byte inserted, removed or replaced, a span cut or repeated.
    #[test]
    fn the_reader_agrees_with_serde_on_edited_answers(
        edits in proptest::collection::vec((0..ANSWER.len(), 0..5u8, 0..ALPHABET.len(), 1..40usize), 1..4),
    ) {
        let mut body = ANSWER.as_bytes().to_vec();
        for (at, kind, byte, len) in edits {
            let at = at.min(body.len());
            let end = (at + len).min(body.len());
            match kind {
                0 => body.insert(at, ALPHABET[byte]),
                1 if at < body.len() => { body.remove(at); }
                2 if at < body.len() => body[at] = ALPHABET[byte],
                3 => { body.drain(at..end); }
                _ => { let span = body[at..end].to_vec(); body.splice(at..at, span); }
            }
        }
        agree(&body);
    }

    /// Any JSON value at any member of the record.
    #[test]
    fn the_reader_agrees_with_serde_on_any_member_value(
        key in prop::sample::select(vec!["result", "id", "data", "createdAt", "created_at",
            "platformId", "business_id", "updatedAt", "other"]),
        field in prop::sample::select(vec!["customerId", "firstName", "email", "phone",
            "emailOptOut", "smsOptOut", "customerDetailUrl", "createdAt", "other"]),
        value in any_json(),
        inner in any::<bool>(),
    ) {
        let text = serde_json::to_string(&value).expect("serialise");
        let body = if inner {
            format!(r#"{{"data":{{"result":{{"id":1,"data":{{"{field}":{text}}}}}}}}}"#)
        } else {
            format!(r#"{{"success":true,"data":{{"{key}":{text},"id":"x"}}}}"#)
        };
        agree(body.as_bytes());
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z\u{e9}\u{1f600}\"\\\\\n]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,3}", inner), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
