//! Hostile input through real sockets (SPEC §10 "Bad input"): malformed, oversized, deeply
//! nested and non-UTF-8 bodies, framing tricks and hostile ids, each sent byte for byte to the
//! real gateway binary. Every case must get a clean 4xx (or a closed connection) and the
//! upstream must see **zero** requests for the customer ids used: checked in the sandbox
//! backends' request logs.
//!
//! The module runs its own gateway (not the shared one), so that the slow-body test cannot
//! disturb other modules' tests and the request logs hold only what these tests caused. Every
//! test uses its own customer ids (`92xxxxx`).

use crate::support::{parse_response, raw_exchange, Gateway, Response};
use patchbay::dialect::DialectId;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn gw() -> &'static Gateway {
    static G: OnceLock<Gateway> = OnceLock::new();
    G.get_or_init(Gateway::start)
}

/// A route per client dialect: translated (toward another dialect) and same-dialect (the
/// client's bytes are forwarded unchanged after validation, so framing matters most there).
fn write_path(route: &str, id: &str) -> (&'static str, String) {
    match route {
        "crunch>reach" => ("PATCH", format!("/t/crunch/reach/v1/customers/{id}")),
        "crunch>crunch" => ("PATCH", format!("/t/crunch/crunch/v1/customers/{id}")),
        "hs2>hs1" => ("PATCH", format!("/t/hs2/hs1/v2/customers/{id}")),
        "hs2>hs2" => ("PATCH", format!("/t/hs2/hs2/v2/customers/{id}")),
        "hs1>crunch" => ("PUT", format!("/t/hs1/crunch/v1/customers/{id}.json")),
        "hs1>hs1" => ("PUT", format!("/t/hs1/hs1/v1/customers/{id}.json")),
        "crunch>hs1" => ("PATCH", format!("/t/crunch/hs1/v1/customers/{id}")),
        "reach>hs2" => (
            "PATCH",
            format!("/t/reach/hs2/api/resources/customers/{id}"),
        ),
        "reach>reach" => (
            "PATCH",
            format!("/t/reach/reach/api/resources/customers/{id}"),
        ),
        other => panic!("unknown route {other}"),
    }
}

const ROUTES: [&str; 8] = [
    "crunch>reach",
    "crunch>crunch",
    "hs2>hs1",
    "hs2>hs2",
    "hs1>crunch",
    "hs1>hs1",
    "reach>hs2",
    "reach>reach",
];

/// Builds raw request bytes with the given extra header lines (each without CRLF).
fn raw_request(method: &str, path: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let mut s = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A JSON request with a correct `Content-Length`.
fn json_request(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    raw_request(
        method,
        path,
        &[
            "Content-Type: application/json".to_string(),
            format!("Content-Length: {}", body.len()),
        ],
        body,
    )
}

/// What came back: a parsed response, or `None` when the gateway closed the connection
/// without one (accepted for framing attacks).
fn exchange(bytes: &[u8]) -> Option<Response> {
    match raw_exchange(gw().port, bytes, Duration::from_secs(20)) {
        Ok(raw) if raw.is_empty() => None,
        Ok(raw) => Some(parse_response(&raw).unwrap_or_else(|| {
            panic!(
                "unparseable answer: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(400)])
            )
        })),
        // Reset by the peer: a closed connection.
        Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => None,
        Err(e) => panic!("no answer within 20 s: {e}"),
    }
}

/// Asserts a clean 4xx (one of `allowed`, when given) or a closed connection; returns the status.
fn assert_rejected(what: &str, r: &Option<Response>, allowed: &[u16]) -> Option<u16> {
    let r = r.as_ref()?;
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.text()
    );
    if !allowed.is_empty() {
        assert!(
            allowed.contains(&r.status),
            "{what}: expected one of {allowed:?}, got {} {}",
            r.status,
            r.text()
        );
    }
    Some(r.status)
}

/// Asserts that no sandbox backend received a request whose path mentions any needle.
fn assert_nothing_upstream(needles: &[&str]) {
    // The gateway answers before it forwards; a short pause lets any (wrong) forward land.
    std::thread::sleep(Duration::from_millis(100));
    for d in DialectId::ALL {
        for n in needles {
            let seen = gw().upstream_requests(d, n);
            assert!(
                seen.is_empty(),
                "upstream {d} received requests for {n:?}: {seen:?}"
            );
        }
    }
}

/// Sends one JSON body to every route (each with its own id) and expects a 4xx from each.
fn every_route(what: &str, base_id: u32, body: &[u8], allowed: &[u16]) {
    let mut ids = Vec::new();
    for (i, route) in ROUTES.iter().enumerate() {
        let id = format!("{}", base_id + i as u32);
        let (method, path) = write_path(route, &id);
        let r = exchange(&json_request(method, &path, body));
        assert!(r.is_some(), "{what} via {route}: connection closed");
        assert_rejected(&format!("{what} via {route}"), &r, allowed);
        ids.push(id);
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

/// A body of each dialect's shape with one value spliced in.
fn shaped(route: &str, value: &str) -> Vec<u8> {
    let client = route.split('>').next().unwrap_or("");
    match client {
        "hs2" => format!(r#"[{{"op":"replace","path":"/firstName","value":{value}}}]"#),
        "hs1" => format!(r#"{{"firstName":{value}}}"#),
        "crunch" => format!(r#"{{"name":{value}}}"#),
        _ => format!(r#"{{"data":{{"firstName":{value}}}}}"#),
    }
    .into_bytes()
}

/// Like [`every_route`], with the body built per route by [`shaped`].
fn every_route_shaped(what: &str, base_id: u32, value: &str, allowed: &[u16]) {
    let mut ids = Vec::new();
    for (i, route) in ROUTES.iter().enumerate() {
        let id = format!("{}", base_id + i as u32);
        let (method, path) = write_path(route, &id);
        let r = exchange(&json_request(method, &path, &shaped(route, value)));
        assert!(r.is_some(), "{what} via {route}: connection closed");
        assert_rejected(&format!("{what} via {route}"), &r, allowed);
        ids.push(id);
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn invalid_utf8_body_is_400() {
    every_route(
        "invalid UTF-8",
        9_200_100,
        b"{\"name\": \"\xff\xfe\xc3\x28\"}",
        &[400],
    );
    // A raw control character inside a string of each dialect's own shape.
    every_route_shaped(
        "raw control character in a value",
        9_200_120,
        "\"A\u{0}\"",
        &[400],
    );
    let mut ids = Vec::new();
    for (i, route) in ROUTES.iter().enumerate() {
        let id = format!("{}", 9_200_140 + i);
        let (method, path) = write_path(route, &id);
        let mut body = shaped(route, "\"Ada__\"");
        let at = body.windows(5).position(|w| w == b"Ada__").unwrap_or(0);
        body[at + 3] = 0xff;
        body[at + 4] = 0xc0;
        let r = exchange(&json_request(method, &path, &body));
        assert_rejected(&format!("invalid UTF-8 in a name via {route}"), &r, &[400]);
        ids.push(id);
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn json_nested_ten_thousand_levels_is_400() {
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    every_route(
        "10,000 nested arrays",
        9_200_200,
        deep_array.as_bytes(),
        &[400],
    );
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    every_route(
        "10,000 nested objects",
        9_200_220,
        deep_object.as_bytes(),
        &[400],
    );
    // Nested inside a field each dialect knows.
    let inner = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    every_route_shaped("10,000 levels in a field", 9_200_240, &inner, &[400]);
}

#[test]
fn duplicate_keys_are_rejected() {
    // The same-dialect routes forward the client's bytes: if the gateway validated one copy
    // of a key and the vendor read the other, validation would be bypassed. Both orders (the
    // invalid copy first and last) and nested objects.
    let cases: [(&str, &str); 8] = [
        (
            "hs2",
            r#"[{"op":"replace","path":"/firstName","value":"Ada","value":"x"}]"#,
        ),
        (
            "hs2",
            r#"[{"op":"replace","path":"/firstName","path":"/lastName","value":"Ada"}]"#,
        ),
        (
            "hs1",
            r#"{"firstName":"A very long first name that breaks forty characters","firstName":"Ada"}"#,
        ),
        (
            "hs1",
            r#"{"emails":[{"value":"a@b.example","location":"work","location":"nowhere"}]}"#,
        ),
        (
            "crunch",
            r#"{"email":"not an e-mail","email":"ada@example.com"}"#,
        ),
        ("crunch", r#"{"name":"Ada","name":"Ada"}"#),
        (
            "reach",
            r#"{"data":{"email":"not an e-mail"},"data":{"email":"ada@example.com"}}"#,
        ),
        ("reach", r#"{"data":{"firstName":"Ada","firstName":null}}"#),
    ];
    let mut ids = Vec::new();
    let mut n = 0;
    for route in ROUTES {
        let client = route.split('>').next().unwrap_or("");
        for (_, body) in cases.iter().filter(|(c, _)| *c == client) {
            let id = format!("{}", 9_200_300 + n);
            n += 1;
            let (method, path) = write_path(route, &id);
            let r = exchange(&json_request(method, &path, body.as_bytes()));
            assert!(r.is_some(), "duplicate keys via {route}: connection closed");
            assert_rejected(&format!("duplicate keys via {route}: {body}"), &r, &[400]);
            ids.push(id);
        }
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn huge_numbers_are_400() {
    every_route_shaped("1e400", 9_200_400, "1e400", &[400]);
    every_route_shaped("-1e400", 9_200_420, "-1e400", &[400]);
    every_route_shaped("2^70", 9_200_440, "1180591620717411303424", &[400]);
    // Where a number is expected: entry ids, timestamps, a reach boolean.
    let cases: [(&str, u32, &str, &str); 4] = [
        (
            "hs2>hs1",
            9_200_460,
            "PATCH",
            r#"[{"op":"replace","path":"/emails/1180591620717411303424/value","value":"a@b.example"}]"#,
        ),
        (
            "hs1>crunch",
            9_200_461,
            "PUT",
            r#"{"emails":[{"id":1180591620717411303424,"value":"a@b.example","location":"work"}]}"#,
        ),
        (
            "crunch>reach",
            9_200_462,
            "PATCH",
            r#"{"firstSeen":1e400,"lastSeen":1180591620717411303424}"#,
        ),
        (
            "reach>hs2",
            9_200_463,
            "PATCH",
            r#"{"data":{"emailOptOut":1180591620717411303424}}"#,
        ),
    ];
    let mut ids = Vec::new();
    for (route, id, _, body) in cases {
        let id = id.to_string();
        let (method, path) = write_path(route, &id);
        let r = exchange(&json_request(method, &path, body.as_bytes()));
        assert_rejected(&format!("huge number via {route}: {body}"), &r, &[400]);
        ids.push(id);
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn huge_string_within_the_cap_is_400() {
    // 60 KiB as a first name: under max_body_bytes (64 KiB), over the Help Scout name limit
    // (40), whether Help Scout is the client (its own rule) or the upstream (the target's
    // rule). HelpCrunch and Reach document no length limit, so between those two a 60 KiB name
    // is a legal value and is forwarded (not tested here).
    let big = format!("\"{}\"", "x".repeat(60 * 1024));
    let mut ids = Vec::new();
    for (i, route) in [
        "hs2>hs1",
        "hs2>hs2",
        "hs1>crunch",
        "hs1>hs1",
        "reach>hs2",
        "crunch>hs1",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("{}", 9_200_500 + i);
        let (method, path) = write_path(route, &id);
        let body = shaped(route, &big);
        assert!(body.len() < 65_536);
        let r = exchange(&json_request(method, &path, &body));
        assert!(r.is_some(), "60 KiB name via {route}: connection closed");
        assert_rejected(&format!("60 KiB name via {route}"), &r, &[400]);
        ids.push(id);
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn bodies_over_the_cap_are_413() {
    let (method, path) = write_path("crunch>reach", "9200600");
    let big = format!(r#"{{"notes":"{}"}}"#, "x".repeat(70 * 1024));
    // Declared length over the cap: refused before the body is read.
    let r = exchange(&json_request(method, &path, big.as_bytes()));
    assert_rejected("70 KiB with Content-Length", &r, &[413]);
    // Declared length over the cap, no body sent at all: still answered at once.
    let (method, path) = write_path("reach>reach", "9200601");
    let r = exchange(&raw_request(
        method,
        &path,
        &[
            "Content-Type: application/json".into(),
            "Content-Length: 10000000000".into(),
        ],
        b"",
    ));
    assert_rejected("Content-Length 10^10, no body", &r, &[413]);
    // Chunked, no Content-Length: counted while reading.
    for (i, route) in ["crunch>reach", "reach>reach", "hs1>hs1"]
        .iter()
        .enumerate()
    {
        let id = format!("{}", 9_200_610 + i);
        let (method, path) = write_path(route, &id);
        let mut body = Vec::new();
        for piece in big.as_bytes().chunks(8192) {
            body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n\r\n");
        let r = exchange(&raw_request(
            method,
            &path,
            &[
                "Content-Type: application/json".into(),
                "Transfer-Encoding: chunked".into(),
            ],
            &body,
        ));
        assert_rejected(&format!("70 KiB chunked via {route}"), &r, &[413]);
    }
    assert_nothing_upstream(&["9200600", "9200601", "9200610", "9200611", "9200612"]);
}

/// Reads one response from a stream that stays open (Content-Length framed, or until close).
fn read_response(s: &mut TcpStream, timeout: Duration) -> Option<Response> {
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(r) = parse_response(&out) {
            let complete = r
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .is_none_or(|n| r.body.len() >= n);
            if complete && r.status != 100 {
                return Some(r);
            }
            if r.status == 100 {
                // Drop the interim answer and keep reading.
                let end = out.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
                out.drain(..end);
                continue;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return parse_response(&out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn expect_100_continue() {
    // Oversized: refused from the headers alone, the client never has to send the body.
    let (method, path) = write_path("hs2>hs2", "9200700");
    let mut s = TcpStream::connect(("127.0.0.1", gw().port)).expect("connect");
    s.write_all(&raw_request(
        method,
        &path,
        &[
            "Content-Type: application/json".into(),
            "Content-Length: 1000000".into(),
            "Expect: 100-continue".into(),
        ],
        b"",
    ))
    .expect("write");
    let r = read_response(&mut s, Duration::from_secs(10));
    assert_rejected("Expect with 1 MB declared", &r, &[413]);
    assert!(r.is_some(), "no answer to an oversized Expect request");

    // Small and invalid: the client waits briefly for `100 Continue` (as curl does for 1 s),
    // then sends the body either way; the answer is the validation error.
    for (i, route) in ["hs2>hs2", "crunch>reach", "reach>reach"]
        .iter()
        .enumerate()
    {
        let id = format!("{}", 9_200_710 + i);
        let (method, path) = write_path(route, &id);
        let body = shaped(route, "12345");
        let mut s = TcpStream::connect(("127.0.0.1", gw().port)).expect("connect");
        s.write_all(&raw_request(
            method,
            &path,
            &[
                "Content-Type: application/json".into(),
                format!("Content-Length: {}", body.len()),
                "Expect: 100-continue".into(),
            ],
            b"",
        ))
        .expect("write");
        s.set_read_timeout(Some(Duration::from_secs(1))).ok();
        let mut peek = [0u8; 64];
        let _ = s.peek(&mut peek);
        s.write_all(&body).expect("write body");
        let r = read_response(&mut s, Duration::from_secs(10));
        assert!(r.is_some(), "Expect via {route}: no answer");
        assert_rejected(&format!("Expect via {route}"), &r, &[400]);
    }
    assert_nothing_upstream(&["9200700", "9200710", "9200711", "9200712"]);
}

#[test]
fn slow_trickling_body_does_not_hold_the_gateway() {
    // A client declares 200 bytes and trickles them one every 250 ms (a slowloris body).
    // Pingora bounds each read (60 s) but not the whole body; the gateway gives a body 10 s in
    // all (`BODY_DEADLINE`). Meanwhile the slow client must cost the gateway nothing else.
    let (method, path) = write_path("crunch>reach", "9200800");
    let mut slow = TcpStream::connect(("127.0.0.1", gw().port)).expect("connect");
    slow.write_all(&raw_request(
        method,
        &path,
        &[
            "Content-Type: application/json".into(),
            "Content-Length: 200".into(),
        ],
        b"{\"name\":",
    ))
    .expect("write head");
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        slow.write_all(b" ").expect("trickle");
        // Meanwhile other requests are answered at once.
        let t = Instant::now();
        let (m, p) = write_path("hs2>hs1", "9200801");
        let r = exchange(&json_request(m, &p, b"{}"));
        assert_rejected("request beside the slow one", &r, &[400]);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "a request beside the slow body took {:?}",
            t.elapsed()
        );
        let health = crate::support::request(gw().admin, "GET", "/healthz", &[], None);
        assert_eq!(health.status, 200);
        served += 1;
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        served >= 5,
        "only {served} requests served beside the slow body"
    );

    // The client now stops sending: the body deadline ends it with a 408 in the client's
    // dialect (HelpCrunch here) about 10 s after the body started, and the connection closes.
    let r = read_response(&mut slow, Duration::from_secs(20));
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(15),
        "slow body still open after {waited:?}"
    );
    assert!(
        r.is_some(),
        "the stalled body gets an answer, not just a closed connection"
    );
    assert_rejected("stalled body", &r, &[408]);
    assert_nothing_upstream(&["9200800", "9200801"]);
}

#[test]
fn wrong_content_types_are_415() {
    let types = [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
        Some("text/json"),
        Some("application/json-patch"),
        Some(""),
    ];
    let mut ids = Vec::new();
    for (i, ct) in types.iter().enumerate() {
        for (j, route) in ["hs2>hs2", "crunch>reach", "reach>reach", "hs1>crunch"]
            .iter()
            .enumerate()
        {
            let id = format!("{}", 9_200_900 + i * 10 + j);
            let (method, path) = write_path(route, &id);
            let body = shaped(route, "\"Ada\"");
            let mut headers = vec![format!("Content-Length: {}", body.len())];
            if let Some(ct) = ct {
                headers.push(format!("Content-Type: {ct}"));
            }
            let r = exchange(&raw_request(method, &path, &headers, &body));
            assert!(r.is_some(), "content type {ct:?} via {route}: closed");
            assert_rejected(&format!("content type {ct:?} via {route}"), &r, &[415]);
            ids.push(id);
        }
    }
    let needles: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_nothing_upstream(&needles);
}

#[test]
fn header_injection_in_ids_is_rejected() {
    let paths = [
        ("PATCH", "/t/hs2/hs2/v2/customers/1%0d%0aX:y"),
        ("PATCH", "/t/hs2/crunch/v2/customers/1%0d%0aX:y"),
        ("GET", "/t/hs2/hs2/v2/customers/1%0d%0aX:y"),
        ("PUT", "/t/hs1/hs1/v1/customers/1%0d%0aX:y.json"),
        ("PATCH", "/t/crunch/crunch/v1/customers/1%0d%0aX:y"),
        ("PATCH", "/t/reach/reach/api/resources/customers/1%0d%0aX:y"),
        ("GET", "/t/reach/reach/api/resources/customers/1%0d%0aX:y"),
        ("PATCH", "/t/reach/hs2/api/resources/customers/1%0aX:y"),
        ("GET", "/t/reach/crunch/api/resources/customers/a%00b"),
    ];
    for (method, path) in paths {
        let r = exchange(&json_request(method, path, b"{}"));
        assert!(r.is_some(), "{method} {path}: closed");
        let status = assert_rejected(&format!("{method} {path}"), &r, &[400, 404]);
        let r = r.expect("answer");
        assert!(
            r.header("x").is_none(),
            "{method} {path}: injected header came back ({status:?})"
        );
    }
    // A raw CR LF in the request line is refused by the HTTP parser.
    let r = exchange(b"GET /t/hs2/hs2/v2/customers/1\r\nX:y HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_rejected("raw CRLF in the path", &r, &[]);
    assert_nothing_upstream(&["X:y", "%0d", "%0a", "%0D", "%0A", "X%3Ay", "a%00b"]);
}

#[test]
fn path_traversal_in_ids_is_rejected() {
    let paths = [
        ("PUT", "/t/hs1/hs1/v1/customers/..%2f..%2fadmin.json"),
        ("GET", "/t/hs1/hs1/v1/customers/..%2f..%2fadmin.json"),
        ("PATCH", "/t/crunch/crunch/v1/customers/..%2f..%2fadmin"),
        ("PATCH", "/t/crunch/reach/v1/customers/..%2f..%2fadmin"),
        ("GET", "/t/crunch/crunch/v1/customers/..%2f..%2fadmin"),
        ("PATCH", "/t/hs2/hs2/v2/customers/..%2f..%2fadmin"),
        ("PATCH", "/t/reach/reach/api/resources/customers/%2e%2e%2fx"),
        ("GET", "/t/reach/reach/api/resources/customers/%2e%2e%2fx"),
        ("PATCH", "/t/reach/hs2/api/resources/customers/%2e%2e%2fx"),
        ("PATCH", "/t/reach/reach/api/resources/customers/%2e%2e"),
        ("GET", "/t/reach/reach/api/resources/customers/%2E%2E"),
        (
            "PATCH",
            "/t/reach/reach/api/resources/customers/../../admin",
        ),
        (
            "GET",
            "/t/reach/reach/api/resources/customers/%252e%252e%252fx",
        ),
        ("PATCH", "/t/crunch/reach/v1/customers/%2e%2e"),
        ("PATCH", "/t/reach/reach/api/resources/customers/..%5cx"),
        (
            "GET",
            "/t/reach/reach/api/resources/customers/%252e%252e%252fx",
        ),
    ];
    for (method, path) in paths {
        let body = if path.contains("/api/") {
            br#"{"data":{"firstName":"Ada"}}"#.as_slice()
        } else {
            br#"{"firstName":"Ada"}"#.as_slice()
        };
        let r = exchange(&json_request(method, path, body));
        assert!(r.is_some(), "{method} {path}: closed");
        assert_rejected(&format!("{method} {path}"), &r, &[400, 404]);
    }
    assert_nothing_upstream(&["admin", "..", "%2e", "%2E", "%2f", "%5c", "%252e"]);
}

/// Sends raw bytes without `Connection: close` semantics and reports the answer and whether
/// the gateway closed the connection right after it (within 3 s).
fn exchange_keepalive(bytes: &[u8]) -> (Option<Response>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", gw().port)).expect("connect");
    s.write_all(bytes).expect("write");
    let r = read_response(&mut s, Duration::from_secs(10));
    s.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let mut buf = [0u8; 1024];
    let closed = matches!(s.read(&mut buf), Ok(0) | Err(_));
    (r, closed)
}

fn keepalive_request(method: &str, path: &str, headers: &[String], body: &[u8]) -> Vec<u8> {
    let raw = raw_request(method, path, headers, body);
    let text = b"Connection: close\r\n";
    let at = raw.windows(text.len()).position(|w| w == text).unwrap_or(0);
    let mut out = raw[..at].to_vec();
    out.extend_from_slice(b"Connection: keep-alive\r\n");
    out.extend_from_slice(&raw[at + text.len()..]);
    out
}

/// A complete, valid second request hidden after the first one's body.
fn smuggled() -> Vec<u8> {
    json_request(
        "PATCH",
        "/t/reach/reach/api/resources/customers/9201099",
        br#"{"data":{"firstName":"Smuggled"}}"#,
    )
}

fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n0\r\n\r\n");
    out
}

#[test]
fn request_smuggling_shapes_are_refused() {
    // Every shape carries a valid request for customer 9201099 behind the first body: it must
    // never reach the upstream, whichever framing the gateway believes.
    let front = br#"{"data":{"firstName":"Front"}}"#;
    let route = "reach>reach";

    // Two different Content-Lengths (and list / signed values): Pingora refuses with 400.
    for (i, route) in ["reach>reach", "crunch>crunch", "hs1>hs1"]
        .iter()
        .enumerate()
    {
        let id = format!("{}", 9_201_010 + i);
        let (method, path) = write_path(route, &id);
        let mut body = shaped(route, "\"Front\"");
        let first = body.len();
        body.extend_from_slice(&smuggled());
        for lengths in [
            vec![
                format!("Content-Length: {first}"),
                format!("Content-Length: {}", body.len()),
            ],
            vec![
                format!("Content-Length: {}", body.len()),
                format!("Content-Length: {first}"),
            ],
            vec![format!("Content-Length: {first}, {}", body.len())],
            vec![format!("Content-Length: +{first}")],
        ] {
            let mut headers = vec!["Content-Type: application/json".to_string()];
            headers.extend(lengths.iter().cloned());
            let (r, _) = exchange_keepalive(&keepalive_request(method, &path, &headers, &body));
            assert_rejected(&format!("{lengths:?} via {route}"), &r, &[400]);
        }
    }

    // Content-Length with an unknown Transfer-Encoding: refused (400).
    let (method, path) = write_path(route, "9201020");
    let mut body = front.to_vec();
    body.extend_from_slice(&smuggled());
    let (r, _) = exchange_keepalive(&keepalive_request(
        method,
        &path,
        &[
            "Content-Type: application/json".into(),
            format!("Content-Length: {}", body.len()),
            "Transfer-Encoding: xchunked".into(),
        ],
        &body,
    ));
    assert_rejected("CL + unknown TE", &r, &[400]);

    // Content-Length and Transfer-Encoding: chunked together, in both orders, with the
    // smuggled request after the chunked body (CL.TE) or inside the CL window (TE.CL): 400 and
    // the connection closed (RFC 9112 §6.3 "ought to be handled as an error").
    for (i, te_first) in [false, true].into_iter().enumerate() {
        let id = format!("{}", 9_201_030 + i);
        let (method, path) = write_path(route, &id);
        let mut body = chunked(front);
        body.extend_from_slice(&smuggled());
        let mut headers = vec![
            "Content-Type: application/json".to_string(),
            format!("Content-Length: {}", front.len()),
        ];
        let te = "Transfer-Encoding: chunked".to_string();
        if te_first {
            headers.insert(0, te);
        } else {
            headers.push(te);
        }
        let (r, closed) = exchange_keepalive(&keepalive_request(method, &path, &headers, &body));
        assert_rejected(&format!("CL + TE (te_first={te_first})"), &r, &[400]);
        assert!(
            closed,
            "CL + TE (te_first={te_first}): the connection stayed open after the answer"
        );
    }
    assert_nothing_upstream(&[
        "9201099", "9201010", "9201011", "9201012", "9201020", "9201030", "9201031",
    ]);
}

#[test]
fn cl_and_te_together_are_refused() {
    for (i, route) in ROUTES.iter().enumerate() {
        let id = format!("{}", 9_201_100 + i);
        let (method, path) = write_path(route, &id);
        let front = shaped(route, "\"Front\"");
        let r = exchange(&raw_request(
            method,
            &path,
            &[
                "Content-Type: application/json".into(),
                format!("Content-Length: {}", front.len()),
                "Transfer-Encoding: chunked".into(),
            ],
            &chunked(&front),
        ));
        assert_rejected(&format!("CL + TE via {route}"), &r, &[400]);
        assert_nothing_upstream(&[&id]);
    }
}
