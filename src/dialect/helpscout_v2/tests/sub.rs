//! Sub-resource endpoints: decoding and answers (their validation is in the contract cases).

use super::*;

/// The change sets of a sub-resource call and of its equivalent patch op are the same.
#[test]
fn sub_resources_decode_into_the_equivalent_patch_changes() {
    let cases: [(EndpointKind, &str, &str); 8] = [
        (
            sub(EMAILS, None, SubAction::Create),
            r#"{"type":"work","value":"a@x.com"}"#,
            r#"[{"op":"add","path":"/emails","value":{"type":"work","value":"a@x.com"}}]"#,
        ),
        (
            sub(
                SubResource::Entries(Coll::SocialProfiles),
                None,
                SubAction::Create,
            ),
            r#"{"type":"forsquare","value":"https://4sq.com/x"}"#,
            r#"[{"op":"add","path":"/social-profiles","value":{"type":"forsquare","value":"https://4sq.com/x"}}]"#,
        ),
        (
            sub(
                SubResource::Entries(Coll::Websites),
                None,
                SubAction::Create,
            ),
            r#"{"value":"https://x.example"}"#,
            r#"[{"op":"add","path":"/websites","value":{"value":"https://x.example"}}]"#,
        ),
        // Websites have no type: one sent is ignored, as in a patch op.
        (
            sub(
                SubResource::Entries(Coll::Websites),
                Some(4),
                SubAction::Update,
            ),
            r#"{"type":"work","value":"https://y.example"}"#,
            r#"[{"op":"replace","path":"/websites/4","value":{"value":"https://y.example"}}]"#,
        ),
        (
            sub(
                SubResource::Entries(Coll::Phones),
                Some(1002),
                SubAction::Update,
            ),
            r#"{"type":"mobile","value":"555"}"#,
            r#"[{"op":"replace","path":"/phones/1002","value":{"type":"mobile","value":"555"}}]"#,
        ),
        // Members other than type and value are ignored, as in a patch op's entry object.
        (
            sub(SubResource::Entries(Coll::Chats), None, SubAction::Create),
            r#"{"id":9,"type":"skype","value":"ada","primary":true}"#,
            r#"[{"op":"add","path":"/chats","value":{"type":"skype","value":"ada"}}]"#,
        ),
        (
            sub(EMAILS, Some(1001), SubAction::Delete),
            "",
            r#"[{"op":"remove","path":"/emails/1001"}]"#,
        ),
        (
            sub(SubResource::Address, None, SubAction::Delete),
            "",
            r#"[{"op":"remove","path":"/address/lines"},{"op":"remove","path":"/address/city"},
                {"op":"remove","path":"/address/state"},{"op":"remove","path":"/address/postalCode"},
                {"op":"remove","path":"/address/country"}]"#,
        ),
    ];
    for (kind, body, patch) in cases {
        assert_eq!(
            changes(kind, body),
            changes(PATCH, patch),
            "{kind:?} {body}"
        );
    }
}

#[test]
fn address_bodies_set_every_address_field() {
    let ops = |kind| {
        changes(
            kind,
            r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US","lines":["1 Main St","Apt 2"]}"#,
        )
    };
    let want = vec![
        set(Field::AddressLines, json!(["1 Main St", "Apt 2"]), "/lines"),
        set(Field::AddressCity, json!("Dallas"), "/city"),
        set(Field::AddressState, json!("TX"), "/state"),
        set(Field::AddressPostalCode, json!("74206"), "/postalCode"),
        set(Field::AddressCountry, json!("US"), "/country"),
    ];
    assert_eq!(
        ops(sub(SubResource::Address, None, SubAction::Create)),
        want
    );
    assert_eq!(
        ops(sub(SubResource::Address, None, SubAction::Update)),
        want
    );
    // `lines` left out is cleared: the object replaces the whole address.
    let c = changes(
        sub(SubResource::Address, None, SubAction::Update),
        r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US"}"#,
    );
    assert_eq!(c[0], set(Field::AddressLines, Value::Null, "/lines"));
}

#[test]
fn sub_resource_answers() {
    let mut cx = answer_cx(DialectId::Helpcrunch);
    cx.location_base = "/t/hs2/crunch";
    let ep_of = |kind| ep(kind);
    let create = ep_of(sub(
        SubResource::Entries(Coll::SocialProfiles),
        None,
        SubAction::Create,
    ));
    cx.created = Some(1);
    let a = HelpscoutV2.encode_success(&create, None, &cx);
    assert_eq!((a.status, a.body.len()), (201, 0));
    assert_eq!(a.header("resource-id"), Some("1"));
    assert_eq!(
        a.header("location"),
        Some("/t/hs2/crunch/v2/customers/500/social-profiles/1")
    );
    // Nothing created (the add was dropped): no 201.
    cx.created = None;
    let a = HelpscoutV2.encode_success(&create, None, &cx);
    assert_eq!((a.status, a.header("location")), (204, None));
    let a = HelpscoutV2.encode_success(
        &ep_of(sub(SubResource::Address, None, SubAction::Create)),
        None,
        &cx,
    );
    assert_eq!(a.status, 201);
    assert_eq!(a.header("resource-id"), None);
    assert_eq!(
        a.header("location"),
        Some("/t/hs2/crunch/v2/customers/500/address")
    );
    for kind in [
        sub(EMAILS, Some(3), SubAction::Update),
        sub(EMAILS, Some(3), SubAction::Delete),
        sub(SubResource::Address, None, SubAction::Update),
        sub(SubResource::Address, None, SubAction::Delete),
    ] {
        let a = HelpscoutV2.encode_success(&ep_of(kind), None, &cx);
        assert_eq!(
            (a.status, a.headers.len(), a.body.len()),
            (204, 0, 0),
            "{kind:?}"
        );
    }
    let req = ClientRequest::default();
    assert!(HelpscoutV2.answer_needs_customer(&create, &req));
    assert!(!HelpscoutV2.answer_needs_customer(
        &ep_of(sub(SubResource::Address, None, SubAction::Create)),
        &req
    ));
    assert!(
        !HelpscoutV2.answer_needs_customer(&ep_of(sub(EMAILS, Some(3), SubAction::Update)), &req)
    );
}
