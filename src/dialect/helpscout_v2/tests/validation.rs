//! Every validation rule, RFC 6902 documents, and the target rules at the client origin.

use super::*;

#[test]
fn rule_json() {
    let e = HelpscoutV2
        .decode_request(&ep(PATCH), None, b"[\xff]")
        .err();
    assert_eq!(e.map(|e| e.violations[0].rule), Some(Rule::Json));
}

#[test]
fn rule_required() {
    assert_eq!(
        violations(PATCH, r#"[{}]"#),
        vec![
            ("/0/op".into(), Rule::Required),
            ("/0/path".into(), Rule::Required)
        ]
    );
}

#[test]
fn rule_path() {
    for path in [
        "/fullName",
        "firstName",
        "/",
        "/id",
        "/organizationId",
        "/address",
        "/address/zip",
        "/address/city/x",
        "/socialProfiles",
        "/social_profiles/1",
        "/emails/1/location",
        "/websites/1/type",
        "/emails/1/value/x",
        "/properties/car",
    ] {
        let body = format!(r#"[{{"op":"replace","path":"{path}","value":"x"}}]"#);
        one(PATCH, &body, "/0/path", Rule::Path);
    }
}

#[test]
fn rule_remove_collection() {
    for coll in ["emails", "phones", "chats", "social-profiles", "websites"] {
        let body = format!(r#"[{{"op":"remove","path":"/{coll}"}}]"#);
        one(PATCH, &body, &format!("/{coll}"), Rule::RemoveCollection);
    }
}

#[test]
fn rule_enum() {
    let add = |coll: &str, kind: &str| {
        format!(r#"[{{"op":"add","path":"/{coll}","value":{{"type":"{kind}","value":"a@b.co"}}}}]"#)
    };
    one(PATCH, &add("emails", "mobile"), "/emails", Rule::Enum);
    one(PATCH, &add("phones", "cell"), "/phones", Rule::Enum);
    one(PATCH, &add("chats", "whatsapp"), "/chats", Rule::Enum);
    one(
        PATCH,
        &add("social-profiles", "instagram"),
        "/social-profiles",
        Rule::Enum,
    );
    one(PATCH, &add("emails", "Work"), "/emails", Rule::Enum);
    // Every documented value passes, gender in any case.
    for kind in [
        "aboutme",
        "facebook",
        "flickr",
        "forsquare",
        "foursquare",
        "youtube",
    ] {
        assert!(
            decode(PATCH, &add("social-profiles", kind)).is_ok(),
            "{kind}"
        );
    }
    for g in ["male", "Female", "UNKNOWN"] {
        let body = format!(r#"[{{"op":"replace","path":"/gender","value":"{g}"}}]"#);
        assert!(decode(PATCH, &body).is_ok(), "{g}");
    }
    for t in PHOTO_TYPES {
        let body = format!(r#"[{{"op":"replace","path":"/photoType","value":"{t}"}}]"#);
        assert!(decode(PATCH, &body).is_ok(), "{t}");
    }
}

#[test]
fn rule_length() {
    let long = |n: usize| "x".repeat(n);
    for (path, max, min) in [
        ("/firstName", 40, 1),
        ("/lastName", 40, 1),
        ("/jobTitle", 60, 0),
        ("/location", 60, 0),
        ("/organization", 60, 0),
        ("/photoUrl", 200, 0),
        ("/background", 200, 0),
    ] {
        let ok = format!(
            r#"[{{"op":"replace","path":"{path}","value":"{}"}}]"#,
            long(max)
        );
        assert!(decode(PATCH, &ok).is_ok(), "{path} at {max}");
        let bad = format!(
            r#"[{{"op":"replace","path":"{path}","value":"{}"}}]"#,
            long(max + 1)
        );
        one(PATCH, &bad, path, Rule::Length);
        let empty = format!(r#"[{{"op":"replace","path":"{path}","value":""}}]"#);
        if min == 1 {
            one(PATCH, &empty, path, Rule::Length);
        } else {
            assert!(decode(PATCH, &empty).is_ok(), "{path} empty");
        }
    }
    // Characters, not bytes.
    let ok = format!(
        r#"[{{"op":"replace","path":"/firstName","value":"{}"}}]"#,
        "é".repeat(40)
    );
    assert!(decode(PATCH, &ok).is_ok());
    one(
        PUT,
        &format!(r#"{{"lastName":"{}"}}"#, long(41)),
        "/lastName",
        Rule::Length,
    );
}

#[test]
fn rule_email() {
    // Other collections take any non-empty string.
    assert!(decode(
        PATCH,
        r#"[{"op":"replace","path":"/phones/9/value","value":"not an email"}]"#
    )
    .is_ok());
}

#[test]
fn rule_entry_id() {
    for path in [
        "/emails/0",
        "/emails/-1",
        "/emails/abc",
        "/emails/01",
        "/chats/1.5/value",
        "/emails/",
    ] {
        let body = format!(r#"[{{"op":"remove","path":"{path}"}}]"#);
        one(PATCH, &body, path, Rule::EntryId);
    }
}

/// test/move/copy turn the patch into a document; every member is checked with the same
/// grammar, and the plain ops inside keep every rule they have outside.
#[test]
fn patch_document_rules() {
    let cases: &[(&str, &str, Rule)] = &[
        (
            r#"[{"op":"move","path":"/lastName"}]"#,
            "/0/from",
            Rule::Required,
        ),
        (
            r#"[{"op":"copy","from":7,"path":"/lastName"}]"#,
            "/0/from",
            Rule::Type,
        ),
        (
            r#"[{"op":"copy","from":"/nope","path":"/lastName"}]"#,
            "/0/from",
            Rule::Path,
        ),
        (
            r#"[{"op":"copy","from":"/emails/0","path":"/lastName"}]"#,
            "/emails/0",
            Rule::EntryId,
        ),
        (
            r#"[{"op":"copy","from":"/emails","path":"/phones"}]"#,
            "/0/from",
            Rule::Path,
        ),
        (
            r#"[{"op":"move","from":"/emails/5/value","path":"/lastName"}]"#,
            "/0/from",
            Rule::Op,
        ),
        (
            r#"[{"op":"move","from":"/phones/5/type","path":"/phones/6/type"}]"#,
            "/0/from",
            Rule::Op,
        ),
        (
            r#"[{"op":"copy","from":"/firstName","path":"/address"}]"#,
            "/0/path",
            Rule::Path,
        ),
        (
            r#"[{"op":"test","path":"/firstName"}]"#,
            "/0/value",
            Rule::Required,
        ),
        (
            r#"[{"op":"test","path":"/properties/x","value":1}]"#,
            "/0/path",
            Rule::Path,
        ),
        (
            r#"[{"op":"test","path":"/firstName","value":"V"},{"op":"remove","path":"/emails"}]"#,
            "/emails",
            Rule::RemoveCollection,
        ),
        (
            r#"[{"op":"copy","from":"/firstName","path":"/lastName"},{"op":"replace","path":"/gender","value":"x"}]"#,
            "/gender",
            Rule::Enum,
        ),
        (
            r#"[{"op":"test","path":"/firstName","value":"V"},{"op":"add","path":"/emails/7","value":{"type":"work","value":"a@b.co"}}]"#,
            "/1/op",
            Rule::Op,
        ),
    ];
    for (body, pointer, rule) in cases {
        one(PATCH, body, pointer, *rule);
    }
}

/// A plain add/remove/replace patch means the same whether it is decoded op by op (the fast
/// path) or evaluated as a document against the state: the customer ends up the same.
#[test]
fn plain_ops_mean_the_same_as_a_document() {
    let state = test_support::vernon();
    let bodies = [
        json!([{"op": "replace", "path": "/firstName", "value": "Karl"},
               {"op": "remove", "path": "/lastName"},
               {"op": "add", "path": "/gender", "value": "FEMALE"}]),
        json!([{"op": "replace", "path": "/address/lines", "value": []},
               {"op": "replace", "path": "/address/city", "value": null},
               {"op": "add", "path": "/address/country", "value": "US"}]),
        json!([{"op": "remove", "path": "/emails/1001"},
               {"op": "add", "path": "/emails", "value": {"type": "other", "value": "n@acme.com"}},
               {"op": "replace", "path": "/emails/1003", "value": {"value": "w@home.net"}},
               {"op": "replace", "path": "/phones/1002/type", "value": "mobile"},
               {"op": "replace", "path": "/websites/7/value", "value": "https://acme.io"},
               {"op": "add", "path": "/social-profiles", "value": {"type": "forsquare", "value": "@vb"}}]),
        json!([{"op": "replace", "path": "/firstName", "value": "Vernon"},
               {"op": "replace", "path": "/emails/1001/type", "value": "work"}]),
    ];
    for body in bodies {
        let Value::Array(items) = &body else {
            panic!("not an array")
        };
        let plain = decode(PATCH, &body.to_string()).map(|r| r.changes.changes);
        let doc = decode_patch_document(items)
            .map(|r| r.document.unwrap_or_default())
            .and_then(|d| document::evaluate(&d, &state, "work"));
        let (Ok(plain), Ok(doc)) = (plain, doc) else {
            panic!("{body}: a decode failed");
        };
        let apply = |changes: &[Change]| {
            let mut c = state.clone();
            let applied = c.apply(changes, &mut || 5000, "work").is_ok();
            (applied, c)
        };
        assert_eq!(apply(&doc), apply(&plain), "{body}");
    }
}

#[test]
fn patch_document_decodes_into_document_operations() {
    let body = r#"[
      {"op":"test","path":"/gender","value":"MALE"},
      {"op":"remove","path":"/jobTitle"},
      {"op":"add","path":"/emails","value":{"type":"home","value":"a@b.co"}},
      {"op":"replace","path":"/phones/3","value":{"type":"work","value":"555"}},
      {"op":"copy","from":"/emails/1","path":"/emails"},
      {"op":"move","from":"/firstName","path":"/lastName"}
    ]"#;
    let Ok(req) = decode(PATCH, body) else {
        panic!("patch document refused");
    };
    assert!(req.changes.is_empty());
    let ops: Vec<(usize, Value)> = req
        .document
        .map(|d| d.ops)
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d.index, serde_json::to_value(d.op).unwrap_or_default()))
        .collect();
    assert_eq!(
        ops,
        vec![
            (0, json!({"op": "test", "path": "/gender", "value": "male"})),
            (
                1,
                json!({"op": "replace", "path": "/jobTitle", "value": null})
            ),
            (
                2,
                json!({"op": "add", "path": "/emails/new1", "value": {"type": "home", "value": "a@b.co"}})
            ),
            (
                3,
                json!({"op": "replace", "path": "/phones/3/type", "value": "work"})
            ),
            (
                3,
                json!({"op": "replace", "path": "/phones/3/value", "value": "555"})
            ),
            (
                4,
                json!({"op": "copy", "from": "/emails/1", "path": "/emails/new2"})
            ),
            (
                5,
                json!({"op": "move", "from": "/firstName", "path": "/lastName"})
            ),
        ]
    );
    // Without test/move/copy nothing changes: the ops decode into the change set directly.
    let plain = decode(PATCH, r#"[{"op":"remove","path":"/jobTitle"}]"#);
    assert!(plain.is_ok_and(|r| r.document.is_none() && r.changes.changes.len() == 1));
}
