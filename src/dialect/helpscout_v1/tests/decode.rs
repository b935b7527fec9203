//! The PUT body decoder and every validation rule (routes are contract cases).

use super::*;

// --- decode_request ---

#[test]
fn decodes_the_vendor_example() {
    let req = decode(VENDOR_EXAMPLE).expect("vendor example");
    assert!(!req.reload);
    assert!(!req.full);
    let got: Vec<(Op, String)> = req
        .changes
        .changes
        .into_iter()
        .map(|c| (c.op, c.origin))
        .collect();
    let want = vec![
        (set(Field::FirstName, json!("Vernon")), "/firstName"),
        (set(Field::LastName, json!("Bear")), "/lastName"),
        (
            set(Field::Organization, json!("Acme, Inc")),
            "/organization",
        ),
        (
            set(Field::JobTitle, json!("CEO and Co-Founder")),
            "/jobTitle",
        ),
        (
            set(
                Field::Notes,
                json!("I've worked with Vernon before and he's really great."),
            ),
            "/background",
        ),
        (
            set(
                Field::AddressLines,
                json!(["123 West Main St", "Suite 123"]),
            ),
            "/address/lines",
        ),
        (set(Field::AddressCity, json!("Dallas")), "/address/city"),
        (set(Field::AddressState, json!("TX")), "/address/state"),
        (set(Field::AddressCountry, json!("US")), "/address/country"),
        (
            Op::EntryUpdate {
                coll: Coll::SocialProfiles,
                id: 1234,
                kind: s("twitter"),
                value: s("https://twitter.com/helpscout"),
            },
            "/socialProfiles/0",
        ),
        (
            Op::EntryRemove {
                coll: Coll::Emails,
                id: 1234,
            },
            "/emails/0",
        ),
        (
            Op::EntryUpdate {
                coll: Coll::Phones,
                id: 1234,
                kind: s("home"),
                value: s("222-333-4444"),
            },
            "/phones/0",
        ),
        (
            Op::EntryUpdate {
                coll: Coll::Chats,
                id: 1234,
                kind: s("aim"),
                value: s("jsprout"),
            },
            "/chats/0",
        ),
        (
            Op::EntryUpdate {
                coll: Coll::Websites,
                id: 1234,
                kind: None,
                value: s("http://www.somewhere.com"),
            },
            "/websites/0",
        ),
    ];
    let want: Vec<(Op, String)> = want.into_iter().map(|(o, p)| (o, p.into())).collect();
    assert_eq!(got, want);
}

#[test]
fn entry_ids_decide_create_update_delete() {
    let got = ops(r#"{"emails": [
        {"value": "a@b.co"},
        {"id": 0, "value": "c@d.co", "location": "home"},
        {"id": false, "value": "e@f.co"},
        {"id": null, "value": "g@h.co"},
        {"id": 7, "location": "other"},
        {"id": -8, "value": "not an email", "location": "nowhere"}
    ]}"#);
    let add = |v: &str, k: &str, i: usize| {
        (
            Op::EntryAdd {
                coll: Coll::Emails,
                kind: s(k),
                value: v.into(),
            },
            format!("/emails/{i}"),
        )
    };
    assert_eq!(
        got,
        vec![
            add("a@b.co", "work", 0),
            add("c@d.co", "home", 1),
            add("e@f.co", "work", 2),
            add("g@h.co", "work", 3),
            (
                Op::EntryUpdate {
                    coll: Coll::Emails,
                    id: 7,
                    kind: s("other"),
                    value: None,
                },
                "/emails/4".into()
            ),
            (
                Op::EntryRemove {
                    coll: Coll::Emails,
                    id: 8
                },
                "/emails/5".into()
            ),
        ]
    );
}

#[test]
fn phones_without_location_have_no_default_and_websites_no_type() {
    let got = ops(
        r#"{"phones": [{"value": "555"}], "websites": [{"value": "https://x.io", "type": "home"}]}"#,
    );
    assert_eq!(
        got,
        vec![
            (
                Op::EntryAdd {
                    coll: Coll::Phones,
                    kind: None,
                    value: "555".into()
                },
                "/phones/0".into()
            ),
            (
                Op::EntryAdd {
                    coll: Coll::Websites,
                    kind: None,
                    value: "https://x.io".into()
                },
                "/websites/0".into()
            ),
        ]
    );
}

#[test]
fn the_other_dialects_type_key_is_ignored() {
    // The PHP SDK sends both keys; only the one v1 reads for the collection counts.
    let got = ops(
        r#"{"phones": [{"id": 3, "value": "1", "location": "work", "type": "work"}],
                      "chats": [{"id": 4, "type": "skype", "location": null}]}"#,
    );
    assert_eq!(
        got[0].0,
        Op::EntryUpdate {
            coll: Coll::Phones,
            id: 3,
            kind: s("work"),
            value: s("1")
        }
    );
    assert_eq!(
        got[1].0,
        Op::EntryUpdate {
            coll: Coll::Chats,
            id: 4,
            kind: s("skype"),
            value: None
        }
    );
}

#[test]
fn nulls_clear_and_null_collections_change_nothing() {
    let got = ops(r#"{"firstName": null, "address": null, "emails": null, "chats": []}"#);
    let mut want = vec![(set(Field::FirstName, Value::Null), "/firstName".to_owned())];
    for (_, _, f) in ADDRESS {
        want.push((set(f, Value::Null), "/address".to_owned()));
    }
    assert_eq!(got, want);
}

#[test]
fn gender_any_case_is_stored_lower_case() {
    assert_eq!(
        ops(r#"{"gender": "Male"}"#),
        vec![(set(Field::Gender, json!("male")), "/gender".into())]
    );
}

#[test]
fn unknown_keys_are_ignored() {
    let got = ops(
        r#"{"id": 5, "fullName": "A B", "type": "user", "customerPersonType": null,
                      "createdAt": "2017-12-13T22:50:25Z", "modifiedAt": 3, "lastName": "B"}"#,
    );
    assert_eq!(
        got,
        vec![(set(Field::LastName, json!("B")), "/lastName".into())]
    );
}

#[test]
fn reload_from_query_or_body() {
    let ep = update();
    let dec = |q: Option<&str>, b: &str| V1.decode_request(&ep, q, b.as_bytes());
    assert!(dec(Some("reload=true"), "{}").expect("q").reload);
    assert!(dec(Some("x=1&reload=True"), "{}").expect("q").reload);
    assert!(!dec(Some("reload=false"), "{}").expect("q").reload);
    assert!(!dec(None, "{}").expect("none").reload);
    assert!(dec(None, r#"{"reload": true}"#).expect("body").reload);
    assert!(!dec(None, r#"{"reload": null}"#).expect("body").reload);
    assert!(
        dec(Some("reload=false"), r#"{"reload": true}"#)
            .expect("both")
            .reload
    );
    let err = dec(Some("reload=yes"), "{}").expect_err("bad query");
    assert_eq!(err.violations[0].pointer, "reload");
    assert_eq!(err.violations[0].rule, Rule::Type);
    assert_eq!(
        rejected(r#"{"reload": "true"}"#),
        one("/reload", Rule::Type)
    );
    let err = dec(Some("reload=1"), "nope").expect_err("both bad");
    let rules: Vec<Rule> = err.violations.iter().map(|v| v.rule).collect();
    assert_eq!(rules, vec![Rule::Type, Rule::Json]);
}

#[test]
fn get_has_no_body_to_decode() {
    let req = V1.decode_request(&get(), None, b"").expect("get");
    assert_eq!(req, ClientRequest::default());
}

#[test]
fn rejects_bodies_that_are_not_json_objects() {
    assert_eq!(rejected(""), one("", Rule::Json));
    assert_eq!(rejected("{\"firstName\": "), one("", Rule::Json));
    assert_eq!(rejected("[]"), one("", Rule::Shape));
    assert_eq!(rejected("\"x\""), one("", Rule::Shape));
}

#[test]
fn malformed_bodies_anywhere_are_json_errors() {
    let bad_utf8 = b"{\"fullName\": \"\xff\xfe\", \"firstName\": \"A\"}";
    let err = V1
        .decode_request(&update(), None, bad_utf8)
        .expect_err("not UTF-8");
    assert_eq!(err.violations[0].message, "Request body is not valid UTF-8");
    assert_eq!(rejected(r#"{"firstName": "A"} {}"#), one("", Rule::Json));
    // Violations before a syntax error are not reported: the body as a whole is broken.
    assert_eq!(rejected(r#"{"gender": "x", "age": }"#), one("", Rule::Json));
    let deep = format!(r#"{{"ignored": {}{}}}"#, "[".repeat(5000), "]".repeat(5000));
    assert_eq!(rejected(&deep), one("", Rule::Json));
    assert_eq!(rejected("null"), one("", Rule::Shape));
}

#[test]
fn skipped_members_may_hold_anything() {
    let got = ops(
        r#"{"x": {"a": [1, {"b": null}], "c": "\u00e9"}, "address": {"id": {"n": 1}},
                      "emails": [{"id": 2, "extra": [true], "value": "a@b.co"}], "age": "3\n"}"#,
    );
    assert_eq!(
        got,
        vec![
            (
                Op::EntryUpdate {
                    coll: Coll::Emails,
                    id: 2,
                    kind: None,
                    value: s("a@b.co")
                },
                "/emails/0".into()
            ),
            (set(Field::Age, json!("3\n")), "/age".into()),
        ]
    );
}

#[test]
fn names_must_be_shorter_than_40() {
    let ok = "x".repeat(39);
    let long = "é".repeat(40);
    assert!(decode(&format!(r#"{{"firstName": "{ok}", "lastName": ""}}"#)).is_ok());
    assert_eq!(
        rejected(&format!(r#"{{"firstName": "{long}"}}"#)),
        one("/firstName", Rule::Length)
    );
    assert_eq!(
        rejected(&format!(r#"{{"lastName": "{long}"}}"#)),
        one("/lastName", Rule::Length)
    );
}

#[test]
fn scalar_types_are_checked() {
    for key in [
        "firstName",
        "lastName",
        "organization",
        "jobTitle",
        "background",
        "photoUrl",
        "photoType",
        "gender",
        "age",
        "location",
    ] {
        assert_eq!(
            rejected(&format!(r#"{{"{key}": 30}}"#)),
            one(&format!("/{key}"), Rule::Type),
            "{key}"
        );
    }
}

#[test]
fn gender_and_photo_type_enumerations() {
    assert_eq!(
        rejected(r#"{"gender": "robot"}"#),
        one("/gender", Rule::Enum)
    );
    assert_eq!(
        rejected(r#"{"photoType": "instagram"}"#),
        one("/photoType", Rule::Enum)
    );
    assert!(decode(r#"{"photoType": "googleprofile", "gender": "UNKNOWN"}"#).is_ok());
}

#[test]
fn address_shape_and_types() {
    assert_eq!(
        rejected(r#"{"address": "Dallas"}"#),
        one("/address", Rule::Type)
    );
    assert_eq!(
        rejected(r#"{"address": {"lines": "123 Main"}}"#),
        one("/address/lines", Rule::Type)
    );
    assert_eq!(
        rejected(r#"{"address": {"lines": ["a", 2]}}"#),
        one("/address/lines/1", Rule::Type)
    );
    assert_eq!(
        rejected(r#"{"address": {"city": 5, "postalCode": true}}"#),
        vec![
            ("/address/city".into(), Rule::Type),
            ("/address/postalCode".into(), Rule::Type)
        ]
    );
}

#[test]
fn collections_and_entries_must_be_arrays_of_objects() {
    assert_eq!(
        rejected(r#"{"emails": {"value": "a@b.co"}}"#),
        one("/emails", Rule::Type)
    );
    assert_eq!(
        rejected(r#"{"phones": ["555"]}"#),
        one("/phones/0", Rule::Type)
    );
}

#[test]
fn entry_types_come_from_the_v1_lists() {
    assert_eq!(
        rejected(r#"{"emails": [{"value": "a@b.co", "location": "mobile"}]}"#),
        one("/emails/0/location", Rule::Enum)
    );
    assert_eq!(
        rejected(r#"{"phones": [{"value": "1", "location": "cell"}]}"#),
        one("/phones/0/location", Rule::Enum)
    );
    assert_eq!(
        rejected(r#"{"chats": [{"value": "x", "type": "whatsapp"}]}"#),
        one("/chats/0/type", Rule::Enum)
    );
    // v2's documented spelling is not v1's.
    assert_eq!(
        rejected(r#"{"socialProfiles": [{"value": "x", "type": "forsquare"}]}"#),
        one("/socialProfiles/0/type", Rule::Enum)
    );
    assert!(decode(r#"{"socialProfiles": [{"value": "x", "type": "foursquare"}]}"#).is_ok());
    assert_eq!(
        rejected(r#"{"chats": [{"id": 2, "type": 3}]}"#),
        one("/chats/0/type", Rule::Type)
    );
}

#[test]
fn email_values_must_be_well_formed() {
    assert_eq!(
        rejected(r#"{"emails": [{"value": "vbear at mywork"}]}"#),
        one("/emails/0/value", Rule::Email)
    );
    assert_eq!(
        rejected(r#"{"emails": [{"id": 3, "value": "x@"}]}"#),
        one("/emails/0/value", Rule::Email)
    );
}

#[test]
fn entry_ids_must_be_integers() {
    for id in [r#""12""#, "1.5", "true", "[]", r#"{"id": 1}"#] {
        let body = format!(r#"{{"phones": [{{"id": {id}, "value": "1"}}]}}"#);
        assert_eq!(rejected(&body), one("/phones/0/id", Rule::EntryId), "{id}");
    }
}

#[test]
fn a_new_entry_needs_a_value() {
    assert_eq!(
        rejected(r#"{"phones": [{"location": "home"}]}"#),
        one("/phones/0/value", Rule::Required)
    );
    assert_eq!(
        rejected(r#"{"websites": [{"id": 0, "value": null}]}"#),
        one("/websites/0/value", Rule::Required)
    );
    assert_eq!(
        rejected(r#"{"websites": [{"id": 4, "value": 4}]}"#),
        one("/websites/0/value", Rule::Type)
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let got = rejected(
        r#"{"firstName": 1, "gender": "x", "emails": [{"value": "bad"}, {"id": "1"}],
            "reload": 1, "address": {"city": []}}"#,
    );
    assert_eq!(
        got,
        vec![
            ("/firstName".into(), Rule::Type),
            ("/gender".into(), Rule::Enum),
            ("/emails/0/value".into(), Rule::Email),
            ("/emails/1/id".into(), Rule::EntryId),
            ("/reload".into(), Rule::Type),
            ("/address/city".into(), Rule::Type),
        ]
    );
}

// --- check_target ---

#[test]
fn target_rules_are_reported_at_the_origin() {
    let changes = vec![
        Change::new(
            set(Field::FirstName, json!("x".repeat(40))),
            "/data/firstName",
        ),
        Change::new(set(Field::LastName, json!("ok")), "/data/lastName"),
        Change::new(set(Field::PhotoType, json!("instagram")), "photoType"),
        Change::new(set(Field::Gender, json!("female")), "/gender"),
        Change::new(
            Op::EntryAdd {
                coll: Coll::SocialProfiles,
                kind: s("forsquare"),
                value: "x".into(),
            },
            "/social-profiles",
        ),
        Change::new(
            Op::EntryUpdate {
                coll: Coll::Emails,
                id: 3,
                kind: None,
                value: s("nope"),
            },
            "/emails/3/value",
        ),
        Change::new(
            Op::EntryAdd {
                coll: Coll::Phones,
                kind: s("mobile"),
                value: "1".into(),
            },
            "/phones",
        ),
        Change::new(
            Op::Primary {
                coll: Coll::Emails,
                value: s("not checked here"),
            },
            "/email",
        ),
    ];
    let got = pointer_rules(V1.check_target(&changes));
    assert_eq!(
        got,
        vec![
            ("/data/firstName".into(), Rule::Length),
            ("photoType".into(), Rule::Enum),
            ("/social-profiles".into(), Rule::Enum),
            ("/emails/3/value".into(), Rule::Email),
        ]
    );
}
