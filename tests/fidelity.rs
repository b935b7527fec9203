//! Issue 9 regressions that real Help Scout clients hit: token parameters in the query string
//! (npm `helpscout-2.0`), 404s rendered in the dialect the path belongs to, and single-slot adds
//! that used to change data silently (a second add overwrote the first, an entry type was
//! rewritten to the route's default). Each goes through real sockets: the gateway binary, its
//! sandbox upstreams, and what those stored.

use crate::support::*;
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS1: DialectId = DialectId::HelpscoutV1;
const HS2: DialectId = DialectId::HelpscoutV2;
const CRUNCH: DialectId = DialectId::Helpcrunch;
const REACH: DialectId = DialectId::Reach;

#[test]
fn token_parameters_in_the_query_string_are_accepted_and_never_logged() {
    let g = gateway();
    let query = format!(
        "grant_type=client_credentials&client_id={OAUTH_ID}&client_secret={}",
        patchbay::proxy::client::form_escape(OAUTH_SECRET)
    );
    let path = format!("/auth/hs2/v2/oauth2/token?{query}");
    // As helpscout-2.0 sends it: no body at all, and once with a JSON content type and an
    // empty body (which used to be "Body is not a JSON object").
    for headers in [vec![], vec![("Content-Type", "application/json")]] {
        let r = g.send("POST", &path, &headers, Some(b""));
        assert_eq!(r.status, 200, "{}", r.text());
        let token = r.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        let id = "98001";
        g.seed(
            CRUNCH,
            id,
            &json!({"first_name": "Ada", "last_name": "Lovelace"}),
        );
        let body = serde_json::to_vec(&names_body(HS2, "Grace", "Hopper")).expect("json");
        let r = g.send(
            "PATCH",
            &customer_path("/auth/hs2", HS2, id),
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer {token}")),
            ],
            Some(&body),
        );
        assert_eq!(r.status, 204, "{}", r.text());
    }
    // A body parameter wins over the query's: a wrong secret in the body is refused.
    let r = g.send(
        "POST",
        &path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"client_secret=wrong"),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");
    // The wrong secret in the query alone is refused too, and the message does not echo it.
    let r = g.send(
        "POST",
        "/auth/hs2/v2/oauth2/token?grant_type=client_credentials&client_id=test-client&client_secret=query-secret-xyz",
        &[],
        None,
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(!r.text().contains("query-secret-xyz"), "{}", r.text());
    // Neither secret appears in the access log, the logs or the metrics.
    let logs = std::fs::read_to_string(&g.stdout).unwrap_or_default()
        + &std::fs::read_to_string(&g.stderr).unwrap_or_default();
    for secret in [OAUTH_SECRET, "query-secret-xyz", "client_secret"] {
        assert!(!logs.contains(secret), "{secret} logged");
        assert!(!g.metrics().contains(secret), "{secret} in /metrics");
    }
}

#[test]
fn an_unknown_path_is_answered_in_the_dialect_it_belongs_to() {
    // A v1 route and a v2 route on the same prefix, the v1 route first in the file: an unknown
    // `/v2/…` path used to get the v1 error body.
    let g = Gateway::start_with(|_, text| {
        text + r#"
[[route]]
name = "same-v1"
client_dialect = "helpscout-v1"
path_prefix = "/same"
upstream = "hs2"

[[route]]
name = "same-v2"
client_dialect = "helpscout-v2"
path_prefix = "/same"
upstream = "hs1"
"#
    });
    for (path, d) in [
        ("/same/v2/customers/1/unknown", HS2),
        ("/same/v2/unknown", HS2),
        ("/same/v1/unknown.json", HS1),
        // No route under the prefix serves HelpCrunch or Reach: the first route's dialect.
        ("/same/v1/customers/1/x", HS1),
        ("/same/api/nothing", HS1),
        // Below a route with `auto` detection (which knows no dialect for the path itself).
        ("/auto/v2/mailboxes", HS2),
        // Under no route at all.
        ("/v2/nowhere", HS2),
    ] {
        let r = g.send("GET", path, &[], None);
        dialect_error(d, &r, 404);
    }
    // Known paths are still served by the route of their dialect.
    g.seed(HS2, "98002", &json!({"first_name": "Ada"}));
    let r = g.send("GET", "/same/v1/customers/98002.json", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["item"]["firstName"], "Ada");
}

/// The requests a single-slot upstream received for one customer, as `METHOD path`.
fn seen(g: &Gateway, d: DialectId, id: &str) -> Vec<String> {
    g.upstream_requests(d, &format!("/{id}"))
        .iter()
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .collect()
}

fn unmappable_fields(r: &Response) -> Vec<String> {
    dialect_error(HS2, r, 400)
        .fields
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

#[test]
fn a_second_add_into_a_single_slot_is_unmappable_and_nothing_is_sent() {
    let g = gateway();
    for (up, id) in [(CRUNCH, "98010"), (REACH, "98011")] {
        let start = json!({"first_name": "Vernon",
            "emails": [{"id": 1, "type": "work", "value": "vernon@acme.com"}]});
        g.seed(up, id, &start);
        let before = g.stored(up, id).expect("seeded");
        let r = g.json(
            "PATCH",
            &customer_path(&format!("/t/hs2/{}", short(up)), HS2, id),
            &json!([
                {"op": "remove", "path": "/emails/1"},
                {"op": "add", "path": "/emails", "value": {"type": "work", "value": "a@x.com"}},
                {"op": "add", "path": "/emails", "value": {"type": "work", "value": "b@x.com"}}
            ]),
        );
        // Help Scout v2 errors name the patch path; the message says which add it was.
        assert_eq!(unmappable_fields(&r), ["emails"], "{up}: {}", r.text());
        assert!(r.text().contains("A second entry"), "{up}: {}", r.text());
        assert!(seen(g, up, id).is_empty(), "{up}: {:?}", seen(g, up, id));
        assert_eq!(g.stored(up, id), Some(before), "{up}");

        // One add after the remove is what the slot holds.
        let r = g.json(
            "PATCH",
            &customer_path(&format!("/t/hs2/{}", short(up)), HS2, id),
            &json!([
                {"op": "remove", "path": "/emails/1"},
                {"op": "add", "path": "/emails", "value": {"type": "work", "value": "a@x.com"}}
            ]),
        );
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        let stored = g.stored(up, id).expect("stored");
        assert_eq!(stored["emails"][0]["value"], "a@x.com", "{up}: {stored}");
    }
}

#[test]
fn an_entry_type_the_slot_cannot_keep_is_unmappable_never_rewritten() {
    let g = gateway();
    for (up, id) in [(CRUNCH, "98020"), (REACH, "98021")] {
        g.seed(up, id, &json!({"first_name": "Vernon"}));
        let before = g.stored(up, id).expect("seeded");
        let path = customer_path(&format!("/t/hs2/{}", short(up)), HS2, id);
        // The route's default_entry_type is `work`: a `home` e-mail cannot be stored as such.
        let r = g.json(
            "PATCH",
            &path,
            &json!([{"op": "add", "path": "/emails", "value": {"type": "home", "value": "h@x.com"}}]),
        );
        assert_eq!(unmappable_fields(&r), ["emails"], "{up}: {}", r.text());
        assert!(
            r.text()
                .contains(r#"Entry type \"home\" (the single entry reads back as \"work\")"#),
            "{up}: {}",
            r.text()
        );
        // Refused before the state read: the upstream saw nothing at all.
        assert!(seen(g, up, id).is_empty(), "{up}: {:?}", seen(g, up, id));
        assert_eq!(g.stored(up, id), Some(before.clone()), "{up}");

        // A helpscout-v1 client's `location` is the same type.
        let r = g.json(
            "PUT",
            &customer_path(&format!("/t/hs1/{}", short(up)), HS1, id),
            &json!({"emails": [{"value": "h@x.com", "location": "home"}]}),
        );
        let e = dialect_error(HS1, &r, 400);
        assert_eq!(e.names(), ["emails[0]"], "{up}: {}", r.text());
        assert_eq!(g.stored(up, id), Some(before), "{up}");

        // Under `drop` the entry is left out and named, not stored as `work`.
        let r = g.json(
            "PATCH",
            &customer_path(&format!("/d/hs2/{}", short(up)), HS2, id),
            &json!([
                {"op": "add", "path": "/emails", "value": {"type": "home", "value": "h@x.com"}},
                {"op": "replace", "path": "/firstName", "value": "Ann"}
            ]),
        );
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        assert_eq!(r.header("patchbay-dropped-fields"), Some("emails"), "{up}");
        let stored = g.stored(up, id).expect("stored");
        assert_eq!(stored["first_name"], "Ann", "{up}: {stored}");
        assert!(
            stored["emails"].as_array().is_none_or(Vec::is_empty),
            "{up}: {stored}"
        );

        // The default type fills the empty slot.
        let r = g.json(
            "PATCH",
            &path,
            &json!([{"op": "add", "path": "/emails", "value": {"type": "work", "value": "w@x.com"}}]),
        );
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        let stored: Value = g.stored(up, id).expect("stored");
        assert_eq!(stored["emails"][0]["value"], "w@x.com", "{up}: {stored}");
    }
}

/// `patchbay translate` with a body on stdin: (exit success, parsed stdout).
pub fn translate_cli(args: &[&str], state: Option<&Value>, body: &Value) -> (bool, Value) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchbay"));
    cmd.arg("translate").args(args);
    if let Some(s) = state {
        let p = dir.path().join("state.json");
        std::fs::write(&p, serde_json::to_vec(s).expect("json")).expect("state file");
        cmd.arg("--state").arg(&p);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn patchbay translate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&serde_json::to_vec(body).expect("json"))
        .expect("write stdin");
    let out = child.wait_with_output().expect("translate output");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

#[test]
fn translate_cli_refuses_a_second_slot_add_and_a_type_the_slot_cannot_keep() {
    let state = json!({"first_name": "Vernon",
        "emails": [{"id": 1, "type": "work", "value": "vernon@acme.com"}]});
    let two_adds = json!([
        {"op": "remove", "path": "/emails/1"},
        {"op": "add", "path": "/emails", "value": {"type": "work", "value": "a@x.com"}},
        {"op": "add", "path": "/emails", "value": {"type": "work", "value": "b@x.com"}}
    ]);
    let home =
        json!([{"op": "add", "path": "/emails", "value": {"type": "home", "value": "h@x.com"}}]);
    for to in ["helpcrunch", "reach"] {
        for body in [&two_adds, &home] {
            let (_, v) = translate_cli(&["--from", "helpscout-v2", "--to", to], Some(&state), body);
            assert_eq!(v["result"], "error", "{to}: {v}");
            assert_eq!(v["status"], 400, "{to}: {v}");
            assert_eq!(v["body"]["_embedded"]["errors"][0]["path"], "emails", "{v}");
        }
        // The route's default type is the slot's: then it is forwarded.
        let (ok, v) = translate_cli(
            &[
                "--from",
                "helpscout-v2",
                "--to",
                to,
                "--default-entry-type",
                "home",
            ],
            Some(&state),
            &json!([{"op": "remove", "path": "/emails/1"},
                    {"op": "add", "path": "/emails", "value": {"type": "home", "value": "h@x.com"}}]),
        );
        assert!(ok, "{v}");
        assert_eq!(v["result"], "forward", "{to}: {v}");
    }
}
