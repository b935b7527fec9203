//! Request decoding and every validation rule (routes are contract cases).

use super::*;

// --- decoding the vendor's examples ----------------------------------------------------

#[test]
fn decodes_vendor_doc_002_example() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/helpcrunch/vendor-update-example/request.json"
    ));
    let Ok(doc) = doc else {
        panic!("fixture missing");
    };
    let changes = ok(&doc);
    assert_eq!(changes.len(), 22);
    assert!(!changes.iter().any(|c| c.origin == "/createdFrom"));
}

#[test]
fn decodes_older_create_example_with_integer_timestamp() {
    let body = r##"{"name": "Hakim Zarakim", "email": "hzarakim@example.com",
        "userId": "example_22", "company": "example", "source": "https://google.com",
        "locale": "en", "firstSeen": 1593547200, "notes": "magic",
        "customData": [{"property": "Subscription status", "value": "Active"}],
        "tags": [{"name": "Lead", "color": "#ccc"}, {"name": "Paid"}]}"##;
    let changes = ok(body);
    assert_eq!(changes.len(), 11);
    assert!(changes.contains(&set(Field::FirstSeen, json!("1593547200"), "/firstSeen")));
    assert!(changes.contains(&set(
        Field::Tags,
        json!([{"name": "Lead", "color": "#ccc"}, {"name": "Paid"}]),
        "/tags"
    )));
    assert_eq!(changes[0], set(Field::FirstName, json!("Hakim"), "/name"));
    assert_eq!(changes[1], set(Field::LastName, json!("Zarakim"), "/name"));
}

#[test]
fn decodes_benchmark_body() {
    let body = r##"{"name":"John Doe","email":"john@example.com","phone":"+10233456781","company":"Example Inc.","notes":"Lorem","unsubscribed":false}"##;
    assert_eq!(
        ok(body),
        vec![
            set(Field::FirstName, json!("John"), "/name"),
            set(Field::LastName, json!("Doe"), "/name"),
            primary(Coll::Emails, Some("john@example.com"), "/email"),
            primary(Coll::Phones, Some("+10233456781"), "/phone"),
            set(Field::Organization, json!("Example Inc."), "/company"),
            set(Field::Notes, json!("Lorem"), "/notes"),
            set(Field::EmailOptOut, json!(false), "/unsubscribed"),
        ]
    );
}

#[test]
fn read_only_model_keys_are_ignored() {
    let body = r##"{"id": 1, "device": {"ip": "x"}, "location": {"city": "Kyiv"},
        "createdAt": "x", "notes": "n"}"##;
    assert_eq!(ok(body), vec![set(Field::Notes, json!("n"), "/notes")]);
    assert_eq!(ok("{}"), vec![]);
}

// --- the name rule -------------------------------------------------------------------

#[test]
fn name_join() {
    assert_eq!(
        join_name(Some("Mary Ann"), Some("Smith")).as_deref(),
        Some("Mary Ann Smith")
    );
    assert_eq!(join_name(Some("Cher"), None).as_deref(), Some("Cher"));
    assert_eq!(join_name(Some(""), Some("Smith")).as_deref(), Some("Smith"));
    assert_eq!(join_name(None, Some("")), None);
}

// --- validation rules (the rule table is in the contract cases) -----------------------

#[test]
fn a_body_that_is_not_utf8_is_a_json_error() {
    // The other root rules are contract cases; a case file cannot hold invalid UTF-8.
    let not_utf8 = Helpcrunch.decode_request(&ep(false), None, b"{\"name\": \"\xff\"}");
    assert_eq!(
        not_utf8.err().map(|e| e.violations[0].rule),
        Some(Rule::Json)
    );
}

// --- PUT -----------------------------------------------------------------------------

#[test]
fn put_clears_every_owned_field_left_out() {
    let changes = put(r##"{"name": "Cher", "email": "c@example.com", "customData": []}"##);
    let mut expected = vec![
        set(Field::FirstName, json!("Cher"), "/name"),
        set(Field::LastName, Value::Null, "/name"),
        primary(Coll::Emails, Some("c@example.com"), "/email"),
        primary(Coll::Phones, None, "/phone"),
    ];
    for (key, field, _) in SCALARS {
        expected.push(set(field, Value::Null, &format!("/{key}")));
    }
    expected.push(set(Field::Tags, Value::Null, "/tags"));
    assert_eq!(changes, expected);
    // Nothing about customData: it is merged per attribute even on PUT.
    assert!(!changes.iter().any(|c| c.origin.starts_with("/customData")));
}

#[test]
fn put_of_an_empty_body_clears_both_name_halves() {
    let changes = put("{}");
    assert_eq!(
        &changes[..2],
        &[
            set(Field::FirstName, Value::Null, "/name"),
            set(Field::LastName, Value::Null, "/name"),
        ]
    );
    assert_eq!(changes.len(), 2 + 2 + SCALARS.len() + 1);
}

#[test]
fn put_of_the_model_keeps_the_echoed_location() {
    // The model's customData is an object, which a request may not carry: drop it.
    let mut model: Value = serde_json::from_str(MODEL).unwrap_or_default();
    if let Some(m) = model.as_object_mut() {
        m.remove("customData");
    }
    let changes = put(&model.to_string());
    let echoed: Vec<_> = changes
        .iter()
        .filter(|c| c.origin.starts_with("/location"))
        .collect();
    assert_eq!(echoed.len(), 3);
    assert!(!changes.iter().any(|c| c.origin == "/city"));
    assert_eq!(changes.len(), 2 + 2 + SCALARS.len() + 1);
    let body = r##"{"location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": null,
        "city": "Kyiv"}}"##;
    let changes = put(body);
    assert!(changes.contains(&set(Field::AddressCity, json!("Kyiv"), "/location/city")));
    assert!(changes.contains(&set(
        Field::AddressState,
        json!("Kyyivs'ka Oblast"),
        "/location/regionCode"
    )));
    assert!(changes.contains(&set(Field::AddressCountry, Value::Null, "/countryCode")));
    // A flat key wins over the echoed object.
    let changes = put(r##"{"city": "Lviv", "location": {"city": "Kyiv"}}"##);
    assert!(changes.contains(&set(Field::AddressCity, json!("Lviv"), "/city")));
    assert!(!changes.iter().any(|c| c.origin == "/location/city"));
    // On PATCH the echoed object changes nothing.
    assert_eq!(ok(r##"{"location": {"city": "Kyiv"}}"##), vec![]);
}

#[test]
fn put_rejects_a_malformed_echoed_location() {
    let err = Helpcrunch.decode_request(&ep(true), None, br##"{"location": {"city": 5}}"##);
    let pointers: Vec<_> = err
        .err()
        .map(|e| pointer_rules(e.violations))
        .unwrap_or_default();
    assert_eq!(pointers, one("/location/city", Rule::Type));
}

#[test]
fn get_decodes_to_nothing() {
    let get = Endpoint {
        kind: EndpointKind::Get,
        customer_id: "1".into(),
    };
    assert_eq!(
        Helpcrunch.decode_request(&get, None, b""),
        Ok(ClientRequest::default())
    );
    assert!(Helpcrunch.answer_needs_customer(&get, &ClientRequest::default()));
    assert!(Helpcrunch.answer_needs_customer(&ep(false), &ClientRequest::default()));
}

/// The constant pointers are the scalar keys' (`/` + key; no key needs escaping), row for row.
#[test]
fn scalar_pointers_follow_the_scalar_keys() {
    let built: Vec<String> = SCALARS
        .iter()
        .map(|(key, _, _)| format!("/{}", crate::canonical::pointer_token(key)))
        .collect();
    assert_eq!(built, SCALAR_POINTERS);
}
