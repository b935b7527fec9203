//! The access log an operator expects and the per-upstream in-flight bound (issue 12 §2),
//! through real sockets: the gateway binary, its sandbox upstreams, its stdout.
//!
//! - every access-log field: client address (`X-Forwarded-For` believed only from
//!   `trusted_proxies`), endpoint kind, upstream name and status, bytes in and out, user agent,
//!   request id and `traceparent`, rounded durations;
//! - `X-Request-Id` and `traceparent` taken from the client (or made up), passed to the
//!   upstream on the translated, relayed and streamed paths, and `X-Request-Id` answered;
//! - helpscout-v2 `logRef` = request id = `X-Request-Id` = the log line's `request_id`;
//! - `max_inflight`: a slow upstream gets no more than its bound, the rest is answered 503 in
//!   the client's dialect with nothing sent, counted, while other upstreams keep serving.

use crate::support::{customer_path, dialect_error, gateway, Gateway, Response};
use patchbay::dialect::DialectId;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The access-log line whose `request_id` is `id` (waits for it: the line is written after the
/// answer).
fn log_line(g: &Gateway, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&g.stdout).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["request_id"] == id);
        if let Some(v) = found {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "no access-log line with request_id {id}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The logged correlation headers of the single upstream request whose path mentions `needle`.
fn upstream_headers(g: &Gateway, d: DialectId, needle: &str) -> Value {
    let reqs = g.upstream_requests(d, needle);
    assert_eq!(reqs.len(), 1, "{d} {needle}: {reqs:?}");
    reqs[0]["headers"].clone()
}

fn seed(g: &Gateway, d: DialectId, id: &str) {
    g.seed(
        d,
        id,
        &json!({"first_name": "Ada", "last_name": "Lovelace"}),
    );
}

/// A gateway whose `[server]` trusts loopback proxies.
fn trusting_gateway() -> Gateway {
    Gateway::start_with(|_, text| {
        text.replacen(
            "token_ttl_secs = 600\n",
            "token_ttl_secs = 600\ntrusted_proxies = [\"127.0.0.0/8\", \"::1\"]\n",
            1,
        )
    })
}

/// At most three decimals: durations are rounded, not printed with float noise.
fn rounded_ms(v: &Value) -> bool {
    v.as_f64().is_some_and(|f| {
        let s = v.to_string();
        f >= 0.0 && s.split_once('.').is_none_or(|(_, d)| d.len() <= 3)
    })
}

#[test]
fn access_line_names_client_endpoint_upstream_bytes_and_ids() {
    let g = trusting_gateway();
    seed(&g, DialectId::Helpcrunch, "9101");
    let body = serde_json::to_vec(&json!([
        {"op": "replace", "path": "/firstName", "value": "Grace"},
    ]))
    .expect("json");
    let r = g.send(
        "PATCH",
        "/t/hs2/crunch/v2/customers/9101",
        &[
            ("Content-Type", "application/json"),
            ("X-Request-Id", "op-test-9101"),
            ("traceparent", TRACEPARENT),
            ("User-Agent", "help-scout-sdk/3.1 (php)"),
            ("X-Forwarded-For", "203.0.113.7, 127.0.0.1"),
        ],
        Some(&body),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("x-request-id"), Some("op-test-9101"));
    let a = log_line(&g, "op-test-9101");
    assert_eq!(a["traceparent"], TRACEPARENT, "{a}");
    // The peer (127.0.0.1) is trusted: the first untrusted hop from the right is the client.
    assert_eq!(a["client_addr"], "203.0.113.7", "{a}");
    assert_eq!(a["peer_addr"], "127.0.0.1", "{a}");
    assert_eq!(a["method"], "PATCH");
    assert_eq!(a["endpoint"], "update", "{a}");
    assert_eq!(a["route"], "t-helpscout-v2-helpcrunch");
    assert_eq!(a["upstream"], "crunch", "{a}");
    assert_eq!(
        a["upstream_status"], 200,
        "HelpCrunch answers its PATCH 200: {a}"
    );
    assert_eq!(a["status"], 204);
    assert_eq!(a["bytes_in"], body.len(), "{a}");
    assert_eq!(a["bytes_out"], 0, "{a}");
    assert_eq!(a["user_agent"], "help-scout-sdk/3.1 (php)");
    assert!(rounded_ms(&a["duration_ms"]), "{a}");
    assert!(rounded_ms(&a["upstream_ms"]), "{a}");
    assert!(a["translate_us"].is_u64(), "whole µs: {a}");

    // A translated GET: bytes out are the body the client got.
    let r = g.send(
        "GET",
        "/t/reach/crunch/api/resources/customers/9101",
        &[("X-Request-Id", "op-test-9101-get")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let b = log_line(&g, "op-test-9101-get");
    assert_eq!(b["endpoint"], "get", "{b}");
    assert_eq!(b["bytes_in"], 0);
    assert_eq!(b["bytes_out"], r.body.len(), "{b}");
    assert_eq!(b["upstream_status"], 200);
    // No X-Forwarded-For: the peer itself.
    assert_eq!(b["client_addr"], "127.0.0.1", "{b}");
    assert!(b["user_agent"].is_null(), "{b}");

    // Refused before anything was sent: an upstream named (the route's), no upstream status.
    let r = g.send(
        "PATCH",
        "/t/hs2/crunch/v2/customers/9101",
        &[
            ("Content-Type", "text/plain"),
            ("X-Request-Id", "op-test-9101-415"),
        ],
        Some(b"x"),
    );
    assert_eq!(r.status, 415);
    let c = log_line(&g, "op-test-9101-415");
    assert_eq!(c["upstream"], "crunch");
    assert!(c["upstream_status"].is_null(), "{c}");
    assert_eq!(c["outcome"], "media_type");
    // No route at all: no endpoint, no upstream.
    let r = g.send("GET", "/nowhere", &[("X-Request-Id", "op-test-404")], None);
    assert_eq!(r.status, 404);
    let d = log_line(&g, "op-test-404");
    assert_eq!(
        (&d["endpoint"], &d["upstream"], &d["upstream_status"]),
        (&json!("none"), &json!("none"), &Value::Null),
        "{d}"
    );
    // The upstream's own error status is logged next to the client's.
    let r = g.send(
        "GET",
        "/t/reach/crunch/api/resources/customers/9199",
        &[("X-Request-Id", "op-test-9199")],
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let e = log_line(&g, "op-test-9199");
    assert_eq!(e["upstream_status"], 404, "{e}");
}

#[test]
fn forwarded_for_is_not_believed_from_an_untrusted_peer() {
    // The shared gateway trusts no proxy.
    let g = gateway();
    let r = g.send(
        "GET",
        "/nowhere/at/all",
        &[
            ("X-Request-Id", "xff-untrusted-1"),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
        None,
    );
    assert_eq!(r.status, 404);
    let a = log_line(g, "xff-untrusted-1");
    assert_eq!(a["client_addr"], "127.0.0.1", "{a}");
    assert_eq!(a["peer_addr"], "127.0.0.1", "{a}");
}

#[test]
fn request_id_and_traceparent_reach_the_upstream_on_every_path() {
    let g = gateway();
    // (client path, upstream backend, needle in the upstream path): translated, streamed
    // (same dialect, bearer upstream) and relayed (same dialect, OAuth upstream).
    let cases = [
        (
            customer_path("/t/hs2/crunch", DialectId::HelpscoutV2, "9201"),
            DialectId::Helpcrunch,
            "9201",
        ),
        (
            customer_path("/t/crunch/crunch", DialectId::Helpcrunch, "9202"),
            DialectId::Helpcrunch,
            "9202",
        ),
        (
            customer_path("/t/hs2/hs2", DialectId::HelpscoutV2, "9203"),
            DialectId::HelpscoutV2,
            "9203",
        ),
    ];
    for (i, (path, backend, id)) in cases.iter().enumerate() {
        seed(g, *backend, id);
        let rid = format!("corr-{i}-{id}");
        let r = g.send(
            "GET",
            path,
            &[
                ("X-Request-Id", &rid),
                ("traceparent", TRACEPARENT),
                ("tracestate", "rojo=00f067aa0ba902b7"),
            ],
            None,
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("x-request-id"), Some(rid.as_str()), "{path}");
        let h = upstream_headers(g, *backend, id);
        assert_eq!(h["x-request-id"], rid.as_str(), "{path}: {h}");
        assert_eq!(h["traceparent"], TRACEPARENT, "{path}: {h}");
        assert_eq!(h["tracestate"], "rojo=00f067aa0ba902b7", "{path}: {h}");
        assert_eq!(log_line(g, &rid)["traceparent"], TRACEPARENT);
    }

    // Invalid or absent: replaced by the gateway's own, the same values logged, passed on and
    // answered; the client's tracestate goes with its refused traceparent.
    for (path, backend, id) in [
        (
            customer_path("/t/hs2/crunch", DialectId::HelpscoutV2, "9211"),
            DialectId::Helpcrunch,
            "9211",
        ),
        (
            customer_path("/t/crunch/crunch", DialectId::Helpcrunch, "9212"),
            DialectId::Helpcrunch,
            "9212",
        ),
        (
            customer_path("/t/hs2/hs2", DialectId::HelpscoutV2, "9213"),
            DialectId::HelpscoutV2,
            "9213",
        ),
    ] {
        seed(g, backend, id);
        let bad_tp = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        let r = g.send(
            "GET",
            &path,
            &[
                ("X-Request-Id", "has spaces \"and quotes\""),
                ("traceparent", bad_tp),
                ("tracestate", "rojo=1"),
            ],
            None,
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let rid = r.header("x-request-id").expect("x-request-id").to_string();
        assert!(uuid::Uuid::parse_str(&rid).is_ok(), "{path}: {rid}");
        let h = upstream_headers(g, backend, id);
        assert_eq!(h["x-request-id"], rid.as_str(), "{path}: {h}");
        let tp = h["traceparent"].as_str().expect("traceparent").to_string();
        assert_ne!(tp, bad_tp);
        assert!(
            tp.len() == 55 && tp.starts_with("00-") && tp.ends_with("-00"),
            "{path}: {tp}"
        );
        assert!(h.get("tracestate").is_none(), "{path}: {h}");
        let line = log_line(g, &rid);
        assert_eq!(line["traceparent"], tp.as_str());
    }
}

#[test]
fn request_ids_are_unique_uuids_when_the_client_sends_none() {
    let g = gateway();
    let ids: Vec<String> = (0..20)
        .map(|_| {
            let r = g.send("GET", "/nowhere", &[], None);
            r.header("x-request-id").expect("x-request-id").to_string()
        })
        .collect();
    for id in &ids {
        let u = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(u.get_version_num(), 8, "{id}");
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    // Another replica (process) draws another prefix: its ids never collide with these.
    let other = Gateway::start();
    let r = other.send("GET", "/nowhere", &[], None);
    let theirs = r.header("x-request-id").expect("x-request-id");
    assert_ne!(theirs[..18], ids[0][..18], "{theirs} vs {}", ids[0]);
}

/// A helpscout-v2 error: its `logRef` is the answer's `X-Request-Id` and the log line's id.
fn log_ref(r: &Response) -> String {
    r.json()["logRef"].as_str().expect("logRef").to_string()
}

#[test]
fn log_ref_is_the_request_id() {
    let g = gateway();
    let body = serde_json::to_vec(&json!([
        {"op": "replace", "path": "/firstName", "value": ""},
    ]))
    .expect("json");
    let r = g.send(
        "PATCH",
        "/t/hs2/crunch/v2/customers/9301",
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    dialect_error(DialectId::HelpscoutV2, &r, 400);
    let header = r.header("x-request-id").expect("x-request-id").to_string();
    assert_eq!(log_ref(&r), header);
    assert_eq!(log_line(g, &header)["status"], 400);

    // The client's own id, on an error of the gateway's (404) and after an upstream error.
    let r = g.send(
        "GET",
        "/t/hs2/crunch/v2/customers/9399",
        &[("X-Request-Id", "client-chosen-9399")],
        None,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(log_ref(&r), "client-chosen-9399");
    assert_eq!(r.header("x-request-id"), Some("client-chosen-9399"));
    assert_eq!(log_line(g, "client-chosen-9399")["upstream_status"], 404);
}

#[test]
fn a_slow_upstream_gets_at_most_max_inflight_and_others_keep_serving() {
    let g = Gateway::start_with(|dir, text| {
        let reach_port = text
            .split("reach = \"127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("reach sandbox port")
            .to_string();
        format!(
            "{text}\n[[upstream]]\nname = \"slow\"\ndialect = \"reach\"\n\
             url = \"http://127.0.0.1:{reach_port}\"\n\
             auth = {{ bearer_file = \"{dir}/sandbox-secret\" }}\nmax_inflight = 1\n\n\
             [[route]]\nname = \"slow-crunch\"\nclient_dialect = \"helpcrunch\"\n\
             path_prefix = \"/slow/crunch\"\nupstream = \"slow\"\n\n\
             [[route]]\nname = \"slow-reach\"\nclient_dialect = \"reach\"\n\
             path_prefix = \"/slow/reach\"\nupstream = \"slow\"\n",
            dir = dir.display(),
        )
    });
    for id in ["9401", "9402", "9403"] {
        seed(&g, DialectId::Reach, id);
    }
    seed(&g, DialectId::Helpcrunch, "9404");
    g.fault(
        DialectId::Reach,
        &json!({"delay_ms": 1500, "count": 1, "matching": "GET /api/resources/customers/9401"}),
    );
    let port = g.port;
    let holder = std::thread::spawn(move || {
        crate::support::request(port, "GET", "/slow/crunch/v1/customers/9401", &[], None)
    });
    // Wait until the slow request is at the upstream.
    let deadline = Instant::now() + Duration::from_secs(5);
    while g.upstream_requests(DialectId::Reach, "9401").is_empty() {
        assert!(Instant::now() < deadline, "the slow request never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        g.metrics()
            .contains("patchbay_upstream_inflight{upstream=\"slow\"} 1"),
        "{}",
        g.metrics()
    );

    // Translated and streamed requests toward the busy upstream: 503 in the client's dialect,
    // at once, nothing sent.
    let t = Instant::now();
    let r = g.send("GET", "/slow/crunch/v1/customers/9402", &[], None);
    let e = dialect_error(DialectId::Helpcrunch, &r, 503);
    assert!(e.fields[0].1.contains("slow"), "{e:?}");
    let r = g.send("GET", "/slow/reach/api/resources/customers/9403", &[], None);
    let e = dialect_error(DialectId::Reach, &r, 503);
    assert!(
        e.headline.as_deref().is_some_and(|m| m.contains("busy")),
        "{e:?}"
    );
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    assert!(g.upstream_requests(DialectId::Reach, "9402").is_empty());
    assert!(g.upstream_requests(DialectId::Reach, "9403").is_empty());
    // Other upstreams keep serving meanwhile.
    let r = g.send("GET", "/t/crunch/crunch/v1/customers/9404", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = g.send("GET", "/t/crunch/reach/v1/customers/9402", &[], None);
    assert_eq!(
        r.status,
        200,
        "another upstream on the same backend: {}",
        r.text()
    );

    let held = holder.join().expect("holder");
    assert_eq!(held.status, 200, "{}", held.text());
    let m = g.metrics();
    assert!(
        m.contains("patchbay_upstream_inflight_refused_total{upstream=\"slow\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("patchbay_upstream_inflight_refused_total{upstream=\"crunch\"} 0"),
        "initialised at zero: {m}"
    );
    // The slot came back: the bound admits the next request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !g
        .metrics()
        .contains("patchbay_upstream_inflight{upstream=\"slow\"} 0")
    {
        assert!(Instant::now() < deadline, "slot not released");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = g.send("GET", "/slow/reach/api/resources/customers/9403", &[], None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = g.send(
        "GET",
        "/slow/crunch/v1/customers/9402",
        &[("X-Request-Id", "after-slow")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(log_line(&g, "after-slow")["upstream"], "slow");
}
