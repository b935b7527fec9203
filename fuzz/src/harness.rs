//! The fuzz harness: one function per fuzz target, shared by the libFuzzer binaries in
//! `fuzz/fuzz_targets/` and by the replay test `tests/regression.rs` (which includes this file
//! with `#[path]`), so a saved crash is replayed through exactly the code the fuzzer ran.
//!
//! Every function takes arbitrary bytes and must return without panicking. Only the public,
//! pure API of `patchbay` is used: no sockets, no clocks, no globals.

#![allow(dead_code)]

use patchbay::canonical::{ApiError, Customer};
use patchbay::config;
use patchbay::dialect::{detect, dialect, AnswerCx, DialectId, EndpointKind};
use patchbay::translate::{self, Pair, Policy};
use std::path::Path;

/// The fuzz targets, by name (`fuzz/fuzz_targets/<name>.rs`, `tests/fixtures/fuzz-regressions/<name>/`).
pub const TARGETS: [&str; 10] = [
    "request_helpscout_v2",
    "request_helpscout_v1",
    "request_helpcrunch",
    "request_reach",
    "response_helpscout_v2",
    "response_helpscout_v1",
    "response_helpcrunch",
    "response_reach",
    "pipeline",
    "config",
];

/// Runs the target `name` on one input (`base_dir` is where the config target resolves
/// relative secret files). Unknown names do nothing.
pub fn run(name: &str, data: &[u8], base_dir: &Path) {
    match name {
        "request_helpscout_v2" => request(DialectId::HelpscoutV2, data),
        "request_helpscout_v1" => request(DialectId::HelpscoutV1, data),
        "request_helpcrunch" => request(DialectId::Helpcrunch, data),
        "request_reach" => request(DialectId::Reach, data),
        "response_helpscout_v2" => response(DialectId::HelpscoutV2, data),
        "response_helpscout_v1" => response(DialectId::HelpscoutV1, data),
        "response_helpcrunch" => response(DialectId::Helpcrunch, data),
        "response_reach" => response(DialectId::Reach, data),
        "pipeline" => pipeline(data),
        "config" => config_text(data, base_dir),
        _ => {}
    }
}

/// Customer ids the structured inputs choose from: valid for some dialects, invalid for others,
/// percent-encoded, traversal and injection shapes.
const IDS: [&str; 16] = [
    "100",
    "12345",
    "cus_demo",
    "0",
    "-1",
    "18446744073709551616",
    "1%2e5",
    "%2e%2e%2fx",
    "..%2f..%2fadmin",
    "1%0d%0aX:y",
    "%ff%fe",
    "%",
    "",
    "batch",
    "a%2Fb",
    "%F0%9F%A6%80",
];

/// Queries the structured inputs choose from.
const QUERIES: [Option<&str>; 8] = [
    None,
    Some("reload=true"),
    Some("reload=false"),
    Some("ignoreUnknownFields=true"),
    Some("ignoreUnknownFields=false"),
    Some("ignoreUnknownFields=maybe&ignoreUnknownFields=true"),
    Some("reload=%74rue&x=%ff"),
    Some(""),
];

/// `(method, path template)` of each dialect's client endpoints; `{id}` is replaced.
fn endpoints(d: DialectId) -> &'static [(&'static str, &'static str)] {
    match d {
        DialectId::HelpscoutV2 => &[
            ("PATCH", "/v2/customers/{id}"),
            ("PUT", "/v2/customers/{id}"),
            ("PATCH", "/v2/customers/{id}/properties"),
            ("GET", "/v2/customers/{id}"),
            ("POST", "/v2/oauth2/token"),
            ("DELETE", "/v2/customers/{id}"),
            // The customer entry sub-resources (issue 9).
            ("POST", "/v2/customers/{id}/emails"),
            ("PUT", "/v2/customers/{id}/phones/1001"),
            ("DELETE", "/v2/customers/{id}/chats/7"),
            ("PUT", "/v2/customers/{id}/social-profiles/1"),
            ("POST", "/v2/customers/{id}/address"),
            ("DELETE", "/v2/customers/{id}/address"),
        ],
        DialectId::HelpscoutV1 => &[
            ("PUT", "/v1/customers/{id}.json"),
            ("GET", "/v1/customers/{id}.json"),
            ("PATCH", "/v1/customers/{id}.json"),
        ],
        DialectId::Helpcrunch => &[
            ("PATCH", "/v1/customers/{id}"),
            ("PUT", "/v1/customers/{id}"),
            ("GET", "/v1/customers/{id}"),
            ("POST", "/v1/customers/{id}"),
        ],
        DialectId::Reach => &[
            ("PATCH", "/api/resources/customers/{id}"),
            ("GET", "/api/resources/customers/{id}"),
            ("PUT", "/api/resources/customers/{id}"),
        ],
    }
}

/// Splits an input into (method, path, query, body). The first byte chooses:
/// - high bit clear: a structured request — endpoint, id and query from fixed lists (the next
///   byte picks the id), the rest is the body;
/// - high bit set: a raw request line `METHOD PATH[?QUERY]` up to the first `\n`, then the body.
fn split_request(d: DialectId, data: &[u8]) -> (String, String, Option<String>, Vec<u8>) {
    let Some((&sel, rest)) = data.split_first() else {
        return (String::new(), String::new(), None, Vec::new());
    };
    if sel & 0x80 == 0 {
        let eps = endpoints(d);
        let (method, template) = eps[usize::from(sel & 0x0f) % eps.len()];
        let query = QUERIES[usize::from(sel >> 4) % QUERIES.len()].map(str::to_string);
        let (id, body) = match rest.split_first() {
            Some((&i, body)) => (IDS[usize::from(i) % IDS.len()], body),
            None => (IDS[0], rest),
        };
        (
            method.to_string(),
            template.replace("{id}", id),
            query,
            body.to_vec(),
        )
    } else {
        let (line, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let line = String::from_utf8_lossy(line);
        let (method, target) = line.split_once(' ').unwrap_or(("PATCH", &line));
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        (method.to_string(), path, query, body.to_vec())
    }
}

/// Client side of one dialect: route (and `auto` detection), decode and validate the body,
/// render the error the client would get.
pub fn request(d: DialectId, data: &[u8]) {
    let (method, path, query, body) = split_request(d, data);
    let client = dialect(d);
    let _ = detect(&method, &path);
    let ep = match client.route(&method, &path) {
        Ok(ep) => ep,
        Err(e) => {
            let _ = client.encode_error(&e);
            return;
        }
    };
    if !ep.is_write() {
        return;
    }
    match client.decode_request(&ep, query.as_deref(), &body) {
        Ok(req) => {
            let _ = client.answer_needs_customer(&ep, &req);
            let _ = client.check_target(&req.changes.changes);
        }
        Err(e) => {
            let _ = client.encode_error(&e);
        }
    }
}

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

/// Upstream side of one dialect: decode a success body and an error body, then render both for
/// every client dialect as the gateway would (translated GET answer, translated error).
pub fn response(d: DialectId, data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let status = if sel & 0x80 == 0 {
        STATUSES[usize::from(sel) % STATUSES.len()]
    } else {
        // Any status, including nonsense ones.
        u16::from(sel & 0x7f) * 7
    };
    let up = dialect(d);
    if let Some(customer) = up.decode_customer(body) {
        for c in DialectId::ALL {
            let client = dialect(c);
            for (method, template) in endpoints(c) {
                let Ok(ep) = client.route(method, &template.replace("{id}", "100")) else {
                    continue;
                };
                if ep.kind == EndpointKind::Token {
                    continue;
                }
                for reload in [false, true] {
                    let cx = AnswerCx {
                        customer_id: "100",
                        default_entry_type: "work",
                        upstream: d,
                        reload,
                        created: None,
                        location_base: "",
                    };
                    let _ = client.encode_success(&ep, Some(&customer), &cx);
                }
            }
        }
        let _ = up.encode_update("100", &[], &Default::default());
    }
    let err: ApiError = up.decode_error(status, body);
    for c in DialectId::ALL {
        let mapped = translate::map_upstream_error(err.clone(), d, c, &[]);
        let _ = dialect(c).encode_error(&mapped);
    }
}

/// Canonical states the pipeline chooses from when its input carries none (JSON, so that the
/// harness needs nothing private from the library).
const STATES: [&str; 4] = [
    "{}",
    r##"{"first_name":"Vernon","last_name":"Bear","organization":"Acme Corp",
        "emails":[{"id":1,"type":"work","value":"vernon@acme.com"},{"id":2,"type":"home","value":"v@home.example"}],
        "phones":[{"id":3,"type":"mobile","value":"+1 555 0100"}],
        "chats":[{"id":4,"type":"skype","value":"vbear"}],
        "social_profiles":[{"id":5,"type":"twitter","value":"https://twitter.com/vbear"}],
        "websites":[{"id":6,"value":"https://acme.example"}],
        "address":{"lines":["123 West Main St"],"city":"Dallas","state":"TX","postal_code":"74206","country":"US"},
        "properties":{"plan":"pro","seats":3}}"##,
    r##"{"first_name":"Alex","last_name":"Kim","emails":[{"id":1,"value":"alex@example.com"}],
        "phones":[{"id":1,"value":"+44 20 7946 0000"}],"external_id":"u-1","email_opt_out":false,
        "tags":[{"name":"vip","color":"#ff0000"}],"properties":{"tier":"gold"},"locale":"en",
        "first_seen":"1700000000","blocked":false}"##,
    r##"{"first_name":"Mary Ann","emails":[],"phones":[],"external_id":"cus_demo",
        "sms_opt_out":true,"created_at":"2024-01-02T03:04:05Z","detail_url":"https://reach.example/c/1"}"##,
];

fn states() -> Vec<Customer> {
    STATES
        .iter()
        .filter_map(|s| serde_json::from_str::<Customer>(s).ok())
        .collect()
}

/// Separates the body from an optional canonical state (JSON) in a pipeline input.
const STATE_SEPARATOR: &[u8] = b"\n--state--\n";

/// The whole pure pipeline (`translate::offline`): the input's client request against all four
/// upstream dialects, without state and with one. Input: one selector byte (client dialect,
/// policy, endpoint, id, default entry type), then the body, optionally followed by
/// `\n--state--\n` and the canonical customer as JSON.
pub fn pipeline(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let client = DialectId::ALL[usize::from(sel & 3)];
    let policy = if sel & 4 == 0 {
        Policy::Reject
    } else {
        Policy::Drop
    };
    let det = if sel & 8 == 0 { "work" } else { "home" };
    // Every write method of the dialect (the v2 entry sub-resources included, and the wrong
    // methods, which must fail cleanly); two selector bits and the input's length pick one (the
    // selector has no bits to spare).
    let eps: Vec<_> = endpoints(client)
        .iter()
        .filter(|(m, t)| *m != "GET" && !t.ends_with("/token"))
        .collect();
    let (method, template) = eps[(usize::from((sel >> 4) & 3) + 4 * (rest.len() % 4)) % eps.len()];
    let id = ["100", "12345", "cus_demo", "%2e%2e%2fx"][usize::from(sel >> 6)];
    let path = template.replace("{id}", id);
    let (body, state) = match rest
        .windows(STATE_SEPARATOR.len())
        .position(|w| w == STATE_SEPARATOR)
    {
        Some(i) => (
            &rest[..i],
            serde_json::from_slice::<Customer>(&rest[i + STATE_SEPARATOR.len()..]).ok(),
        ),
        None => (rest, None),
    };
    let state = state.unwrap_or_else(|| {
        let all = states();
        all.get(body.len() % all.len().max(1))
            .cloned()
            .unwrap_or_default()
    });
    let query = match client {
        DialectId::HelpscoutV1 if body.len() % 2 == 1 => Some("reload=true"),
        DialectId::Reach if body.len() % 2 == 1 => Some("ignoreUnknownFields=true"),
        _ => None,
    };
    for upstream in DialectId::ALL {
        let pair = Pair {
            client,
            upstream,
            policy,
            default_entry_type: det,
        };
        for st in [None, Some(&state)] {
            let out = translate::offline(&pair, method, &path, query, body, st);
            let _ = serde_json::to_vec(&out);
        }
        exchange(pair, method, &path, query, body, &state);
    }
}

/// The whole exchange as the proxy drives it (`translate::Session`), the upstream answering every
/// read with `state` in its own format and every write as its vendor does (204, or 200 with the
/// customer): it must end in an answer or an error within one read before, the planned writes
/// and one read after.
fn exchange(
    pair: Pair<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    state: &Customer,
) {
    let facts = translate::Facts {
        pair,
        location_base: "/gw",
        upstream_name: pair.upstream.as_str(),
    };
    let Ok(mut session) = translate::Session::from_wire(facts, method, path, query, body) else {
        return;
    };
    let up = pair.upstream;
    let get = patchbay::dialect::Endpoint {
        kind: EndpointKind::Get,
        customer_id: session.endpoint().customer_id.clone(),
    };
    // The vendor's own GET answer for `state`: its client-side rendering of a customer.
    let customer = dialect(up).encode_success(
        &get,
        Some(state),
        &AnswerCx {
            customer_id: &get.customer_id,
            default_entry_type: pair.default_entry_type,
            upstream: up,
            reload: false,
            created: None,
            location_base: "",
        },
    );
    let mut steps = 0;
    loop {
        let write = match session.step() {
            translate::Step::Answer(a) => {
                assert!((200..300).contains(&a.status), "a success answer: {a:?}");
                return;
            }
            translate::Step::Fail(_) => return,
            translate::Step::Read { .. } => false,
            translate::Step::Write { .. } => true,
        };
        steps += 1;
        assert!(
            steps <= 8,
            "the session does not end ({pair:?} {method} {path})"
        );
        let empty = write && up.update_success_status() == 204;
        session.feed(Ok(translate::Reply {
            status: if empty { 204 } else { 200 },
            headers: &customer.headers,
            body: if empty { &[] } else { &customer.body },
        }));
    }
}

/// `config::load_str` on arbitrary text (non-UTF-8 input is skipped: the loader takes `&str`).
pub fn config_text(data: &[u8], base_dir: &Path) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match config::load_str(text, base_dir, 1) {
        Ok(loaded) => {
            let _ = format!("{:?}", loaded.warnings);
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
