//! The helpscout-v2 customer sub-resource endpoints (`POST /v2/customers/{id}/emails`,
//! `PUT|DELETE …/emails/{entryId}`, `POST|PUT|DELETE …/address`, and the other collections)
//! through real sockets, against every upstream dialect: what the client gets (status,
//! `Resource-ID`, `Location`, body) and what the upstream stored. Each call translates exactly
//! like its equivalent JSON Patch request (single-slot rules, unmappable policy, target rules).

use crate::support::{dialect_error, gateway, Gateway, Response};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const HS2: DialectId = DialectId::HelpscoutV2;
const HS1: DialectId = DialectId::HelpscoutV1;
const CRUNCH: DialectId = DialectId::Helpcrunch;
const REACH: DialectId = DialectId::Reach;

const COLLS: [(&str, &str); 5] = [
    ("emails", "emails"),
    ("phones", "phones"),
    ("chats", "chats"),
    ("social-profiles", "social_profiles"),
    ("websites", "websites"),
];

/// A valid new entry for each collection (websites have no type).
fn entry(seg: &str, n: u32) -> Value {
    match seg {
        "emails" => json!({"type": "work", "value": format!("new{n}@x.io")}),
        "phones" => json!({"type": "work", "value": format!("555-010{n}")}),
        "chats" => json!({"type": "skype", "value": format!("handle{n}")}),
        "social-profiles" => json!({"type": "twitter", "value": format!("https://t.example/{n}")}),
        _ => json!({"value": format!("https://site{n}.example")}),
    }
}

/// A customer with one entry (id 7xx) in every collection, for the multi-entry upstreams.
fn multi_customer() -> Value {
    json!({
        "first_name": "Ada",
        "emails": [{"id": 701, "type": "work", "value": "ada@x.io"}],
        "phones": [{"id": 702, "type": "home", "value": "555-0000"}],
        "chats": [{"id": 703, "type": "aim", "value": "ada"}],
        "social_profiles": [{"id": 704, "type": "facebook", "value": "https://f.example/ada"}],
        "websites": [{"id": 705, "value": "https://ada.example"}],
    })
}

fn send_json(g: &Gateway, method: &str, path: &str, body: &Value) -> Response {
    g.json(method, path, body)
}

fn delete(g: &Gateway, path: &str) -> Response {
    g.send("DELETE", path, &[], None)
}

/// The values stored in a canonical collection, with ids.
fn stored_entries(g: &Gateway, d: DialectId, id: &str, key: &str) -> Vec<(u64, String)> {
    let c = g.stored(d, id).expect("stored customer");
    c[key]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap_or(0),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Writes (non-GET requests) the upstream received for a customer.
fn writes(g: &Gateway, d: DialectId, id: &str) -> usize {
    g.upstream_requests(d, &format!("/{id}"))
        .iter()
        .filter(|e| e["method"] != "GET")
        .count()
}

fn assert_created(r: &Response, location: &str) -> u64 {
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.body.is_empty(), "201 has an empty body: {}", r.text());
    let rid: u64 = r
        .header("resource-id")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Resource-ID: {:?}", r.headers));
    assert_eq!(
        r.header("location"),
        Some(format!("{location}/{rid}").as_str()),
        "{:?}",
        r.headers
    );
    rid
}

/// Every entry collection toward the two multi-entry upstreams: POST creates the entry the
/// upstream stores, answering its real id; PUT replaces it; DELETE removes it; the `Location`
/// is the gateway path under the route prefix (for the same-dialect route: the sandbox's
/// absolute URL rewritten, so the upstream's host never reaches the client).
#[test]
fn entries_are_created_updated_and_deleted_on_multi_entry_upstreams() {
    let g = gateway();
    for (n, up) in [HS2, HS1].into_iter().enumerate() {
        let id = format!("9410{n}");
        g.seed(up, &id, &multi_customer());
        let base = format!("/t/hs2/{}/v2/customers/{id}", crate::support::short(up));
        for (i, (seg, key)) in COLLS.into_iter().enumerate() {
            let before = stored_entries(g, up, &id, key);
            let new = entry(seg, i as u32);
            let r = send_json(g, "POST", &format!("{base}/{seg}"), &new);
            let rid = assert_created(&r, &format!("{base}/{seg}"));
            assert!(
                !r.header("location")
                    .unwrap_or_default()
                    .contains("127.0.0.1"),
                "{up}: upstream host leaked"
            );
            let after = stored_entries(g, up, &id, key);
            assert_eq!(after.len(), before.len() + 1, "{up} {seg}: {after:?}");
            assert!(
                !before.iter().any(|(eid, _)| *eid == rid),
                "{up} {seg}: Resource-ID {rid} is the new entry"
            );
            assert!(
                after.contains(&(rid, new["value"].as_str().unwrap_or_default().to_string())),
                "{up} {seg}: {rid} holds the new value: {after:?}"
            );

            let replaced = entry(seg, 50 + i as u32);
            let r = send_json(g, "PUT", &format!("{base}/{seg}/{rid}"), &replaced);
            assert_eq!(
                (r.status, r.body.len()),
                (204, 0),
                "{up} PUT {seg}: {}",
                r.text()
            );
            let after = stored_entries(g, up, &id, key);
            assert!(
                after.contains(&(
                    rid,
                    replaced["value"].as_str().unwrap_or_default().to_string()
                )),
                "{up} {seg}: {after:?}"
            );

            let r = delete(g, &format!("{base}/{seg}/{rid}"));
            assert_eq!(
                (r.status, r.body.len()),
                (204, 0),
                "{up} DELETE {seg}: {}",
                r.text()
            );
            assert_eq!(stored_entries(g, up, &id, key), before, "{up} {seg}");
        }
    }
    // The type is stored as sent (v2 `forsquare` is canonical `foursquare`).
    let r = send_json(
        g,
        "POST",
        "/t/hs2/hs1/v2/customers/94101/social-profiles",
        &json!({"type": "forsquare", "value": "https://4sq.example/ada"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let c = g.stored(HS1, "94101").expect("stored");
    assert!(
        c["social_profiles"]
            .as_array()
            .expect("array")
            .iter()
            .any(|e| e["type"] == "foursquare" && e["value"] == "https://4sq.example/ada"),
        "{c}"
    );
}

/// Toward helpscout-v1, the entry create asks for the customer back (`reload=true`) and the
/// Resource-ID is the id v1 assigned: the newest entry with the added value, even when the
/// customer already had an entry with that value.
#[test]
fn v1_resource_id_is_the_new_entry_even_with_a_duplicate_value() {
    let g = gateway();
    g.seed(HS1, "94110", &multi_customer());
    let r = send_json(
        g,
        "POST",
        "/t/hs2/hs1/v2/customers/94110/emails",
        &json!({"type": "home", "value": "ada@x.io"}),
    );
    let rid = assert_created(&r, "/t/hs2/hs1/v2/customers/94110/emails");
    let after = stored_entries(g, HS1, "94110", "emails");
    assert_eq!(after.len(), 2, "{after:?}");
    assert_ne!(rid, 701);
    assert!(after.contains(&(rid, "ada@x.io".to_string())), "{after:?}");
    let sent = g.upstream_requests(HS1, "/v1/customers/94110.json");
    assert!(
        sent.iter()
            .any(|e| e["method"] == "PUT"
                && e["path"].as_str().unwrap_or("").contains("reload=true")),
        "the write asked for the customer: {sent:?}"
    );
}

/// Single-slot upstreams: `POST …/emails` fills the empty slot (`Resource-ID: 1`), `PUT
/// …/emails/1` replaces it, `DELETE …/emails/1` clears it; same for phones.
#[test]
fn single_slot_upstreams_fill_replace_and_clear_the_slot() {
    let g = gateway();
    for (n, up) in [CRUNCH, REACH].into_iter().enumerate() {
        let id = format!("9420{n}");
        g.seed(up, &id, &json!({"first_name": "Ada", "last_name": "Byron"}));
        let base = format!("/t/hs2/{}/v2/customers/{id}", crate::support::short(up));
        for (seg, value, value2) in [
            ("emails", "ada@x.io", "ada@y.io"),
            ("phones", "555-0100", "555-0199"),
        ] {
            let r = send_json(
                g,
                "POST",
                &format!("{base}/{seg}"),
                &json!({"type": "work", "value": value}),
            );
            assert_eq!(
                assert_created(&r, &format!("{base}/{seg}")),
                1,
                "{up} {seg}"
            );
            assert_eq!(
                stored_entries(g, up, &id, seg),
                vec![(1, value.to_string())],
                "{up} {seg}"
            );
            let r = send_json(
                g,
                "PUT",
                &format!("{base}/{seg}/1"),
                &json!({"type": "work", "value": value2}),
            );
            assert_eq!(r.status, 204, "{up} PUT {seg}: {}", r.text());
            assert_eq!(
                stored_entries(g, up, &id, seg),
                vec![(1, value2.to_string())]
            );
            let r = delete(g, &format!("{base}/{seg}/1"));
            assert_eq!(r.status, 204, "{up} DELETE {seg}: {}", r.text());
            assert_eq!(stored_entries(g, up, &id, seg), vec![], "{up} {seg}");
        }
        // The name was not touched by any of it.
        let c = g.stored(up, &id).expect("stored");
        assert_eq!(
            (c["first_name"].as_str(), c["last_name"].as_str()),
            (Some("Ada"), Some("Byron"))
        );
    }
}

/// A full slot: the create is unmappable (400 naming the collection, nothing written); under
/// `drop` it is dropped and reported, and the answer is 204 since nothing was created. The same
/// value again is no change: 201 with the slot's id.
#[test]
fn a_full_slot_refuses_the_create_and_stores_nothing() {
    let g = gateway();
    for (n, up) in [CRUNCH, REACH].into_iter().enumerate() {
        let id = format!("9430{n}");
        let short = crate::support::short(up);
        g.seed(
            up,
            &id,
            &json!({"emails": [{"id": 1, "value": "ada@x.io"}]}),
        );
        let before = g.stored(up, &id);
        let writes_before = writes(g, up, &id);
        let body = json!({"type": "work", "value": "other@x.io"});
        let r = send_json(
            g,
            "POST",
            &format!("/t/hs2/{short}/v2/customers/{id}/emails"),
            &body,
        );
        let e = dialect_error(HS2, &r, 400);
        assert_eq!(e.names(), vec!["emails"], "{up}: {e:?}");
        assert_eq!(g.stored(up, &id), before, "{up}: nothing stored");
        assert_eq!(writes(g, up, &id), writes_before, "{up}: nothing written");

        let r = send_json(
            g,
            "POST",
            &format!("/d/hs2/{short}/v2/customers/{id}/emails"),
            &body,
        );
        assert_eq!(r.status, 204, "{up} drop: {}", r.text());
        assert_eq!(r.header("patchbay-dropped-fields"), Some("emails"));
        assert_eq!(r.header("resource-id"), None);
        assert_eq!(
            g.stored(up, &id).map(|c| c["emails"].clone()),
            before.as_ref().map(|c| c["emails"].clone())
        );

        let r = send_json(
            g,
            "POST",
            &format!("/t/hs2/{short}/v2/customers/{id}/emails"),
            &json!({"type": "work", "value": "ada@x.io"}),
        );
        assert_eq!(
            assert_created(&r, &format!("/t/hs2/{short}/v2/customers/{id}/emails")),
            1
        );
    }
}

/// Collections a single-slot upstream lacks are unmappable for every call; another slot id
/// than 1 is a validation error naming it; under `drop` the create answers 204.
#[test]
fn single_slot_upstreams_refuse_what_they_cannot_hold() {
    let g = gateway();
    for (n, up) in [CRUNCH, REACH].into_iter().enumerate() {
        let id = format!("9440{n}");
        let short = crate::support::short(up);
        g.seed(
            up,
            &id,
            &json!({"emails": [{"id": 1, "value": "ada@x.io"}]}),
        );
        let before = g.stored(up, &id);
        let base = format!("/t/hs2/{short}/v2/customers/{id}");
        for (i, (seg, _)) in COLLS.into_iter().enumerate().skip(2) {
            let r = send_json(g, "POST", &format!("{base}/{seg}"), &entry(seg, i as u32));
            assert_eq!(
                dialect_error(HS2, &r, 400).names(),
                vec![seg],
                "{up} POST {seg}"
            );
            let r = send_json(g, "PUT", &format!("{base}/{seg}/3"), &entry(seg, i as u32));
            assert_eq!(
                dialect_error(HS2, &r, 400).names(),
                vec![format!("{seg}/3")],
                "{up} PUT {seg}"
            );
            let r = delete(g, &format!("{base}/{seg}/3"));
            assert_eq!(
                dialect_error(HS2, &r, 400).names(),
                vec![format!("{seg}/3")],
                "{up} DELETE {seg}"
            );
            let r = send_json(
                g,
                "POST",
                &format!("/d/hs2/{short}/v2/customers/{id}/{seg}"),
                &entry(seg, i as u32),
            );
            assert_eq!(r.status, 204, "{up} drop {seg}: {}", r.text());
            assert_eq!(r.header("patchbay-dropped-fields"), Some(seg));
        }
        for (m, body) in [
            ("PUT", Some(json!({"type": "work", "value": "b@x.io"}))),
            ("DELETE", None),
        ] {
            let path = format!("{base}/emails/2");
            let r = match &body {
                Some(b) => send_json(g, m, &path, b),
                None => delete(g, &path),
            };
            let e = dialect_error(HS2, &r, 400);
            assert_eq!(e.names(), vec!["emails/2"], "{up} {m}: {e:?}");
        }
        assert_eq!(g.stored(up, &id), before, "{up}: nothing stored");
    }
}

/// An entry id the customer does not have: the helpscout-v2 upstream answers 404 (passed
/// through); helpscout-v1's error is translated, naming the entry the client addressed.
#[test]
fn unknown_entry_ids_are_reported() {
    let g = gateway();
    g.seed(HS2, "94500", &multi_customer());
    g.seed(HS1, "94501", &multi_customer());
    let body = json!({"type": "work", "value": "b@x.io"});
    let r = send_json(g, "PUT", "/t/hs2/hs2/v2/customers/94500/emails/999", &body);
    dialect_error(HS2, &r, 404);
    let r = delete(g, "/t/hs2/hs2/v2/customers/94500/phones/999");
    dialect_error(HS2, &r, 404);
    let r = send_json(g, "PUT", "/t/hs2/hs1/v2/customers/94501/emails/999", &body);
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), vec!["emails/999"], "{e:?}");
    let r = delete(g, "/t/hs2/hs1/v2/customers/94501/chats/999");
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), vec!["chats/999"], "{e:?}");
    assert_eq!(
        g.stored(HS1, "94501").map(|c| c["emails"].clone()),
        Some(multi_customer()["emails"].clone())
    );
    // An unknown customer.
    let r = send_json(g, "POST", "/t/hs2/hs2/v2/customers/94599/emails", &body);
    dialect_error(HS2, &r, 404);
}

fn address(city: &str) -> Value {
    json!({"city": city, "state": "TX", "postalCode": "74206", "country": "US", "lines": ["1 Main St"]})
}

/// The address sub-resource against every upstream.
#[test]
fn address_is_created_replaced_and_deleted_on_every_upstream() {
    let g = gateway();
    for (n, up) in [HS2, HS1].into_iter().enumerate() {
        let id = format!("9460{n}");
        g.seed(up, &id, &json!({"first_name": "Ada"}));
        let base = format!("/t/hs2/{}/v2/customers/{id}", crate::support::short(up));
        let r = send_json(g, "POST", &format!("{base}/address"), &address("Dallas"));
        assert_eq!((r.status, r.body.len()), (201, 0), "{up}: {}", r.text());
        assert_eq!(r.header("resource-id"), None);
        assert_eq!(
            r.header("location"),
            Some(format!("{base}/address").as_str()),
            "{up}"
        );
        let c = g.stored(up, &id).expect("stored");
        assert_eq!(
            c["address"],
            json!({"lines": ["1 Main St"], "city": "Dallas", "state": "TX", "postal_code": "74206", "country": "US"}),
            "{up}"
        );
        let r = send_json(
            g,
            "PUT",
            &format!("{base}/address"),
            &json!({"city": "Austin", "state": "TX", "postalCode": "73301", "country": "US"}),
        );
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        let c = g.stored(up, &id).expect("stored");
        assert_eq!(c["address"]["city"], "Austin", "{up}");
        assert_eq!(
            c["address"]["lines"],
            json!([]),
            "{up}: lines left out are cleared"
        );
        let r = delete(g, &format!("{base}/address"));
        assert_eq!(r.status, 204, "{up}: {}", r.text());
        assert_eq!(
            g.stored(up, &id).expect("stored")["address"],
            Value::Null,
            "{up}"
        );
    }

    // helpcrunch holds city, state (regionCode) and country, not the postal code or lines.
    g.seed(
        CRUNCH,
        "94610",
        &json!({"first_name": "Ada", "address": {"city": "Paris", "country": "FR"}}),
    );
    let before = g.stored(CRUNCH, "94610");
    let r = send_json(
        g,
        "POST",
        "/t/hs2/crunch/v2/customers/94610/address",
        &address("Dallas"),
    );
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(e.names(), vec!["lines", "postalCode"], "{e:?}");
    assert_eq!(g.stored(CRUNCH, "94610"), before, "nothing stored");
    let r = send_json(
        g,
        "PUT",
        "/d/hs2/crunch/v2/customers/94610/address",
        &address("Dallas"),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        r.header("patchbay-dropped-fields"),
        Some("lines,postalCode")
    );
    let c = g.stored(CRUNCH, "94610").expect("stored");
    assert_eq!(
        (
            c["address"]["city"].as_str(),
            c["address"]["state"].as_str()
        ),
        (Some("Dallas"), Some("TX"))
    );
    let r = delete(g, "/t/hs2/crunch/v2/customers/94610/address");
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        g.stored(CRUNCH, "94610").expect("stored")["address"],
        Value::Null
    );

    // reach has no address at all: creating one is unmappable, deleting it changes nothing.
    g.seed(REACH, "94620", &json!({"first_name": "Ada"}));
    let before = g.stored(REACH, "94620");
    let r = send_json(
        g,
        "POST",
        "/t/hs2/reach/v2/customers/94620/address",
        &address("Dallas"),
    );
    let e = dialect_error(HS2, &r, 400);
    assert_eq!(
        e.names(),
        vec!["lines", "city", "state", "postalCode", "country"],
        "{e:?}"
    );
    let r = delete(g, "/t/hs2/reach/v2/customers/94620/address");
    assert_eq!(r.status, 204, "{}", r.text());
    // Under `drop` every field is dropped: nothing was created, so no 201 and no Location.
    let r = send_json(
        g,
        "POST",
        "/d/hs2/reach/v2/customers/94620/address",
        &address("Dallas"),
    );
    assert_eq!(
        (r.status, r.header("location")),
        (204, None),
        "{}",
        r.text()
    );
    assert_eq!(
        r.header("patchbay-dropped-fields"),
        Some("lines,city,state,postalCode,country")
    );
    assert_eq!(g.stored(REACH, "94620"), before);
}

/// Bodies are validated (naming the member) before anything reaches any upstream; wrong
/// methods are 405, invalid entry ids 400, a create without a JSON content type 415, a DELETE
/// needs no content type.
#[test]
fn sub_resource_requests_are_validated_before_any_upstream_traffic() {
    let g = gateway();
    for up in [HS2, HS1, CRUNCH, REACH] {
        let id = "94700";
        let short = crate::support::short(up);
        let base = format!("/t/hs2/{short}/v2/customers/{id}");
        for (path, body, names) in [
            (
                "emails",
                json!({"type": "fax", "value": "a@x.io"}),
                vec!["type"],
            ),
            (
                "emails",
                json!({"type": "work", "value": "not-an-email"}),
                vec!["value"],
            ),
            ("phones", json!({"value": "555"}), vec!["type"]),
            ("websites", json!({}), vec!["value"]),
            (
                "chats",
                json!([{"type": "aim", "value": "x"}]),
                vec!["body"],
            ),
            (
                "address",
                json!({"city": "Dallas", "lines": "1 Main St"}),
                vec!["lines", "state", "postalCode", "country"],
            ),
        ] {
            let r = send_json(g, "POST", &format!("{base}/{path}"), &body);
            let e = dialect_error(HS2, &r, 400);
            assert_eq!(e.names(), names, "{up} {path} {body}");
        }
        let r = g.send(
            "POST",
            &format!("{base}/emails"),
            &[("Content-Type", "application/json")],
            Some(b"{\"type\":\"work\",\"value\":"),
        );
        assert_eq!(dialect_error(HS2, &r, 400).names(), vec!["body"]);
        let r = g.send(
            "POST",
            &format!("{base}/emails"),
            &[("Content-Type", "application/json")],
            Some(br#"{"type":"work","value":"a@x.io","value":"b@x.io"}"#),
        );
        assert_eq!(dialect_error(HS2, &r, 400).names(), vec!["value"]);
        let r = g.send(
            "POST",
            &format!("{base}/emails"),
            &[("Content-Type", "text/plain")],
            Some(br#"{"type":"work","value":"a@x.io"}"#),
        );
        dialect_error(HS2, &r, 415);
        for (m, p) in [
            ("GET", "emails"),
            ("DELETE", "emails"),
            ("POST", "emails/5"),
            ("PATCH", "address"),
            ("GET", "address"),
        ] {
            let r = g.send(m, &format!("{base}/{p}"), &[], None);
            dialect_error(HS2, &r, 405);
        }
        let r = delete(g, &format!("{base}/emails/0"));
        assert_eq!(dialect_error(HS2, &r, 400).names(), vec!["emails/0"]);
        let r = delete(g, &format!("{base}/websites/x1"));
        assert_eq!(dialect_error(HS2, &r, 400).names(), vec!["websites/x1"]);
        let r = g.send("GET", &format!("{base}/emails/5/value"), &[], None);
        dialect_error(HS2, &r, 404);
        assert_eq!(writes(g, up, id), 0, "{up}: nothing reached the upstream");
        assert!(
            g.upstream_requests(up, &format!("/{id}")).is_empty(),
            "{up}: not even a read"
        );
    }
}

/// An `auto` route recognises the sub-resources as helpscout-v2 and rewrites the upstream's
/// `Location` to its own prefix.
#[test]
fn auto_routes_detect_the_sub_resources() {
    let g = gateway();
    g.seed(HS2, "94800", &multi_customer());
    let r = send_json(
        g,
        "POST",
        "/auto/v2/customers/94800/websites",
        &json!({"value": "https://auto.example"}),
    );
    let rid = assert_created(&r, "/auto/v2/customers/94800/websites");
    assert!(
        stored_entries(g, HS2, "94800", "websites").contains(&(rid, "https://auto.example".into()))
    );
    let r = delete(g, &format!("/auto/v2/customers/94800/websites/{rid}"));
    assert_eq!(r.status, 204, "{}", r.text());
    let r = g.send("GET", "/auto/v2/customers/94800/websites", &[], None);
    dialect_error(HS2, &r, 405);
}
