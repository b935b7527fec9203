//! Upstream encoding and reading the vendor's answers and errors.

use super::*;

#[test]
fn encodes_one_partial_put() {
    let changes = vec![
        Change::new(set(Field::FirstName, json!("Vernon")), "/firstName"),
        Change::new(set(Field::AddressCity, json!("Dallas")), "/address/city"),
        Change::new(set(Field::Notes, Value::Null), "/background"),
        Change::new(
            Op::EntryAdd {
                coll: Coll::Emails,
                kind: s("work"),
                value: "a@b.co".into(),
            },
            "/emails",
        ),
        Change::new(
            Op::EntryRemove {
                coll: Coll::Emails,
                id: 7,
            },
            "/emails/7",
        ),
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::SocialProfiles,
                id: 9,
                kind: s("twitter"),
                value: None,
            }),
            "/social-profiles/9/type",
        ),
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Websites,
                id: 4,
                kind: s("ignored"),
                value: s("https://x.io"),
            }),
            "/websites/4",
        ),
        Change::new(
            set(Field::AddressLines, json!(["1 Main"])),
            "/address/lines",
        ),
    ];
    let reqs = V1
        .encode_update("100", &changes, &EncodeCx::default())
        .expect("encodable");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "PUT");
    assert_eq!(reqs[0].path, "/v1/customers/100.json");
    assert_eq!(
        reqs[0].headers,
        vec![("Content-Type".to_owned(), "application/json".to_owned())]
    );
    assert_eq!(
        serde_json::to_string(&body_json(&reqs[0])).expect("json"),
        r#"{"firstName":"Vernon","background":null,"address":{"city":"Dallas","lines":["1 Main"]},"emails":[{"value":"a@b.co","location":"work"},{"id":-7}],"socialProfiles":[{"id":9,"type":"twitter"}],"websites":[{"id":4,"value":"https://x.io"}]}"#
    );
}

#[test]
fn reload_and_passthrough_headers() {
    let cx = EncodeCx {
        want_customer: true,
        passthrough_headers: vec![("x-a".into(), "1".into())],
    };
    let changes = [Change::new(set(Field::Age, json!("30-35")), "/age")];
    let reqs = V1.encode_update("100", &changes, &cx).expect("ok");
    assert_eq!(reqs[0].path, "/v1/customers/100.json?reload=true");
    assert_eq!(reqs[0].headers[1], ("x-a".to_owned(), "1".to_owned()));
    assert_eq!(body_json(&reqs[0]), json!({"age": "30-35"}));
    let get = V1.encode_get("100", &cx);
    assert_eq!(
        (get.method, get.path.as_str()),
        ("GET", "/v1/customers/100.json")
    );
    assert!(get.body.is_none());
    assert_eq!(
        V1.encode_get("a/b c", &cx).path,
        "/v1/customers/a%2Fb%20c.json"
    );
}

#[test]
fn nothing_to_encode_means_no_request() {
    let reqs = V1
        .encode_update("100", &[], &EncodeCx::default())
        .expect("empty");
    assert!(reqs.is_empty());
}

#[test]
fn refuses_what_v1_cannot_hold() {
    let changes = [
        Change::new(set(Field::FirstName, json!("a")), "/name"),
        Change::new(set(Field::ExternalId, json!("u1")), "/userId"),
        Change::new(
            Op::PropertySet {
                slug: "plan".into(),
                value: json!("gold"),
            },
            "/customData/0/value",
        ),
    ];
    let err = V1
        .encode_update("100", &changes, &EncodeCx::default())
        .expect_err("unmappable");
    assert_eq!(err.kind, ErrorKind::Unmappable);
    let at: Vec<&str> = err.violations.iter().map(|v| v.pointer.as_str()).collect();
    assert_eq!(at, vec!["/userId", "/customData/0/value"]);
    let err = V1
        .encode_update("ext-1", &changes[..1], &EncodeCx::default())
        .expect_err("bad id");
    assert_eq!(
        (err.violations[0].pointer.as_str(), err.violations[0].rule),
        ("id", Rule::CustomerId)
    );
}

// --- decode_customer ---

#[test]
fn decodes_the_real_get_answer() {
    let c = V1.decode_customer(REAL_GET.as_bytes()).expect("customer");
    assert_eq!(c.first_name.as_deref(), Some("Test"));
    assert_eq!(c.last_name.as_deref(), Some("User"));
    assert_eq!(c.organization.as_deref(), Some("Test Company"));
    assert_eq!(c.job_title.as_deref(), Some("CEO"));
    assert_eq!(c.gender.as_deref(), Some("unknown"));
    assert_eq!(c.notes, None);
    assert_eq!(c.address, None);
    assert_eq!(
        c.emails,
        vec![entry(191676921, Some("work"), "test@example.com")]
    );
    assert_eq!(c.phones, vec![entry(198059533, Some("work"), "1234567890")]);
    assert!(c.chats.is_empty() && c.social_profiles.is_empty() && c.websites.is_empty());
    assert_eq!(c.meta.id, Some(json!(144228647)));
    assert_eq!(
        c.meta.record_created_at.as_deref(),
        Some("2017-09-23T20:12:43Z")
    );
    assert_eq!(
        c.meta.record_updated_at.as_deref(),
        Some("2017-12-13T22:39:59Z")
    );
}

#[test]
fn decodes_the_real_reload_answer_and_a_full_item() {
    let c = V1
        .decode_customer(REAL_RELOAD.as_bytes())
        .expect("customer");
    assert_eq!(c.first_name.as_deref(), Some("A new name"));
    assert!(c.emails.is_empty() && c.phones.is_empty());
    let full = r#"{"item": {"id": 1, "gender": "Male", "background": "n",
        "address": {"id": 9, "lines": ["a"], "city": "c", "state": "s", "postalCode": "p", "country": "US"},
        "chats": [{"id": 2, "value": "x", "type": "aim"}],
        "socialProfiles": [{"id": 3, "value": "y", "type": "twitter"}],
        "websites": [{"id": 4, "value": "z"}, {"value": "no id"}]}}"#;
    let c = V1.decode_customer(full.as_bytes()).expect("customer");
    assert_eq!(c.gender.as_deref(), Some("male"));
    assert_eq!(c.notes.as_deref(), Some("n"));
    assert_eq!(
        c.address,
        Some(Address {
            lines: vec!["a".into()],
            city: s("c"),
            state: s("s"),
            postal_code: s("p"),
            country: s("US"),
        })
    );
    assert_eq!(c.chats[0].kind.as_deref(), Some("aim"));
    assert_eq!(c.social_profiles[0].kind.as_deref(), Some("twitter"));
    assert_eq!(c.websites, vec![entry(4, None, "z")]);
}
