//! Tests for the sandbox backends, driven through [`Backend::handle`] (no sockets) except for
//! the few that check the Pingora service itself.

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

// --- auth ------------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_refuses_missing_and_wrong_credentials_with_401() {
    for d in DialectId::ALL {
        let b = backend(d);
        let path = get_path(d, seeded_id(d));
        let wrong_basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("not-the-key:X")
        );
        for auth in [
            None,
            Some("Bearer nope"),
            Some(wrong_basic.as_str()),
            Some("Bearer"),
        ] {
            let h = auth.map_or_else(Vec::new, |a| hdrs(&[("Authorization", a)]));
            let s = call(&b, "GET", &path, &h, "").await;
            assert_eq!(s.status, 401, "{d} with {auth:?}");
        }
        let ok = call(&b, "GET", &path, &creds(&b).await, "").await;
        assert_ne!(ok.status, 401, "{d} with the right credentials");
    }
}

#[tokio::test]
async fn sandbox_v1_accepts_any_password_and_rejects_the_key_as_password() {
    let b = backend(DialectId::HelpscoutV1);
    let path = get_path(DialectId::HelpscoutV1, "100");
    let enc = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    let any_pw = hdrs(&[("Authorization", &enc(&format!("{SECRET}:whatever")))]);
    assert_ne!(call(&b, "GET", &path, &any_pw, "").await.status, 401);
    let swapped = hdrs(&[("Authorization", &enc(&format!("X:{SECRET}")))]);
    assert_eq!(call(&b, "GET", &path, &swapped, "").await.status, 401);
}

#[tokio::test]
async fn sandbox_bearer_vendors_do_not_accept_basic_or_the_v2_scheme_mixup() {
    for d in [DialectId::Helpcrunch, DialectId::Reach] {
        let b = backend(d);
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:X"))
        );
        let s = call(
            &b,
            "GET",
            &get_path(d, "12345"),
            &hdrs(&[("Authorization", &basic)]),
            "",
        )
        .await;
        assert_eq!(s.status, 401, "{d}");
    }
}

// --- helpscout-v2 token flow -----------------------------------------------------------------

#[tokio::test]
async fn sandbox_v2_token_flow_form_and_json() {
    let b = backend(DialectId::HelpscoutV2);
    let token = v2_token(&b).await;
    assert_eq!(token.len(), 32);

    let json_body = json!({
        "grant_type": "client_credentials",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SECRET,
    })
    .to_string();
    let s = call(
        &b,
        "POST",
        "/v2/oauth2/token",
        &hdrs(&[("Content-Type", "application/json")]),
        &json_body,
    )
    .await;
    assert_eq!(s.status, 200);
    let v = json_of(&s);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 7200);
    let second = v["access_token"].as_str().unwrap_or_default().to_string();
    assert_ne!(second, token, "every token is fresh");

    // Both tokens work; an unknown one does not.
    for t in [&token, &second] {
        let h = hdrs(&[("Authorization", &format!("Bearer {t}"))]);
        let s = call(&b, "GET", "/v2/customers/100", &h, "").await;
        assert_ne!(s.status, 401);
    }
    let h = hdrs(&[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")]);
    assert_eq!(
        call(&b, "GET", "/v2/customers/100", &h, "").await.status,
        401
    );

    // Revoking invalidates issued tokens (a client must fetch a new one).
    b.revoke_tokens();
    let h = hdrs(&[("Authorization", &format!("Bearer {token}"))]);
    assert_eq!(
        call(&b, "GET", "/v2/customers/100", &h, "").await.status,
        401
    );
}

#[tokio::test]
async fn sandbox_v2_token_errors_use_the_oauth_body() {
    let b = backend(DialectId::HelpscoutV2);
    let form = hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]);
    let cases = [
        (
            format!(
                "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret=wrong"
            ),
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=client_credentials&client_id=someone&client_secret={SECRET}"),
            401,
            "invalid_client",
        ),
        (
            format!("grant_type=password&client_id={SANDBOX_CLIENT_ID}&client_secret={SECRET}"),
            400,
            "unsupported_grant_type",
        ),
        (
            format!("client_id={SANDBOX_CLIENT_ID}&client_secret={SECRET}"),
            400,
            "invalid_request",
        ),
    ];
    for (body, status, error) in cases {
        let s = call(&b, "POST", "/v2/oauth2/token", &form, &body).await;
        assert_eq!(s.status, status, "{body}");
        let v = json_of(&s);
        assert_eq!(v["error"], error, "{body}");
        assert!(v["error_description"].is_string());
    }
    let s = call(&b, "GET", "/v2/oauth2/token", &form, "").await;
    assert_eq!(s.status, 405);
    // A percent-encoded secret decodes before comparison.
    let b2 = Backend::new(DialectId::HelpscoutV2, "a b&c".into());
    let body = format!(
        "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret=a+b%26c"
    );
    assert_eq!(
        call(&b2, "POST", "/v2/oauth2/token", &form, &body)
            .await
            .status,
        200
    );
}

// --- control endpoints -----------------------------------------------------------------------

#[tokio::test]
async fn sandbox_control_put_get_delete_customer() {
    let b = Backend::empty(DialectId::Reach, SECRET.into());
    let none = Vec::new();
    let s = call(&b, "GET", "/__sandbox/customers/c-1", &none, "").await;
    assert_eq!(s.status, 404);

    let seed = json!({"first_name": "Ada", "last_name": "Lovelace", "external_id": "c-1",
        "emails": [{"id": 0, "value": "ada@example.com"}, {"id": 0, "value": "second@example.com"}],
        "chats": [{"id": 0, "type": "skype", "value": "ada"}]});
    let s = call(
        &b,
        "PUT",
        "/__sandbox/customers/c-1",
        &none,
        &seed.to_string(),
    )
    .await;
    assert_eq!(s.status, 201);
    let stored = json_of(&call(&b, "GET", "/__sandbox/customers/c-1", &none, "").await);
    assert_eq!(stored["first_name"], "Ada");
    // Reach holds one e-mail, as entry 1, and no chats.
    assert_eq!(
        stored["emails"],
        json!([{"id": 1, "value": "ada@example.com"}])
    );
    assert_eq!(stored["chats"], json!([]));
    assert!(stored["meta"]["id"].as_str().is_some_and(|s| s.len() == 36));

    let s = call(
        &b,
        "PUT",
        "/__sandbox/customers/c-1",
        &none,
        &seed.to_string(),
    )
    .await;
    assert_eq!(s.status, 200, "replacing answers 200");
    let s = call(&b, "PUT", "/__sandbox/customers/c-1", &none, "[1]").await;
    assert_eq!(s.status, 400);

    let s = call(&b, "DELETE", "/__sandbox/customers/c-1", &none, "").await;
    assert_eq!(s.status, 204);
    assert!(b.customer("c-1").is_none());
    let s = call(&b, "DELETE", "/__sandbox/customers/c-1", &none, "").await;
    assert_eq!(s.status, 404);
    assert!(b.requests().is_empty(), "control calls are not logged");
}

#[tokio::test]
async fn sandbox_control_unknown_paths_and_methods() {
    let b = backend(DialectId::Helpcrunch);
    let none = Vec::new();
    assert_eq!(
        call(&b, "GET", "/__sandbox/nothing", &none, "")
            .await
            .status,
        404
    );
    assert_eq!(
        call(&b, "GET", "/__sandbox/reset", &none, "").await.status,
        405
    );
    assert_eq!(
        call(&b, "POST", "/__sandbox/customers/1", &none, "")
            .await
            .status,
        405
    );
    let info = json_of(&call(&b, "GET", "/__sandbox/info", &none, "").await);
    assert_eq!(info["dialect"], "helpcrunch");
}

#[tokio::test]
async fn sandbox_request_log_records_presented_credentials_and_reset_clears() {
    let b = backend(DialectId::Reach);
    let h = hdrs(&[
        ("Authorization", "Bearer client-token"),
        ("Content-Type", "application/json"),
        ("Reach-Tenant-Id", "tenant-7"),
        ("X-Other", "not logged"),
    ]);
    let s = call(&b, "GET", "/api/resources/customers/12345?x=1", &h, "hello").await;
    assert_eq!(s.status, 401);
    let log = json_of(&call(&b, "GET", "/__sandbox/requests", &[], "").await);
    assert_eq!(
        log,
        json!([{
            "seq": 1,
            "method": "GET",
            "path": "/api/resources/customers/12345?x=1",
            "headers": {"authorization": "Bearer client-token",
                        "content-type": "application/json",
                        "reach-tenant-id": "tenant-7"},
            "body": "hello",
            "fault": null,
            "status": 401,
        }])
    );

    let s = call(&b, "POST", "/__sandbox/reset", &[], "").await;
    assert_eq!(s.status, 204);
    assert!(b.requests().is_empty());
    assert!(b.customer("12345").is_none(), "reset empties the store");
    call(&b, "POST", "/__sandbox/reset?seed=true", &[], "").await;
    assert!(
        b.customer("12345").is_some(),
        "reset?seed=true restores the demo data"
    );
}

// --- faults ----------------------------------------------------------------------------------

async fn set_fault(b: &Backend, fault: Value) {
    let s = call(b, "POST", "/__sandbox/faults", &[], &fault.to_string()).await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
}

#[tokio::test]
async fn sandbox_fault_canned_status_body_and_count() {
    let b = backend(DialectId::Helpcrunch);
    let h = creds(&b).await;
    set_fault(
        &b,
        json!({"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html", "count": 2}),
    )
    .await;
    for _ in 0..2 {
        let s = call(&b, "GET", "/v1/customers/12345", &h, "").await;
        assert_eq!(s.status, 502);
        assert_eq!(&s.body[..], b"<html>bad gateway</html>");
        assert_eq!(s.header("content-type"), Some("text/html"));
    }
    let s = call(&b, "GET", "/v1/customers/12345", &h, "").await;
    assert_ne!(s.status, 502, "count exhausted");
    let log = b.requests();
    assert_eq!(log.len(), 3, "faulted requests are logged too");
    assert_eq!(log[0].fault, Some("status"));
    assert_eq!(log[0].status, Some(502));
    assert_eq!(log[2].fault, None);
}

#[tokio::test]
async fn sandbox_fault_without_count_lasts_until_cleared_and_status_alone_uses_vendor_body() {
    let b = backend(DialectId::Reach);
    let h = creds(&b).await;
    set_fault(&b, json!({"status": 503})).await;
    for _ in 0..3 {
        let s = call(&b, "GET", "/api/resources/customers/12345", &h, "").await;
        assert_eq!(s.status, 503);
        let v = json_of(&s);
        assert_eq!(v["success"], false, "reach's error envelope: {v}");
    }
    call(&b, "DELETE", "/__sandbox/faults", &[], "").await;
    let s = call(&b, "GET", "/api/resources/customers/12345", &h, "").await;
    assert_eq!(s.status, 200);
}

#[tokio::test]
async fn sandbox_fault_rate_limit_sets_the_vendor_retry_header() {
    for (d, header) in [
        (DialectId::HelpscoutV2, "X-RateLimit-Retry-After"),
        (DialectId::HelpscoutV1, "Retry-After"),
        (DialectId::Helpcrunch, "Retry-After"),
        (DialectId::Reach, "Retry-After"),
    ] {
        let b = backend(d);
        set_fault(&b, json!({"rate_limit_retry_after": 7, "count": 1})).await;
        let s = call(&b, "GET", &get_path(d, seeded_id(d)), &[], "").await;
        assert_eq!(s.status, 429, "{d}");
        assert_eq!(s.header(header), Some("7"), "{d}: {:?}", s.headers);
        assert_eq!(b.requests()[0].fault, Some("rate_limit"));
    }
}

#[tokio::test]
async fn sandbox_fault_delay_then_normal_answer() {
    let b = backend(DialectId::Reach);
    let h = creds(&b).await;
    set_fault(&b, json!({"delay_ms": 150, "count": 1})).await;
    let start = Instant::now();
    let s = call(&b, "GET", "/api/resources/customers/12345", &h, "").await;
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(s.status, 200);
    assert_eq!(b.requests()[0].fault, Some("delay"));
}

#[tokio::test]
async fn sandbox_fault_close_drops_the_connection_and_bad_faults_are_refused() {
    let b = backend(DialectId::Helpcrunch);
    set_fault(&b, json!({"close": true, "count": 1})).await;
    let r = b.handle("GET", "/v1/customers/12345", &[], b"").await;
    assert_eq!(r, Reply::Close);
    assert_eq!(b.requests()[0].fault, Some("close"));
    assert_eq!(b.requests()[0].status, None);
    for bad in [
        json!({}),
        json!({"status": 42}),
        json!({"status": 500, "count": 0}),
        json!({"status": 500, "retry": 1}),
    ] {
        let s = call(&b, "POST", "/__sandbox/faults", &[], &bad.to_string()).await;
        assert_eq!(s.status, 400, "{bad}");
    }
}

// --- reach -----------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_reach_get_update_and_read_back() {
    let b = backend(DialectId::Reach);
    let h = creds(&b).await;
    let s = call(&b, "GET", "/api/resources/customers/12345", &h, "").await;
    assert_eq!(s.status, 200);
    let v = json_of(&s);
    assert_eq!(v["data"]["result"]["data"]["firstName"], "Priya");
    assert_eq!(v["data"]["result"]["resource_external_id"], "12345");
    let created = v["data"]["result"]["created_at"].clone();

    let body = json!({"data": {"firstName": "Pri", "email": "pri@example.com", "phone": null}});
    let s = call(
        &b,
        "PATCH",
        "/api/resources/customers/12345",
        &h,
        &body.to_string(),
    )
    .await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    let v = json_of(&s);
    assert_eq!(v["message"], "Customer updated");
    assert_eq!(v["data"]["result"]["data"]["firstName"], "Pri");
    assert_eq!(v["data"]["result"]["data"]["lastName"], "Natarajan");
    assert_eq!(v["data"]["result"]["data"]["phone"], Value::Null);
    assert_eq!(v["data"]["result"]["created_at"], created);

    let stored = json_of(&call(&b, "GET", "/__sandbox/customers/12345", &[], "").await);
    assert_eq!(stored["first_name"], "Pri");
    assert_eq!(
        stored["emails"],
        json!([{"id": 1, "value": "pri@example.com"}])
    );
    assert_eq!(stored["phones"], json!([]));
    let again = json_of(&call(&b, "GET", "/api/resources/customers/12345", &h, "").await);
    assert_eq!(again["data"]["result"]["data"]["email"], "pri@example.com");
}

#[tokio::test]
async fn sandbox_reach_patch_upserts_unknown_customer() {
    let b = Backend::empty(DialectId::Reach, SECRET.into());
    let h = creds(&b).await;
    let body =
        json!({"data": {"customerId": "new-1", "firstName": "Nia", "email": "nia@example.com"}});
    let s = call(
        &b,
        "PATCH",
        "/api/resources/customers/new-1",
        &h,
        &body.to_string(),
    )
    .await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    let rec = json_of(&s)["data"]["result"].clone();
    let id = rec["id"].as_str().unwrap_or_default();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "record id is a uuid: {rec}"
    );
    for key in ["created_at", "updatedAt", "business_id", "platformId"] {
        assert!(rec[key].is_string(), "{key} in {rec}");
    }
    assert_eq!(rec["data"]["email"], "nia@example.com");
    let c = b.customer("new-1").unwrap_or_default();
    assert_eq!(c.external_id.as_deref(), Some("new-1"));
    assert_eq!(c.first_name.as_deref(), Some("Nia"));

    // Without customerId in the body, the record's external id is the path id.
    let body = json!({"data": {"lastName": "Okafor"}});
    let s = call(
        &b,
        "PATCH",
        "/api/resources/customers/new-2",
        &h,
        &body.to_string(),
    )
    .await;
    assert_eq!(s.status, 200);
    assert_eq!(
        b.customer("new-2").and_then(|c| c.external_id),
        Some("new-2".into())
    );
}

#[tokio::test]
async fn sandbox_reach_validation_errors_are_the_decoders() {
    let b = backend(DialectId::Reach);
    let h = creds(&b).await;
    let before = b.customer("12345");
    let body = json!({"data": {"customerId": null, "firstName": "X"}});
    let s = call(
        &b,
        "PATCH",
        "/api/resources/customers/12345",
        &h,
        &body.to_string(),
    )
    .await;
    assert_eq!(s.status, 400);
    let v = json_of(&s);
    assert_eq!(v["success"], false);
    assert_eq!(v["errors"][0]["path"], "data.customerId");
    assert_eq!(
        b.customer("12345"),
        before,
        "a rejected write changes nothing"
    );

    let s = call(&b, "GET", "/api/resources/customers/unknown", &h, "").await;
    assert_eq!(s.status, 404, "reach GET of an unknown record");
}

// --- Pingora service -------------------------------------------------------------------------

/// One HTTP/1.1 exchange over a raw socket: the status line and the whole answer, or `None`
/// when the server closed without answering.
fn raw_exchange(addr: SocketAddr, request: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    (!out.is_empty()).then(|| String::from_utf8_lossy(&out).into_owned())
}

use std::net::SocketAddr;

/// Sends one request on an open connection and reads one response (by `Content-Length`).
fn one_response(conn: &mut std::net::TcpStream, request: &str) -> (u16, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    conn.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = 0;
    loop {
        line.clear();
        reader
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{e}"));
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .unwrap_or_else(|e| panic!("{e}"));
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn sandbox_standalone_serves_http_drops_on_close_fault_and_stops() {
    let addr = free_loopback_addr().unwrap_or_else(|e| panic!("no free port: {e}"));
    let b = Arc::new(backend(DialectId::Reach));
    let server = spawn_standalone(b.clone(), &addr.to_string())
        .unwrap_or_else(|e| panic!("sandbox did not start: {e}"));
    assert_eq!(server.url(), format!("http://{addr}"));

    let body = r#"{"data":{"firstName":"Over","lastName":"Wire"}}"#;
    let req = format!(
        "PATCH /api/resources/customers/12345 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = raw_exchange(addr, &req).unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"firstName\":\"Over\""), "{answer}");
    assert_eq!(
        b.customer("12345").and_then(|c| c.last_name),
        Some("Wire".into())
    );

    let control = "GET /__sandbox/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = raw_exchange(addr, control).unwrap_or_default();
    assert!(answer.contains("Bearer sandbox-secret"), "{answer}");

    server
        .backend()
        .set_fault(Fault {
            close: true,
            count: Some(1),
            ..Fault::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let get = "GET /api/resources/customers/12345 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_exchange(addr, get), None, "close fault answers nothing");

    let big = format!(
        "PATCH /api/resources/customers/12345 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {SECRET}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        server::MAX_BODY_BYTES + 10,
    );
    let answer = raw_exchange(addr, &big).unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    server.stop();
    assert!(
        std::net::TcpListener::bind(addr).is_ok(),
        "the port is free after stop"
    );
}

#[test]
fn sandbox_standalone_refuses_a_taken_port() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = holder.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let b = Arc::new(backend(DialectId::Reach));
    assert!(spawn_standalone(b, &addr.to_string()).is_err());
}

// --- helpscout-v2 ----------------------------------------------------------------------------

/// The ids of a v2 GET's embedded entries of one collection.
fn v2_entry_ids(get: &Value, coll: &str) -> Vec<u64> {
    get["_embedded"][coll]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["id"].as_u64()).collect())
        .unwrap_or_default()
}

async fn v2_patch(b: &Backend, h: &[(String, String)], id: &str, ops: Value) -> Synthetic {
    call(
        b,
        "PATCH",
        &format!("/v2/customers/{id}"),
        h,
        &ops.to_string(),
    )
    .await
}

#[tokio::test]
async fn sandbox_v2_get_seeded_customer_as_hal() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let s = call(&b, "GET", "/v2/customers/100", &h, "").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.header("content-type"), Some("application/hal+json"));
    let v = json_of(&s);
    assert_eq!(v["firstName"], "Vernon");
    assert_eq!(v["id"], 100);
    let emails = v2_entry_ids(&v, "emails");
    assert_eq!(emails.len(), 2);
    assert!(emails.iter().all(|id| *id >= FIRST_ENTRY_ID), "{emails:?}");
    for coll in ["phones", "chats", "social_profiles", "websites"] {
        assert_eq!(v2_entry_ids(&v, coll).len(), 1, "{coll} in {v}");
    }
    assert_eq!(v["_embedded"]["address"]["city"], "Dallas");
    let c = b.customer("100").unwrap_or_default();
    assert_eq!(c.properties.get("plan"), Some(&json!("gold")));
}

#[tokio::test]
async fn sandbox_v2_entry_ids_are_unique_and_increasing_across_customers() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let before = b.customer("100").unwrap_or_default().max_entry_id();
    let s = v2_patch(&b, &h, "100", json!([
        {"op": "add", "path": "/emails", "value": {"type": "other", "value": "new@acme.example"}},
        {"op": "add", "path": "/phones", "value": {"type": "mobile", "value": "+1 555 0199"}},
    ]))
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    assert!(s.body.is_empty());
    let s = v2_patch(
        &b,
        &h,
        "101",
        json!([
            {"op": "add", "path": "/chats", "value": {"type": "skype", "value": "mary"}},
        ]),
    )
    .await;
    assert_eq!(s.status, 204);

    let c100 = b.customer("100").unwrap_or_default();
    let c101 = b.customer("101").unwrap_or_default();
    let new_email = c100.emails.last().map(|e| e.id).unwrap_or_default();
    let new_phone = c100.phones.last().map(|e| e.id).unwrap_or_default();
    let new_chat = c101.chats.last().map(|e| e.id).unwrap_or_default();
    assert!(new_email > before, "{new_email} > {before}");
    assert_eq!(new_phone, new_email + 1);
    assert_eq!(new_chat, new_phone + 1);
    assert_eq!(
        c100.emails.last().and_then(|e| e.kind.clone()),
        Some("other".into())
    );

    // Read back through the vendor GET.
    let v = json_of(&call(&b, "GET", "/v2/customers/100", &h, "").await);
    assert!(v2_entry_ids(&v, "emails").contains(&new_email));
}

#[tokio::test]
async fn sandbox_v2_remove_update_and_unknown_entry() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let c = b.customer("100").unwrap_or_default();
    let (first, second) = (c.emails[0].id, c.emails[1].id);
    let s = v2_patch(&b, &h, "100", json!([
        {"op": "remove", "path": format!("/emails/{first}")},
        {"op": "replace", "path": format!("/emails/{second}/value"), "value": "only@acme.example"},
    ]))
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    let c = b.customer("100").unwrap_or_default();
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].id, second);
    assert_eq!(c.emails[0].value, "only@acme.example");

    // An unknown entry id is a 400 naming the entry, and nothing of the request applies.
    let s = v2_patch(
        &b,
        &h,
        "100",
        json!([
            {"op": "replace", "path": "/firstName", "value": "Changed"},
            {"op": "remove", "path": "/phones/999999"},
        ]),
    )
    .await;
    assert_eq!(s.status, 400);
    assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
    let v = json_of(&s);
    assert_eq!(v["_embedded"]["errors"][0]["path"], "phones/999999", "{v}");
    assert_eq!(
        b.customer("100").and_then(|c| c.first_name),
        Some("Vernon".into())
    );
}

#[tokio::test]
async fn sandbox_v2_unknown_customer_put_overwrite_and_properties() {
    let b = backend(DialectId::HelpscoutV2);
    let h = creds(&b).await;
    let ops = json!([{"op": "replace", "path": "/firstName", "value": "X"}]);
    let s = v2_patch(&b, &h, "999", ops).await;
    assert_eq!(s.status, 404);
    assert!(b.customer("999").is_none(), "no upsert outside reach");
    assert_eq!(
        call(&b, "GET", "/v2/customers/999", &h, "").await.status,
        404
    );

    let created = b.customer("101").and_then(|c| c.meta.record_created_at);
    let s = call(
        &b,
        "PUT",
        "/v2/customers/101",
        &h,
        r#"{"firstName": "Mary", "lastName": "Jones"}"#,
    )
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    let c = b.customer("101").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Mary"));
    assert_eq!(c.organization, None, "PUT clears what it leaves out");
    assert_eq!(c.emails.len(), 1, "PUT leaves entries alone");
    assert_eq!(c.meta.id, Some(json!(101)));
    assert_eq!(c.meta.record_created_at, created);

    let props = json!([{"op": "replace", "path": "/plan", "value": "platinum"},
                       {"op": "remove", "path": "/seats"}]);
    let s = call(
        &b,
        "PATCH",
        "/v2/customers/100/properties",
        &h,
        &props.to_string(),
    )
    .await;
    assert_eq!(s.status, 204, "{}", String::from_utf8_lossy(&s.body));
    let stored = json_of(&call(&b, "GET", "/__sandbox/customers/100", &[], "").await);
    assert_eq!(stored["properties"], json!({"plan": "platinum"}));
}

// --- helpscout-v1 ----------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_v1_update_reload_and_entry_semantics() {
    let b = backend(DialectId::HelpscoutV1);
    let h = creds(&b).await;
    let first = b
        .customer("100")
        .map(|c| c.emails[0].id)
        .unwrap_or_default();

    let body = json!({"firstName": "Vern",
        "emails": [{"value": "added@acme.example", "location": "home"}, {"id": -(first as i64)}]});
    let s = call(&b, "PUT", "/v1/customers/100.json", &h, &body.to_string()).await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    assert!(s.body.is_empty(), "no reload, no body");

    let body = json!({"lastName": "Grizzly"});
    let s = call(
        &b,
        "PUT",
        "/v1/customers/100.json?reload=true",
        &h,
        &body.to_string(),
    )
    .await;
    assert_eq!(s.status, 200);
    let item = json_of(&s)["item"].clone();
    assert_eq!(item["firstName"], "Vern");
    assert_eq!(item["lastName"], "Grizzly");
    let emails = item["emails"].as_array().cloned().unwrap_or_default();
    assert_eq!(emails.len(), 2, "{item}");
    assert!(
        emails.iter().all(|e| e["id"] != json!(first)),
        "entry {first} deleted"
    );
    assert!(emails.iter().any(|e| e["value"] == "added@acme.example"
        && e["id"].as_u64().is_some_and(|id| id >= FIRST_ENTRY_ID)));

    let got = json_of(&call(&b, "GET", "/v1/customers/100.json", &h, "").await);
    assert_eq!(got["item"]["lastName"], "Grizzly");

    // Updating an entry that does not exist names it.
    let body = json!({"phones": [{"id": 4242, "value": "1"}]});
    let s = call(&b, "PUT", "/v1/customers/100.json", &h, &body.to_string()).await;
    assert_eq!(s.status, 400);
    let v = json_of(&s);
    assert_eq!(v["validationErrors"][0]["property"], "phones[0]", "{v}");

    let s = call(&b, "PUT", "/v1/customers/555.json", &h, "{}").await;
    assert_eq!(s.status, 404);
    assert_eq!(json_of(&s)["code"], 404);
}

// --- helpcrunch ------------------------------------------------------------------------------

#[tokio::test]
async fn sandbox_helpcrunch_patch_put_single_slot_and_404() {
    let b = backend(DialectId::Helpcrunch);
    let h = creds(&b).await;
    let s = call(&b, "GET", "/v1/customers/12345", &h, "").await;
    assert_eq!(s.status, 200);
    let v = json_of(&s);
    assert_eq!(v["id"], 12345);
    assert_eq!(v["name"], "Alex Rivera");
    assert_eq!(v["email"], "alex.rivera@initech.example");

    let body = json!({"name": "Alexandra Maria Rivera", "email": "amr@initech.example",
        "phone": null, "customData": [{"property": "plan", "value": "enterprise"}]});
    let s = call(&b, "PATCH", "/v1/customers/12345", &h, &body.to_string()).await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    let v = json_of(&s);
    assert_eq!(v["name"], "Alexandra Maria Rivera");
    assert_eq!(v["email"], "amr@initech.example");
    assert_eq!(v["phone"], Value::Null);
    assert_eq!(v["company"], "Initech", "PATCH keeps what it leaves out");

    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Alexandra Maria"));
    assert_eq!(c.last_name.as_deref(), Some("Rivera"));
    assert_eq!(c.emails.len(), 1, "one e-mail slot");
    assert_eq!((c.emails[0].id, c.emails[0].kind.clone()), (1, None));
    assert!(c.phones.is_empty());
    assert_eq!(c.properties.get("plan"), Some(&json!("enterprise")));
    assert!(c.chats.is_empty() && c.websites.is_empty());

    // Setting the slot again replaces its value, still one entry with id 1.
    let s = call(
        &b,
        "PATCH",
        "/v1/customers/12345",
        &h,
        r#"{"email": "x@initech.example"}"#,
    )
    .await;
    assert_eq!(s.status, 200);
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].value, "x@initech.example");

    // HelpCrunch stores `name` as one string: a one-word name reads back as exactly that word,
    // not followed by the last name the record had (it used to read "Cher Rivera").
    let s = call(
        &b,
        "PATCH",
        "/v1/customers/12345",
        &h,
        r#"{"name": "Cher"}"#,
    )
    .await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    assert_eq!(json_of(&s)["name"], "Cher");
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!((c.first_name.as_deref(), c.last_name), (Some("Cher"), None));
    let s = call(&b, "GET", "/v1/customers/12345", &h, "").await;
    assert_eq!(json_of(&s)["name"], "Cher");

    let s = call(&b, "PUT", "/v1/customers/12345", &h, r#"{"name": "Solo"}"#).await;
    assert_eq!(s.status, 200, "{}", String::from_utf8_lossy(&s.body));
    let c = b.customer("12345").unwrap_or_default();
    assert_eq!(c.organization, None, "PUT clears what it leaves out");
    assert!(c.emails.is_empty());

    let s = call(
        &b,
        "PATCH",
        "/v1/customers/777",
        &h,
        r#"{"name": "Nobody"}"#,
    )
    .await;
    assert_eq!(s.status, 404);
    assert_eq!(json_of(&s)["errors"][1]["code"], "not_found");
    let s = call(
        &b,
        "PATCH",
        "/v1/customers/12345",
        &h,
        r#"{"email": "not-an-email"}"#,
    )
    .await;
    assert_eq!(s.status, 400);
}

#[tokio::test]
async fn sandbox_helpcrunch_seed_is_cut_to_what_the_vendor_holds() {
    let b = Backend::empty(DialectId::Helpcrunch, SECRET.into());
    let seed = json!({"first_name": "Kim", "job_title": "CTO",
        "emails": [{"id": 7, "type": "work", "value": "a@example.com"},
                   {"id": 8, "type": "home", "value": "b@example.com"}],
        "websites": [{"id": 9, "value": "https://example.com"}],
        "properties": {"tier": 2}});
    let s = call(&b, "PUT", "/__sandbox/customers/42", &[], &seed.to_string()).await;
    assert_eq!(s.status, 201);
    let c = b.customer("42").unwrap_or_default();
    assert_eq!(c.first_name.as_deref(), Some("Kim"));
    assert_eq!(c.job_title, None, "helpcrunch has no job title");
    assert_eq!(c.emails.len(), 1);
    assert_eq!(c.emails[0].id, 1);
    assert!(c.websites.is_empty());
    assert_eq!(
        c.properties.get("tier"),
        Some(&json!(2)),
        "customData holds properties"
    );
    assert_eq!(c.meta.id, Some(json!(42)));
    assert!(c.meta.record_updated_at.is_some());
}

#[test]
fn sandbox_seeding_keeps_given_entry_ids_and_never_reuses_them() {
    let b = Backend::empty(DialectId::HelpscoutV2, SECRET.into());
    let entry = |id: u64, v: &str| crate::canonical::Entry {
        id,
        kind: Some("work".into()),
        value: v.into(),
    };
    let c = Customer {
        first_name: Some("Ids".into()),
        emails: vec![entry(5000, "a@x.example"), entry(0, "b@x.example")],
        phones: vec![entry(5000, "123")],
        ..Customer::default()
    };
    let stored = b.put_customer("7", c);
    assert_eq!(stored.emails[0].id, 5000, "a given id is kept");
    let (fresh, dup) = (stored.emails[1].id, stored.phones[0].id);
    assert!(fresh >= FIRST_ENTRY_ID && fresh != 5000);
    assert!(dup != 5000 && dup != fresh, "a colliding id is replaced");
    let next = b.put_customer(
        "8",
        Customer {
            chats: vec![entry(0, "c")],
            ..Customer::default()
        },
    );
    assert!(
        next.chats[0].id > 5000,
        "later ids stay above every seeded one"
    );
}

#[test]
fn sandbox_four_standalone_servers_run_side_by_side() {
    let servers: Vec<Standalone> = DialectId::ALL
        .into_iter()
        .map(|d| {
            let addr = free_loopback_addr().unwrap_or_else(|e| panic!("{e}"));
            spawn_standalone(Arc::new(backend(d)), &addr.to_string())
                .unwrap_or_else(|e| panic!("{d}: {e}"))
        })
        .collect();
    for s in &servers {
        let req = "GET /__sandbox/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let answer = raw_exchange(s.addr(), req).unwrap_or_default();
        let d = s.backend().dialect();
        assert!(answer.contains(&format!("\"dialect\":\"{d}\"")), "{answer}");
        // Keep-alive: two requests, one after the other, on one connection.
        let mut conn = std::net::TcpStream::connect(s.addr()).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..2 {
            let req = format!(
                "GET /__sandbox/customers/{} HTTP/1.1\r\nHost: x\r\n\r\n",
                seeded_id(d)
            );
            let (status, body) = one_response(&mut conn, &req);
            assert_eq!(status, 200, "{d}: {body}");
            assert!(body.contains("\"first_name\""), "{d}: {body}");
        }
    }
    for s in servers {
        s.stop();
    }
}

/// The helpscout-v2 customer sub-resources: 201 with `Resource-ID` and an absolute `Location`
/// on the vendor's host, 204 for updates and deletes, 404 for an entry the customer does not
/// have, the body rules of the client side.
#[tokio::test]
async fn sandbox_v2_serves_the_customer_sub_resources() {
    let b = backend(DialectId::HelpscoutV2);
    b.put_customer(
        "42",
        serde_json::from_value(json!({"first_name": "Ada", "emails": [{"id": 7, "type": "work", "value": "ada@x.io"}]}))
            .expect("customer"),
    );
    let mut h = creds(&b).await;
    h.push(("Host".into(), "hs.test:9000".into()));

    let s = call(
        &b,
        "POST",
        "/v2/customers/42/emails",
        &h,
        r#"{"type":"home","value":"ada@home.io"}"#,
    )
    .await;
    assert_eq!((s.status, s.body.len()), (201, 0), "{s:?}");
    let id = s.header("resource-id").expect("Resource-ID").to_string();
    assert_ne!(id, "7");
    assert_eq!(
        s.header("location"),
        Some(format!("http://hs.test:9000/v2/customers/42/emails/{id}").as_str())
    );
    let stored = b.customer("42").expect("stored");
    assert_eq!(stored.emails.len(), 2);
    assert_eq!(stored.emails[1].id.to_string(), id);
    assert_eq!(stored.emails[1].kind.as_deref(), Some("home"));

    let s = call(
        &b,
        "PUT",
        &format!("/v2/customers/42/emails/{id}"),
        &h,
        r#"{"type":"other","value":"ada@other.io"}"#,
    )
    .await;
    assert_eq!(s.status, 204, "{s:?}");
    assert_eq!(
        b.customer("42").expect("stored").emails[1].value,
        "ada@other.io"
    );
    let s = call(&b, "DELETE", "/v2/customers/42/emails/7", &h, "").await;
    assert_eq!(s.status, 204, "{s:?}");
    assert_eq!(b.customer("42").expect("stored").emails.len(), 1);

    // Unknown entry ids are 404 on the sub-resource (a PATCH op naming one stays a 400).
    for (m, body) in [
        ("PUT", r#"{"type":"work","value":"a@x.io"}"#),
        ("DELETE", ""),
    ] {
        let s = call(&b, m, "/v2/customers/42/emails/7", &h, body).await;
        assert_eq!(s.status, 404, "{m}: {s:?}");
        assert_eq!(s.header("content-type"), Some("application/vnd.error+json"));
    }
    let s = call(
        &b,
        "POST",
        "/v2/customers/43/emails",
        &h,
        r#"{"type":"home","value":"a@x.io"}"#,
    )
    .await;
    assert_eq!(s.status, 404, "unknown customer: {s:?}");

    let addr = r#"{"city":"Dallas","state":"TX","postalCode":"74206","country":"US","lines":["1 Main St"]}"#;
    let s = call(&b, "POST", "/v2/customers/42/address", &h, addr).await;
    assert_eq!(s.status, 201, "{s:?}");
    assert_eq!(s.header("resource-id"), None);
    assert_eq!(
        s.header("location"),
        Some("http://hs.test:9000/v2/customers/42/address")
    );
    let a = b.customer("42").and_then(|c| c.address).expect("address");
    assert_eq!((a.city.as_deref(), a.lines.len()), (Some("Dallas"), 1));
    let s = call(
        &b,
        "PUT",
        "/v2/customers/42/address",
        &h,
        r#"{"city":"Austin","state":"TX","postalCode":"73301","country":"US"}"#,
    )
    .await;
    assert_eq!(s.status, 204, "{s:?}");
    let a = b.customer("42").and_then(|c| c.address).expect("address");
    assert_eq!((a.city.as_deref(), a.lines.len()), (Some("Austin"), 0));
    let s = call(&b, "DELETE", "/v2/customers/42/address", &h, "").await;
    assert_eq!(s.status, 204, "{s:?}");
    assert_eq!(b.customer("42").and_then(|c| c.address), None);

    // Validation and methods, as the client side judges them.
    let s = call(
        &b,
        "POST",
        "/v2/customers/42/phones",
        &h,
        r#"{"type":"cell","value":"555"}"#,
    )
    .await;
    assert_eq!(s.status, 400, "{s:?}");
    assert_eq!(json_of(&s)["_embedded"]["errors"][0]["path"], json!("type"));
    let s = call(&b, "GET", "/v2/customers/42/phones", &h, "").await;
    assert_eq!(s.status, 405, "{s:?}");
}

// --- credential rotation ---------------------------------------------------------------------

#[tokio::test]
async fn sandbox_credentials_rotate_with_an_overlap_and_revoke_tokens_of_a_dropped_secret() {
    const NEW: &str = "sandbox-secret-rotated";
    for d in DialectId::ALL {
        let b = backend(d);
        let old_creds = creds(&b).await;
        let set = |list: &[&str]| json!({ "accept": list }).to_string();
        let s = call(
            &b,
            "PUT",
            "/__sandbox/credentials",
            &[],
            &set(&[SECRET, NEW]),
        )
        .await;
        assert_eq!(s.status, 204, "{d}");
        // Overlap: the old credential (and a v2 token obtained with it) still works.
        let path = get_path(d, seeded_id(d));
        assert_eq!(
            call(&b, "GET", &path, &old_creds, "").await.status,
            200,
            "{d}"
        );
        let new_auth = match d {
            DialectId::HelpscoutV2 => {
                let body = format!(
                    "grant_type=client_credentials&client_id={SANDBOX_CLIENT_ID}&client_secret={NEW}"
                );
                let ct = hdrs(&[("Content-Type", "application/x-www-form-urlencoded")]);
                let t = call(&b, "POST", "/v2/oauth2/token", &ct, &body).await;
                assert_eq!(t.status, 200);
                format!(
                    "Bearer {}",
                    json_of(&t)["access_token"].as_str().unwrap_or_default()
                )
            }
            DialectId::HelpscoutV1 => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{NEW}:X"))
            ),
            _ => format!("Bearer {NEW}"),
        };
        let new_creds = hdrs(&[("Authorization", new_auth.as_str())]);
        // The old key is revoked: only the new one works, v2 tokens of the old secret go too.
        let s = call(&b, "PUT", "/__sandbox/credentials", &[], &set(&[NEW])).await;
        assert_eq!(s.status, 204, "{d}");
        assert_eq!(
            call(&b, "GET", &path, &old_creds, "").await.status,
            401,
            "{d}"
        );
        assert_eq!(
            call(&b, "GET", &path, &new_creds, "").await.status,
            200,
            "{d}"
        );
        // Nothing to accept, or an empty credential, is refused and changes nothing.
        for bad in [
            json!({ "accept": [] }),
            json!({ "accept": [" "] }),
            json!({}),
        ] {
            let s = call(&b, "PUT", "/__sandbox/credentials", &[], &bad.to_string()).await;
            assert_eq!(s.status, 400, "{d} {bad}");
        }
        assert_eq!(
            call(&b, "GET", &path, &new_creds, "").await.status,
            200,
            "{d}"
        );
    }
}
