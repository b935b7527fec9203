//! RFC 6902 `test`, `move` and `copy` in a helpscout-v2 customer PATCH, through real sockets:
//! the gateway evaluates them with the `json-patch` crate against the customer document it reads
//! from the upstream (one GET, reason `patch_document`) and writes the difference; toward a
//! helpscout-v2 upstream the body is forwarded unchanged and the sandbox evaluates it with the
//! same document code. A failed `test` is a 409 naming the op's `value`, and nothing is written.

use crate::support::{dialect_error, gateway, short, Gateway};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS2: DialectId = DialectId::HelpscoutV2;
const HS1: DialectId = DialectId::HelpscoutV1;
const CRUNCH: DialectId = DialectId::Helpcrunch;

fn patch_path(up: DialectId, id: &str) -> String {
    format!("/t/hs2/{}/v2/customers/{id}", short(up))
}

/// The writes (anything but GET) a backend received for one customer.
fn writes(g: &Gateway, up: DialectId, id: &str) -> usize {
    g.upstream_requests(up, &format!("/{id}"))
        .iter()
        .filter(|e| e["method"] != "GET")
        .count()
}

fn stored(g: &Gateway, up: DialectId, id: &str) -> Value {
    g.stored(up, id)
        .unwrap_or_else(|| panic!("{up} holds no customer {id}"))
}

#[test]
fn test_and_replace_pass_and_fail_toward_every_upstream() {
    let g = gateway();
    for (n, up) in DialectId::ALL.into_iter().enumerate() {
        let id = format!("{}", 96_100 + n);
        g.seed(
            up,
            &id,
            &json!({"first_name": "Vernon", "last_name": "Bear", "external_id": id}),
        );

        let ok = g.json(
            "PATCH",
            &patch_path(up, &id),
            &json!([
                {"op": "test", "path": "/firstName", "value": "Vernon"},
                {"op": "replace", "path": "/lastName", "value": "Stone"}
            ]),
        );
        assert_eq!(ok.status, 204, "{up}: {}", ok.text());
        let s = stored(g, up, &id);
        assert_eq!(
            (s["first_name"].as_str(), s["last_name"].as_str()),
            (Some("Vernon"), Some("Stone")),
            "{up}: {s}"
        );

        let before = writes(g, up, &id);
        let failed = g.json(
            "PATCH",
            &patch_path(up, &id),
            &json!([
                {"op": "replace", "path": "/lastName", "value": "Never"},
                {"op": "test", "path": "/firstName", "value": "Karl"}
            ]),
        );
        let e = dialect_error(HS2, &failed, 409);
        assert_eq!(e.names(), ["1/value"], "{up}: {e:?}");
        assert_eq!(e.values, [Some(json!("Karl"))], "{up}");
        assert!(e.fields[0].1.contains("/firstName"), "{up}: {e:?}");
        assert_eq!(
            stored(g, up, &id)["last_name"],
            json!("Stone"),
            "{up}: nothing stored"
        );
        if up != HS2 {
            // Translated: the gateway decided from its one read; no write reached the upstream.
            assert_eq!(writes(g, up, &id), before, "{up}: a write was sent");
        }
    }
    let metrics = g.metrics();
    assert!(
        metrics.contains("reason=\"patch_document\""),
        "state reads are labelled patch_document"
    );
}

#[test]
fn copy_first_name_to_last_name_toward_helpcrunch() {
    let g = gateway();
    let id = "96201";
    g.seed(
        CRUNCH,
        id,
        &json!({"first_name": "Mary Ann", "last_name": "Smith"}),
    );
    let r = g.json(
        "PATCH",
        &patch_path(CRUNCH, id),
        &json!([{"op": "copy", "from": "/firstName", "path": "/lastName"}]),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    // HelpCrunch holds one `name`: the copied last name joins the first.
    let sent = g.upstream_requests(CRUNCH, &format!("/{id}"));
    let write = sent
        .iter()
        .rev()
        .find(|e| e["method"] == "PATCH")
        .expect("a PATCH reached helpcrunch");
    let body: Value = write["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or_else(|| write["body"].clone());
    assert_eq!(body, json!({"name": "Mary Ann Mary Ann"}), "{write}");
    let s = stored(g, CRUNCH, id);
    assert_eq!(s["last_name"], json!("Ann"), "split at the last space: {s}");
}

#[test]
fn move_of_an_entry_toward_multi_entry_upstreams() {
    let g = gateway();
    for (id, up) in [("96301", HS1), ("96302", HS2)] {
        g.seed(
            up,
            id,
            &json!({"first_name": "Vernon", "emails": [
                {"id": 11, "type": "work", "value": "old@acme.com"},
                {"id": 12, "type": "home", "value": "vernon@home.net"}
            ]}),
        );
        let r = g.json(
            "PATCH",
            &patch_path(up, id),
            &json!([
                {"op": "test", "path": "/emails/12/value", "value": "vernon@home.net"},
                {"op": "move", "from": "/emails/12", "path": "/emails/11"},
                {"op": "add", "path": "/emails", "value": {"type": "other", "value": "new@acme.com"}}
            ]),
        );
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        let emails = stored(g, up, id)["emails"].clone();
        let emails = emails.as_array().cloned().unwrap_or_default();
        let got: Vec<(Value, Value)> = emails
            .iter()
            .map(|e| (e["type"].clone(), e["value"].clone()))
            .collect();
        // Entry 11 took entry 12's type and value, 12 is gone, and `add /emails` still appends.
        assert_eq!(
            got,
            vec![
                (json!("home"), json!("vernon@home.net")),
                (json!("other"), json!("new@acme.com"))
            ],
            "{up}: {emails:?}"
        );
        assert_eq!(emails[0]["id"], json!(11), "{up}");
    }
}

#[test]
fn moving_an_entry_value_alone_is_refused_before_any_upstream_traffic() {
    let g = gateway();
    let id = "96401";
    g.seed(
        HS1,
        id,
        &json!({"emails": [{"id": 11, "type": "work", "value": "a@acme.com"}]}),
    );
    let r = g.json(
        "PATCH",
        &patch_path(HS1, id),
        &json!([{"op": "move", "from": "/emails/11/value", "path": "/lastName"}]),
    );
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), ["0/from"], "{e:?}");
    assert!(
        g.upstream_requests(HS1, &format!("/{id}")).is_empty(),
        "nothing was sent upstream"
    );
}

#[test]
fn a_patch_document_add_toward_a_full_slot_is_unmappable() {
    let g = gateway();
    let id = "96501";
    g.seed(
        DialectId::Reach,
        id,
        &json!({"external_id": id, "emails": [{"id": 1, "value": "a@acme.com"}]}),
    );
    let r = g.json(
        "PATCH",
        &patch_path(DialectId::Reach, id),
        &json!([
            {"op": "test", "path": "/emails/1", "value": {"type": "work", "value": "a@acme.com"}},
            {"op": "add", "path": "/emails", "value": {"type": "work", "value": "b@acme.com"}}
        ]),
    );
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), ["emails"], "{e:?}");
    assert_eq!(
        stored(g, DialectId::Reach, id)["emails"][0]["value"],
        json!("a@acme.com")
    );
}
