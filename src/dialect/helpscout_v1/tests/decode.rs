//! The PUT body decoder: entry ids, nulls, reload, malformed bodies (routes and the rule table
//! are contract cases).

use super::*;

// --- decode_request ---

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
                Op::EntryUpdate(EntryUpdate {
                    coll: Coll::Emails,
                    id: 7,
                    kind: s("other"),
                    value: None,
                }),
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
        Op::EntryUpdate(EntryUpdate {
            coll: Coll::Phones,
            id: 3,
            kind: s("work"),
            value: s("1")
        })
    );
    assert_eq!(
        got[1].0,
        Op::EntryUpdate(EntryUpdate {
            coll: Coll::Chats,
            id: 4,
            kind: s("skype"),
            value: None
        })
    );
}

#[test]
fn nulls_clear_and_null_collections_change_nothing() {
    let got = ops(r#"{"firstName": null, "address": null, "emails": null, "chats": []}"#);
    let mut want = vec![(set(Field::FirstName, Value::Null), "/firstName".to_owned())];
    for m in &members().address {
        want.push((set(m.canon, Value::Null), "/address".to_owned()));
    }
    assert_eq!(got, want);
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
                Op::EntryUpdate(EntryUpdate {
                    coll: Coll::Emails,
                    id: 2,
                    kind: None,
                    value: s("a@b.co")
                }),
                "/emails/0".into()
            ),
            (set(Field::Age, json!("3\n")), "/age".into()),
        ]
    );
}

/// The walk refuses repeated keys itself (no separate pass over the body): wherever the repeat
/// is (the root, `address`, an entry, a skipped member, a value built whole, an escaped
/// spelling of a known key), the error is exactly `reject_duplicate_keys`'s, and a body that
/// check passes is never refused as a repeat (a syntax error first, trailing data).
#[test]
fn the_walk_refuses_repeated_keys_as_the_separate_check_does() {
    let bodies: [&[u8]; 22] = [
        br#"{"firstName":"A","firstName":"B"}"#,
        br#"{"firstName":"A","first\u004eame":"B"}"#,
        br#"{"reload":true,"reload":false}"#,
        br#"{"emails":[],"emails":null}"#,
        br#"{"address":{"city":"X","city":"Y"}}"#,
        br#"{"address":{"zz":1,"zz":2}}"#,
        br#"{"address":[{"a":1,"a":2}]}"#,
        br#"{"emails":[{"value":"a@b.co","value":"c@d.co"}]}"#,
        br#"{"emails":[{"id":1,"x":1,"x":2}]}"#,
        br#"{"emails":[[{"a":1,"a":2}]]}"#,
        br#"{"emails":{"a":{"b":1,"b":2}}}"#,
        br#"{"unknown":{"deep":[{"k":1,"k":2}]}}"#,
        br#"{"other":1,"other":2}"#,
        br#"{"firstName":{"k":1,"k":2}}"#,
        br#"[{"k":1,"k":2}]"#,
        br#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"q":19}"#,
        br#"{"firstName":"A" "firstName":"B"}"#,
        br#"{"firstName":"A"} {"firstName":"B","firstName":"C"}"#,
        b"{\"firstName\":\"\xff\",\"firstName\":\"B\"}",
        b"{\"x\":1,\"x\":\"\xff\"}",
        br#"{"firstName":"A","lastName":"B","emails":[{"id":1,"value":"a@b.co"}]}"#,
        br#"{"address":{"city":"X","lines":["a"]},"websites":[{"value":"x.co"}]}"#,
    ];
    for body in bodies {
        let got = V1.decode_request(&update(), None, body);
        let label = String::from_utf8_lossy(body);
        match rules::reject_duplicate_keys(body) {
            Err(e) => assert_eq!(got.expect_err("a repeated key"), e, "{label}"),
            Ok(()) => {
                if let Err(e) = got {
                    let dup = e
                        .violations
                        .iter()
                        .any(|v| v.message.starts_with("Duplicate key"));
                    assert!(!dup, "{label}: {e:?}");
                }
            }
        }
    }
}
