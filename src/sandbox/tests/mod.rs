//! Tests for the sandbox backends, driven through [`Backend::handle`] (no sockets) except for
//! the few that check the Pingora service itself. This file holds the shared helpers; the tests
//! are grouped by area in the submodules.

mod auth;
mod control;
mod helpscout_v2;
mod service;
mod vendors;

use super::*;
use serde_json::json;
use std::sync::Arc;

const SECRET: &str = "sandbox-secret";

fn backend(d: DialectId) -> Backend {
    Backend::new(d, SECRET.into())
}

fn hdrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

async fn call(
    b: &Backend,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &str,
) -> Synthetic {
    match b.handle(method, path, headers, body.as_bytes()).await {
        Reply::Respond(s) => s,
        Reply::Close => panic!("{method} {path}: connection dropped"),
    }
}

/// Sends `"METHOD /path"` with a body and checks the status it is answered with, showing the
/// body when it differs.
async fn write(
    b: &Backend,
    headers: &[(String, String)],
    request_line: &str,
    body: impl std::fmt::Display,
    status: u16,
) -> Synthetic {
    let (method, path) = request_line
        .split_once(' ')
        .unwrap_or(("GET", request_line));
    let s = call(b, method, path, headers, &body.to_string()).await;
    let text = String::from_utf8_lossy(&s.body);
    assert_eq!(s.status, status, "{request_line}: {text}");
    s
}

/// A freshly seeded backend of `d`, the vendor's credentials for it, and its answer to a read
/// of the seeded customer (checked to be a 200).
async fn seeded_read(d: DialectId) -> (Backend, Vec<(String, String)>, Synthetic) {
    let b = backend(d);
    let h = creds(&b).await;
    let read = format!("GET {}", get_path(d, seeded_id(d)));
    let s = write(&b, &h, &read, "", 200).await;
    (b, h, s)
}

fn json_of(s: &Synthetic) -> Value {
    s.json_body()
        .unwrap_or_else(|| panic!("not JSON: {}", String::from_utf8_lossy(&s.body)))
}

/// Fetches a helpscout-v2 token the way a client does (form body).
async fn v2_token(b: &Backend) -> String {
    let body = format!(
        "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret={SECRET}"
    );
    let ct = hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]);
    let s = call(b, "POST", "/v2/oauth2/token", &ct, &body).await;
    assert_eq!(s.status, 200, "{:?}", s);
    let v = json_of(&s);
    v["access_token"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no token in {v}"))
}

/// The right credentials for a backend, the vendor's way, plus a JSON content type.
async fn creds(b: &Backend) -> Vec<(String, String)> {
    let auth = match b.dialect() {
        DialectId::HelpscoutV2 => format!("Bearer {}", v2_token(b).await),
        DialectId::HelpscoutV1 => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:X"))
        ),
        DialectId::Helpcrunch | DialectId::Reach => format!("Bearer {SECRET}"),
    };
    hdrs(&[
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ])
}

/// A read path the vendor serves for customer `id`.
fn get_path(d: DialectId, id: &str) -> String {
    match d {
        DialectId::HelpscoutV2 => format!("/v2/customers/{id}"),
        DialectId::HelpscoutV1 => format!("/v1/customers/{id}.json"),
        DialectId::Helpcrunch => format!("/v1/customers/{id}"),
        DialectId::Reach => format!("/api/resources/customers/{id}"),
    }
}

fn seeded_id(d: DialectId) -> &'static str {
    match d {
        DialectId::HelpscoutV2 | DialectId::HelpscoutV1 => "100",
        DialectId::Helpcrunch | DialectId::Reach => "12345",
    }
}
