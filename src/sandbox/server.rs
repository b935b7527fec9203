//! Serving a sandbox [`Backend`] over HTTP with Pingora.
//!
//! [`service`] builds a Pingora listening service the gateway adds to its own `Server`.
//! [`spawn_standalone`] runs one backend on its own Pingora `Server` in a thread, for tests and
//! tools; unlike `run_forever` (which calls `exit`), it runs the server with
//! `Server::run(RunArgs)` and a shutdown watcher fed by a channel, so [`Standalone::stop`] ends
//! it in-process and frees the port.
//!
//! The app implements `HttpServerApp` itself instead of `ServeHttp`: a `ServeHttp` app must
//! return a response, and fault injection needs to drop a connection without answering.

use super::{Backend, Reply};
use crate::canonical::{ApiError, ErrorKind};
use crate::dialect::Synthetic;
use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora::http::ResponseHeader;
use pingora::protocols::http::ServerSession;
use pingora::server::configuration::ServerConf;
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch, ShutdownWatch};
use pingora::services::listening::Service;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest request body the sandbox reads (bigger bodies get the vendor's 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The Pingora application serving one backend.
pub struct SandboxApp {
    backend: Arc<Backend>,
}

impl SandboxApp {
    /// Wraps a backend.
    pub fn new(backend: Arc<Backend>) -> Self {
        SandboxApp { backend }
    }

    /// The backend served.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }
}

/// A listening service for `backend` on `addr` (e.g. `127.0.0.1:7101`), ready for
/// `Server::add_service`.
pub fn service(backend: Arc<Backend>, addr: &str) -> Service<SandboxApp> {
    let name = format!("sandbox {}", backend.dialect());
    let mut svc = Service::new(name, SandboxApp::new(backend));
    svc.add_tcp(addr);
    svc
}

/// Like [`service`], serving HTTPS with a PEM certificate and key.
pub fn tls_service(
    backend: Arc<Backend>,
    addr: &str,
    cert: &str,
    key: &str,
) -> pingora::Result<Service<SandboxApp>> {
    let name = format!("sandbox {} (https)", backend.dialect());
    let mut svc = Service::new(name, SandboxApp::new(backend));
    svc.add_tls(addr, cert, key)?;
    Ok(svc)
}

/// Reads the whole body; `Ok(None)` when it exceeds [`MAX_BODY_BYTES`].
async fn read_body(http: &mut ServerSession) -> pingora::Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    while let Some(chunk) = http.read_request_body().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Writes a complete response; `false` when the connection broke.
async fn write(http: &mut ServerSession, answer: Synthetic) -> bool {
    let Ok(mut head) = ResponseHeader::build(answer.status, Some(answer.headers.len() + 1)) else {
        return false;
    };
    for (name, value) in answer.headers {
        if head.append_header(name, value).is_err() {
            return false;
        }
    }
    // Always a length (except where HTTP forbids a body) so the connection can be reused.
    let may_have_body = answer.status >= 200 && answer.status != 204 && answer.status != 304;
    if may_have_body
        && head
            .insert_header("Content-Length", answer.body.len().to_string())
            .is_err()
    {
        return false;
    }
    if http.write_response_header(Box::new(head)).await.is_err() {
        return false;
    }
    if !answer.body.is_empty() && http.write_response_body(answer.body, true).await.is_err() {
        return false;
    }
    true
}

#[async_trait]
impl HttpServerApp for SandboxApp {
    async fn process_new_http(
        self: &Arc<Self>,
        mut http: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !matches!(http.read_request().await, Ok(true)) {
            return None;
        }
        http.set_keepalive(if *shutdown.borrow() { None } else { Some(60) });
        let head = http.req_header();
        let method = head.method.as_str().to_string();
        let path = head
            .uri
            .path_and_query()
            .map_or_else(|| head.uri.path().to_string(), |pq| pq.as_str().to_string());
        let headers: Vec<(String, String)> = head
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // A declared length over the cap is refused before reading, so the client gets the
        // 413 instead of a reset from a socket closed with unread data.
        let declared = http
            .get_header("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        let body = if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
            Ok(None)
        } else {
            read_body(&mut http).await
        };
        let reply = match body {
            Ok(Some(body)) => self.backend.handle(&method, &path, &headers, &body).await,
            Ok(None) => {
                // The rest of the body is unread, so this connection cannot be reused.
                http.set_keepalive(None);
                let err = ApiError::new(ErrorKind::TooLarge, "Request body too large");
                let answer = self.backend.dialect().dialect().encode_error(&err);
                write(&mut http, answer).await;
                return None;
            }
            Err(_) => return None,
        };
        match reply {
            Reply::Close => {
                // Fault injection: end the TCP connection with nothing written.
                http.shutdown().await;
                None
            }
            Reply::Respond(answer) => {
                if !write(&mut http, answer).await {
                    return None;
                }
                let persistent = HttpPersistentSettings::for_session(&http);
                match http.finish().await {
                    Ok(Some(stream)) => {
                        Some(ReusedHttpStream::from_reusable_stream(stream, persistent))
                    }
                    _ => None,
                }
            }
        }
    }
}

// === standalone server ===

/// Resolves when the `Standalone` handle asks to stop (or is dropped).
struct StopWatch(parking_lot::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>);

#[async_trait]
impl ShutdownSignalWatch for StopWatch {
    async fn recv(&self) -> ShutdownSignal {
        let rx = self.0.lock().take();
        match rx {
            // A dropped sender also means stop: the handle is gone.
            Some(rx) => {
                let _ = rx.await;
                ShutdownSignal::FastShutdown
            }
            None => std::future::pending().await,
        }
    }
}

/// A backend running on its own Pingora server in a background thread.
pub struct Standalone {
    backend: Arc<Backend>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Standalone {
    /// The backend (for seeding, faults and the request log without HTTP).
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, the base URL of an upstream pointing here.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for its thread (the port is free afterwards).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            // Pingora drops its runtimes (and with them the listening socket) in the background
            // after `run` returns, so the port can still be held for a moment after the join
            // (seen under load: a bind right after `stop` failed). Wait for it, bounded.
            let deadline = Instant::now() + Duration::from_secs(5);
            while TcpListener::bind(self.addr).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A loopback address with a port that was free a moment ago (for tests: Pingora cannot report
/// the port it picked for `:0`).
pub fn free_loopback_addr() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Runs `backend` on `addr` in a thread with its own Pingora server (one worker thread) and
/// waits until it accepts connections. Errors when `addr` does not parse, or nothing listens
/// within five seconds (port taken: Pingora logs the bind failure and keeps running, so the
/// server is stopped again here).
pub fn spawn_standalone(backend: Arc<Backend>, addr: &str) -> std::io::Result<Standalone> {
    let sock: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // Fail early and clearly when the port is taken: later, a successful connect could reach
    // whoever holds it.
    drop(TcpListener::bind(sock)?);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let svc_backend = backend.clone();
    let addr_owned = addr.to_string();
    let thread = std::thread::Builder::new()
        .name(format!("sandbox-{}", backend.dialect()))
        .spawn(move || {
            let conf = ServerConf {
                threads: 1,
                ..ServerConf::default()
            };
            let mut server = Server::new_with_opt_and_conf(None, conf);
            server.bootstrap();
            server.add_service(service(svc_backend, &addr_owned));
            server.run(RunArgs {
                shutdown_signal: Box::new(StopWatch(parking_lot::Mutex::new(Some(rx)))),
            });
        })?;
    let handle = Standalone {
        backend,
        addr: sock,
        stop: Some(tx),
        thread: Some(thread),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&sock, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("sandbox did not start listening on {addr}"),
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(handle)
}
