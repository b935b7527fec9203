//! The lean data path (issue 11) through real sockets: the upstream keep-alive pool of
//! plain-HTTP upstreams (`src/proxy/plain.rs`) against a scripted upstream that closes idle
//! connections, breaks framing or sends bytes past an answer; and the downstream listener
//! without Pingora's per-connection read buffer (a body in one segment, a body in pieces).

use crate::support::{parse_response, Gateway};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// A Reach upstream on a raw socket. Each PATCH is answered as its customer id asks:
/// - `76002`: a normal answer, then the upstream closes the connection 50 ms later without
///   having said `Connection: close` (an idle keep-alive connection going stale);
/// - `76003`: two `Content-Length` fields that disagree;
/// - `76004`: five bytes more than its `Content-Length` announces;
/// - `76005`: a normal answer, held until a second request for `76005` is at the upstream too
///   (at most 3 s), recording how many were there at once;
/// - anything else: a normal keep-alive answer.
struct Upstream {
    port: u16,
    accepted: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    together: Arc<Together>,
}

/// The requests for `76005` at the upstream now, and the most there were at once.
#[derive(Default)]
struct Together {
    now: Mutex<usize>,
    changed: Condvar,
    most: AtomicUsize,
}

impl Together {
    /// One request arrives, waits (≤ 3 s) until a second one is there too, and leaves.
    fn arrive_and_wait(&self) {
        let mut now = self.now.lock().expect("lock");
        *now += 1;
        self.most.fetch_max(*now, Ordering::SeqCst);
        self.changed.notify_all();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while self.most.load(Ordering::SeqCst) < 2 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            now = self.changed.wait_timeout(now, left).expect("wait").0;
        }
        *now -= 1;
    }
}

fn record(id: &str) -> String {
    format!(
        r#"{{"success":true,"message":"Customer updated","data":{{"result":{{"id":"r-{id}","resource_external_id":"{id}","resourceExternalId":"{id}","created_at":"2024-01-01T00:00:00Z","createdAt":"2024-01-01T00:00:00Z","data":{{"customerId":"{id}","firstName":"John","lastName":"Doe","email":"john@example.com"}}}},"included":[]}}}}"#
    )
}

impl Upstream {
    fn start() -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let together = Arc::new(Together::default());
        let (acc, reqs, tog) = (accepted.clone(), requests.clone(), together.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                acc.fetch_add(1, Ordering::SeqCst);
                let (reqs, tog) = (reqs.clone(), tog.clone());
                std::thread::spawn(move || serve(conn, &reqs, &tog));
            }
        });
        Upstream {
            port,
            accepted,
            requests,
            together,
        }
    }
}

fn serve(conn: TcpStream, requests: &AtomicUsize, together: &Together) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut out) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let id = line
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.rsplit('/').next())
            .unwrap_or("")
            .to_string();
        if id == "76005" {
            together.arrive_and_wait();
        }
        let rec = record(&id);
        let ct = "Content-Type: application/json\r\n";
        let answer = match id.as_str() {
            "76003" => format!(
                "HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\nContent-Length: {}\r\n\r\n{rec}",
                rec.len(),
                rec.len() + 1
            ),
            "76004" => format!(
                "HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\n\r\n{rec}extra",
                rec.len()
            ),
            _ => format!(
                "HTTP/1.1 200 OK\r\n{ct}Content-Length: {}\r\n\r\n{rec}",
                rec.len()
            ),
        };
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
        if id == "76002" {
            std::thread::sleep(Duration::from_millis(50));
            let _ = out.shutdown(std::net::Shutdown::Both);
            return;
        }
    }
}

fn gateway_to(up: &Upstream) -> Gateway {
    Gateway::start_with(|_, mut text| {
        text.push_str(&format!(
            r#"
[[upstream]]
name = "scripted-glue"
dialect = "reach"
url = "http://127.0.0.1:{}"

[[route]]
name = "scripted-glue"
client_dialect = "helpcrunch"
path_prefix = "/glue"
upstream = "scripted-glue"
"#,
            up.port
        ));
        text
    })
}

fn patch(g: &Gateway, id: &str) -> crate::support::Response {
    g.json(
        "PATCH",
        &format!("/glue/v1/customers/{id}"),
        &json!({"name": "John Doe"}),
    )
}

/// A kept-alive upstream connection that the upstream closed while it sat in the pool is
/// never handed to a write (a write is not retried, so it would have been a 502): the pool
/// sees the close and connects anew.
#[test]
fn a_pooled_connection_the_upstream_closed_is_not_used_for_a_write() {
    let up = Upstream::start();
    let g = gateway_to(&up);
    let r = patch(&g, "76002");
    assert_eq!(r.status, 200, "{}", r.text());
    // The upstream closes its side 50 ms after answering.
    std::thread::sleep(Duration::from_millis(400));
    for _ in 0..3 {
        let r = patch(&g, "76001");
        assert_eq!(
            r.status,
            200,
            "after a stale pooled connection: {}",
            r.text()
        );
    }
    assert_eq!(
        up.requests.load(Ordering::SeqCst),
        4,
        "each write sent once"
    );
    assert_eq!(
        up.accepted.load(Ordering::SeqCst),
        2,
        "one connection closed by the upstream, one new one kept alive for the rest"
    );
}

/// Regression (issue 11): every write held its customer's lock exclusively, so concurrent plain
/// writes to one customer went upstream one at a time (the load benchmark's 64 connections all
/// write customer 12345). A write built from the request alone now holds the lock shared: two
/// such writes are at the upstream at once, and both land.
#[test]
fn plain_writes_to_one_customer_do_not_wait_for_each_other() {
    let up = Upstream::start();
    let g = Arc::new(gateway_to(&up));
    let writers: Vec<_> = (0..2)
        .map(|_| {
            let g = Arc::clone(&g);
            std::thread::spawn(move || patch(&g, "76005").status)
        })
        .collect();
    for w in writers {
        assert_eq!(w.join().expect("writer"), 200);
    }
    assert_eq!(
        up.together.most.load(Ordering::SeqCst),
        2,
        "both writes were at the upstream at once"
    );
}

/// An upstream answer whose `Content-Length` fields disagree cannot be framed: 502, and the
/// connection is not used again.
#[test]
fn conflicting_content_lengths_from_an_upstream_are_502() {
    let up = Upstream::start();
    let g = gateway_to(&up);
    let r = patch(&g, "76003");
    assert_eq!(r.status, 502, "{}", r.text());
    let r = patch(&g, "76001");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.accepted.load(Ordering::SeqCst), 2, "a new connection");
}

/// Bytes after the end of an answer mean the two sides disagree on framing: the answer is used,
/// the connection is not kept for the next request (which would read those bytes as its answer).
#[test]
fn bytes_after_an_answer_end_its_connection() {
    let up = Upstream::start();
    let g = gateway_to(&up);
    let r = patch(&g, "76004");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], json!("John Doe"));
    let r = patch(&g, "76001");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], json!(76001));
    assert_eq!(up.accepted.load(Ordering::SeqCst), 2, "a new connection");
}

/// The gateway's listener reads without Pingora's 64 KiB connection buffer: a request whose
/// header and body arrive in one segment, then one whose header and body arrive a few bytes at
/// a time, are each read whole and answered in order on one keep-alive connection. (Pipelined
/// requests are not tested: Pingora closes a connection that sends them, with or without the
/// buffer.)
#[test]
fn requests_in_one_segment_and_in_pieces_are_read_whole() {
    let up = Upstream::start();
    let g = gateway_to(&up);
    let body = br#"{"name":"John Doe"}"#;
    let req = |id: &str, close: bool| {
        let mut r = format!(
            "PATCH /glue/v1/customers/{id} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if close { "Connection: close\r\n" } else { "" }
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let mut s = TcpStream::connect(("127.0.0.1", g.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&req("76011", false)).expect("write");
    let mut first = vec![0u8; 4096];
    let n = s.read(&mut first).expect("read the first answer");
    let r = parse_response(&first[..n]).expect("an answer");
    assert_eq!((r.status, r.json()["id"].clone()), (200, json!(76011)));
    for piece in req("76012", true).chunks(7) {
        std::thread::sleep(Duration::from_millis(5));
        s.write_all(piece).expect("write piece");
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let r = parse_response(&raw).expect("an answer");
    assert_eq!(
        (r.status, r.json()["id"].clone()),
        (200, json!(76012)),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(up.requests.load(Ordering::SeqCst), 2);
}
