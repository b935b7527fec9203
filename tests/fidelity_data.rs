//! Changes that used to be lost or altered silently (issue 9 §2 items 3, 4, 5, 8, 9), through
//! real sockets: the gateway binary in front of the sandbox backends. Customer ids 88000–88999.
//!
//! - GET → modify one field → write the whole GET body back, in every client dialect from every
//!   other upstream: 2xx, the change stored, nothing else changed (empty values the gateway
//!   showed are not unmappable).
//! - A one-word HelpCrunch `name` reads back as exactly that word, from the sandbox's own
//!   HelpCrunch and through every two-field upstream.
//! - A HelpCrunch PUT without `email`/`phone` toward a multi-entry upstream removes every entry.
//! - Every answer renders timestamps in the client dialect's documented format.

use crate::support::{customer_path, dialect_error, gateway, short, Gateway, Response};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};

const ALL: [DialectId; 4] = DialectId::ALL;

fn index(d: DialectId) -> usize {
    ALL.iter().position(|x| *x == d).unwrap_or(0)
}

/// A customer id per (area, client, upstream).
fn id_for(base: usize, c: DialectId, u: DialectId) -> String {
    (88_000 + base + index(c) * 4 + index(u)).to_string()
}

fn route(c: DialectId, u: DialectId) -> String {
    format!("/t/{}/{}", short(c), short(u))
}

/// Everything any dialect can hold (each backend keeps what its vendor can).
fn full_customer() -> Value {
    json!({
        "first_name": "Ada",
        "last_name": "Lovelace",
        "organization": "Analytical Engines",
        "job_title": "Countess",
        "notes": "Poet of science",
        "photo_url": "https://example.com/ada.png",
        "photo_type": "gravatar",
        "gender": "female",
        "age": "36",
        "location": "London",
        "address": {
            "lines": ["12 St James's Square"],
            "city": "London",
            "state": "LND",
            "postal_code": "SW1Y 4JH",
            "country": "GB"
        },
        "emails": [
            {"id": 0, "type": "work", "value": "ada@engines.example"},
            {"id": 0, "type": "home", "value": "ada@home.example"}
        ],
        "phones": [
            {"id": 0, "type": "work", "value": "+441234567"},
            {"id": 0, "type": "home", "value": "+447654321"}
        ],
        "chats": [{"id": 0, "type": "skype", "value": "ada.l"}],
        "social_profiles": [{"id": 0, "type": "twitter", "value": "@ada"}],
        "websites": [{"id": 0, "value": "https://ada.example"}],
        "external_id": "ext-ada",
        "email_opt_out": false,
        "sms_opt_out": true,
        "blocked": false,
        "locale": "en",
        "source": "https://src.example",
        "referer": "https://ref.example",
        "last_page": "https://ada.example/last",
        "first_seen": "1700000000",
        "last_seen": "1700003600",
        "created_from": "web",
        "integration_id": "42",
        "tags": [{"name": "vip", "color": "#ff0000"}],
        "properties": {"plan": "pro"},
        "detail_url": "https://crm.example/ada",
        "created_at": "2024-01-15T09:30:00Z"
    })
}

/// The stored customer without what every write changes (the record's update time).
fn stored_data(g: &Gateway, u: DialectId, id: &str) -> Value {
    let mut v = g.stored(u, id).expect("stored customer");
    if let Some(meta) = v.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("record_updated_at");
    }
    v
}

fn get(g: &Gateway, c: DialectId, u: DialectId, id: &str) -> Response {
    let r = g.send("GET", &customer_path(&route(c, u), c, id), &[], None);
    assert_eq!(r.status, 200, "{c} GET from {u}: {}", r.text());
    r
}

// --- item 3: GET → modify → write back --------------------------------------------------------

/// The client's write of its own GET answer with the first name changed to `Augusta`: the
/// method and the body in the dialect's write shape.
fn echo_with_new_first_name(c: DialectId, answer: &Value) -> (&'static str, Value) {
    match c {
        DialectId::HelpscoutV2 => {
            let mut body = answer.clone();
            body["firstName"] = json!("Augusta");
            ("PUT", body)
        }
        DialectId::HelpscoutV1 => {
            let mut body = answer["item"].clone();
            body["firstName"] = json!("Augusta");
            ("PUT", body)
        }
        DialectId::Helpcrunch => {
            let mut body = answer.clone();
            let name = body["name"].as_str().expect("name").to_string();
            body["name"] = json!(name.replacen("Ada", "Augusta", 1));
            // The model's `customData` object is written as `[{property, value}]` (the request
            // form: helpcrunch-reach.md §1.5).
            let items: Vec<Value> = body["customData"]
                .as_object()
                .expect("customData object")
                .iter()
                .map(|(k, v)| json!({"property": k, "value": v}))
                .collect();
            body["customData"] = Value::Array(items);
            ("PUT", body)
        }
        DialectId::Reach => {
            let mut data = answer["data"]["result"]["data"].clone();
            data["firstName"] = json!("Augusta");
            ("PATCH", json!({ "data": data }))
        }
    }
}

fn round_trip(c: DialectId) {
    let g = gateway();
    for u in ALL.into_iter().filter(|u| *u != c) {
        let id = id_for(0, c, u);
        g.seed(u, &id, &full_customer());
        let before = stored_data(g, u, &id);
        let answer = get(g, c, u, &id).json();
        let (method, body) = echo_with_new_first_name(c, &answer);
        let r = g.json(method, &customer_path(&route(c, u), c, &id), &body);
        assert!(
            (200..300).contains(&r.status),
            "{c} → {u}: writing back the GET answer: {} {}\nbody sent: {body}",
            r.status,
            r.text()
        );
        let mut expected = before.clone();
        expected["first_name"] = json!("Augusta");
        assert_eq!(
            stored_data(g, u, &id),
            expected,
            "{c} → {u}: only the first name may change"
        );
    }
}

#[test]
fn get_modify_put_round_trips_for_helpscout_v2_clients() {
    round_trip(DialectId::HelpscoutV2);
}

#[test]
fn get_modify_put_round_trips_for_helpscout_v1_clients() {
    round_trip(DialectId::HelpscoutV1);
}

#[test]
fn get_modify_put_round_trips_for_helpcrunch_clients() {
    round_trip(DialectId::Helpcrunch);
}

#[test]
fn get_modify_patch_round_trips_for_reach_clients() {
    round_trip(DialectId::Reach);
}

/// The two reported cases: `address.lines: []` (helpscout-v1 → helpcrunch) and `tags: []`
/// (helpcrunch → helpscout-v2) are empty values of fields the upstream lacks: not unmappable.
#[test]
fn empty_values_of_fields_the_upstream_lacks_are_not_unmappable() {
    let g = gateway();
    let (c, u) = (DialectId::HelpscoutV1, DialectId::Helpcrunch);
    let id = id_for(100, c, u);
    g.seed(u, &id, &full_customer());
    let before = stored_data(g, u, &id);
    let body = json!({"address": {"lines": [], "city": "London", "postalCode": ""}});
    let r = g.json("PUT", &customer_path(&route(c, u), c, &id), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stored_data(g, u, &id), before);

    let c = DialectId::Helpcrunch;
    for (u, body) in [
        (DialectId::HelpscoutV2, json!({"tags": []})),
        (
            DialectId::HelpscoutV1,
            json!({"tags": [], "customData": []}),
        ),
        (
            DialectId::Reach,
            json!({"tags": [], "company": "", "notes": null,
                   "customData": [{"property": "plan", "value": ""}]}),
        ),
    ] {
        let id = id_for(100, c, u);
        g.seed(u, &id, &full_customer());
        let before = stored_data(g, u, &id);
        let r = g.json("PATCH", &customer_path(&route(c, u), c, &id), &body);
        assert_eq!(r.status, 200, "{u} {body}: {}", r.text());
        assert_eq!(stored_data(g, u, &id), before, "{u} {body}");
    }

    // Reach's `customerId: null`, as a translated answer shows it, toward Help Scout.
    let (c, u) = (DialectId::Reach, DialectId::HelpscoutV2);
    let id = id_for(100, c, u);
    g.seed(u, &id, &full_customer());
    let before = stored_data(g, u, &id);
    let body = json!({"data": {"customerId": null, "createdAt": null, "smsOptOut": null}});
    let r = g.json("PATCH", &customer_path(&route(c, u), c, &id), &body);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(stored_data(g, u, &id), before);
}

/// Negative: Reach itself still refuses to delete the required `customerId`, on a same-dialect
/// route (validated by the gateway, nothing forwarded) and toward Reach from another dialect.
#[test]
fn reach_customer_id_stays_required_where_reach_stores_it() {
    let g = gateway();
    let u = DialectId::Reach;
    let id = id_for(150, u, u);
    g.seed(u, &id, &full_customer());
    let before = stored_data(g, u, &id);
    let path = customer_path(&route(u, u), u, &id);
    let r = g.json("PATCH", &path, &json!({"data": {"customerId": null}}));
    let err = dialect_error(u, &r, 400);
    assert_eq!(err.names(), ["data.customerId"], "{:?}", err);
    assert!(g.upstream_requests(u, &format!("/{id}")).is_empty());
    assert_eq!(stored_data(g, u, &id), before);

    let c = DialectId::Helpcrunch;
    let id = id_for(150, c, u);
    g.seed(u, &id, &full_customer());
    let path = customer_path(&route(c, u), c, &id);
    let r = g.json("PATCH", &path, &json!({"userId": null}));
    let err = dialect_error(c, &r, 400);
    assert_eq!(err.names(), ["userId"], "{:?}", err);
}

/// A HelpCrunch answer built from an upstream without tags shows `tags: null` (unknowable), not
/// the `[]` of a HelpCrunch customer without tags.
#[test]
fn helpcrunch_answers_show_tags_the_upstream_cannot_know_as_null() {
    let g = gateway();
    let c = DialectId::Helpcrunch;
    for u in ALL {
        let id = id_for(250, c, u);
        let mut customer = full_customer();
        customer["tags"] = Value::Null;
        g.seed(u, &id, &customer);
        let tags = get(g, c, u, &id).json()["tags"].clone();
        let want = if u == c { json!([]) } else { Value::Null };
        assert_eq!(tags, want, "{u}");
    }
}

/// Negative: a value that is not empty is still unmappable, and nothing reaches the upstream.
#[test]
fn non_empty_values_of_fields_the_upstream_lacks_stay_unmappable() {
    let g = gateway();
    for (c, u, body, field) in [
        (
            DialectId::Helpcrunch,
            DialectId::HelpscoutV2,
            json!({"tags": [{"name": "vip"}]}),
            "tags",
        ),
        (
            DialectId::HelpscoutV1,
            DialectId::Helpcrunch,
            json!({"address": {"lines": ["1 Main St"]}}),
            "address.lines",
        ),
        (
            DialectId::HelpscoutV1,
            DialectId::Helpcrunch,
            json!({"address": {"lines": [""]}}),
            "address.lines",
        ),
    ] {
        let id = id_for(200, c, u);
        g.seed(u, &id, &full_customer());
        let before = stored_data(g, u, &id);
        let path = customer_path(&route(c, u), c, &id);
        let r = g.json(crate::support::write_method(c), &path, &body);
        let err = dialect_error(c, &r, 400);
        assert!(
            err.names().iter().any(|n| n.contains(field)),
            "{c} → {u} {body}: {:?}",
            err.names()
        );
        assert_eq!(stored_data(g, u, &id), before);
    }
}

// --- items 4 and 5: one-word names -----------------------------------------------------------

fn cherilyn() -> Value {
    json!({"first_name": "Cherilyn", "last_name": "Sarkisian",
           "emails": [{"id": 0, "type": "work", "value": "cher@example.com"}]})
}

/// The sandbox's HelpCrunch (reached through a same-dialect route) stores `name` as written.
#[test]
fn sandbox_helpcrunch_stores_a_one_word_name_as_written() {
    let g = gateway();
    let c = DialectId::Helpcrunch;
    let id = id_for(300, c, c);
    g.seed(c, &id, &cherilyn());
    let path = customer_path(&route(c, c), c, &id);
    for method in ["PATCH", "PUT"] {
        let r = g.json(
            method,
            &path,
            &json!({"name": "Cher", "email": "cher@example.com"}),
        );
        assert_eq!(r.status, 200, "{method}: {}", r.text());
        assert_eq!(r.json()["name"], "Cher", "{method}");
        let stored = g.stored(c, &id).expect("stored");
        assert_eq!(stored["first_name"], "Cher", "{method}: {stored}");
        assert_eq!(stored["last_name"], Value::Null, "{method}: {stored}");
        assert_eq!(get(g, c, c, &id).json()["name"], "Cher", "{method}");
        g.seed(c, &id, &cherilyn());
    }
}

/// Toward a two-field upstream, a one-word name clears the last name.
#[test]
fn one_word_helpcrunch_name_clears_the_last_name_of_a_two_field_upstream() {
    let g = gateway();
    let c = DialectId::Helpcrunch;
    for u in [
        DialectId::HelpscoutV2,
        DialectId::HelpscoutV1,
        DialectId::Reach,
    ] {
        let id = id_for(300, c, u);
        g.seed(u, &id, &cherilyn());
        let path = customer_path(&route(c, u), c, &id);
        let r = g.json("PATCH", &path, &json!({"name": "Cher"}));
        assert_eq!(r.status, 200, "{u}: {}", r.text());
        assert_eq!(r.json()["name"], "Cher", "{u}: the answer");
        let stored = g.stored(u, &id).expect("stored");
        assert_eq!(stored["first_name"], "Cher", "{u}: {stored}");
        assert_eq!(stored["last_name"], Value::Null, "{u}: {stored}");
        assert_eq!(get(g, c, u, &id).json()["name"], "Cher", "{u}: GET");
    }
}

// --- item 8: a full replacement without e-mail removes every entry ---------------------------

#[test]
fn helpcrunch_put_without_email_removes_every_entry_of_a_multi_entry_upstream() {
    let g = gateway();
    let c = DialectId::Helpcrunch;
    for u in [DialectId::HelpscoutV2, DialectId::HelpscoutV1] {
        let id = id_for(400, c, u);
        g.seed(u, &id, &full_customer());
        let path = customer_path(&route(c, u), c, &id);
        let r = g.json("PUT", &path, &json!({"name": "Ada Lovelace"}));
        assert_eq!(r.status, 200, "{u}: {}", r.text());
        let answer = r.json();
        assert_eq!(answer["email"], Value::Null, "{u}: {answer}");
        assert_eq!(answer["phone"], Value::Null, "{u}: {answer}");
        let stored = g.stored(u, &id).expect("stored");
        assert_eq!(stored["emails"], json!([]), "{u}: {stored}");
        assert_eq!(stored["phones"], json!([]), "{u}: {stored}");
        // What a PUT does not own is untouched.
        assert_eq!(
            stored["chats"].as_array().map(Vec::len),
            Some(1),
            "{stored}"
        );
        let back = get(g, c, u, &id).json();
        assert_eq!(
            (&back["email"], &back["phone"]),
            (&Value::Null, &Value::Null)
        );

        // An explicit `null` in a PUT is the same full replacement.
        g.seed(u, &id, &full_customer());
        let body = json!({"name": "Ada Lovelace", "email": null, "phone": null});
        let r = g.json("PUT", &path, &body);
        assert_eq!(r.status, 200, "{u}: {}", r.text());
        let stored = g.stored(u, &id).expect("stored");
        assert_eq!(stored["emails"], json!([]), "{u}: {stored}");
        assert_eq!(stored["phones"], json!([]), "{u}: {stored}");
    }
}

/// A PATCH's `email: null` keeps its meaning (SPEC §2 "Primary entry"): only the first entry.
#[test]
fn helpcrunch_patch_email_null_still_removes_only_the_first_entry() {
    let g = gateway();
    let (c, u) = (DialectId::Helpcrunch, DialectId::HelpscoutV2);
    let id = id_for(500, c, u);
    g.seed(u, &id, &full_customer());
    let r = g.json(
        "PATCH",
        &customer_path(&route(c, u), c, &id),
        &json!({"email": null}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = g.stored(u, &id).expect("stored");
    let values: Vec<&str> = stored["emails"]
        .as_array()
        .expect("emails")
        .iter()
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(values, ["ada@home.example"]);
}

// --- item 9: timestamps in the client dialect's format ---------------------------------------

/// `yyyy-MM-ddTHH:mm:ssZ` exactly.
fn is_helpscout_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// What Reach writes: a record created at a whole second, rendered with milliseconds, and a
/// customer `createdAt` with an offset.
fn stamped_customer() -> Value {
    let mut v = full_customer();
    v["created_at"] = json!("2025-06-30T23:30:00.250-01:30");
    v["meta"] = json!({"record_created_at": "2026-01-01T00:00:00.000Z"});
    v
}

/// Every timestamp of an answer in client dialect `c`, with where it was found.
fn stamps(c: DialectId, answer: &Value) -> Vec<(&'static str, Value)> {
    let pick = |v: &Value, keys: &[&'static str]| -> Vec<(&'static str, Value)> {
        keys.iter().map(|k| (*k, v[*k].clone())).collect()
    };
    match c {
        DialectId::HelpscoutV2 => pick(answer, &["createdAt", "updatedAt"]),
        DialectId::HelpscoutV1 => pick(&answer["item"], &["createdAt", "modifiedAt"]),
        DialectId::Helpcrunch => pick(answer, &["firstSeen", "lastSeen"]),
        DialectId::Reach => {
            let rec = &answer["data"]["result"];
            let mut out = pick(rec, &["created_at", "createdAt", "updated_at", "updatedAt"]);
            out.push(("data.createdAt", rec["data"]["createdAt"].clone()));
            out
        }
    }
}

fn check_stamps(c: DialectId, u: DialectId, what: &str, answer: &Value) {
    for (key, v) in stamps(c, answer) {
        let Some(s) = v.as_str() else {
            assert!(v.is_null(), "{c} from {u} {what}: {key} = {v}");
            continue;
        };
        let ok = match c {
            DialectId::HelpscoutV2 | DialectId::HelpscoutV1 => is_helpscout_stamp(s),
            DialectId::Helpcrunch => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
            DialectId::Reach => patchbay::dialect::rules::is_rfc3339(s),
        };
        assert!(ok, "{c} from {u} {what}: {key} = {s:?}");
    }
    // The instant itself survives the change of format.
    let created = match c {
        DialectId::HelpscoutV2 => answer["createdAt"].clone(),
        DialectId::HelpscoutV1 => answer["item"]["createdAt"].clone(),
        DialectId::Reach => answer["data"]["result"]["created_at"].clone(),
        DialectId::Helpcrunch => return,
    };
    if u == DialectId::Helpcrunch {
        // HelpCrunch has no record timestamps.
        assert!(created.is_null(), "{c} from {u} {what}: {created}");
    } else if c == DialectId::Reach && u == DialectId::Reach {
        assert_eq!(
            created, "2026-01-01T00:00:00.000Z",
            "{what}: as Reach wrote it"
        );
    } else {
        assert_eq!(created, "2026-01-01T00:00:00Z", "{c} from {u} {what}");
    }
}

#[test]
fn every_answer_renders_timestamps_in_the_client_dialect_format() {
    let g = gateway();
    for c in ALL {
        for u in ALL {
            let id = id_for(600, c, u);
            g.seed(u, &id, &stamped_customer());
            let answer = get(g, c, u, &id).json();
            check_stamps(c, u, "GET", &answer);
            if c == DialectId::Helpcrunch && u == DialectId::Helpcrunch {
                assert_eq!(answer["firstSeen"], "1700000000");
            }
            if c == DialectId::Reach && u == DialectId::Reach {
                assert_eq!(
                    answer["data"]["result"]["data"]["createdAt"],
                    "2025-06-30T23:30:00.250-01:30"
                );
            }
            // Write answers that carry the customer.
            let (method, path) = match c {
                DialectId::HelpscoutV2 => continue,
                DialectId::HelpscoutV1 => (
                    "PUT",
                    format!("{}?reload=true", customer_path(&route(c, u), c, &id)),
                ),
                DialectId::Helpcrunch => ("PATCH", customer_path(&route(c, u), c, &id)),
                DialectId::Reach => ("PATCH", customer_path(&route(c, u), c, &id)),
            };
            let r = g.json(method, &path, &crate::support::names_body(c, "Ada", "King"));
            assert_eq!(r.status, 200, "{c} → {u}: {}", r.text());
            check_stamps(c, u, "write answer", &r.json());
        }
    }
}

/// The reported case exactly: a helpscout-v1 client with `reload=true` in front of Reach.
#[test]
fn helpscout_v1_reload_from_reach_gets_help_scout_dates() {
    let g = gateway();
    let (c, u) = (DialectId::HelpscoutV1, DialectId::Reach);
    let id = id_for(700, c, u);
    g.seed(u, &id, &stamped_customer());
    let path = format!("{}?reload=true", customer_path(&route(c, u), c, &id));
    let r = g.json("PUT", &path, &json!({"firstName": "Augusta"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let item = &r.json()["item"];
    assert_eq!(item["createdAt"], "2026-01-01T00:00:00Z", "{item}");
    let modified = item["modifiedAt"].as_str().expect("modifiedAt");
    assert!(is_helpscout_stamp(modified), "{modified}");
}
