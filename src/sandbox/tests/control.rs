//! The control endpoints (customers, request log, reset) and injected faults.

use super::*;

// --- control endpoints -----------------------------------------------------------------------

#[tokio::test]
async fn sandbox_control_put_get_delete_customer() {
    let b = Backend::empty(DialectId::Reach, SECRET.into());
    let none = Vec::new();
    write(&b, &none, "GET /__sandbox/customers/c-1", "", 404).await;

    let seed = json!({"first_name": "Ada", "last_name": "Lovelace", "external_id": "c-1",
        "emails": [{"id": 0, "value": "ada@example.com"}, {"id": 0, "value": "second@example.com"}],
        "chats": [{"id": 0, "type": "skype", "value": "ada"}]});
    write(&b, &none, "PUT /__sandbox/customers/c-1", &seed, 201).await;
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
    write(&b, &none, "PUT /__sandbox/customers/c-1", "[1]", 400).await;

    write(&b, &none, "DELETE /__sandbox/customers/c-1", "", 204).await;
    assert!(b.customer("c-1").is_none());
    write(&b, &none, "DELETE /__sandbox/customers/c-1", "", 404).await;
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
    write(
        &b,
        &h,
        "GET /api/resources/customers/12345?x=1",
        "hello",
        401,
    )
    .await;
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
        let s = write(&b, &h, "GET /v1/customers/12345", "", 502).await;
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
        let s = write(&b, &h, "GET /api/resources/customers/12345", "", 503).await;
        let v = json_of(&s);
        assert_eq!(v["success"], false, "reach's error envelope: {v}");
    }
    call(&b, "DELETE", "/__sandbox/faults", &[], "").await;
    write(&b, &h, "GET /api/resources/customers/12345", "", 200).await;
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
