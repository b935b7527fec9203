//! Translations that need two upstream writes (SPEC §3): a HelpCrunch client's customer fields
//! and `customData` toward Help Scout v2 become the customer PATCH and then the properties PATCH,
//! in that order; when the second fails, the client is told which part was applied — nothing is
//! applied silently in part.

use crate::support::Gateway;
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS2: DialectId = DialectId::HelpscoutV2;

fn writes(g: &Gateway, id: &str) -> Vec<(String, String)> {
    let mut log = g.upstream_requests(HS2, &format!("/{id}"));
    log.sort_by_key(|e| e["seq"].as_u64().unwrap_or(0));
    log.into_iter()
        .filter(|e| e["method"] != "GET")
        .map(|e| {
            (
                e["method"].as_str().unwrap_or_default().to_string(),
                e["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn customer_fields_then_properties_and_partial_failure_is_reported() {
    let g = Gateway::start();
    for id in ["75001", "75002"] {
        g.seed(
            HS2,
            id,
            &json!({"first_name": "Ada", "last_name": "Lovelace", "properties": {"plan": "free"}}),
        );
    }

    // Both writes succeed, in order; the answer is built from a read after them.
    let r = g.json(
        "PATCH",
        "/t/crunch/hs2/v1/customers/75001",
        &json!({"name": "Grace Hopper", "customData": [{"property": "plan", "value": "pro"}]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["name"], json!("Grace Hopper"));
    assert_eq!(v["customData"], json!({"plan": "pro"}));
    assert_eq!(
        writes(&g, "75001"),
        vec![
            ("PATCH".to_string(), "/v2/customers/75001".to_string()),
            (
                "PATCH".to_string(),
                "/v2/customers/75001/properties".to_string()
            ),
        ]
    );
    let stored = g.stored(HS2, "75001").expect("stored");
    assert_eq!(stored["first_name"], json!("Grace"));
    assert_eq!(stored["properties"], json!({"plan": "pro"}));

    // The properties write fails: the customer fields were applied, and the client is told so.
    g.fault(
        HS2,
        &json!({"status": 500, "matching": "/properties", "count": 1}),
    );
    let r = g.json(
        "PATCH",
        "/t/crunch/hs2/v1/customers/75002",
        &json!({"name": "Alan Turing", "customData": [{"property": "plan", "value": "enterprise"}]}),
    );
    assert_eq!(r.status, 500, "the upstream's status: {}", r.text());
    let text = r.text();
    assert!(
        text.contains("Partially applied") && text.contains("PATCH /v2/customers/75002"),
        "the error says which write was applied: {text}"
    );
    let body: Value = r.json();
    assert_eq!(
        body["errors"][0]["code"],
        json!("invalid_request"),
        "HelpCrunch's format"
    );
    let stored = g.stored(HS2, "75002").expect("stored");
    assert_eq!(
        stored["first_name"],
        json!("Alan"),
        "the first write was applied"
    );
    assert_eq!(
        stored["properties"],
        json!({"plan": "free"}),
        "the second was not"
    );
    assert_eq!(writes(&g, "75002").len(), 2, "no write retried");
    assert!(
        g.metrics()
            .lines()
            .any(|l| l.starts_with("patchbay_requests_total")
                && l.contains("outcome=\"partially_applied\"")),
        "counted as partially_applied"
    );
}
