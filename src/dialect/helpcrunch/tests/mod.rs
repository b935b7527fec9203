//! Unit tests of the HelpCrunch dialect, one file per job; the shared helpers live here.

mod answer;
mod decode;
mod upstream;

use super::*;
use crate::dialect::pointer_rules;
use crate::dialect::test_support::{self, body_json, endpoint, entry, one, primary, prop, set};
use serde_json::json;

const CURRENT_UPDATE: &str = r##"{
  "name": "John Doe", "email": "john.doe@example.com", "userId": "user_1234567890",
  "company": "Example Inc.", "phone": "+10233456781", "firstSeen": "1603885746",
  "lastSeen": "1603885746", "unsubscribed": false, "blocked": false,
  "source": "https://example.com", "referer": "https://example.com",
  "lastPage": "https://example.com", "locale": "uk", "createdFrom": "telegram",
  "integrationId": "465847687", "notes": "Lorem ipsum",
  "tags": [{"name": "vip", "color": "#ff0000"}],
  "customData": [
    {"property": "subscription_status", "value": "active"},
    {"property": "number_of_payments", "value": 15},
    {"property": "last_paid_amount", "value": 15.99},
    {"property": "last_payment_date", "value": "1603885746"},
    {"property": "last_invoice_url", "value": "https://example.com/invoice.html"},
    {"property": "last_payment_was_successful", "value": true}
  ]
}"##;

const MODEL: &str = r##"{
  "id": 542335, "name": "John Doe", "email": "john.doe@example.com",
  "userId": "user_1234567890", "company": "Example Inc.", "phone": "+10233456781",
  "firstSeen": "1603885746", "lastSeen": "1603885746",
  "location": {"regionCode": "Kyyivs'ka Oblast", "countryCode": "UA", "city": "Kyiv"},
  "device": {"id": 542335, "ip": "192.168.1.1", "timezone": "Europe/Kiev",
             "platform": "desktop", "userAgent": "Mozilla/5.0"},
  "unsubscribed": false, "blocked": false, "source": "https://example.com",
  "referer": "https://example.com", "lastPage": "https://example.com", "locale": "uk",
  "createdFrom": "telegram", "integrationId": "465847687", "notes": "Lorem ipsum",
  "tags": [{"name": "vip", "color": "#ff0000"}],
  "customData": {"subscription_status": "active", "number_of_payments": 15,
    "last_paid_amount": 15.99, "last_payment_date": 1603885746,
    "last_invoice_url": "https://example.com/invoice.html",
    "last_payment_was_successful": true}
}"##;

fn ep(full: bool) -> Endpoint {
    endpoint(EndpointKind::Update { full }, "12345")
}

fn patch(body: &str) -> Result<Vec<Change>, ApiError> {
    Helpcrunch
        .decode_request(&ep(false), None, body.as_bytes())
        .map(|r| r.changes.changes)
}

fn put(body: &str) -> Vec<Change> {
    match Helpcrunch.decode_request(&ep(true), None, body.as_bytes()) {
        Ok(r) => {
            assert!(r.full);
            r.changes.changes
        }
        Err(e) => panic!("PUT {body} rejected: {e}"),
    }
}

fn ok(body: &str) -> Vec<Change> {
    match patch(body) {
        Ok(c) => c,
        Err(e) => panic!("{body} rejected: {e}"),
    }
}

// --- route ---------------------------------------------------------------------------

fn error_json(err: &ApiError) -> (u16, Option<String>, Value) {
    let reply = Helpcrunch.encode_error(err);
    let ct = reply.header("Content-Type").map(str::to_string);
    (reply.status, ct, reply.json_body().unwrap_or_default())
}

fn full_customer() -> Customer {
    Customer {
        first_name: Some("Mary Ann".into()),
        last_name: Some("Smith".into()),
        organization: Some("Example Inc.".into()),
        notes: Some("Lorem \"ipsum\"".into()),
        address: Some(Address {
            lines: vec!["1 Main St".into()],
            city: Some("Kyiv".into()),
            state: Some("Kyyivs'ka Oblast".into()),
            postal_code: Some("01001".into()),
            country: Some("UA".into()),
        }),
        emails: vec![
            entry(7, Some("work"), "a@example.com"),
            entry(9, Some("home"), "b@example.com"),
        ],
        phones: vec![entry(8, None, "+1555")],
        external_id: Some("user_1".into()),
        email_opt_out: Some(true),
        blocked: Some(false),
        locale: Some("uk".into()),
        source: Some("https://example.com".into()),
        referer: Some("https://example.com/r".into()),
        last_page: Some("https://example.com/p".into()),
        first_seen: Some("1603885746".into()),
        last_seen: Some("1603885747".into()),
        created_from: Some("telegram".into()),
        integration_id: Some("465847687".into()),
        tags: Some(vec![
            Tag {
                name: "vip".into(),
                color: Some("#ff0000".into()),
            },
            Tag {
                name: "Paid".into(),
                color: None,
            },
        ]),
        properties: json!({"plan": "pro", "seats": 3, "a\"b": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..Customer::default()
    }
}

fn answer(customer: Option<&Customer>, id: &str) -> Synthetic {
    let cx = test_support::answer_cx(id, DialectId::HelpscoutV2);
    Helpcrunch.encode_success(&ep(false), customer, &cx)
}

fn encode(changes: &[Change]) -> Result<Vec<UpstreamRequest>, ApiError> {
    Helpcrunch.encode_update("542335", changes, &EncodeCx::default())
}

fn encode_one(changes: &[Change]) -> (String, Value) {
    match encode(changes) {
        Ok(reqs) if reqs.len() == 1 => {
            assert_eq!(reqs[0].method, "PATCH");
            assert_eq!(
                reqs[0].headers,
                vec![("Content-Type".to_string(), "application/json".to_string())]
            );
            (reqs[0].path.clone(), body_json(&reqs[0]))
        }
        other => panic!("{other:?}"),
    }
}
