//! The gateway served by its own pingora-core `HttpServerApp` instead of `ProxyHttp` (issue 11),
//! through real sockets: what `pingora-proxy` used to do around the phases and the gateway still
//! does (400 for an unreadable header, 405 for `CONNECT`, keep-alive reuse of the downstream
//! connection, `Connection: close` and HTTP/1.0, one access-log line for a client that went
//! away), and same-dialect requests toward Bearer/Basic HTTPS upstreams, which used to stream
//! through the proxy phases and are now relayed through the gateway's client.

use crate::support::{
    gateway, https_sandbox, names_body, parse_response, raw_exchange, Gateway, Response,
};
use patchbay::dialect::DialectId;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads exactly one `Content-Length`-framed answer from a kept-alive connection.
fn read_one(s: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).expect("read an answer");
        assert!(n > 0, "connection closed before an answer");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a Content-Length");
    while raw.len() < head_end + len {
        let n = s.read(&mut buf).expect("read the body");
        assert!(n > 0, "connection closed inside the body");
        raw.extend_from_slice(&buf[..n]);
    }
    parse_response(&raw).expect("a parseable answer")
}

/// Whether the server closed the connection (EOF within two seconds).
fn closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    matches!(s.read(&mut [0u8; 64]), Ok(0))
}

fn get(path: &str, extra: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: gw\r\n{extra}\r\n").into_bytes()
}

#[test]
fn connect_is_refused_with_405() {
    let g = gateway();
    let raw = raw_exchange(
        g.port,
        b"CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n",
        Duration::from_secs(5),
    )
    .expect("an answer");
    let r = parse_response(&raw).expect("parseable");
    assert_eq!(r.status, 405, "{}", r.text());
}

#[test]
fn an_unreadable_request_header_is_400_and_the_connection_closed() {
    let g = gateway();
    let raw = raw_exchange(
        g.port,
        b"GET /t/hs2/hs2/v2/customers/100 HTTP/1.1\r\nHost: gw\r\nnot a header line\r\n\r\n",
        Duration::from_secs(5),
    )
    .expect("an answer");
    let r = parse_response(&raw).expect("parseable");
    assert_eq!(r.status, 400, "{}", r.text());
}

#[test]
fn one_connection_serves_requests_until_the_client_asks_to_close() {
    let g = gateway();
    let path = "/t/hs1/hs1/v1/customers/100.json";
    let mut s = TcpStream::connect(("127.0.0.1", g.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    for i in 0..3 {
        s.write_all(&get(path, "")).expect("write");
        let r = read_one(&mut s);
        assert_eq!(r.status, 200, "request {i} on one connection: {}", r.text());
        assert!(r.header("x-request-id").is_some(), "request {i}");
    }
    // An error answer with nothing unread keeps the connection too.
    s.write_all(&get("/nowhere", "")).expect("write");
    assert_eq!(read_one(&mut s).status, 404);
    s.write_all(&get(path, "Connection: close\r\n"))
        .expect("write");
    assert_eq!(read_one(&mut s).status, 200);
    assert!(closed(&mut s), "Connection: close must end the connection");

    // HTTP/1.0 without keep-alive: one answer, then the connection ends.
    let mut s = TcpStream::connect(("127.0.0.1", g.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: gw\r\n\r\n").as_bytes())
        .expect("write");
    assert_eq!(read_one(&mut s).status, 200);
    assert!(closed(&mut s), "HTTP/1.0 must end the connection");
}

#[test]
fn a_client_that_goes_away_mid_body_gets_one_access_log_line() {
    let g = Gateway::start();
    let id = "serve-client-gone-1";
    {
        let mut s = TcpStream::connect(("127.0.0.1", g.port)).expect("connect");
        let head = format!(
            "PATCH /t/crunch/reach/v1/customers/12345 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 200\r\nX-Request-Id: {id}\r\n\r\n{{\"name\""
        );
        s.write_all(head.as_bytes()).expect("write");
        std::thread::sleep(Duration::from_millis(200));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let log = std::fs::read_to_string(&g.stdout).unwrap_or_default();
        let lines: Vec<String> = log
            .lines()
            .filter(|l| l.contains(id))
            .map(str::to_string)
            .collect();
        if !lines.is_empty() || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // A moment more: a second line would come right after the first.
    std::thread::sleep(Duration::from_millis(300));
    let again = std::fs::read_to_string(&g.stdout)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(id))
        .count();
    assert_eq!(lines.len(), 1, "access log: {lines:?}");
    assert_eq!(again, 1, "exactly one access-log line per request");
    let line: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert_eq!(line["status"], json!(400), "{line}");
    assert_eq!(g.upstream_count(DialectId::Reach, "/12345", "PATCH"), 0);
}

#[test]
fn same_dialect_toward_https_bearer_and_basic_upstreams_is_relayed() {
    let g = Gateway::start_with(|dir, text| {
        let mut text = https_sandbox(dir, &text);
        // A Bearer HTTPS upstream where nothing listens.
        text.push_str(
            "\n[[upstream]]\nname = \"https-down\"\ndialect = \"helpcrunch\"\nurl = \"https://127.0.0.1:DEAD\"\ntls_verify = false\nconnect_timeout_ms = 500\nauth = { bearer_file = \"SECRET\" }\n\n[[route]]\nname = \"https-down\"\nclient_dialect = \"helpcrunch\"\npath_prefix = \"/https-down\"\nupstream = \"https-down\"\n",
        );
        text.replace("DEAD", &crate::support::free_port().to_string())
            .replace("SECRET", &dir.join("sandbox-secret").display().to_string())
    });
    let id = [("X-Request-Id", "serve-https-relay-1")];

    // Bearer (helpcrunch): a write, answered with the upstream's own body and our request id.
    let body =
        serde_json::to_vec(&names_body(DialectId::Helpcrunch, "Grace", "Hopper")).expect("json");
    let r = g.send(
        "PATCH",
        "/t/crunch/crunch/v1/customers/12345",
        &[("Content-Type", "application/json"), id[0]],
        Some(&body),
    );
    assert_eq!(r.status, 200, "crunch → crunch over https: {}", r.text());
    assert_eq!(r.header("x-request-id"), Some("serve-https-relay-1"));
    assert_eq!(r.json()["name"], json!("Grace Hopper"), "{}", r.text());
    assert!(r.header("keep-alive").is_none() && r.header("transfer-encoding").is_none());

    // Bearer (reach) and Basic (helpscout-v1) reads.
    let r = g.send(
        "GET",
        "/t/reach/reach/api/resources/customers/12345",
        &[],
        None,
    );
    assert_eq!(r.status, 200, "reach → reach over https: {}", r.text());
    assert_eq!(r.json()["success"], json!(true));
    let r = g.send("GET", "/t/hs1/hs1/v1/customers/100.json", &[], None);
    assert_eq!(
        r.status,
        200,
        "helpscout-v1 → helpscout-v1 over https: {}",
        r.text()
    );

    // The upstream's own error status passes through unchanged.
    let r = g.send("GET", "/t/hs1/hs1/v1/customers/999999.json", &[], None);
    assert_eq!(r.status, 404, "{}", r.text());

    // Nothing listening: 502 in the client's dialect (helpcrunch's error shape).
    let r = g.send(
        "PATCH",
        "/https-down/v1/customers/12345",
        &[("Content-Type", "application/json")],
        Some(&body),
    );
    assert_eq!(r.status, 502, "{}", r.text());
    assert!(
        r.json()["errors"].is_array(),
        "helpcrunch errors: {}",
        r.text()
    );
}
