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
