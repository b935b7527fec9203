//! Sub-resource routes (the customer routes are contract cases, `src/dialect/contract/`).

use super::*;

// --- sub-resource endpoints ----------------------------------------------------------------

#[test]
fn routes_sub_resources() {
    let r = |m: &str, p: &str| HelpscoutV2.route(m, p).map(|e| (e.kind, e.customer_id));
    for coll in Coll::ALL {
        let seg = document::coll_key(coll);
        let entries = SubResource::Entries(coll);
        assert_eq!(
            r("POST", &format!("/v2/customers/7/{seg}")),
            Ok((sub(entries, None, SubAction::Create), "7".to_string())),
            "{seg}"
        );
        assert_eq!(
            r("PUT", &format!("/v2/customers/7/{seg}/1001")),
            Ok((sub(entries, Some(1001), SubAction::Update), "7".to_string()))
        );
        assert_eq!(
            r("DELETE", &format!("/v2/customers/7/{seg}/3")),
            Ok((sub(entries, Some(3), SubAction::Delete), "7".to_string()))
        );
    }
    for (m, action) in [
        ("POST", SubAction::Create),
        ("PUT", SubAction::Update),
        ("DELETE", SubAction::Delete),
    ] {
        assert_eq!(
            r(m, "/v2/customers/%37/address"),
            Ok((sub(SubResource::Address, None, action), "7".to_string()))
        );
    }
}

#[test]
fn sub_resources_refuse_wrong_methods_with_405_before_checking_ids() {
    for (m, p) in [
        ("GET", "/v2/customers/7/emails"),
        ("PUT", "/v2/customers/7/phones"),
        ("DELETE", "/v2/customers/7/websites"),
        ("PATCH", "/v2/customers/7/chats"),
        ("POST", "/v2/customers/7/emails/1001"),
        ("GET", "/v2/customers/7/social-profiles/1001"),
        ("PATCH", "/v2/customers/7/emails/1001"),
        ("GET", "/v2/customers/7/address"),
        ("PATCH", "/v2/customers/7/address"),
        // The method is judged before either id.
        ("GET", "/v2/customers/7/emails/0"),
        ("GET", "/v2/customers/x/address"),
    ] {
        let e = HelpscoutV2.route(m, p).err();
        assert_eq!(
            e.map(|e| (e.kind, e.status)),
            Some((ErrorKind::MethodNotAllowed, 405)),
            "{m} {p}"
        );
    }
}

#[test]
fn sub_resources_refuse_invalid_ids_with_400() {
    for (p, pointer, rule) in [
        ("/v2/customers/7/emails/0", "/emails/0", Rule::EntryId),
        ("/v2/customers/7/emails/abc", "/emails/abc", Rule::EntryId),
        ("/v2/customers/7/phones/-2", "/phones/-2", Rule::EntryId),
        (
            "/v2/customers/7/websites/007",
            "/websites/007",
            Rule::EntryId,
        ),
        (
            "/v2/customers/7/chats/99999999999999999999",
            "/chats/99999999999999999999",
            Rule::EntryId,
        ),
        ("/v2/customers/0/emails/1", "id", Rule::CustomerId),
        ("/v2/customers/abc/emails/1", "id", Rule::CustomerId),
    ] {
        let e = HelpscoutV2.route("DELETE", p).err();
        let v = e.as_ref().map(|e| {
            (
                e.status,
                e.violations[0].pointer.as_str(),
                e.violations[0].rule,
            )
        });
        assert_eq!(v, Some((400, pointer, rule)), "{p}");
    }
    let e = HelpscoutV2.route("POST", "/v2/customers/0/address").err();
    assert_eq!(e.map(|e| e.violations[0].rule), Some(Rule::CustomerId));
}
