//! The helpscout-v2 backend: its OAuth token flow, HAL reads, JSON-Patch updates and the
//! customer sub-resources.

use super::*;

// --- helpscout-v2 token flow -----------------------------------------------------------------

#[tokio::test]
async fn sandbox_v2_token_flow_form_and_json() {
    let b = backend(DialectId::HelpscoutV2);
    let token = v2_token(&b).await;
    assert_eq!(token.len(), 32);

    let json_body = json!({
        "grant_type": "client_credentials",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SECRET,
    })
    .to_string();
    let s = call(
        &b,
        "POST",
        "/v2/oauth2/token",
        &hdrs(&[("Content-Type", "application/json")]),
        &json_body,
    )
    .await;
    assert_eq!(s.status, 200);
    let v = json_of(&s);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 7200);
    let second = v["access_token"].as_str().unwrap_or_default().to_string();
    assert_ne!(second, token, "every token is fresh");

    // Both tokens work; an unknown one does not.
    for t in [&token, &second] {
        let h = hdrs(&[("Authorization", &format!("Bearer {t}"))]);
        let s = call(&b, "GET", "/v2/customers/100", &h, "").await;
        assert_ne!(s.status, 401);
    }
    let h = hdrs(&[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")]);
    assert_eq!(
        call(&b, "GET", "/v2/customers/100", &h, "").await.status,
        401
    );

    // Revoking invalidates issued tokens (a client must fetch a new one).
    b.revoke_tokens();
    let h = hdrs(&[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(
        call(&b, "GET", "/v2/customers/100", &h, "").await.status,
        401
    );
}

#[tokio::test]
async fn sandbox_v2_token_errors_use_the_oauth_body() {
    let b = backend(DialectId::HelpscoutV2);
    let form = hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]);
    let cases = [
        (
            format!(
                "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret=wrong"
            ),
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id=someone&client_secret={SECRET}"),
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=password&client_id={SANDBOX_CLIENT_ID}&client_secret={SECRET}"),
            400,
            "unsupported_grant_type",
        ),
        (
            format!("client_id={SANDBOX_CLIENT_ID}&client_secret={SECRET}"),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, error) in cases {
        let s = call(&b, "POST", "/v2/oauth2/token", &form, &body).await;
        assert_eq!(s.status, status, "{body}");
        let v = json_of(&s);
        assert_eq!(v["error"], error, "{body}");
        assert!(v["error_description"].is_string());
    }
    write(&b, &form, "GET /v2/oauth2/token", "", 405).await;
    // A percent-encoded secret decodes before comparison.
    let b2 = Backend::new(DialectId::HelpscoutV2, "a b&c".into());
    let body = format!(
        "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret=a+b%26c"
    );
    assert_eq!(
        call(&b2, "POST", "/v2/oauth2/token", &form, &body)
            .await
            .status,
        200
    );
}

// --- helpscout-v2 ----------------------------------------------------------------------------

/// The ids of a v2 GET's embedded entries of one collection.
fn v2_entry_ids(get: &Value, coll: &str) -> Vec<u64> {
    get["_embedded"][coll]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["id"].as_u64()).collect())
        .unwrap_or_default()
}

async fn v2_patch(b: &Backend, h: &[(String, String)], id: &str, ops: Value) -> Synthetic {
    call(
        b,
        "PATCH",
        &format!("/v2/customers/{id}"),
        h,
        &ops.to_string(),
    )
    .await
}

#[tokio::test]
async fn sandbox_v2_get_seeded_customer_as_hal() {
    let (b, _, s) = seeded_read(DialectId::HelpscoutV2).await;
    assert_eq!(s.header("content-type"), Some("application/hal+json"));
    let v = json_of(&s);
    assert_eq!(v["firstName"], "Vernon");
    assert_eq!(v["id"], 100);
    let emails = v2_entry_ids(&v, "emails");
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|id| *id >= FIRST_ENTRY_ID), "{emails:?}");
    for coll in ["phones", "chats", "social_profiles", "websites"] {
        assert_eq!(v2_entry_ids(&v, coll).len(), 1, "{coll} in {v}");
    }
    assert_eq!(v["_embedded"]["address"]["city"], "Dallas");
    let c = b.customer("100").unwrap_or_default();
    assert_eq!(c.properties.get("plan"), Some(&json!("gold")));
}

#[tokio::test]
async fn sandbox_v2_entry_ids_are_unique_and_increasing_across_customers() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let before = b.customer("100").unwrap_or_default().max_entry_id();
    let s = v2_patch(&b, &h, "100", json!([
        {"op": "add", "path": "/emails", "value": {"type": "other", "value": "new@acme.example"}},
        {"op": "add", "path": "/phones", "value": {"type": "mobile", "value": "+1 555 0199"}},
    ]))
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    assert!(s.body.is_empty());
    let s = v2_patch(
        &b,
        &h,
        "101",
        json!([
            {"op": "add", "path": "/chats", "value": {"type": "skype", "value": "mary"}},
        ]),
    )
    .await;
    assert_eq!(s.status, 204);

    let c100 = b.customer("100").unwrap_or_default();
    let c101 = b.customer("101").unwrap_or_default();
    let new_email = c100.emails.last().map(|e| e.id).unwrap_or_default();
    let new_phone = c100.phones.last().map(|e| e.id).unwrap_or_default();
    let new_chat = c101.chats.last().map(|e| e.id).unwrap_or_default();
    assert!(new_email > before, "{new_email} > {before}");
    assert_eq!(new_phone, new_email + 1);
    assert_eq!(new_chat, new_phone + 1);
    assert_eq!(
        c100.emails.last().and_then(|e| e.kind.clone()),
        Some("other".into())
    );

    // Read back through the vendor GET.
    let v = json_of(&call(&b, "GET", "/v2/customers/100", &h, "").await);
    assert!(v2_entry_ids(&v, "emails").contains(&new_email));
}

#[tokio::test]
async fn sandbox_v2_remove_update_and_unknown_entry() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let c = b.customer("100").unwrap_or_default();
    let (first, second) = (c.emails[0].id, c.emails[1].id);
    let s = v2_patch(&b, &h, "100", json!([
        {"op": "remove", "path": format!("/emails/{first}")},
        {"op": "replace", "path": format!("/emails/{second}/value"), "value": "only@acme.example"},
    ]))
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    let c = b.customer("100").unwrap_or_default();
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].id, second);
    assert_eq!(c.emails[0].value, "only@acme.example");

    // An unknown entry id is a 400 naming the entry, and nothing of the request applies.
    let before = b.customer("100");
    let s = v2_patch(
        &b,
        &h,
        "100",
        json!([
            {"op": "replace", "path": "/firstName", "value": "Changed"},
            {"op": "remove", "path": "/phones/999999"},
        ]),
    )
    .await;
    assert_eq!(s.status, 400);
    assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
    let v = json_of(&s);
    assert_eq!(v["_embedded"]["errors"][0]["path"], "phones/999999", "{v}");
    // The whole record, not only the first name the request would have replaced.
    assert_eq!(
        b.customer("100"),
        before,
        "a rejected write changes nothing"
    );
}

#[tokio::test]
async fn sandbox_v2_unknown_customer_put_overwrite_and_properties() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let ops = json!([{"op": "replace", "path": "/firstName", "value": "X"}]);
    let s = v2_patch(&b, &h, "999", ops).await;
    assert_eq!(s.status, 404);
    assert!(b.customer("999").is_none(), "no upsert outside reach");
    assert_eq!(
        call(&b, "GET", "/v2/customers/999", &h, "").await.status,
        404
    );

    let created = b.customer("101").and_then(|c| c.meta.record_created_at);
    write(
        &b,
        &h,
        "PUT /v2/customers/101",
        r#"{"firstName": "Mary", "lastName": "Jones"}"#,
        204,
    )
    .await;
    let c = b.customer("101").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Mary"));
    assert_eq!(c.organization, None, "PUT clears what it leaves out");
    assert_eq!(c.emails.len(), 1, "PUT leaves entries alone");
    assert_eq!(c.meta.id, Some(json!(101)));
    assert_eq!(c.meta.record_created_at, created);

    let props = json!([{"op": "replace", "path": "/plan", "value": "platinum"},
                       {"op": "remove", "path": "/seats"}]);
    write(&b, &h, "PATCH /v2/customers/100/properties", &props, 204).await;
    let stored = json_of(&call(&b, "GET", "/__sandbox/customers/100", &[], "").await);
    assert_eq!(stored["properties"], json!({"plan": "platinum"}));
}

/// The helpscout-v2 customer sub-resources: 201 with `Resource-ID` and an absolute `Location`
/// on the vendor's host, 204 for updates and deletes, 404 for an entry the customer does not
/// have, the body rules of the client side.
#[tokio::test]
async fn sandbox_v2_serves_the_customer_sub_resources() {
    let b = backend(DialectId::HelpscoutV2);
    b.put_customer(
        "42",
        serde_json::from_value(json!({"first_name": "Ada", "emails": [{"id": 7, "type": "work", "value": "ada@x.io"}]}))
            .expect("customer"),
    );
    let mut h = creds(&b).await;
    h.push(("Host".into(), "hs.test:9000".into()));

    let home = json!({"type": "home", "value": "ada@home.io"});
    let s = write(&b, &h, "POST /v2/customers/42/emails", home, 201).await;
    assert!(s.body.is_empty(), "{s:?}");
    let id = s.header("resource-id").expect("Resource-ID").to_string();
    assert_ne!(id, "7");
    assert_eq!(
        s.header("location"),
        Some(format!("http://hs.test:9000/v2/customers/42/emails/{id}").as_str())
    );
    let stored = b.customer("42").expect("stored");
    assert_eq!(stored.emails.len(), 2);
    assert_eq!(stored.emails[1].id.to_string(), id);
    assert_eq!(stored.emails[1].kind.as_deref(), Some("home"));

    let other = json!({"type": "other", "value": "ada@other.io"});
    write(
        &b,
        &h,
        &format!("PUT /v2/customers/42/emails/{id}"),
        other,
        204,
    )
    .await;
    assert_eq!(
        b.customer("42").expect("stored").emails[1].value,
        "ada@other.io"
    );
    write(&b, &h, "DELETE /v2/customers/42/emails/7", "", 204).await;
    assert_eq!(b.customer("42").expect("stored").emails.len(), 1);

    // Unknown entry ids are 404 on the sub-resource (a PATCH op naming one stays a 400).
    for (m, body) in [
        ("PUT", r#"{"type":"work","value":"a@x.io"}"#),
        ("DELETE", ""),
    ] {
        let s = call(&b, m, "/v2/customers/42/emails/7", &h, body).await;
        assert_eq!(s.status, 404, "{m}: {s:?}");
        assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
    }
    // An unknown customer.
    let home = json!({"type": "home", "value": "a@x.io"});
    write(&b, &h, "POST /v2/customers/43/emails", home, 404).await;

    let addr = r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US","lines":["1 Main St"]}"#;
    let s = write(&b, &h, "POST /v2/customers/42/address", addr, 201).await;
    assert_eq!(s.header("resource-id"), None);
    assert_eq!(
        s.header("location"),
        Some("http://hs.test:9000/v2/customers/42/address")
    );
    let a = b.customer("42").and_then(|c| c.address).expect("address");
    assert_eq!((a.city.as_deref(), a.lines.len()), (Some("Dallas"), 1));
    let s = call(
        &b,
        "PUT",
        "/v2/customers/42/address",
        &h,
        r#"{"city":"Austin","state":"TX","postalCode":"73301","country":"US"}"#,
    )
    .await;
    assert_eq!(s.status, 204, "{s:?}");
    let a = b.customer("42").and_then(|c| c.address).expect("address");
    assert_eq!((a.city.as_deref(), a.lines.len()), (Some("Austin"), 0));
    write(&b, &h, "DELETE /v2/customers/42/address", "", 204).await;
    assert_eq!(b.customer("42").and_then(|c| c.address), None);

    // Validation and methods, as the client side judges them.
    let s = call(
        &b,
        "POST",
        "/v2/customers/42/phones",
        &h,
        r#"{"type":"cell","value":"555"}"#,
    )
    .await;
    assert_eq!(s.status, 400, "{s:?}");
    assert_eq!(json_of(&s)["_embedded"]["errors"][0]["path"], json!("type"));
    write(&b, &h, "GET /v2/customers/42/phones", "", 405).await;
}
