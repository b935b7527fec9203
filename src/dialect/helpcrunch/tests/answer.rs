//! Success answers and reading the vendor's model (error bodies, both ways, are contract
//! cases).

use super::*;

#[test]
fn validation_error_body() {
    let Err(err) = patch(r##"{"email": "x", "customData": [{"property": "a"}]}"##) else {
        panic!("accepted");
    };
    assert_eq!(
        error_json(&err),
        (
            400,
            Some("application/json".into()),
            json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "email", "message": "Value is not a well formed email address."},
                {"code": "customData[0].value", "message": "This field is missing."},
            ]})
        )
    );
}

#[test]
fn root_and_path_id_errors() {
    let Err(err) = patch("[1]") else {
        panic!("accepted");
    };
    let (status, _, body) = error_json(&err);
    assert_eq!(status, 400);
    assert_eq!(body["errors"][1]["code"], "invalid_json");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
    let Err(err) = Helpcrunch.route("PUT", "/v1/customers/abc") else {
        panic!("accepted");
    };
    assert_eq!(
        error_json(&err).2,
        json!({"errors": [
            {"code": "invalid_request", "message": "Invalid request"},
            {"code": "id", "message": "This value should be of type numeric."},
        ]})
    );
}

// --- the success answer ----------------------------------------------------------------

#[test]
fn success_is_the_full_model_in_vendor_key_order() {
    let reply = answer(Some(&full_customer()), "542335");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    let expected = json!({
        "id": 542335, "name": "Mary Ann Smith", "email": "a@example.com",
        "userId": "user_1", "company": "Example Inc.", "phone": "+1555",
        "firstSeen": "1603885746", "lastSeen": "1603885747",
        "location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": "UA", "city": "Kyiv"},
        "device": null, "unsubscribed": true, "blocked": false,
        "source": "https://example.com", "referer": "https://example.com/r",
        "lastPage": "https://example.com/p", "locale": "uk", "createdFrom": "telegram",
        "integrationId": "465847687", "notes": "Lorem \"ipsum\"",
        "tags": [{"name": "vip", "color": "#ff0000"}, {"name": "Paid"}],
        "customData": {"plan": "pro", "seats": 3, "a\"b": true}
    });
    // Byte equality also pins the key order (serde_json keeps insertion order here).
    assert_eq!(
        std::str::from_utf8(&reply.body).unwrap_or_default(),
        expected.to_string()
    );
}

#[test]
fn success_of_an_empty_customer_has_nulls_and_empty_collections() {
    let reply = answer(Some(&Customer::default()), "12");
    assert_eq!(
        reply.json_body(),
        Some(json!({
            "id": 12, "name": null, "email": null, "userId": null, "company": null,
            "phone": null, "firstSeen": null, "lastSeen": null,
            "location": {"regionCode": null, "countryCode": null, "city": null},
            "device": null, "unsubscribed": null, "blocked": null, "source": null,
            "referer": null, "lastPage": null, "locale": null, "createdFrom": null,
            "integrationId": null, "notes": null, "tags": null, "customData": {}
        }))
    );
    // `tags: null` above: the answer is built from helpscout-v2, which has no tags (SPEC §2:
    // unknowable fields are null). From HelpCrunch itself, no tags is `[]`.
    let cx = test_support::answer_cx("12", DialectId::Helpcrunch);
    let own = Helpcrunch.encode_success(&ep(false), Some(&Customer::default()), &cx);
    assert_eq!(own.json_body().map(|b| b["tags"].clone()), Some(json!([])));
}

#[test]
fn success_without_a_customer_is_a_502() {
    let reply = answer(None, "12");
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.json_body().map(|b| b["errors"][1]["code"].clone()),
        Some(json!("bad_gateway"))
    );
}

// --- upstream side: decoding answers -----------------------------------------------------

#[test]
fn decodes_the_older_model_forms() {
    let body = r##"{"id": 3, "name": "Cher", "email": null, "phone": "",
        "firstSeen": 1593547200, "lastSeen": null, "notes": null,
        "customData": [{"property": "plan", "value": "pro"}, {"property": "x", "value": null}],
        "tags": [{"name": "Lead", "color": "#ccc"}, {"color": "no name"}]}"##;
    let c = Helpcrunch
        .decode_customer(body.as_bytes())
        .unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Cher"));
    assert_eq!(c.last_name, None);
    assert!(c.emails.is_empty() && c.phones.is_empty());
    assert_eq!(c.first_seen.as_deref(), Some("1593547200"));
    assert_eq!(
        c.properties,
        json!({"plan": "pro"})
            .as_object()
            .cloned()
            .unwrap_or_default()
    );
    assert_eq!(
        c.tags,
        Some(vec![Tag {
            name: "Lead".into(),
            color: Some("#ccc".into())
        }])
    );
    assert_eq!(c.address, None);
    assert_eq!(Helpcrunch.decode_customer(b"Ok"), None);
    assert_eq!(Helpcrunch.decode_customer(b"[]"), None);
    assert_eq!(Helpcrunch.decode_customer(b""), None);
}

#[test]
fn answer_round_trips_through_the_model() {
    let mut c = full_customer();
    let reply = answer(Some(&c), "5");
    let back = Helpcrunch.decode_customer(&reply.body).unwrap_or_default();
    // What the model cannot carry: entry ids/types beyond the first, address lines, postal code.
    c.emails = vec![entry(1, None, "a@example.com")];
    c.phones = vec![entry(1, None, "+1555")];
    if let Some(a) = c.address.as_mut() {
        a.lines.clear();
        a.postal_code = None;
    }
    c.meta.id = Some(json!(5));
    assert_eq!(back, c);
}

#[test]
fn capabilities() {
    let held: Vec<_> = Field::ALL
        .into_iter()
        .filter(|f| Helpcrunch.holds(*f))
        .collect();
    assert_eq!(held.len(), 19);
    for f in [
        Field::JobTitle,
        Field::AddressLines,
        Field::AddressPostalCode,
        Field::SmsOptOut,
        Field::DetailUrl,
        Field::CreatedAt,
        Field::Gender,
    ] {
        assert!(!Helpcrunch.holds(f), "{f:?}");
    }
    assert!(Helpcrunch.holds_coll(Coll::Emails) && Helpcrunch.holds_coll(Coll::Phones));
    assert!(!Helpcrunch.holds_coll(Coll::Chats));
    assert!(Helpcrunch.single_slot() && Helpcrunch.has_properties());
    assert_eq!(Helpcrunch.id(), DialectId::Helpcrunch);
}
