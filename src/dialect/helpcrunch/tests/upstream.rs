//! Upstream encoding and the fixture inputs (target rules are contract cases).

use super::*;

#[test]
fn encodes_a_decoded_request_back_to_the_same_body() {
    let (path, body) = encode_one(&ok(CURRENT_UPDATE));
    assert_eq!(path, "/v1/customers/542335");
    let sent: Value = serde_json::from_str(CURRENT_UPDATE).unwrap_or_default();
    assert_eq!(body, sent);
}

#[test]
fn encodes_names_slots_timestamps_and_flat_location() {
    let changes = vec![
        set(Field::Notes, json!("n"), "/background"),
        set(Field::FirstName, json!("Mary Ann"), "/firstName"),
        primary(Coll::Emails, None, "/emails/1"),
        set(Field::LastName, json!("Smith"), "/lastName"),
        primary(Coll::Phones, Some("+1"), "/phones/1/value"),
        set(Field::FirstSeen, json!(1603885746), "/x"),
        set(Field::AddressState, json!("CA"), "/address/state"),
        set(Field::AddressCountry, Value::Null, "/address/country"),
        prop("plan", Value::Null, "/plan"),
        set(Field::Tags, json!([{"name": "a"}]), "/tags"),
    ];
    let (_, body) = encode_one(&changes);
    assert_eq!(
        body.to_string(),
        json!({"notes": "n", "name": "Mary Ann Smith", "email": null, "phone": "+1",
            "firstSeen": "1603885746", "regionCode": "CA", "countryCode": null,
            "tags": [{"name": "a"}], "customData": [{"property": "plan", "value": null}]})
        .to_string()
    );
}

#[test]
fn name_joins_skip_empty_halves() {
    let pair = |f: Value, l: Value| {
        encode_one(&[
            set(Field::FirstName, f, "/a"),
            set(Field::LastName, l, "/b"),
        ])
        .1
    };
    assert_eq!(pair(json!("Cher"), Value::Null), json!({"name": "Cher"}));
    assert_eq!(pair(json!(""), json!("Smith")), json!({"name": "Smith"}));
    assert_eq!(pair(Value::Null, Value::Null), json!({"name": null}));
}

#[test]
fn the_last_change_to_a_key_wins() {
    let changes = vec![
        set(Field::Notes, json!("a"), "/0"),
        prop("p", json!(1), "/1"),
        set(Field::Notes, json!("b"), "/2"),
        prop("p", json!(2), "/3"),
        prop("q", json!(true), "/4"),
    ];
    assert_eq!(
        encode_one(&changes).1.to_string(),
        json!({"notes": "b", "customData": [{"property": "p", "value": 2},
            {"property": "q", "value": true}]})
        .to_string()
    );
}

#[test]
fn encode_update_edge_cases() {
    assert_eq!(encode(&[]), Ok(vec![]));
    let half = encode(&[set(Field::FirstName, json!("Cher"), "/name")]);
    assert_eq!(half.err().map(|e| e.kind), Some(ErrorKind::Internal));
    let entry = encode(&[Change::new(
        Op::EntryRemove {
            coll: Coll::Emails,
            id: 3,
        },
        "/emails/3",
    )]);
    assert_eq!(entry.err().map(|e| e.kind), Some(ErrorKind::Internal));
    let job = encode(&[set(Field::JobTitle, json!("x"), "/jobTitle")]);
    assert_eq!(job.err().map(|e| e.kind), Some(ErrorKind::Internal));
    let bad_id = Helpcrunch.encode_update(
        "cus_1/../x",
        &[set(Field::Notes, json!("x"), "/data/notes")],
        &EncodeCx::default(),
    );
    let v = bad_id.err().map(|e| {
        (
            e.status,
            e.violations[0].pointer.clone(),
            e.violations[0].rule,
        )
    });
    assert_eq!(v, Some((400, "id".to_string(), Rule::CustomerId)));
}

#[test]
fn encode_get_path() {
    let get = Helpcrunch.encode_get("542335", &EncodeCx::default());
    assert_eq!(
        (get.method, get.path.as_str(), get.body),
        ("GET", "/v1/customers/542335", None)
    );
    let odd = Helpcrunch.encode_get("a/b?c", &EncodeCx::default());
    assert_eq!(odd.path, "/v1/customers/a%2Fb%3Fc");
}

// --- fixture inputs ---------------------------------------------------------------------

#[test]
fn fixture_inputs_decode_as_their_names_say() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/helpcrunch");
    let Ok(dirs) = std::fs::read_dir(root) else {
        panic!("no fixtures at {root}");
    };
    let mut seen = 0;
    for dir in dirs.flatten() {
        let path = dir.path();
        let name = dir.file_name().to_string_lossy().into_owned();
        let read = |f: &str| std::fs::read(path.join(f));
        let case: toml::Value = read("case.toml")
            .ok()
            .and_then(|b| toml::from_str(&String::from_utf8_lossy(&b)).ok())
            .unwrap_or_else(|| panic!("{name}: bad case.toml"));
        let field = |k: &str| case.get(k).and_then(toml::Value::as_str).unwrap_or("");
        assert!(!field("description").is_empty(), "{name}: description");
        let body = read("request.json").unwrap_or_else(|_| panic!("{name}: request.json"));
        if let Ok(state) = read("state.json") {
            let parsed = serde_json::from_slice::<Customer>(&state);
            assert!(parsed.is_ok(), "{name}: state.json is not a Customer");
        }
        let outcome = Helpcrunch
            .route(field("method"), field("path"))
            .and_then(|ep| Helpcrunch.decode_request(&ep, None, &body));
        let invalid = outcome.as_ref().err().map(|e| e.status);
        if name.starts_with("neg-") {
            assert_eq!(invalid, Some(400), "{name} should be rejected");
        } else {
            assert_eq!(invalid, None, "{name} should be accepted: {outcome:?}");
        }
        seen += 1;
    }
    assert!(seen >= 25, "only {seen} fixtures");
}
