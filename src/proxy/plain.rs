//! The upstream client's transport for plain-HTTP upstreams: a keep-alive pool per thread over
//! tokio `TcpStream`s and an HTTP/1.1 answer reader on `httparse`.
//!
//! Why not Pingora's `TransportConnector` here: per request it takes a lock on its pool, spawns
//! an idle watcher for every connection it takes back, calls `getpeername` on a reused socket,
//! and its HTTP/1 client session builds a header map and 64 KiB buffers for every answer. The
//! translated path needs none of that: one write of the whole request, one read of the whole
//! answer (`docs/benchmarks.md` has the measured difference). HTTPS upstreams keep Pingora's
//! connector (TLS, certificate checks, `ca_file`).
//!
//! The pool ([`Pool`], one per client) is a map of idle sockets per upstream address behind one
//! uncontended mutex, taken twice per request for a few instructions. A pool per thread (no
//! lock) was tried first: with several runtime threads a task resumes on any of them, so each
//! thread opened connections of its own and a run of sequential requests no longer shared one
//! keep-alive connection (`faults::upstream_answers_in_every_framing_and_connections_are_reused`
//! caught it). Whether an idle socket is still open is read from the
//! reactor's readiness (`try_read`): a socket the upstream closed is readable, an open idle one
//! is not, and checking costs no system call while the reactor has seen no event on it.
//!
//! Framing follows RFC 9112 §6.3: no body for `HEAD`, 1xx, 204 and 304; `Transfer-Encoding`
//! whose last coding is `chunked` is decoded; another coding, or neither header, is read until
//! the upstream closes; `Content-Length` values that disagree or do not parse are refused (a
//! desynchronised connection must not be reused). A connection goes back to the pool only when
//! the answer was read to its exact end, the answer is HTTP/1.1 and does not say `close`.

use super::client::{Answer, CallError, MAX_UPSTREAM_BODY};
use bytes::{Buf, Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Idle connections kept per upstream address: above this a released connection is closed.
const MAX_IDLE: usize = 128;

/// Largest answer header block (status line and fields).
const MAX_HEAD: usize = 64 * 1024;

/// Most header fields an answer may carry.
const MAX_FIELDS: usize = 128;

/// First read's buffer: the header block and a small body fit in one read.
const FIRST_READ: usize = 4096;

struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// Idle keep-alive connections to plain-HTTP upstreams, by address.
#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<HashMap<SocketAddr, Vec<Idle>>>,
}

impl Pool {
    /// A pooled connection to `addr` that is still open and was idle less than `max_idle`,
    /// newest first (the likeliest to be warm at the upstream).
    pub(super) fn take(&self, addr: SocketAddr, max_idle: Duration) -> Option<TcpStream> {
        let mut pool = self.idle.lock();
        let idle = pool.get_mut(&addr)?;
        while let Some(conn) = idle.pop() {
            if conn.since.elapsed() < max_idle && still_open(&conn.stream) {
                return Some(conn.stream);
            }
        }
        None
    }

    /// Returns a connection whose last answer was read to its end.
    pub(super) fn give_back(&self, addr: SocketAddr, stream: TcpStream, max_idle: Duration) {
        let mut pool = self.idle.lock();
        let idle = pool.entry(addr).or_default();
        // The oldest sit at the front: drop the expired ones so a quiet pool does not keep
        // sockets the upstream has long closed.
        let expired = idle
            .iter()
            .take_while(|c| c.since.elapsed() >= max_idle)
            .count();
        idle.drain(..expired);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                stream,
                since: Instant::now(),
            });
        }
    }
}

/// An idle keep-alive connection has nothing to read: data or end-of-stream means the upstream
/// closed it (or broke the protocol), and it must not carry a request.
fn still_open(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// A new connection, within `timeout`.
pub(super) async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, CallError> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            // The request leaves in one write and waits for the answer: Nagle would only delay.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(CallError::BadGateway(match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "ConnectRefused".to_string(),
            kind => format!("ConnectError: {kind}"),
        })),
        Err(_) => Err(CallError::Timeout("ConnectTimedout".into())),
    }
}

/// How an exchange failed: before any answer byte (a reused connection the upstream had closed
/// can be retried for a read) or after.
pub(super) enum Failure {
    /// Nothing of an answer arrived.
    BeforeAnswer(CallError),
    /// The answer began and then failed.
    After(CallError),
}

impl Failure {
    pub(super) fn into_call(self) -> CallError {
        match self {
            Failure::BeforeAnswer(e) | Failure::After(e) => e,
        }
    }
}

/// The outcome of a request write under its deadline (plain and TLS connections alike): an
/// error or the deadline is a failure before any answer, so a read may be retried.
pub(super) fn written(
    outcome: Result<std::io::Result<()>, tokio::time::error::Elapsed>,
) -> Result<(), Failure> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure::BeforeAnswer(CallError::BadGateway(format!(
            "WriteError: {}",
            e.kind()
        )))),
        Err(_) => Err(Failure::BeforeAnswer(CallError::Timeout(
            "WriteTimedout".into(),
        ))),
    }
}

/// One request on one connection: the whole request in one write, then the whole answer.
/// Returns the answer and the connection when it may carry another request.
pub(super) async fn exchange(
    mut stream: TcpStream,
    wire: &[u8],
    head_request: bool,
    io_timeout: Duration,
) -> Result<(Answer, Option<TcpStream>), Failure> {
    written(tokio::time::timeout(io_timeout, stream.write_all(wire)).await)?;
    let mut reader = Reader {
        stream,
        buf: BytesMut::with_capacity(FIRST_READ),
        timeout: io_timeout,
    };
    let mut first = true;
    let head = loop {
        let head = reader.head(first).await?;
        first = false;
        // Interim answers (100 Continue, 103 Early Hints) precede the real one.
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        break head;
    };
    if head.status == 101 {
        return Err(Failure::After(CallError::BadGateway(
            "upstream switched protocols".into(),
        )));
    }
    let framing = if head_request || head.status == 204 || head.status == 304 {
        Framing::Length(0)
    } else {
        head.framing().map_err(Failure::After)?
    };
    let (body, clean_end) = match framing {
        Framing::Length(n) => (reader.exact(n).await.map_err(Failure::After)?, true),
        Framing::Chunked => (reader.chunked().await.map_err(Failure::After)?, true),
        Framing::UntilClose => (reader.until_close().await.map_err(Failure::After)?, false),
    };
    // Reusable only when nothing is left over: bytes after the answer mean the two sides
    // disagree on where it ended.
    let reusable = clean_end && head.keep_alive && reader.buf.is_empty();
    Ok((
        Answer {
            status: head.status,
            headers: head.headers,
            body,
            elapsed: Duration::ZERO,
        },
        reusable.then_some(reader.stream),
    ))
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

struct Head {
    status: u16,
    /// Names lower-cased (the `Answer` contract).
    headers: Vec<(String, String)>,
    keep_alive: bool,
}

impl Head {
    fn framing(&self) -> Result<Framing, CallError> {
        let bad = |why: &str| CallError::BadGateway(format!("invalid answer framing: {why}"));
        let mut te: Option<&str> = None;
        let mut length: Option<usize> = None;
        for (name, value) in &self.headers {
            match name.as_str() {
                "transfer-encoding" => te = Some(value),
                "content-length" => {
                    // `Content-Length: 5, 5` and repeated equal fields are one length.
                    for part in value.split(',') {
                        let n: usize = part.trim().parse().map_err(|_| bad("Content-Length"))?;
                        if length.is_some_and(|l| l != n) {
                            return Err(bad("conflicting Content-Length"));
                        }
                        length = Some(n);
                    }
                }
                _ => {}
            }
        }
        Ok(match (te, length) {
            // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3).
            (Some(te), _) => {
                let last = te.rsplit(',').next().unwrap_or("").trim();
                if last.eq_ignore_ascii_case("chunked") {
                    Framing::Chunked
                } else {
                    Framing::UntilClose
                }
            }
            (None, Some(n)) => Framing::Length(n),
            (None, None) => Framing::UntilClose,
        })
    }
}

struct Reader {
    stream: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Reader {
    /// Reads more into the buffer; `Ok(0)` is the upstream closing.
    async fn fill(&mut self) -> Result<usize, CallError> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(FIRST_READ.max(self.buf.len()));
        }
        match tokio::time::timeout(self.timeout, self.stream.read_buf(&mut self.buf)).await {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(CallError::BadGateway(format!("ReadError: {}", e.kind()))),
            Err(_) => Err(CallError::Timeout("ReadTimedout".into())),
        }
    }

    /// Reads and parses one header block, leaving the bytes after it in the buffer.
    /// `fresh`: no byte of an answer has arrived on this connection yet.
    async fn head(&mut self, mut fresh: bool) -> Result<Head, Failure> {
        loop {
            if !self.buf.is_empty() {
                let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
                let mut parsed = httparse::Response::new(&mut fields);
                match parsed.parse(&self.buf) {
                    Ok(httparse::Status::Complete(len)) => {
                        let status = parsed.code.unwrap_or(0);
                        let version = parsed.version.unwrap_or(0);
                        let mut close = false;
                        let headers = parsed
                            .headers
                            .iter()
                            .map(|h| {
                                let name = h.name.to_ascii_lowercase();
                                let value = String::from_utf8_lossy(h.value).into_owned();
                                if name == "connection"
                                    && value
                                        .split(',')
                                        .any(|t| t.trim().eq_ignore_ascii_case("close"))
                                {
                                    close = true;
                                }
                                (name, value)
                            })
                            .collect();
                        self.buf.advance(len);
                        return Ok(Head {
                            status,
                            headers,
                            // HTTP/1.0 keep-alive is opt-in and rare: such a connection is
                            // simply not reused.
                            keep_alive: version == 1 && !close,
                        });
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => {}
                    Ok(httparse::Status::Partial) => {
                        return Err(Failure::After(CallError::BadGateway(
                            "upstream answer header too large".into(),
                        )))
                    }
                    Err(e) => {
                        return Err(Failure::After(CallError::BadGateway(format!(
                            "invalid HTTP answer: {e}"
                        ))))
                    }
                }
            }
            // Before the first byte of an answer a failure is `BeforeAnswer` (a reused
            // connection the upstream closed); once bytes arrived it is not.
            let n = self.fill().await.map_err(|e| {
                if fresh {
                    Failure::BeforeAnswer(e)
                } else {
                    Failure::After(e)
                }
            })?;
            if n == 0 {
                let e = CallError::BadGateway("ConnectionClosed".into());
                return Err(if fresh {
                    Failure::BeforeAnswer(e)
                } else {
                    Failure::After(e)
                });
            }
            fresh = false;
        }
    }

    /// Exactly `n` body bytes.
    async fn exact(&mut self, n: usize) -> Result<Bytes, CallError> {
        if n > MAX_UPSTREAM_BODY {
            return Err(CallError::BadGateway("upstream answer too large".into()));
        }
        while self.buf.len() < n {
            self.buf.reserve(n - self.buf.len());
            if self.fill().await? == 0 {
                return Err(CallError::BadGateway("ConnectionClosed in the body".into()));
            }
        }
        Ok(self.buf.split_to(n).freeze())
    }

    /// Everything until the upstream closes.
    async fn until_close(&mut self) -> Result<Bytes, CallError> {
        loop {
            if self.buf.len() > MAX_UPSTREAM_BODY {
                return Err(CallError::BadGateway("upstream answer too large".into()));
            }
            if self.fill().await? == 0 {
                return Ok(self.buf.split().freeze());
            }
        }
    }

    /// A chunked body, decoded; trailer fields are read and ignored.
    async fn chunked(&mut self) -> Result<Bytes, CallError> {
        let mut body = BytesMut::new();
        loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((line, size))) => break (line, size),
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => {
                        self.more_or_closed().await?
                    }
                    _ => return Err(CallError::BadGateway("invalid chunk size line".into())),
                }
            };
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if size > MAX_UPSTREAM_BODY || body.len() + size > MAX_UPSTREAM_BODY {
                return Err(CallError::BadGateway("upstream answer too large".into()));
            }
            self.buf.advance(line);
            if size == 0 {
                return self.trailers().await.map(|()| body.freeze());
            }
            while self.buf.len() < size + 2 {
                self.more_or_closed().await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(CallError::BadGateway("chunk not ended by CRLF".into()));
            }
            self.buf.advance(size + 2);
        }
    }

    /// The trailer section after the last chunk, up to its empty line.
    async fn trailers(&mut self) -> Result<(), CallError> {
        loop {
            match self.buf.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.buf.advance(2);
                    return Ok(());
                }
                Some(end) => self.buf.advance(end + 2),
                None if self.buf.len() < MAX_HEAD => self.more_or_closed().await?,
                None => return Err(CallError::BadGateway("trailers too large".into())),
            }
        }
    }

    async fn more_or_closed(&mut self) -> Result<(), CallError> {
        match self.fill().await? {
            0 => Err(CallError::BadGateway("ConnectionClosed in the body".into())),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// One exchange against a socket that answers `answer` (in two writes, to cross a read
    /// boundary) and then keeps the connection open.
    async fn run(answer: &'static [u8]) -> Result<(Answer, bool), Failure> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let (a, b) = answer.split_at(answer.len() / 2);
            let _ = s.write_all(a).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
            let _ = s.write_all(b).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        });
        let stream = connect(addr, Duration::from_secs(2))
            .await
            .map_err(Failure::BeforeAnswer)?;
        exchange(
            stream,
            b"GET / HTTP/1.1\r\n\r\n",
            false,
            Duration::from_secs(2),
        )
        .await
        .map(|(a, keep)| (a, keep.is_some()))
    }

    fn ok(r: Result<(Answer, bool), Failure>) -> (u16, String, bool) {
        match r {
            Ok((a, keep)) => (a.status, String::from_utf8_lossy(&a.body).into(), keep),
            Err(f) => panic!("failed: {:?}", f.into_call()),
        }
    }

    #[tokio::test]
    async fn chunked_answers_with_trailers_are_decoded_and_the_connection_kept() {
        let r = run(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n").await;
        assert_eq!(ok(r), (200, "abcde".into(), true));
    }

    #[tokio::test]
    async fn interim_answers_are_skipped_and_204_has_no_body() {
        let r = run(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n").await;
        assert_eq!(ok(r), (204, String::new(), true));
    }

    #[tokio::test]
    async fn close_and_http10_answers_are_not_kept() {
        let r = run(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok").await;
        assert_eq!(ok(r), (200, "ok".into(), false));
        let r = run(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        assert_eq!(ok(r), (200, "ok".into(), false));
        let r = run(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok").await;
        assert_eq!(
            ok(r),
            (200, "ok".into(), true),
            "a repeated equal length is one"
        );
    }

    #[tokio::test]
    async fn misframed_answers_are_502_after_the_answer_began() {
        for answer in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"garbage, not HTTP at all\r\n\r\n",
        ] {
            let r = run(answer).await;
            assert!(
                matches!(r, Err(Failure::After(CallError::BadGateway(_)))),
                "{:?} was accepted",
                String::from_utf8_lossy(answer)
            );
        }
    }

    #[tokio::test]
    async fn a_closed_connection_fails_before_the_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
            }
        });
        let stream = connect(addr, Duration::from_secs(2))
            .await
            .expect("connect");
        let r = exchange(
            stream,
            b"GET / HTTP/1.1\r\n\r\n",
            false,
            Duration::from_secs(2),
        )
        .await;
        assert!(matches!(
            r,
            Err(Failure::BeforeAnswer(CallError::BadGateway(_)))
        ));
    }

    #[tokio::test]
    async fn an_upstream_that_closed_is_not_handed_out_again() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.expect("accept");
            drop(s);
        });
        let stream = connect(addr, Duration::from_secs(2))
            .await
            .expect("connect");
        server.await.expect("server");
        // The reactor learns of the close on its next turn.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let pool = Pool::default();
        pool.give_back(addr, stream, Duration::from_secs(20));
        assert!(pool.take(addr, Duration::from_secs(20)).is_none());
    }
}
