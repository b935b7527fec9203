//! Fidelity toward upstreams through real sockets (issue 9, section 2, items 6, 7, 10): an
//! upstream's validation error lands on the client's element that produced the entry; a
//! same-dialect route whose upstream token expired refreshes it and retries instead of answering
//! 401; a 405 lists the allowed methods; `reach-tenant-id` reaches Reach upstreams only; a
//! partially applied write's error code agrees with its status; messages name the client's
//! field. Customer ids 79100–79399.

use crate::support::{
    customer_path, dialect_error, gateway, names_body, request, Gateway, Response,
};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS2: DialectId = DialectId::HelpscoutV2;
const HS1: DialectId = DialectId::HelpscoutV1;
const CRUNCH: DialectId = DialectId::Helpcrunch;
const REACH: DialectId = DialectId::Reach;

/// A helpscout-v2 validation error naming one vendor path, as the vendor writes it.
fn hs2_error(path: &str, message: &str) -> String {
    json!({
        "logRef": "00000000-0000-4000-8000-000000000000#1",
        "message": "Validation error",
        "_embedded": {"errors": [{"path": path, "message": message, "source": "JSON"}]},
        "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}},
    })
    .to_string()
}

/// A helpscout-v1 client's PUT toward the helpscout-v2 upstream whose PATCH answers 400 with
/// `body` once; returns the fields the client is told about.
fn v1_put_against_hs2_error(g: &Gateway, id: &str, put: &Value, body: &str) -> Vec<String> {
    g.fault(
        HS2,
        &json!({
            "status": 400,
            "body": body,
            "matching": format!("PATCH /v2/customers/{id}"),
            "count": 1,
        }),
    );
    let r = g.json("PUT", &customer_path("/t/hs1/hs2", HS1, id), put);
    let e = dialect_error(HS1, &r, 400);
    e.names().into_iter().map(str::to_string).collect()
}

#[test]
fn upstream_entry_error_lands_on_the_element_that_produced_it() {
    let g = Gateway::start();
    let id = "79100";
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "emails": [
            {"id": 1002, "type": "work", "value": "ada@example.com"},
        ]}),
    );
    // An added entry first, then the update of entry 1002: the vendor's error at
    // `emails/1002/value` is the second element's, not the first (before: `emails[0]`).
    let put = json!({"emails": [
        {"value": "new@example.com", "location": "home"},
        {"id": 1002, "value": "changed@example.com", "location": "work"},
    ]});
    let body = hs2_error("emails/1002/value", "must be a well-formed email address");
    assert_eq!(v1_put_against_hs2_error(&g, id, &put, &body), ["emails[1]"]);

    // A fresh id the gateway never saw is an entry the upstream created from an add: with one
    // add in the collection it is that add ...
    let body = hs2_error("emails/1777/value", "must be a well-formed email address");
    assert_eq!(v1_put_against_hs2_error(&g, id, &put, &body), ["emails[0]"]);
    // ... and the error of an add without an id (`emails`) too, even next to an update.
    let body = hs2_error("emails", "may not be empty");
    assert_eq!(v1_put_against_hs2_error(&g, id, &put, &body), ["emails[0]"]);

    // With two adds, which one the upstream's fresh id came from is unknowable: the error names
    // the collection instead of guessing an element.
    let two_adds = json!({"emails": [
        {"value": "a@example.com", "location": "home"},
        {"value": "b@example.com", "location": "work"},
    ]});
    let body = hs2_error("emails/1777/value", "must be a well-formed email address");
    assert_eq!(
        v1_put_against_hs2_error(&g, id, &two_adds, &body),
        ["emails"]
    );

    // helpscout-v1 upstreams name entries by their position in the array the gateway sent: a
    // helpscout-v2 client's add and then replace of entry 1002 are elements 0 and 1 there, so
    // `emails[1].value` is the replace (before: the add, `emails`).
    g.seed(
        HS1,
        id,
        &json!({"first_name": "Ada", "emails": [
            {"id": 1002, "type": "work", "value": "ada@example.com"},
        ]}),
    );
    g.fault(
        HS1,
        &json!({
            "status": 400,
            "body": json!({"code": 400, "error": "Input could not be validated",
                "validationErrors": [{"property": "emails[1].value", "value": "x",
                                      "message": "Email is not valid"}]}).to_string(),
            "matching": format!("PUT /v1/customers/{id}.json"),
            "count": 1,
        }),
    );
    let r = g.json(
        "PATCH",
        &customer_path("/t/hs2/hs1", HS2, id),
        &json!([
            {"op": "add", "path": "/emails", "value": {"type": "home", "value": "new@example.com"}},
            {"op": "replace", "path": "/emails/1002/value", "value": "changed@example.com"},
        ]),
    );
    assert_eq!(dialect_error(HS2, &r, 400).names(), ["emails/1002/value"]);

    // A single-slot client's `email` becomes the update of the upstream's first entry: the
    // error at that entry is the client's `email`.
    g.fault(
        HS2,
        &json!({
            "status": 400,
            "body": hs2_error("emails/1002/value", "must be a well-formed email address"),
            "matching": format!("PATCH /v2/customers/{id}"),
            "count": 1,
        }),
    );
    let r = g.json(
        "PATCH",
        &customer_path("/t/crunch/hs2", CRUNCH, id),
        &json!({"email": "other@example.com"}),
    );
    assert_eq!(dialect_error(CRUNCH, &r, 400).names(), ["email"]);
}

fn token_posts(g: &Gateway) -> usize {
    g.upstream_requests(HS2, "/v2/oauth2/token").len()
}

fn revoke_tokens(g: &Gateway) {
    let r = request(g.backend(HS2), "DELETE", "/__sandbox/tokens", &[], None);
    assert_eq!(r.status, 204);
}

#[test]
fn same_dialect_oauth_route_refreshes_an_expired_token_and_retries_once() {
    let g = Gateway::start();
    let id = "79110";
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let path = customer_path("/t/hs2/hs2", HS2, id);
    let r = g.write(HS2, &path, &names_body(HS2, "Grace", "Hopper"));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(token_posts(&g), 1);

    // The upstream forgets every token (as when one expires early): the very next write
    // succeeds — before, the client got the upstream's 401 although its own credentials were
    // fine.
    revoke_tokens(&g);
    let r = g.write(HS2, &path, &names_body(HS2, "Mary", "Shelley"));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(g.stored(HS2, id).expect("stored")["first_name"], "Mary");
    assert_eq!(token_posts(&g), 2, "one refresh");
    let patches: Vec<Value> = g
        .upstream_requests(HS2, &format!("/{id}"))
        .into_iter()
        .filter(|e| e["method"] == "PATCH")
        .collect();
    assert_eq!(patches.len(), 3, "{patches:?}");
    assert_eq!(patches[1]["status"], 401, "refused once");
    assert_eq!(patches[2]["status"], 204, "retried once");
    // The client's bytes went upstream unchanged, both times.
    let sent = serde_json::to_string(&names_body(HS2, "Mary", "Shelley")).expect("json");
    assert_eq!(patches[1]["body"], json!(sent));
    assert_eq!(patches[2]["body"], json!(sent));
    assert_ne!(
        patches[1]["headers"]["authorization"],
        patches[2]["headers"]["authorization"]
    );

    // A read after another revocation: the upstream's own answer comes back as it was sent.
    revoke_tokens(&g);
    let r = g.send("GET", &path, &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/hal+json"));
    assert_eq!(r.json()["firstName"], "Mary");
    assert_eq!(token_posts(&g), 3);

    // The upstream's own errors are still passed on unchanged (status, content type, body).
    let r = g.write(
        HS2,
        &customer_path("/t/hs2/hs2", HS2, "79111"),
        &names_body(HS2, "No", "One"),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/vnd.error+json"));
}

#[test]
fn method_not_allowed_lists_the_allowed_methods() {
    let g = gateway();
    for (method, path, allow) in [
        (
            "DELETE",
            "/t/hs2/crunch/v2/customers/79120",
            "GET, PATCH, PUT",
        ),
        (
            "GET",
            "/t/hs2/crunch/v2/customers/79120/properties",
            "PATCH",
        ),
        ("GET", "/t/hs2/crunch/v2/oauth2/token", "POST"),
        ("PATCH", "/t/hs1/crunch/v1/customers/79120.json", "GET, PUT"),
        (
            "DELETE",
            "/t/crunch/hs2/v1/customers/79120",
            "GET, PATCH, PUT",
        ),
        (
            "PUT",
            "/t/reach/hs2/api/resources/customers/79120",
            "GET, PATCH",
        ),
        // An `auto` route detects the dialect from the path: its 405 lists that dialect's.
        ("POST", "/auto/v1/customers/79120.json", "GET, PUT"),
    ] {
        let r = g.send(method, path, &[], None);
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    // Other errors carry no `Allow`.
    let r = g.send("GET", "/t/hs2/crunch/v2/customers/0", &[], None);
    assert_eq!(r.status, 400);
    assert_eq!(r.header("allow"), None);
}

fn tenant_seen(g: &Gateway, u: DialectId, id: &str) -> Vec<Value> {
    g.upstream_requests(u, &format!("/{id}"))
        .into_iter()
        .map(|e| e["headers"]["reach-tenant-id"].clone())
        .collect()
}

#[test]
fn reach_tenant_id_reaches_reach_upstreams_only() {
    let g = gateway();
    let tenant = [
        ("Content-Type", "application/json"),
        ("reach-tenant-id", "tenant-9"),
    ];
    for (client, upstream, id) in [
        (CRUNCH, HS1, "79130"),    // translated toward a non-Reach vendor
        (CRUNCH, CRUNCH, "79131"), // same dialect, streamed
        (HS2, HS2, "79132"),       // same dialect, relayed (OAuth upstream)
        (CRUNCH, REACH, "79133"),  // translated toward Reach
        (REACH, REACH, "79134"),   // same dialect toward Reach
    ] {
        g.seed(
            upstream,
            id,
            &json!({"first_name": "Ada", "last_name": "Lovelace", "external_id": "x"}),
        );
        let path = customer_path(
            &format!(
                "/t/{}/{}",
                crate::support::short(client),
                crate::support::short(upstream)
            ),
            client,
            id,
        );
        let body = serde_json::to_vec(&names_body(client, "Grace", "Hopper")).expect("json");
        let r = g.send(
            crate::support::write_method(client),
            &path,
            &tenant,
            Some(&body),
        );
        assert!(r.status < 300, "{client} → {upstream}: {}", r.text());
        let seen = tenant_seen(g, upstream, id);
        assert!(!seen.is_empty(), "{client} → {upstream}: nothing sent");
        let expected = if upstream == REACH {
            json!("tenant-9")
        } else {
            Value::Null
        };
        assert!(
            seen.iter().all(|v| *v == expected),
            "{client} → {upstream}: {seen:?}"
        );
    }
}

/// A HelpCrunch client's fields and `customData` toward Help Scout v2 are two writes; the
/// second fails with `status`.
fn partial_write(g: &Gateway, id: &str, status: u16) -> Response {
    g.seed(
        HS2,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace", "properties": {"plan": "free"}}),
    );
    g.fault(
        HS2,
        &json!({"status": status, "matching": format!("{id}/properties"), "count": 1}),
    );
    g.json(
        "PATCH",
        &customer_path("/t/crunch/hs2", CRUNCH, id),
        &json!({"name": "Alan Turing", "customData": [{"property": "plan", "value": "pro"}]}),
    )
}

#[test]
fn partially_applied_error_code_agrees_with_its_status() {
    let g = Gateway::start();
    for (id, status, code) in [
        ("79140", 400, "bad_request"),
        ("79141", 404, "not_found"),
        ("79142", 500, "internal_error"),
        ("79143", 503, "internal_error"),
        ("79144", 502, "bad_gateway"),
    ] {
        let r = partial_write(&g, id, status);
        let e = dialect_error(CRUNCH, &r, status);
        // Before: `bad_gateway` whatever the status.
        assert_eq!(e.names(), [code], "{status}: {e:?}");
        assert!(
            e.fields[0].1.starts_with("Partially applied")
                && e.fields[0].1.contains(&format!("PATCH /v2/customers/{id}")),
            "{e:?}"
        );
        assert_eq!(g.stored(HS2, id).expect("stored")["first_name"], "Alan");
    }
}

#[test]
fn messages_name_the_clients_field() {
    // HelpCrunch client toward Reach: Reach's rule that its external id cannot be cleared is
    // told in HelpCrunch's words (`userId`), not Reach's (`customerId`).
    let g = gateway();
    let r = g.json(
        "PATCH",
        &customer_path("/t/crunch/reach", CRUNCH, "79150"),
        &json!({"userId": null}),
    );
    let e = dialect_error(CRUNCH, &r, 400);
    assert_eq!(e.names(), ["userId"]);
    assert_eq!(e.fields[0].1, "userId is required and cannot be deleted");

    // The reverse: a Reach client toward HelpCrunch whose upstream refuses the external id.
    let g = Gateway::start();
    let id = "79151";
    g.seed(
        CRUNCH,
        id,
        &json!({"first_name": "Ada", "external_id": "u-1"}),
    );
    g.fault(
        CRUNCH,
        &json!({
            "status": 400,
            "body": json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "userId", "message": "userId is already taken by another customer"},
            ]}).to_string(),
            "matching": format!("PATCH /v1/customers/{id}"),
            "count": 1,
        }),
    );
    let r = g.json(
        "PATCH",
        &customer_path("/t/reach/crunch", REACH, id),
        &json!({"data": {"customerId": "u-2"}}),
    );
    let e = dialect_error(REACH, &r, 400);
    assert_eq!(e.names(), ["data.customerId"]);
    assert_eq!(
        e.fields[0].1,
        "customerId is already taken by another customer"
    );

    // And a Help Scout v2 client whose names HelpCrunch stores as one `name`.
    g.fault(
        CRUNCH,
        &json!({
            "status": 400,
            "body": json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "name", "message": "name is too long"},
            ]}).to_string(),
            "matching": format!("PATCH /v1/customers/{id}"),
            "count": 1,
        }),
    );
    let r = g.write(
        HS2,
        &customer_path("/t/hs2/crunch", HS2, id),
        &names_body(HS2, "Grace", "Hopper"),
    );
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), ["firstName"]);
    assert_eq!(e.fields[0].1, "firstName is too long");
}
