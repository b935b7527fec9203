//! Unit tests of the Reach dialect (its routes and the records it decodes whole are contract
//! cases): validation rules, answers, upstream encoding and decoding against the vendor's
//! documented and recorded bodies.

use super::upstream::customer_path;
use super::*;
use crate::dialect::test_support::{self, entry};
use serde_json::json;

fn ep(kind: EndpointKind) -> Endpoint {
    test_support::endpoint(kind, "12345")
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
        .map(|c| (c.op.clone(), c.origin.as_ref()))
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

// === answers ===

fn customer() -> Customer {
    Customer {
        first_name: Some("John".into()),
        last_name: None,
        emails: vec![
            entry(7, Some("work"), "john@example.com"),
            entry(8, Some("home"), "j@home.example"),
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
    let cx = test_support::answer_cx("12345", upstream);
    Reach.encode_success(&ep(kind), c, &cx)
}

fn tenant() -> EncodeCx {
    EncodeCx {
        want_customer: false,
        passthrough_headers: vec![("reach-tenant-id".into(), "tenant-42".into())],
    }
}

// === decode_request ===

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

// === encode_success ===

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
    // What decodes to no customer at all is in the contract cases (`decodes_no_customer_from`).
}

#[test]
fn holds_the_fields_of_its_model() {
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
    let sent: Value = serde_json::from_slice(out[0].body.as_ref().expect("body")).expect("json");
    assert_eq!(
        sent,
        json!({"data": {"email": "a@b.co", "smsOptOut": false, "customerId": "c1"}})
    );
}

/// The constant pointers are the rows' (`/data/` + wire name), row for row.
#[test]
fn data_pointers_follow_the_field_rows() {
    let built: Vec<String> = KEYS.iter().map(|r| format!("/data/{}", r.wire)).collect();
    assert_eq!(built, DATA_POINTERS);
}
