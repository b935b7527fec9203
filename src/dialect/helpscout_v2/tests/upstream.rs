//! Upstream encoding and decoding, locating vendor paths, fixtures and the fast decoder.

use super::*;

#[test]
fn decodes_docs_get_body() {
    let c = HelpscoutV2.decode_customer(DOCS_GET.as_bytes());
    let Some(c) = c else {
        panic!("no customer");
    };
    let expected: Customer = serde_json::from_value(json!({
        "first_name": "Vernon", "last_name": "Bear", "organization": "Acme, Inc",
        "job_title": "CEO and Co-Founder",
        "notes": "I've worked with Vernon before and he's really great.",
        "photo_url": "http://twitter.com/img/some-avatar.jpg", "photo_type": "twitter",
        "gender": "male", "age": "30-35", "location": "Greater Dallas/FT Worth Area",
        "address": {"city": "Prague"},
        "emails": [{"id": 1, "type": "home", "value": "bear@acme.com"}],
        "phones": [{"id": 2, "type": "home", "value": "123-123-123"}],
        "chats": [{"id": 5, "type": "aim", "value": "54831172"}],
        "social_profiles": [{"id": 4, "type": "twitter", "value": "@me"}],
        "websites": [{"id": 3, "value": "http://home.com"}],
        "properties": {"car": "Tesla"},
        "meta": {"id": 500, "record_created_at": "2012-07-23T12:34:12Z",
                 "record_updated_at": "2012-07-24T20:18:33Z"}
    }))
    .unwrap_or_default();
    assert_eq!(c, expected);
}

#[test]
fn decodes_real_recorded_get_body() {
    let Some(c) = HelpscoutV2.decode_customer(REAL_GET.as_bytes()) else {
        panic!("no customer");
    };
    assert_eq!(c.first_name.as_deref(), Some("Andre"));
    assert_eq!(c.gender.as_deref(), Some("male"));
    assert_eq!(c.notes.as_deref(), Some(""));
    assert_eq!(c.age, None);
    assert_eq!(c.address, None);
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].id, 199681969);
    assert_eq!(c.websites[1].value, "http://www.blancblog.co");
    assert_eq!(c.websites[1].kind, None);
    assert!(c.chats.is_empty() && c.phones.is_empty());
    assert_eq!(
        c.social_profiles
            .iter()
            .map(|e| e.kind.as_deref().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["flickr", "twitter", "linkedin"]
    );
    assert_eq!(c.meta.id, Some(json!(123456)));
    assert!(c.properties.is_empty());
}

#[test]
fn decode_customer_round_trips_its_own_get_answer() {
    let Some(c) = HelpscoutV2.decode_customer(DOCS_GET.as_bytes()) else {
        panic!("no customer");
    };
    let s = HelpscoutV2.encode_success(
        &ep(EndpointKind::Get),
        Some(&c),
        &answer_cx(DialectId::HelpscoutV2),
    );
    assert_eq!(HelpscoutV2.decode_customer(&s.body), Some(c));
    let forsquare =
        r#"{"_embedded":{"social_profiles":[{"id":1,"value":"x","type":"forsquare"}]}}"#;
    let c = HelpscoutV2
        .decode_customer(forsquare.as_bytes())
        .unwrap_or_default();
    assert_eq!(c.social_profiles[0].kind.as_deref(), Some("foursquare"));
}

// --- decode_error ------------------------------------------------------------------------

#[test]
fn decodes_real_and_sdk_error_bodies() {
    let real = r#"{"logRef": "a6ee3949-ec16-4b39-92bc-3600adc3f671#178323051",
      "message": "Error parsing request body into JSON", "_embedded": {"errors": []},
      "_links": {"self": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors#invalid-json"}}}"#;
    let e = HelpscoutV2.decode_error(400, real.as_bytes());
    assert_eq!(e.message, "Error parsing request body into JSON");
    assert!(e.violations.is_empty());
    let sdk = r#"{"logRef":"cb73aad3-9a81-44fd-bf70-48250ea256ff#12","message":"Validation error","_embedded":{"errors":[{"path":"country","message":"may not be empty","links":[{"rel":"about","href":"http://developer.helpscout.net/help-desk-api-v2/errors#1"}]}]},"links":[{"rel":"about","href":"http://developer.helpscout.net/help-desk-api-v2/errors"}]}"#;
    let e = HelpscoutV2.decode_error(400, sdk.as_bytes());
    assert_eq!(e.violations[0].pointer, "/country");
    assert_eq!(
        HelpscoutV2.locate(&e.violations[0].pointer),
        Some(Target::Field(Field::AddressCountry))
    );
    let e = HelpscoutV2.decode_error(429, br#"{"message": "API rate limit exceeded"}"#);
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::RateLimited, "API rate limit exceeded")
    );
    let token = r#"{"error_description":"Invalid refresh_token","error":"invalid_request"}"#;
    let e = HelpscoutV2.decode_error(400, token.as_bytes());
    assert_eq!(e.message, "Invalid refresh_token");
}

#[test]
fn decode_error_copes_with_non_json_bodies() {
    for (status, body) in [
        (502, &b"<html>Bad Gateway</html>"[..]),
        (500, b""),
        (404, b"\xff\xfe"),
    ] {
        let e = HelpscoutV2.decode_error(status, body);
        assert_eq!(e.status, status);
        assert!(e.violations.is_empty());
        assert!(!e.message.contains("html"));
    }
    assert_eq!(HelpscoutV2.decode_error(404, b"").kind, ErrorKind::NotFound);
}

// --- locate / pointer_for ----------------------------------------------------------------

#[test]
fn pointer_for_and_locate_agree() {
    let mut targets: Vec<Target> = Field::ALL.into_iter().map(Target::Field).collect();
    for c in Coll::ALL {
        targets.push(Target::Coll(c, None));
        targets.push(Target::Coll(c, Some(42)));
    }
    for t in targets {
        let p = HelpscoutV2.pointer_for(&t);
        assert_eq!(HelpscoutV2.locate(&p), Some(t.clone()), "{p}");
    }
    assert_eq!(
        HelpscoutV2.pointer_for(&Target::Field(Field::Notes)),
        "/background"
    );
    assert_eq!(
        HelpscoutV2.pointer_for(&Target::Field(Field::Blocked)),
        "/blocked"
    );
    assert_eq!(
        HelpscoutV2.pointer_for(&Target::Coll(Coll::SocialProfiles, Some(7))),
        "/social-profiles/7"
    );
    assert_eq!(
        HelpscoutV2.pointer_for(&Target::Property("a/b".into())),
        "/a~1b"
    );
}

// --- encode_update / encode_get ----------------------------------------------------------

#[test]
fn encode_update_customer_then_properties() {
    let changes = vec![
        set(Field::FirstName, json!("Vernon"), "/name"),
        set(Field::JobTitle, Value::Null, "/jobTitle"),
        set(Field::AddressLines, json!(["1 Main"]), "/address/lines"),
        set(Field::AddressCountry, json!("US"), "/countryCode"),
        Change::new(
            Op::PropertySet {
                slug: "car".into(),
                value: json!("Tesla"),
            },
            "/customData/0",
        ),
        Change::new(
            Op::EntryAdd {
                coll: Coll::SocialProfiles,
                kind: Some("foursquare".into()),
                value: "@me".into(),
            },
            "/socialProfiles/0",
        ),
        Change::new(
            Op::EntryAdd {
                coll: Coll::Websites,
                kind: None,
                value: "http://x.io".into(),
            },
            "/w",
        ),
        Change::new(
            Op::EntryAdd {
                coll: Coll::Emails,
                kind: None,
                value: "a@b.co".into(),
            },
            "/email",
        ),
        Change::new(
            Op::EntryRemove {
                coll: Coll::Emails,
                id: 7,
            },
            "/emails/0",
        ),
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Phones,
                id: 8,
                kind: Some("home".into()),
                value: Some("555".into()),
            }),
            "/phones/0",
        ),
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Chats,
                id: 9,
                kind: None,
                value: Some("h".into()),
            }),
            "/chats/0",
        ),
        Change::new(
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Chats,
                id: 10,
                kind: Some("aim".into()),
                value: None,
            }),
            "/chats/1",
        ),
        Change::new(
            Op::PropertyRemove {
                slug: "revenue".into(),
            },
            "/customData/1",
        ),
    ];
    let cx = EncodeCx {
        want_customer: false,
        passthrough_headers: vec![("x-trace".into(), "1".into())],
    };
    let Ok(reqs) = HelpscoutV2.encode_update("100", &changes, &cx) else {
        panic!("encode failed");
    };
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        (reqs[0].method, reqs[0].path.as_str()),
        ("PATCH", "/v2/customers/100")
    );
    assert_eq!(
        reqs[0].headers,
        vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("x-trace".to_string(), "1".to_string())
        ]
    );
    assert_eq!(
        body_json(&reqs[0]),
        json!([
            {"op": "replace", "path": "/firstName", "value": "Vernon"},
            {"op": "remove", "path": "/jobTitle"},
            {"op": "replace", "path": "/address/lines", "value": ["1 Main"]},
            {"op": "replace", "path": "/address/country", "value": "US"},
            {"op": "add", "path": "/social-profiles", "value": {"type": "forsquare", "value": "@me"}},
            {"op": "add", "path": "/websites", "value": {"value": "http://x.io"}},
            {"op": "add", "path": "/emails", "value": {"type": "work", "value": "a@b.co"}},
            {"op": "remove", "path": "/emails/7"},
            {"op": "replace", "path": "/phones/8", "value": {"type": "home", "value": "555"}},
            {"op": "replace", "path": "/chats/9/value", "value": "h"},
            {"op": "replace", "path": "/chats/10/type", "value": "aim"}
        ])
    );
    assert_eq!(
        (reqs[1].method, reqs[1].path.as_str()),
        ("PATCH", "/v2/customers/100/properties")
    );
    assert_eq!(
        body_json(&reqs[1]),
        json!([
            {"op": "replace", "path": "/car", "value": "Tesla"},
            {"op": "remove", "path": "/revenue"}
        ])
    );
}

#[test]
fn encode_update_edge_cases() {
    let cx = EncodeCx::default();
    assert_eq!(HelpscoutV2.encode_update("1", &[], &cx), Ok(vec![]));
    let props = [Change::new(Op::PropertyRemove { slug: "a/b".into() }, "/x")];
    let reqs = HelpscoutV2
        .encode_update("1", &props, &cx)
        .unwrap_or_default();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v2/customers/1/properties");
    assert_eq!(
        body_json(&reqs[0]),
        json!([{"op": "remove", "path": "/a~1b"}])
    );
    // An id from another dialect (reach external ids) stays one path segment.
    let names = [set(Field::FirstName, json!("K"), "/data/firstName")];
    let reqs = HelpscoutV2
        .encode_update("a b/c", &names, &cx)
        .unwrap_or_default();
    assert_eq!(reqs[0].path, "/v2/customers/a%20b%2Fc");
    // Ops v2 cannot hold are refused loudly, never dropped.
    for op in [
        Op::Set {
            field: Field::Blocked,
            value: json!(true),
        },
        Op::Primary {
            coll: Coll::Emails,
            value: None,
        },
    ] {
        let e = HelpscoutV2
            .encode_update("1", &[Change::new(op, "/blocked")], &cx)
            .err();
        assert_eq!(
            e.map(|e| (e.kind, e.violations[0].pointer.clone())),
            Some((ErrorKind::Unmappable, "/blocked".to_string()))
        );
    }
}

#[test]
fn encode_get_reads_the_customer() {
    let r = HelpscoutV2.encode_get("100", &EncodeCx::default());
    assert_eq!(
        (r.method, r.path.as_str(), r.body.is_none()),
        ("GET", "/v2/customers/100", true)
    );
}

#[test]
fn decode_then_encode_is_the_identity_for_patch_bodies() {
    let body = json!([
        {"op": "replace", "path": "/firstName", "value": "Vernon"},
        {"op": "remove", "path": "/age"},
        {"op": "replace", "path": "/address/city", "value": "Dallas"},
        {"op": "add", "path": "/emails", "value": {"type": "other", "value": "bear@acme.com"}},
        {"op": "remove", "path": "/emails/1001"},
        {"op": "replace", "path": "/chats/1002/value", "value": "aim"},
        {"op": "replace", "path": "/phones/3", "value": {"type": "work", "value": "555"}}
    ]);
    let changes = changes(PATCH, &body.to_string());
    let reqs = HelpscoutV2
        .encode_update("100", &changes, &EncodeCx::default())
        .unwrap_or_default();
    assert_eq!(body_json(&reqs[0]), body);
}

#[test]
fn capabilities() {
    assert!(HelpscoutV2.holds(Field::Notes) && HelpscoutV2.holds(Field::AddressLines));
    assert!(!HelpscoutV2.holds(Field::ExternalId) && !HelpscoutV2.holds(Field::Tags));
    assert!(Coll::ALL.iter().all(|c| HelpscoutV2.holds_coll(*c)));
    assert!(HelpscoutV2.has_properties() && !HelpscoutV2.single_slot());
    assert_eq!(HelpscoutV2.id(), DialectId::HelpscoutV2);
}

// --- fixture inputs ----------------------------------------------------------------------

/// The golden-fixture inputs must say what their names say: `neg-*` cases fail in this codec
/// (route or decode; a `content_type` case is the proxy's 415), the others decode, and every
/// `state.json` is a canonical customer.
#[test]
fn fixture_inputs_match_their_names() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/helpscout-v2");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("no fixture directory {}", dir.display());
    };
    let mut seen = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let case_dir = entry.path();
        let read = |f: &str| std::fs::read(case_dir.join(f));
        let case: toml::Table = read("case.toml")
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{name}: bad case.toml"));
        let field = |k: &str| {
            case.get(k)
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
        };
        assert!(!field("description").is_empty(), "{name}: description");
        let body = read("request.json").unwrap_or_else(|_| panic!("{name}: request.json"));
        if let Ok(state) = read("state.json") {
            let parsed: Result<Customer, _> = serde_json::from_slice(&state);
            assert!(parsed.is_ok(), "{name}: state.json {parsed:?}");
        }
        let outcome = HelpscoutV2
            .route(field("method"), field("path"))
            .and_then(|ep| {
                if ep.is_write() {
                    HelpscoutV2
                        .decode_request(&ep, case.get("query").and_then(|q| q.as_str()), &body)
                        .map(|_| ())
                } else {
                    Ok(())
                }
            });
        let negative = name.starts_with("neg-");
        if negative && case.contains_key("content_type") {
            assert!(outcome.is_ok(), "{name}: only the media type is wrong");
        } else {
            assert_eq!(outcome.is_err(), negative, "{name}: {outcome:?}");
        }
        seen += 1;
    }
    assert!(seen >= 25, "only {seen} fixture cases");
}

#[test]
fn fast_and_precise_decoders_agree() {
    let bodies = [
        r#"[]"#,
        r#"[{"op":"replace","path":"/firstName","value":"Karl"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":null,"extra":1}]"#,
        r#"[{"op":"replace","path":"/firstName"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":""}]"#,
        r#"[{"op":"replace","path":"/firstName","value":5}]"#,
        r#"[{"op":"replace","path":"/gender","value":"MALE"}]"#,
        r#"[{"op":"remove","path":"/age","value":"ignored"}]"#,
        r#"[{"op":"replace","path":"/address/lines","value":["a","b"]}]"#,
        r#"[{"op":"replace","path":"/address/lines","value":["a",1]}]"#,
        r#"[{"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}]"#,
        r#"[{"op":"add","path":"/emails","value":{"type":"x","value":"bear@acme"}}]"#,
        r#"[{"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"@me"}}]"#,
        r#"[{"op":"remove","path":"/emails"}]"#,
        r#"[{"op":"replace","path":"/emails","value":{}}]"#,
        r#"[{"op":"remove","path":"/emails/0"}]"#,
        r#"[{"op":"remove","path":"/emails/1001"}]"#,
        r#"[{"op":"replace","path":"/chats/1002/value","value":"aim"}]"#,
        r#"[{"op":"replace","path":"/phones/3/type","value":"cell"}]"#,
        r#"[{"op":"replace","path":"/websites/3/type","value":"x"}]"#,
        r#"[{"op":"replace","path":"/f\u0069rstName","value":"esc\"aped"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":"x"},{"op":"remove","path":"/nope"}]"#,
        r#"[{"op":"move","path":"/firstName"}]"#,
        r#"[{"op":"replace","path":"/firstName","path":"/lastName","value":"dup"}]"#,
    ];
    for body in bodies {
        let precise = rules::parse_json(body.as_bytes()).and_then(|d| decode_patch(&d));
        match decode_fast(body.as_bytes(), false) {
            Some(fast) => assert_eq!(fast, precise, "{body}"),
            None => assert!(
                body.contains("move")
                    || body.contains("\"path\":\"/lastName\"")
                    || body.contains("\"extra\""),
                "fast path refused {body}"
            ),
        }
    }
    let props = [
        r#"[{"op":"replace","path":"/car","value":"Tesla"},{"op":"remove","path":"/revenue"}]"#,
        r#"[{"op":"replace","path":"/car","value":null}]"#,
        r#"[{"op":"replace","path":"/car"}]"#,
        r#"[{"op":"replace","path":"/car","value":[1]}]"#,
        r#"[{"op":"replace","path":"car","value":1}]"#,
        r#"[{"op":"replace","path":"/a~1b~0c","value":true}]"#,
    ];
    for body in props {
        let precise = rules::parse_json(body.as_bytes()).and_then(|d| decode_properties(&d));
        assert_eq!(decode_fast(body.as_bytes(), true), Some(precise), "{body}");
    }
}

/// The fast path skips the separate duplicate-key pass: a body it accepts must have no
/// repeated key, so every body decodes exactly as the duplicate-key check followed by the
/// precise decoder.
#[test]
fn repeated_keys_anywhere_give_the_duplicate_error() {
    let bodies = [
        r#"[{"op":"replace","op":"replace","path":"/firstName","value":"a"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":"a","value":"b"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":"a","x":1,"x":2}]"#,
        r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@b.c","value":"d@e.f"}}]"#,
        r#"[{"op":"replace","path":"/address/lines","value":[{"k":1,"k":2}]}]"#,
        r#"[{"op":"replace","path":"/firstName","value":"a"},{"op":"remove","path":"/age","path":"/age"}]"#,
        r#"[{"op":"replace","path":"/firstName","value":"a","extra":{"y":1}}]"#,
        r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@b.c"}}]"#,
    ];
    for (i, body) in bodies.iter().enumerate() {
        let b = body.as_bytes();
        let reference = rules::reject_duplicate_keys(b)
            .and_then(|()| rules::parse_json(b))
            .and_then(|d| decode_patch(&d));
        let got = HelpscoutV2.decode_request(&ep(EndpointKind::Update { full: false }), None, b);
        assert_eq!(got, reference, "{body}");
        assert_eq!(got.is_err(), i < 6, "{body}: {got:?}");
    }
    let props = r#"[{"op":"replace","path":"/car","value":{"a":1,"a":2}}]"#.as_bytes();
    let reference = rules::reject_duplicate_keys(props)
        .and_then(|()| rules::parse_json(props))
        .and_then(|d| decode_properties(&d));
    assert_eq!(
        HelpscoutV2.decode_request(&ep(EndpointKind::Properties), None, props),
        reference
    );
    assert!(reference.is_err());
}
