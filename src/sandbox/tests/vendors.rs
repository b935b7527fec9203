//! The reach, helpscout-v1 and helpcrunch backends, and seeding.

use super::*;

// --- reach -----------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_reach_get_update_and_read_back() {
    let (b, h, s) = seeded_read(DialectId::Reach).await;
    let v = json_of(&s);
    assert_eq!(v["data"]["result"]["data"]["firstName"], "Priya");
    assert_eq!(v["data"]["result"]["resource_external_id"], "12345");
    let created = v["data"]["result"]["created_at"].clone();

    let body = json!({"data": {"firstName": "Pri", "email": "pri@example.com", "phone": null}});
    let s = write(&b, &h, "PATCH /api/resources/customers/12345", &body, 200).await;
    let v = json_of(&s);
    assert_eq!(v["message"], "Customer updated");
    assert_eq!(v["data"]["result"]["data"]["firstName"], "Pri");
    assert_eq!(v["data"]["result"]["data"]["lastName"], "Natarajan");
    assert_eq!(v["data"]["result"]["data"]["phone"], Value::Null);
    assert_eq!(v["data"]["result"]["created_at"], created);

    let stored = json_of(&call(&b, "GET", "/__sandbox/customers/12345", &[], "").await);
    assert_eq!(stored["first_name"], "Pri");
    assert_eq!(
        stored["emails"],
        json!([{"id": 1, "value": "pri@example.com"}])
    );
    assert_eq!(stored["phones"], json!([]));
    let again = json_of(&call(&b, "GET", "/api/resources/customers/12345", &h, "").await);
    assert_eq!(again["data"]["result"]["data"]["email"], "pri@example.com");
}

#[tokio::test]
async fn sandbox_reach_patch_upserts_unknown_customer() {
    let b = Backend::empty(DialectId::Reach, SECRET.into());
    let h = creds(&b).await;
    let body =
        json!({"data": {"customerId": "new-1", "firstName": "Nia", "email": "nia@example.com"}});
    let s = write(&b, &h, "PATCH /api/resources/customers/new-1", &body, 200).await;
    let rec = json_of(&s)["data"]["result"].clone();
    let id = rec["id"].as_str().unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "record id is a uuid: {rec}"
    );
    for key in ["created_at", "updatedAt", "business_id", "platformId"] {
        assert!(rec[key].is_string(), "{key} in {rec}");
    }
    assert_eq!(rec["data"]["email"], "nia@example.com");
    let c = b.customer("new-1").unwrap_or_default();
    assert_eq!(c.external_id.as_deref(), Some("new-1"));
    assert_eq!(c.first_name.as_deref(), Some("Nia"));

    // Without customerId in the body, the record's external id is the path id.
    let body = json!({"data": {"lastName": "Okafor"}});
    write(&b, &h, "PATCH /api/resources/customers/new-2", &body, 200).await;
    assert_eq!(
        b.customer("new-2").and_then(|c| c.external_id),
        Some("new-2".into())
    );
}

#[tokio::test]
async fn sandbox_reach_validation_errors_are_the_decoders() {
    let b = backend(DialectId::Reach);
    let h = creds(&b).await;
    let before = b.customer("12345");
    let body = json!({"data": {"customerId": null, "firstName": "X"}});
    let s = write(&b, &h, "PATCH /api/resources/customers/12345", &body, 400).await;
    let v = json_of(&s);
    assert_eq!(v["success"], false);
    assert_eq!(v["errors"][0]["path"], "data.customerId");
    assert_eq!(
        b.customer("12345"),
        before,
        "a rejected write changes nothing"
    );

    let s = call(&b, "GET", "/api/resources/customers/unknown", &h, "").await;
    assert_eq!(s.status, 404, "reach GET of an unknown record");
}

// --- helpscout-v1 ----------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_v1_update_reload_and_entry_semantics() {
    let b = backend(DialectId::HelpscoutV1);
    let h = creds(&b).await;
    let first = b
        .customer("100")
        .map(|c| c.emails[0].id)
        .unwrap_or_default();

    let body = json!({"firstName": "Vern",
        "emails": [{"value": "added@acme.example", "location": "home"}, {"id": -(first as i64)}]});
    let s = write(&b, &h, "PUT /v1/customers/100.json", &body, 200).await;
    assert!(s.body.is_empty(), "no reload, no body");

    let body = json!({"lastName": "Grizzly"});
    let s = write(&b, &h, "PUT /v1/customers/100.json?reload=true", &body, 200).await;
    let item = json_of(&s)["item"].clone();
    assert_eq!(item["firstName"], "Vern");
    assert_eq!(item["lastName"], "Grizzly");
    let emails = item["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 2, "{item}");
    assert!(
        emails.iter().all(|e| e["id"] != json!(first)),
        "entry {first} deleted"
    );
    assert!(emails.iter().any(|e| e["value"] == "added@acme.example"
        && e["id"].as_u64().is_some_and(|id| id >= FIRST_ENTRY_ID)));

    let got = json_of(&call(&b, "GET", "/v1/customers/100.json", &h, "").await);
    assert_eq!(got["item"]["lastName"], "Grizzly");

    // Updating an entry that does not exist names it.
    let body = json!({"phones": [{"id": 4242, "value": "1"}]});
    let s = write(&b, &h, "PUT /v1/customers/100.json", &body, 400).await;
    let v = json_of(&s);
    assert_eq!(v["validationErrors"][0]["property"], "phones[0]", "{v}");

    let s = write(&b, &h, "PUT /v1/customers/555.json", "{}", 404).await;
    assert_eq!(json_of(&s)["code"], 404);
}

// --- helpcrunch ------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_helpcrunch_patch_put_single_slot_and_404() {
    let (b, h, s) = seeded_read(DialectId::Helpcrunch).await;
    let (patch, put) = ("PATCH /v1/customers/12345", "PUT /v1/customers/12345");
    let v = json_of(&s);
    assert_eq!(v["id"], 12345);
    assert_eq!(v["name"], "Alex Rivera");
    assert_eq!(v["email"], "alex.rivera@initech.example");

    let body = json!({"name": "Alexandra Maria Rivera", "email": "amr@initech.example",
        "phone": null, "customData": [{"property": "plan", "value": "enterprise"}]});
    let s = write(&b, &h, patch, &body, 200).await;
    let v = json_of(&s);
    assert_eq!(v["name"], "Alexandra Maria Rivera");
    assert_eq!(v["email"], "amr@initech.example");
    assert_eq!(v["phone"], Value::Null);
    assert_eq!(v["company"], "Initech", "PATCH keeps what it leaves out");

    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Alexandra Maria"));
    assert_eq!(c.last_name.as_deref(), Some("Rivera"));
    assert_eq!(c.emails.len(), 1, "one e-mail slot");
    assert_eq!((c.emails[0].id, c.emails[0].kind.clone()), (1, None));
    assert!(c.phones.is_empty());
    assert_eq!(c.properties.get("plan"), Some(&json!("enterprise")));
    assert!(c.chats.is_empty() && c.websites.is_empty());

    // Setting the slot again replaces its value, still one entry with id 1.
    write(&b, &h, patch, json!({"email": "x@initech.example"}), 200).await;
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].value, "x@initech.example");

    // HelpCrunch stores `name` as one string: a one-word name reads back as exactly that word,
    // not followed by the last name the record had (it used to read "Cher Rivera").
    let s = write(&b, &h, patch, json!({"name": "Cher"}), 200).await;
    assert_eq!(json_of(&s)["name"], "Cher");
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!((c.first_name.as_deref(), c.last_name), (Some("Cher"), None));
    let s = call(&b, "GET", "/v1/customers/12345", &h, "").await;
    assert_eq!(json_of(&s)["name"], "Cher");

    write(&b, &h, put, json!({"name": "Solo"}), 200).await;
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.organization, None, "PUT clears what it leaves out");
    assert!(c.emails.is_empty());

    let s = write(
        &b,
        &h,
        "PATCH /v1/customers/777",
        json!({"name": "Nobody"}),
        404,
    )
    .await;
    assert_eq!(json_of(&s)["errors"][1]["code"], "not_found");
    write(&b, &h, patch, json!({"email": "not-an-email"}), 400).await;
}

#[tokio::test]
async fn sandbox_helpcrunch_seed_is_cut_to_what_the_vendor_holds() {
    let b = Backend::empty(DialectId::Helpcrunch, SECRET.into());
    let seed = json!({"first_name": "Kim", "job_title": "CTO",
        "emails": [{"id": 7, "type": "work", "value": "a@example.com"},
                   {"id": 8, "type": "home", "value": "b@example.com"}],
        "websites": [{"id": 9, "value": "https://example.com"}],
        "properties": {"tier": 2}});
    let s = call(&b, "PUT", "/__sandbox/customers/42", &[], &seed.to_string()).await;
    assert_eq!(s.status, 201);
    let c = b.customer("42").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Kim"));
    assert_eq!(c.job_title, None, "helpcrunch has no job title");
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].id, 1);
    assert!(c.websites.is_empty());
    assert_eq!(
        c.properties.get("tier"),
        Some(&json!(2)),
        "customData holds properties"
    );
    assert_eq!(c.meta.id, Some(json!(42)));
    assert!(c.meta.record_updated_at.is_some());
}

#[test]
fn sandbox_seeding_keeps_given_entry_ids_and_never_reuses_them() {
    let b = Backend::empty(DialectId::HelpscoutV2, SECRET.into());
    let entry = |id: u64, v: &str| crate::canonical::Entry {
        id,
        kind: Some("work".into()),
        value: v.into(),
    };
    let c = Customer {
        first_name: Some("Ids".into()),
        emails: vec![entry(5000, "a@x.example"), entry(0, "b@x.example")],
        phones: vec![entry(5000, "123")],
        ..Customer::default()
    };
    let stored = b.put_customer("7", c);
    assert_eq!(stored.emails[0].id, 5000, "a given id is kept");
    let (fresh, dup) = (stored.emails[1].id, stored.phones[0].id);
    assert!(fresh >= FIRST_ENTRY_ID && fresh != 5000);
    assert!(dup != 5000 && dup != fresh, "a colliding id is replaced");
    let next = b.put_customer(
        "8",
        Customer {
            chats: vec![entry(0, "c")],
            ..Customer::default()
        },
    );
    assert!(
        next.chats[0].id > 5000,
        "later ids stay above every seeded one"
    );
}
