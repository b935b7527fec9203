//! The vendor's documented PATCH/PUT/properties examples and every path form.

use super::*;

#[test]
fn decodes_docs_request_example_karl() {
    let body = r#"[ { "op" : "replace", "path" : "/firstName", "value" : "Karl" } ]"#;
    assert_eq!(
        changes(PATCH, body),
        vec![set(Field::FirstName, json!("Karl"), "/firstName")]
    );
}

#[test]
fn decodes_docs_add_email() {
    let body =
        r#"[{"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}]"#;
    assert_eq!(
        changes(PATCH, body),
        vec![Change::new(
            Op::EntryAdd {
                coll: Coll::Emails,
                kind: Some("other".into()),
                value: "bear@acme.com".into()
            },
            "/emails"
        )]
    );
}

#[test]
fn decodes_docs_delete_email() {
    let body = r#"[{"op":"remove","path":"/emails/1001"}]"#;
    assert_eq!(
        changes(PATCH, body),
        vec![Change::new(
            Op::EntryRemove {
                coll: Coll::Emails,
                id: 1001
            },
            "/emails/1001"
        )]
    );
}

#[test]
fn decodes_docs_update_chat() {
    let body = r#"[{"op":"replace","path":"/chats/1002/value","value":"aim"}]"#;
    assert_eq!(
        changes(PATCH, body),
        vec![Change::new(
            Op::EntryUpdate {
                coll: Coll::Chats,
                id: 1002,
                kind: None,
                value: Some("aim".into())
            },
            "/chats/1002/value"
        )]
    );
}

#[test]
fn decodes_docs_update_multiple_fields() {
    let body = r#"[
      {"op":"replace","path":"/firstName","value":"Vernon"},
      {"op":"replace","path":"/lastName","value":"Bear"},
      {"op":"add","path":"/emails","value":{"type":"other","value":"bear@acme.com"}}
    ]"#;
    let got = changes(PATCH, body);
    assert_eq!(got.len(), 3);
    assert_eq!(got[0], set(Field::FirstName, json!("Vernon"), "/firstName"));
    assert_eq!(got[1], set(Field::LastName, json!("Bear"), "/lastName"));
    assert_eq!(got[2].origin, "/emails");
}

#[test]
fn decodes_docs_properties_example() {
    let body = r#"[ { "op" : "replace", "value" : "Tesla", "path" : "/car" },
                    { "op" : "remove", "path" : "/revenue" } ]"#;
    let req = decode(EndpointKind::Properties, body);
    assert_eq!(
        req.map(|r| (r.full, r.changes.changes)),
        Ok((
            false,
            vec![
                Change::new(
                    Op::PropertySet {
                        slug: "car".into(),
                        value: json!("Tesla")
                    },
                    "/car"
                ),
                Change::new(
                    Op::PropertyRemove {
                        slug: "revenue".into()
                    },
                    "/revenue"
                ),
            ]
        ))
    );
}

#[test]
fn properties_accept_numbers_booleans_and_null() {
    let body = r#"[{"op":"replace","path":"/n","value":5},{"op":"replace","path":"/b","value":true},
                   {"op":"replace","path":"/x","value":null},{"op":"replace","path":"/a~1b","value":"v"}]"#;
    let got = changes(EndpointKind::Properties, body);
    assert_eq!(
        got.iter().map(|c| c.op.clone()).collect::<Vec<_>>(),
        vec![
            Op::PropertySet {
                slug: "n".into(),
                value: json!(5)
            },
            Op::PropertySet {
                slug: "b".into(),
                value: json!(true)
            },
            Op::PropertyRemove { slug: "x".into() },
            Op::PropertySet {
                slug: "a/b".into(),
                value: json!("v")
            },
        ]
    );
    assert_eq!(got[3].origin, "/a~1b");
}

#[test]
fn decodes_docs_put_example() {
    let body = r#"{
      "firstName" : "Vernon", "lastName" : "Bear",
      "photoUrl" : "https://api.helpscout.net/img/some-avatar.jpg", "photoType" : "twitter",
      "jobTitle" : "CEO and Co-Founder", "location" : "Greater Dallas/FT Worth Area",
      "background" : "I've worked with Vernon before and he's really great.",
      "age" : "30-35", "gender" : "Male", "organization" : "Acme, Inc", "organizationId" : 35
    }"#;
    let req = decode(PUT, body).map_err(|e| e.to_string());
    let Ok(req) = req else {
        panic!("{req:?}");
    };
    assert!(req.full);
    assert_eq!(
        req.changes.changes,
        vec![
            set(Field::FirstName, json!("Vernon"), "/firstName"),
            set(Field::LastName, json!("Bear"), "/lastName"),
            set(
                Field::PhotoUrl,
                json!("https://api.helpscout.net/img/some-avatar.jpg"),
                "/photoUrl"
            ),
            set(Field::PhotoType, json!("twitter"), "/photoType"),
            set(Field::JobTitle, json!("CEO and Co-Founder"), "/jobTitle"),
            set(
                Field::Location,
                json!("Greater Dallas/FT Worth Area"),
                "/location"
            ),
            set(
                Field::Notes,
                json!("I've worked with Vernon before and he's really great."),
                "/background"
            ),
            set(Field::Age, json!("30-35"), "/age"),
            set(Field::Gender, json!("male"), "/gender"),
            set(Field::Organization, json!("Acme, Inc"), "/organization"),
        ]
    );
}

#[test]
fn put_clears_every_entity_field_left_out_and_ignores_entries() {
    let body = r#"{"firstName":"Vernon","emails":[{"type":"work","value":"x"}],"fullName":"x"}"#;
    let got = changes(PUT, body);
    assert_eq!(got.len(), 10);
    assert_eq!(got[0], set(Field::FirstName, json!("Vernon"), "/firstName"));
    for c in &got[1..] {
        assert!(
            matches!(
                &c.op,
                Op::Set {
                    value: Value::Null,
                    ..
                }
            ),
            "{c:?}"
        );
    }
    assert_eq!(got[6], set(Field::Notes, Value::Null, "/background"));
}

#[test]
fn decodes_every_path_form() {
    let body = r#"[
      {"op":"add","path":"/age","value":"30"},
      {"op":"remove","path":"/location"},
      {"op":"replace","path":"/gender","value":"FEMALE"},
      {"op":"replace","path":"/address/lines","value":["1 Main St","Suite 2"]},
      {"op":"replace","path":"/address/postalCode","value":"74206"},
      {"op":"remove","path":"/address/city"},
      {"op":"add","path":"/websites","value":{"value":"http://x.io"}},
      {"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"@me"}},
      {"op":"replace","path":"/phones/5","value":{"type":"mobile","value":"555"}},
      {"op":"replace","path":"/social-profiles/6/type","value":"twitter"},
      {"op":"replace","path":"/websites/8/value","value":"http://y.io"}
    ]"#;
    let ops: Vec<Op> = changes(PATCH, body).into_iter().map(|c| c.op).collect();
    assert_eq!(
        ops,
        vec![
            Op::Set {
                field: Field::Age,
                value: json!("30")
            },
            Op::Set {
                field: Field::Location,
                value: Value::Null
            },
            Op::Set {
                field: Field::Gender,
                value: json!("female")
            },
            Op::Set {
                field: Field::AddressLines,
                value: json!(["1 Main St", "Suite 2"])
            },
            Op::Set {
                field: Field::AddressPostalCode,
                value: json!("74206")
            },
            Op::Set {
                field: Field::AddressCity,
                value: Value::Null
            },
            Op::EntryAdd {
                coll: Coll::Websites,
                kind: None,
                value: "http://x.io".into()
            },
            Op::EntryAdd {
                coll: Coll::SocialProfiles,
                kind: Some("foursquare".into()),
                value: "@me".into()
            },
            Op::EntryUpdate {
                coll: Coll::Phones,
                id: 5,
                kind: Some("mobile".into()),
                value: Some("555".into())
            },
            Op::EntryUpdate {
                coll: Coll::SocialProfiles,
                id: 6,
                kind: Some("twitter".into()),
                value: None
            },
            Op::EntryUpdate {
                coll: Coll::Websites,
                id: 8,
                kind: None,
                value: Some("http://y.io".into())
            },
        ]
    );
}

#[test]
fn empty_patch_array_is_an_empty_change_set() {
    assert_eq!(changes(PATCH, "[]"), vec![]);
}
