//! Success answers in the client's dialect (error bodies are contract cases).

use super::*;

#[test]
fn update_answers() {
    let c = Customer::default();
    let out = V1.encode_success(&update(), Some(&c), &cx(false));
    assert_eq!(out, Synthetic::empty(200));
    let out = V1.encode_success(&update(), None, &cx(true));
    assert_eq!(out, Synthetic::empty(200));
    let out = V1.encode_success(&update(), Some(&c), &cx(true));
    assert_eq!(out.status, 200);
    assert_eq!(out.header("content-type"), Some(JSON_UTF8));
    assert_eq!(
        out.json_body(),
        Some(json!({"item": {
            "id": 100, "firstName": null, "lastName": null, "fullName": null,
            "photoUrl": null, "photoType": null, "gender": null, "age": null,
            "organization": null, "jobTitle": null, "location": null, "createdAt": null,
            "modifiedAt": null, "background": null, "address": null, "socialProfiles": [],
            "emails": [], "phones": [], "chats": [], "websites": []
        }}))
    );
}

#[test]
fn get_answer_round_trips_the_real_body() {
    let c = V1.decode_customer(REAL_GET.as_bytes()).expect("customer");
    let cx = AnswerCx {
        customer_id: "144228647",
        ..cx(false)
    };
    let out = V1.encode_success(&get(), Some(&c), &cx);
    assert_eq!(out.header("content-type"), Some(JSON_UTF8));
    // Collections the service wrote as null come back as [] (docs/dialects.md).
    let want = REAL_GET
        .replace(r#""socialProfiles":null"#, r#""socialProfiles":[]"#)
        .replace(r#""chats":null"#, r#""chats":[]"#)
        .replace(r#""websites":null"#, r#""websites":[]"#);
    assert_eq!(std::str::from_utf8(&out.body).expect("utf8"), want);
}

#[test]
fn get_answer_from_a_single_slot_upstream() {
    let c = Customer {
        first_name: s("Mary Ann"),
        last_name: s("Smith"),
        gender: s("female"),
        address: Some(Address {
            city: s("Kyiv"),
            ..Address::default()
        }),
        emails: vec![entry(1, None, "m@x.io")],
        phones: vec![entry(1, None, "555")],
        created_at: s("2024-01-02T03:04:05Z"),
        ..Customer::default()
    };
    let cx = AnswerCx {
        default_entry_type: "home",
        upstream: DialectId::Reach,
        ..cx(false)
    };
    let body = V1
        .encode_success(&get(), Some(&c), &cx)
        .json_body()
        .expect("json");
    let item = &body["item"];
    assert_eq!(item["fullName"], json!("Mary Ann Smith"));
    assert_eq!(item["createdAt"], json!("2024-01-02T03:04:05Z"));
    assert_eq!(
        item["address"],
        json!({"lines": [], "city": "Kyiv", "state": null, "postalCode": null, "country": null})
    );
    assert_eq!(
        item["emails"],
        json!([{"id": 1, "value": "m@x.io", "location": "home"}])
    );
    assert_eq!(
        item["phones"],
        json!([{"id": 1, "value": "555", "location": "home"}])
    );
    let out = V1.encode_success(&get(), None, &cx);
    assert_eq!(out.status, 502);
}

/// Timestamps reach a v1 client in Help Scout's format whatever the upstream wrote (the
/// published v1 client refuses `…00.000Z`); an unreadable one is `null`.
#[test]
fn answer_timestamps_are_in_help_scout_format() {
    let mut c = Customer {
        created_at: s("2025-06-30T23:30:00.250-01:30"),
        ..Customer::default()
    };
    c.meta.record_created_at = s("2026-01-01T00:00:00.000Z");
    c.meta.record_updated_at = s("1767229200");
    let cx = AnswerCx {
        upstream: DialectId::Reach,
        ..cx(true)
    };
    let item = |c: &Customer| {
        V1.encode_success(&update(), Some(c), &cx)
            .json_body()
            .expect("json")["item"]
            .clone()
    };
    let got = item(&c);
    assert_eq!(got["createdAt"], json!("2026-01-01T00:00:00Z"));
    assert_eq!(got["modifiedAt"], json!("2026-01-01T01:00:00Z"));
    // Without a record time, the customer's own creation date, converted to UTC.
    c.meta.record_created_at = s("garbage");
    c.meta.record_updated_at = s("garbage");
    let got = item(&c);
    assert_eq!(got["createdAt"], json!("2025-07-01T01:00:00Z"));
    assert_eq!(got["modifiedAt"], Value::Null);
}

#[test]
fn capabilities() {
    assert_eq!(V1.id(), DialectId::HelpscoutV1);
    let held: Vec<Field> = Field::ALL.into_iter().filter(|f| V1.holds(*f)).collect();
    assert_eq!(held.len(), 15);
    assert!(!V1.holds(Field::ExternalId) && !V1.holds(Field::Tags));
    assert!(Coll::ALL.iter().all(|c| V1.holds_coll(*c)));
    assert!(!V1.single_slot() && !V1.has_properties());
    let req = ClientRequest {
        reload: true,
        ..ClientRequest::default()
    };
    assert!(V1.answer_needs_customer(&update(), &req));
    assert!(!V1.answer_needs_customer(&update(), &ClientRequest::default()));
    assert!(V1.answer_needs_customer(&get(), &ClientRequest::default()));
}
