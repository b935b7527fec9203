//! Errors through real sockets, in each client dialect's own format (SPEC §1 error table, §4):
//! malformed JSON, wrong shape, rule violations, unmappable changes under `reject`, 413 (declared
//! and chunked), 415, 404, 405, target-side validation, and upstream 4xx translated back with
//! the client's field names. Each checks that nothing reached the upstream where SPEC says so
//! and that the gateway serves the next request. Customer ids 72000–72999.

use crate::support::{
    customer_path, dialect_error, gateway, names_body, parse_response, plain_error, raw_exchange,
    root_name, short, write_method, write_ok, Gateway,
};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::time::Duration;

const ALL: [DialectId; 4] = DialectId::ALL;

/// An upstream other than the client's own dialect (so the translated flow is exercised).
fn other(c: DialectId) -> DialectId {
    match c {
        DialectId::HelpscoutV2 => DialectId::Helpcrunch,
        DialectId::HelpscoutV1 => DialectId::Helpcrunch,
        DialectId::Helpcrunch => DialectId::Reach,
        DialectId::Reach => DialectId::Helpcrunch,
    }
}

fn route(c: DialectId, u: DialectId) -> String {
    format!("/t/{}/{}", short(c), short(u))
}

fn id_for(base: u32, c: DialectId) -> String {
    let i = ALL.iter().position(|d| *d == c).unwrap_or(0) as u32;
    format!("{}", base + i)
}

/// Nothing with this customer id reached upstream `u`.
fn untouched(g: &Gateway, u: DialectId, id: &str) {
    let seen = g.upstream_requests(u, &format!("/{id}"));
    assert!(seen.is_empty(), "upstream {u} saw {seen:?}");
}

/// The gateway still serves: a valid name update through the same route succeeds and lands.
fn still_serves(g: &Gateway, c: DialectId, u: DialectId, id: &str) {
    g.seed(
        u,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
    let r = g.write(
        c,
        &customer_path(&route(c, u), c, id),
        &names_body(c, "Grace", "Hopper"),
    );
    assert_eq!(r.status, write_ok(c), "{c}→{u}: {}", r.text());
    let stored = g.stored(u, id).expect("stored");
    assert_eq!(stored["first_name"], "Grace", "{stored}");
    assert_eq!(stored["last_name"], "Hopper", "{stored}");
}

fn send_raw(c: DialectId, path: &str, ct: &str, body: &[u8]) -> crate::support::Response {
    gateway().send(write_method(c), path, &[("Content-Type", ct)], Some(body))
}

#[test]
fn malformed_json_is_400_at_the_body_root_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72000, c));
        let r = send_raw(
            c,
            &customer_path(&route(c, u), c, &id),
            "application/json",
            b"{\"firstName\": ",
        );
        let e = dialect_error(c, &r, 400);
        assert_eq!(e.names(), [root_name(c)], "{c}: {e:?}");
        assert!(
            e.fields[0]
                .1
                .starts_with("Error parsing request body into JSON"),
            "{c}: {e:?}"
        );
        if c == DialectId::HelpscoutV2 {
            assert_eq!(
                e.headline.as_deref(),
                Some("Error parsing request body into JSON")
            );
        }
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
}

#[test]
fn wrong_top_level_shape_is_400_at_the_body_root_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72010, c));
        // helpscout-v2 PATCH wants an array; the others an object.
        let body = match c {
            DialectId::HelpscoutV2 => json!({"op": "replace", "path": "/firstName", "value": "X"}),
            _ => json!([{"firstName": "X"}]),
        };
        let r = g.write(c, &customer_path(&route(c, u), c, &id), &body);
        let e = dialect_error(c, &r, 400);
        assert_eq!(e.names(), [root_name(c)], "{c}: {e:?}");
        match c {
            DialectId::HelpscoutV2 => assert_eq!(
                e.fields[0].1,
                "Request payload must be in the form of array (enclosed by square brackets)"
            ),
            _ => assert_eq!(e.fields[0].1, "Expected a JSON object, got array", "{c}"),
        }
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
}

#[test]
fn reach_without_data_object_is_400_naming_data() {
    let g = gateway();
    let (c, u, id) = (DialectId::Reach, DialectId::Helpcrunch, "72020");
    let r = g.write(
        c,
        &customer_path(&route(c, u), c, id),
        &json!({"data": "x"}),
    );
    let e = dialect_error(c, &r, 400);
    assert_eq!(e.names(), ["data"], "{e:?}");
    let r = g.write(c, &customer_path(&route(c, u), c, id), &json!({}));
    let e = dialect_error(c, &r, 400);
    assert_eq!(e.names(), ["data"], "{e:?}");
    untouched(g, u, id);
}

#[test]
fn rule_violation_names_the_field_in_the_client_terms() {
    let g = gateway();
    let long = "a".repeat(41);
    let cases: [(DialectId, Value, &str, Option<Value>); 4] = [
        (
            DialectId::HelpscoutV2,
            json!([{"op": "replace", "path": "/firstName", "value": long}]),
            "firstName",
            Some(json!(long)),
        ),
        (
            DialectId::HelpscoutV1,
            json!({"emails": [{"value": "a@b.example", "location": "bogus"}]}),
            "emails[0].location",
            Some(json!("bogus")),
        ),
        (
            DialectId::Helpcrunch,
            json!({"email": "not-an-email"}),
            "email",
            None,
        ),
        (
            DialectId::Reach,
            json!({"data": {"emailOptOut": "yes"}}),
            "data.emailOptOut",
            None,
        ),
    ];
    for (c, body, field, value) in cases {
        let (u, id) = (other(c), id_for(72030, c));
        let r = g.write(c, &customer_path(&route(c, u), c, &id), &body);
        let e = dialect_error(c, &r, 400);
        assert_eq!(e.names(), [field], "{c}: {e:?}");
        if let Some(v) = value {
            assert_eq!(e.values[0].as_ref(), Some(&v), "{c}: {e:?}");
        }
        if c == DialectId::HelpscoutV2 {
            assert_eq!(e.headline.as_deref(), Some("Bad request"));
        }
        if c == DialectId::HelpscoutV1 {
            assert_eq!(e.headline.as_deref(), Some("Input could not be validated"));
        }
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
}

#[test]
fn several_violations_are_all_named() {
    let g = gateway();
    let (c, u, id) = (DialectId::Reach, DialectId::Helpcrunch, "72040");
    let r = g.write(
        c,
        &customer_path(&route(c, u), c, id),
        &json!({"data": {"firstName": 7, "smsOptOut": "no", "createdAt": "yesterday"}}),
    );
    let e = dialect_error(c, &r, 400);
    let mut names = e.names();
    names.sort_unstable();
    assert_eq!(
        names,
        ["data.createdAt", "data.firstName", "data.smsOptOut"],
        "{e:?}"
    );
    untouched(g, u, id);
}

#[test]
fn unmappable_under_reject_names_every_field_and_leaves_the_backend_alone() {
    let g = gateway();
    let cases: [(DialectId, DialectId, Value, [&str; 2]); 4] = [
        (
            DialectId::HelpscoutV2,
            DialectId::Reach,
            json!([
                {"op": "replace", "path": "/jobTitle", "value": "Admiral"},
                {"op": "replace", "path": "/firstName", "value": "Grace"},
                {"op": "replace", "path": "/location", "value": "Arlington"},
            ]),
            ["jobTitle", "location"],
        ),
        (
            DialectId::HelpscoutV1,
            DialectId::Reach,
            json!({"jobTitle": "Admiral", "firstName": "Grace", "organization": "Navy"}),
            ["jobTitle", "organization"],
        ),
        (
            DialectId::Helpcrunch,
            DialectId::Reach,
            json!({"company": "Navy", "name": "Grace Hopper", "locale": "en"}),
            ["company", "locale"],
        ),
        (
            DialectId::Reach,
            DialectId::Helpcrunch,
            json!({"data": {"smsOptOut": true, "firstName": "Grace", "customerDetailUrl": "https://x.example/c"}}),
            ["data.smsOptOut", "data.customerDetailUrl"],
        ),
    ];
    for (c, u, body, fields) in cases {
        let id = id_for(72050, c);
        let before = json!({"first_name": "Ada", "last_name": "Lovelace"});
        g.seed(u, &id, &before);
        let stored_before = g.stored(u, &id).expect("seeded");
        let r = g.write(c, &customer_path(&route(c, u), c, &id), &body);
        let e = dialect_error(c, &r, 400);
        let mut names = e.names();
        names.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(names, want, "{c}→{u}: {e:?}");
        for (_, m) in &e.fields {
            assert!(m.contains("cannot be stored by the upstream"), "{c}: {m}");
        }
        // Nothing at all reached the upstream: not even the state read a one-sided name change
        // toward helpcrunch needs (the rejection is decided before it, `translate::precheck`).
        let seen = g.upstream_requests(u, &format!("/{id}"));
        assert!(seen.is_empty(), "{c}→{u}: {seen:?}");
        assert_eq!(
            g.stored(u, &id),
            Some(stored_before),
            "{c}→{u}: backend changed"
        );
        still_serves(g, c, u, &id);
    }
}

/// A body of exactly `len` bytes: `{"data":{"firstName":"Ada"}}` padded with spaces.
fn padded(len: usize) -> Vec<u8> {
    let mut b = br#"{"data":{"firstName":"Ada","lastName":"Byron"}}"#.to_vec();
    b.resize(len, b' ');
    b
}

#[test]
fn body_over_max_body_bytes_with_content_length_is_413_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72060, c));
        let body = vec![b' '; 65537];
        let r = send_raw(
            c,
            &customer_path(&route(c, u), c, &id),
            "application/json",
            &body,
        );
        let msg = plain_error(c, &r, 413, "payload_too_large");
        assert_eq!(msg, "Request body larger than 65536 bytes", "{c}");
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
}

#[test]
fn body_of_exactly_max_body_bytes_is_accepted() {
    let g = gateway();
    let (c, u, id) = (DialectId::Reach, DialectId::Helpcrunch, "72065");
    g.seed(u, id, &json!({"first_name": "X"}));
    let path = customer_path(&route(c, u), c, id);
    let r = send_raw(c, &path, "application/json", &padded(65536));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(g.stored(u, id).expect("stored")["last_name"], "Byron");
    let r = send_raw(c, &path, "application/json", &padded(65537));
    plain_error(c, &r, 413, "payload_too_large");
}

/// Sends `body` chunked (16 KiB chunks) on one connection and parses the answer.
fn chunked(c: DialectId, path: &str, body: &[u8]) -> crate::support::Response {
    let g = gateway();
    let mut req = format!(
        "{} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        write_method(c)
    )
    .into_bytes();
    for chunk in body.chunks(16384) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let raw = raw_exchange(g.port, &req, Duration::from_secs(15)).expect("exchange");
    parse_response(&raw).expect("response")
}

#[test]
fn chunked_body_growing_over_the_limit_is_413_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72070, c));
        let path = customer_path(&route(c, u), c, &id);
        let r = chunked(c, &path, &vec![b' '; 80000]);
        let msg = plain_error(c, &r, 413, "payload_too_large");
        assert_eq!(msg, "Request body larger than 65536 bytes", "{c}");
        assert_eq!(r.header("connection"), Some("close"), "{c}");
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
    // A chunked body under the limit is read whole and applied.
    let (c, u, id) = (DialectId::Reach, DialectId::Helpcrunch, "72075");
    g.seed(u, id, &json!({"first_name": "X"}));
    let r = chunked(c, &customer_path(&route(c, u), c, id), &padded(40000));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(g.stored(u, id).expect("stored")["last_name"], "Byron");
}

#[test]
fn wrong_content_type_is_415_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72080, c));
        let body = serde_json::to_vec(&names_body(c, "A", "B")).expect("json");
        let path = customer_path(&route(c, u), c, &id);
        for ct in ["text/plain", "application/x-www-form-urlencoded"] {
            let r = send_raw(c, &path, ct, &body);
            let msg = plain_error(c, &r, 415, "unsupported_media_type");
            assert_eq!(msg, "Content-Type must be application/json", "{c}");
        }
        // No content type at all.
        let r = g.send(write_method(c), &path, &[], Some(&body));
        plain_error(c, &r, 415, "unsupported_media_type");
        untouched(g, u, &id);
        still_serves(g, c, u, &id);
    }
}

#[test]
fn unknown_endpoint_below_a_route_is_404_in_the_route_dialect() {
    // Regression: an unknown endpoint under a route's prefix got a plain `{"status":404}` body
    // instead of the route's client dialect.
    let g = gateway();
    for c in ALL {
        let u = other(c);
        for rest in [
            "/v9/customers/5",
            "/api/unknown",
            "/v2/customers/5/emails/x/y",
        ] {
            let r = g.json("PATCH", &format!("{}{rest}", route(c, u)), &json!({}));
            plain_error(c, &r, 404, "not_found");
        }
    }
}

#[test]
fn no_route_is_404() {
    let g = gateway();
    // The path looks like helpscout-v2 but no route serves it: 404 in helpscout-v2's format.
    let r = g.json("PATCH", "/v2/customers/72090", &json!([]));
    plain_error(DialectId::HelpscoutV2, &r, 404, "not_found");
    // Nothing recognisable: plain JSON.
    let r = g.send("GET", "/nowhere/at/all", &[], None);
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"status": 404, "error": "Not found"}));
    still_serves(g, DialectId::Helpcrunch, DialectId::Reach, "72090");
}

#[test]
fn wrong_method_on_a_known_path_is_405_in_each_dialect() {
    let g = gateway();
    for c in ALL {
        let (u, id) = (other(c), id_for(72100, c));
        let path = customer_path(&route(c, u), c, &id);
        for m in ["DELETE", "POST"] {
            let r = g.send(m, &path, &[], None);
            let msg = plain_error(c, &r, 405, "method_not_allowed");
            assert!(!msg.is_empty(), "{c} {m}");
        }
        untouched(g, u, &id);
    }
    // PUT is a write in three dialects but not in reach's.
    let r = g.json(
        "PUT",
        &customer_path("/t/reach/crunch", DialectId::Reach, "72104"),
        &json!({"data": {}}),
    );
    assert_eq!(
        plain_error(DialectId::Reach, &r, 405, "method_not_allowed"),
        "Method not allowed"
    );
    untouched(g, DialectId::Helpcrunch, "72104");
    still_serves(g, DialectId::Reach, DialectId::Helpcrunch, "72104");
}

#[test]
fn target_side_validation_names_the_client_field() {
    let g = gateway();
    // A helpcrunch name of 45 characters cannot be a Help Scout first name (1–40).
    let (c, u, id) = (DialectId::Helpcrunch, DialectId::HelpscoutV2, "72110");
    let r = g.write(
        c,
        &customer_path(&route(c, u), c, id),
        &json!({"name": "a".repeat(45)}),
    );
    let e = dialect_error(c, &r, 400);
    assert_eq!(e.names(), ["name"], "{e:?}");
    assert_eq!(e.fields[0].1, "must be between 1 and 40 characters long");
    untouched(g, u, id);
    still_serves(g, c, u, id);

    // A reach external id that is not a number, toward every numeric-id upstream: 400 at `id`.
    for u in [
        DialectId::Helpcrunch,
        DialectId::HelpscoutV2,
        DialectId::HelpscoutV1,
    ] {
        let r = g.write(
            DialectId::Reach,
            &customer_path(&route(DialectId::Reach, u), DialectId::Reach, "cus_72111"),
            &json!({"data": {"firstName": "Grace"}}),
        );
        let e = dialect_error(DialectId::Reach, &r, 400);
        assert_eq!(e.names(), ["id"], "{u}: {e:?}");
        assert!(e.fields[0].1.contains("positive integers"), "{e:?}");
        untouched(g, u, "cus_72111");
    }
    // The same id is fine toward reach itself.
    let r = g.write(
        DialectId::Reach,
        &customer_path("/t/reach/reach", DialectId::Reach, "cus_72112"),
        &json!({"data": {"firstName": "Grace"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn upstream_404_for_an_unknown_customer_comes_back_in_the_client_format() {
    let g = gateway();
    let cases = [
        (DialectId::HelpscoutV2, DialectId::Helpcrunch),
        (DialectId::HelpscoutV1, DialectId::Helpcrunch),
        (DialectId::Helpcrunch, DialectId::HelpscoutV2),
        (DialectId::Reach, DialectId::HelpscoutV1),
    ];
    for (c, u) in cases {
        let id = id_for(72120, c);
        let r = g.write(
            c,
            &customer_path(&route(c, u), c, &id),
            &names_body(c, "Grace", "Hopper"),
        );
        let msg = plain_error(c, &r, 404, "not_found");
        assert!(
            msg.contains("not found") || msg.contains("Not Found"),
            "{c}: {msg}"
        );
        // The write reached the upstream once and was refused; nothing was created.
        assert_eq!(
            g.upstream_requests(u, &format!("/{id}")).len(),
            1,
            "{c}→{u}"
        );
        assert_eq!(g.stored(u, &id), None);
        // A translated GET of an unknown customer too.
        let r = g.send("GET", &customer_path(&route(c, u), c, &id), &[], None);
        plain_error(c, &r, 404, "not_found");
        still_serves(g, c, u, &id);
    }
}

#[test]
fn upstream_validation_error_maps_back_to_the_client_pointer() {
    let g = gateway();
    // helpscout-v1 client → helpscout-v2 upstream: an entry id the customer does not have.
    // The upstream names `/emails/999/value`; the client sent `emails[0]`.
    let id = "72130";
    let seed = json!({"first_name": "Ada", "emails": [{"id": 2001, "type": "work", "value": "a@old.example"}]});
    g.seed(DialectId::HelpscoutV2, id, &seed);
    let r = g.write(
        DialectId::HelpscoutV1,
        &customer_path("/t/hs1/hs2", DialectId::HelpscoutV1, id),
        &json!({"firstName": "Bob", "emails": [{"id": 2001, "value": "ok@new.example"}, {"id": 999, "value": "a@b.example"}]}),
    );
    let e = dialect_error(DialectId::HelpscoutV1, &r, 400);
    assert_eq!(e.names(), ["emails[1]"], "{e:?}");
    assert!(e.fields[0].1.contains("does not exist"), "{e:?}");
    assert_eq!(e.values[0], Some(json!("999")));
    // The upstream rejected the write as a whole.
    assert_eq!(
        g.stored(DialectId::HelpscoutV2, id).expect("stored")["first_name"],
        "Ada"
    );

    // helpscout-v2 client → helpscout-v1 upstream: `remove /phones/999`.
    let id = "72131";
    g.seed(DialectId::HelpscoutV1, id, &seed);
    let r = g.write(
        DialectId::HelpscoutV2,
        &customer_path("/t/hs2/hs1", DialectId::HelpscoutV2, id),
        &json!([
            {"op": "replace", "path": "/firstName", "value": "Bob"},
            {"op": "remove", "path": "/phones/999"},
        ]),
    );
    let e = dialect_error(DialectId::HelpscoutV2, &r, 400);
    assert_eq!(e.names(), ["phones/999"], "{e:?}");
    assert_eq!(
        g.stored(DialectId::HelpscoutV1, id).expect("stored")["first_name"],
        "Ada"
    );
    still_serves(g, DialectId::HelpscoutV2, DialectId::HelpscoutV1, id);
}
