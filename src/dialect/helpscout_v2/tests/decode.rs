//! PUT clearing, every path form and empty patches (the documented examples are contract cases).

use super::*;

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
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Phones,
                id: 5,
                kind: Some("mobile".into()),
                value: Some("555".into())
            }),
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::SocialProfiles,
                id: 6,
                kind: Some("twitter".into()),
                value: None
            }),
            Op::EntryUpdate(EntryUpdate {
                coll: Coll::Websites,
                id: 8,
                kind: None,
                value: Some("http://y.io".into())
            }),
        ]
    );
}

#[test]
fn empty_patch_array_is_an_empty_change_set() {
    assert_eq!(changes(PATCH, "[]"), vec![]);
}
