//! The Pingora service itself, over real sockets.

use super::*;

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
