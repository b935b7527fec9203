//! Every client dialect × every upstream dialect through real sockets: the real gateway binary,
//! the sandbox backends as real HTTP upstreams. Each pair updates names, e-mails (change, remove,
//! add), phones and a dialect-specific field; the test then reads what the backend stored and
//! checks the client's status and body. Unmappable changes under `reject` leave the backend
//! untouched; under `drop` the `Patchbay-Dropped-Fields` header lists them.

use crate::support::{gateway, short, Gateway, Response};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

fn multi(d: DialectId) -> bool {
    matches!(d, DialectId::HelpscoutV2 | DialectId::HelpscoutV1)
}

/// Ids of the seeded e-mail and phone entries as the upstream holds them.
fn entry_ids(u: DialectId) -> (u64, u64) {
    if multi(u) {
        (2001, 2002)
    } else {
        (1, 1)
    }
}

fn customer_id(c: DialectId, u: DialectId) -> String {
    let ci = DialectId::ALL.iter().position(|d| *d == c).unwrap_or(0);
    let ui = DialectId::ALL.iter().position(|d| *d == u).unwrap_or(0);
    format!("{}", 61000 + ci * 10 + ui)
}

fn path(prefix: &str, c: DialectId, u: DialectId, id: &str) -> String {
    let base = format!("/{prefix}/{}/{}", short(c), short(u));
    match c {
        DialectId::HelpscoutV2 => format!("{base}/v2/customers/{id}"),
        DialectId::HelpscoutV1 => format!("{base}/v1/customers/{id}.json"),
        DialectId::Helpcrunch => format!("{base}/v1/customers/{id}"),
        DialectId::Reach => format!("{base}/api/resources/customers/{id}"),
    }
}

fn method(c: DialectId) -> &'static str {
    match c {
        DialectId::HelpscoutV1 => "PUT",
        _ => "PATCH",
    }
}

fn seed(g: &Gateway, u: DialectId, id: &str) {
    let (e, p) = entry_ids(u);
    g.seed(
        u,
        id,
        &json!({
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": [{"id": e, "type": "work", "value": "ada@old.example"}],
            "phones": [{"id": p, "type": "work", "value": "+15550001"}],
        }),
    );
}

/// The four steps' bodies in the client's dialect.
fn names_email_phone(c: DialectId, e: u64, p: u64) -> Value {
    match c {
        DialectId::HelpscoutV2 => json!([
            {"op": "replace", "path": "/firstName", "value": "Grace"},
            {"op": "replace", "path": "/lastName", "value": "Hopper"},
            {"op": "replace", "path": format!("/emails/{e}/value"), "value": "grace@new.example"},
            {"op": "replace", "path": format!("/phones/{p}/value"), "value": "+15550002"},
        ]),
        DialectId::HelpscoutV1 => json!({
            "firstName": "Grace", "lastName": "Hopper",
            "emails": [{"id": e, "value": "grace@new.example"}],
            "phones": [{"id": p, "value": "+15550002"}],
        }),
        DialectId::Helpcrunch => json!({
            "name": "Grace Hopper", "email": "grace@new.example", "phone": "+15550002"
        }),
        DialectId::Reach => json!({"data": {
            "firstName": "Grace", "lastName": "Hopper",
            "email": "grace@new.example", "phone": "+15550002"
        }}),
    }
}

fn remove_email(c: DialectId, e: u64) -> Value {
    match c {
        DialectId::HelpscoutV2 => json!([{"op": "remove", "path": format!("/emails/{e}")}]),
        DialectId::HelpscoutV1 => json!({"emails": [{"id": -(e as i64)}]}),
        DialectId::Helpcrunch => json!({"email": null}),
        DialectId::Reach => json!({"data": {"email": null}}),
    }
}

fn add_email(c: DialectId) -> Value {
    match c {
        DialectId::HelpscoutV2 => json!([
            {"op": "add", "path": "/emails", "value": {"type": "work", "value": "new@add.example"}}
        ]),
        DialectId::HelpscoutV1 => {
            json!({"emails": [{"value": "new@add.example", "location": "work"}]})
        }
        DialectId::Helpcrunch => json!({"email": "new@add.example"}),
        DialectId::Reach => json!({"data": {"email": "new@add.example"}}),
    }
}

/// A field only some dialects have, and the canonical field it sets.
fn specific(c: DialectId) -> (Value, &'static str, Value, &'static str) {
    match c {
        DialectId::HelpscoutV2 => (
            json!([{"op": "replace", "path": "/jobTitle", "value": "Rear Admiral"}]),
            "job_title",
            json!("Rear Admiral"),
            "jobTitle",
        ),
        DialectId::HelpscoutV1 => (
            json!({"organization": "US Navy"}),
            "organization",
            json!("US Navy"),
            "organization",
        ),
        DialectId::Helpcrunch => (
            json!({"company": "US Navy"}),
            "organization",
            json!("US Navy"),
            "company",
        ),
        DialectId::Reach => (
            json!({"data": {"emailOptOut": true}}),
            "email_opt_out",
            json!(true),
            "emailOptOut",
        ),
    }
}

fn holds(u: DialectId, canonical: &str) -> bool {
    match canonical {
        "job_title" => multi(u),
        "organization" => u != DialectId::Reach,
        "email_opt_out" => matches!(u, DialectId::Helpcrunch | DialectId::Reach),
        _ => true,
    }
}

fn check_success(c: DialectId, r: &Response, what: &str) {
    match c {
        DialectId::HelpscoutV2 => {
            assert_eq!(r.status, 204, "{what}: {}", r.text());
            assert!(r.body.is_empty(), "{what}: 204 with a body");
        }
        DialectId::HelpscoutV1 => {
            assert_eq!(r.status, 200, "{what}: {}", r.text());
            assert!(
                r.body.is_empty(),
                "{what}: v1 without reload answers an empty body"
            );
        }
        DialectId::Helpcrunch | DialectId::Reach => {
            assert_eq!(r.status, 200, "{what}: {}", r.text());
        }
    }
}

/// The client's view of the customer in a helpcrunch / reach success body.
fn answer_fields(c: DialectId, r: &Response) -> (Value, Value, Value) {
    let v = r.json();
    match c {
        DialectId::Helpcrunch => (v["name"].clone(), v["email"].clone(), v["phone"].clone()),
        DialectId::Reach => {
            assert_eq!(v["success"], json!(true));
            let d = &v["data"]["result"]["data"];
            let name = match (d["firstName"].as_str(), d["lastName"].as_str()) {
                (Some(f), Some(l)) => json!(format!("{f} {l}")),
                (Some(f), None) => json!(f),
                _ => Value::Null,
            };
            (name, d["email"].clone(), d["phone"].clone())
        }
        _ => (Value::Null, Value::Null, Value::Null),
    }
}

fn writes_seen(g: &Gateway, u: DialectId, id: &str) -> usize {
    g.upstream_requests(u, id)
        .iter()
        .filter(|r| r.get("method").and_then(Value::as_str) != Some("GET"))
        .count()
}

fn run_pair(g: &Gateway, c: DialectId, u: DialectId) {
    let id = customer_id(c, u);
    let what = |step: &str| format!("{c} → {u} {step}");
    seed(g, u, &id);
    let (e, p) = entry_ids(u);
    let url = path("t", c, u, &id);

    // 1. names, e-mail value, phone value.
    let r = g.json(method(c), &url, &names_email_phone(c, e, p));
    check_success(c, &r, &what("names/email/phone"));
    if matches!(c, DialectId::Helpcrunch | DialectId::Reach) {
        assert_eq!(
            answer_fields(c, &r),
            (
                json!("Grace Hopper"),
                json!("grace@new.example"),
                json!("+15550002")
            ),
            "{}",
            what("answer body")
        );
    }
    let stored = g.stored(u, &id).expect("stored customer");
    assert_eq!(
        stored["first_name"],
        json!("Grace"),
        "{}: {stored}",
        what("first name")
    );
    assert_eq!(
        stored["last_name"],
        json!("Hopper"),
        "{}: {stored}",
        what("last name")
    );
    let emails = stored["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 1, "{}: {stored}", what("email"));
    assert_eq!(
        emails[0]["id"],
        json!(e),
        "{}: the entry keeps its id",
        what("email")
    );
    assert_eq!(
        emails[0]["value"],
        json!("grace@new.example"),
        "{}",
        what("email")
    );
    assert_eq!(
        stored["phones"][0]["value"],
        json!("+15550002"),
        "{}",
        what("phone")
    );
    assert_eq!(
        stored["phones"][0]["id"],
        json!(p),
        "{}: phone keeps its id",
        what("phone")
    );

    // 2. remove the e-mail.
    let r = g.json(method(c), &url, &remove_email(c, e));
    check_success(c, &r, &what("remove email"));
    let stored = g.stored(u, &id).expect("stored customer");
    assert_eq!(
        stored["emails"],
        json!([]),
        "{}: {stored}",
        what("email removed")
    );

    // 3. add an e-mail.
    let r = g.json(method(c), &url, &add_email(c));
    check_success(c, &r, &what("add email"));
    let stored = g.stored(u, &id).expect("stored customer");
    let emails = stored["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 1, "{}: {stored}", what("email added"));
    assert_eq!(
        emails[0]["value"],
        json!("new@add.example"),
        "{}",
        what("email added")
    );

    // 4. a dialect-specific field.
    let (body, canonical, value, client_name) = specific(c);
    let before = writes_seen(g, u, &id);
    let r = g.json(method(c), &url, &body);
    if holds(u, canonical) {
        check_success(c, &r, &what("specific field"));
        let stored = g.stored(u, &id).expect("stored customer");
        assert_eq!(
            stored[canonical],
            value,
            "{}: {stored}",
            what("specific field stored")
        );
    } else {
        assert_eq!(r.status, 400, "{}: {}", what("unmappable"), r.text());
        assert!(
            r.text().contains(client_name),
            "{}: the error names {client_name}: {}",
            what("unmappable"),
            r.text()
        );
        assert_eq!(
            writes_seen(g, u, &id),
            before,
            "{}: nothing sent upstream",
            what("unmappable")
        );
        let stored = g.stored(u, &id).expect("stored customer");
        assert!(
            stored.get(canonical).is_none_or(Value::is_null),
            "{}",
            what("backend untouched")
        );
        // The same change through the `drop` route: accepted, reported in the header.
        let r = g.json(method(c), &path("d", c, u, &id), &body);
        check_success(c, &r, &what("drop"));
        assert_eq!(
            r.header("patchbay-dropped-fields"),
            Some(client_name),
            "{}",
            what("dropped header")
        );
    }
}

#[test]
fn every_client_dialect_against_every_upstream_dialect() {
    let g = gateway();
    let mut failures = Vec::new();
    for c in DialectId::ALL {
        for u in DialectId::ALL {
            let result = std::panic::catch_unwind(|| run_pair(g, c, u));
            if let Err(e) = result {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{c} → {u}: {msg}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 16 pairs failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn translated_get_in_every_client_dialect() {
    let g = gateway();
    for c in DialectId::ALL {
        for u in DialectId::ALL {
            let id = format!(
                "{}",
                62000
                    + DialectId::ALL.iter().position(|d| *d == c).unwrap_or(0) * 10
                    + DialectId::ALL.iter().position(|d| *d == u).unwrap_or(0)
            );
            seed(g, u, &id);
            let r = g.send("GET", &path("t", c, u, &id), &[], None);
            assert_eq!(r.status, 200, "{c} GET via {u}: {}", r.text());
            let v = r.json();
            let (first, email) = match c {
                DialectId::HelpscoutV2 => (
                    v["firstName"].clone(),
                    v["_embedded"]["emails"][0]["value"].clone(),
                ),
                DialectId::HelpscoutV1 => (
                    v["item"]["firstName"].clone(),
                    v["item"]["emails"][0]["value"].clone(),
                ),
                DialectId::Helpcrunch => (v["name"].clone(), v["email"].clone()),
                DialectId::Reach => (
                    v["data"]["result"]["data"]["firstName"].clone(),
                    v["data"]["result"]["data"]["email"].clone(),
                ),
            };
            let want_first = if c == DialectId::Helpcrunch {
                "Ada Lovelace"
            } else {
                "Ada"
            };
            assert_eq!(first, json!(want_first), "{c} GET via {u}: {v}");
            assert_eq!(email, json!("ada@old.example"), "{c} GET via {u}: {v}");
        }
    }
}
