//! The gateway: a Pingora [`ProxyHttp`] service.
//!
//! Phase chart (details in `docs/architecture.md`):
//! - `request_filter`: load the config snapshot once, match the route and the client's dialect,
//!   check client credentials, answer the OAuth token endpoint, bound and read the body (413 /
//!   415 before anything goes upstream), decode and validate it, apply the upstream rate limit.
//!   Translated requests (client dialect ≠ upstream dialect) are then completed right here
//!   ([`flow`]) and answered; `Ok(true)` ends Pingora's processing.
//! - Same-dialect requests continue through the proxy phases: `upstream_peer` (the route's
//!   upstream with its timeouts), `upstream_request_filter` (path, host, upstream credentials in
//!   place of the client's), the body replayed unchanged from Pingora's retry buffer, the answer
//!   streamed back; `fail_to_proxy` renders connect failures (502) and timeouts (504) in the
//!   client's dialect.
//! - `logging`: the one place that records metrics and writes the access-log line.

pub mod auth;
pub mod client;
pub mod flow;
pub mod limits;

use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Route, Snapshot, Store};
use crate::dialect::{detect, dialect, DialectId, Endpoint, EndpointKind, Synthetic};
use crate::metrics::metrics;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use client::UpstreamClient;
use limits::{CustomerLocks, RateLimiter};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// The gateway service.
pub struct Gateway {
    store: Arc<Store>,
    client: UpstreamClient,
    limiter: RateLimiter,
    locks: CustomerLocks,
}

impl Gateway {
    /// A gateway serving whatever snapshot `store` holds at each request.
    pub fn new(store: Arc<Store>) -> Self {
        Gateway {
            store,
            client: UpstreamClient::new(),
            limiter: RateLimiter::default(),
            locks: CustomerLocks::default(),
        }
    }
}

/// Per-request state (Pingora's typed context).
pub struct Ctx {
    snap: Option<Arc<Snapshot>>,
    started: Instant,
    route: Option<usize>,
    client: Option<DialectId>,
    /// Same-dialect forwarding: the upstream path and query.
    forward_path: Option<String>,
    /// Held while a same-dialect write is in flight (see `flow` for why writes are serialised).
    lock: Option<tokio::sync::OwnedMutexGuard<()>>,
    kind: ErrorKindOrOk,
    status: u16,
    trace: flow::Trace,
    request_id: String,
    /// Close the client connection after the answer (framing cannot be trusted).
    close: bool,
}

#[derive(Clone, Copy)]
enum ErrorKindOrOk {
    Ok,
    Err(ErrorKind),
}

impl ErrorKindOrOk {
    fn as_str(self) -> &'static str {
        match self {
            ErrorKindOrOk::Ok => "ok",
            ErrorKindOrOk::Err(k) => k.as_str(),
        }
    }
}

impl Ctx {
    fn route<'a>(&self, snap: &'a Snapshot) -> Option<&'a Route> {
        self.route.and_then(|i| snap.routes.get(i))
    }
}

/// A process-unique request id for the access log: start time of the process and a counter,
/// cheaper than a UUID per request.
fn next_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static EPOCH: OnceLock<u64> = OnceLock::new();
    let epoch = EPOCH.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    format!("{epoch:x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Message framing a proxy must not guess at (RFC 9112 §6.1, §6.3): both `Content-Length` and
/// `Transfer-Encoding`, `Content-Length` values that disagree, or a transfer coding other than a
/// single `chunked`. Pingora already drops `Content-Length` when both are present (and closes
/// the connection after the answer), which the RFC allows; the gateway goes further and refuses
/// such a request outright, so an ambiguous body never reaches an upstream. The raw header bytes
/// are read because the parsed header no longer shows the dropped `Content-Length`.
fn framing_problem(session: &Session) -> Option<&'static str> {
    let raw = session.as_downstream().as_http1()?.get_headers_raw_bytes();
    let mut te: Vec<&[u8]> = Vec::new();
    let mut cl: Vec<&[u8]> = Vec::new();
    for line in raw.split(|b| *b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.trim_ascii().eq_ignore_ascii_case(b"transfer-encoding") {
            te.push(value);
        } else if name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
            cl.push(value);
        }
    }
    if !te.is_empty() && !cl.is_empty() {
        return Some("both Content-Length and Transfer-Encoding");
    }
    if cl.windows(2).any(|w| w[0] != w[1]) {
        return Some("conflicting Content-Length values");
    }
    if te.len() > 1
        || te
            .first()
            .is_some_and(|v| !v.eq_ignore_ascii_case(b"chunked"))
    {
        return Some("a Transfer-Encoding other than chunked");
    }
    None
}

/// Writes a synthetic answer.
async fn respond(session: &mut Session, s: &Synthetic, close: bool) -> Result<()> {
    let mut h = ResponseHeader::build(s.status, Some(s.headers.len() + 2))?;
    for (n, v) in &s.headers {
        h.insert_header(n.clone(), v.as_str())?;
    }
    h.insert_header("Content-Length", s.body.len().to_string())?;
    if close {
        h.insert_header("Connection", "close")?;
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(h), false).await?;
    session
        .write_response_body(Some(s.body.clone()), true)
        .await?;
    Ok(())
}

fn header<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Matches a route: the longest `path_prefix` first, and within it the first route whose client
/// dialect recognises the rest of the path.
fn match_route(
    snap: &Snapshot,
    method: &str,
    path: &str,
) -> Option<(usize, DialectId, Result<Endpoint, ApiError>)> {
    // Longest prefix first, file order among equals: computed once per snapshot.
    for &i in &snap.match_order {
        let route = &snap.routes[i];
        let Some(rest) = strip_prefix(path, &route.path_prefix) else {
            continue;
        };
        match route.client {
            Some(id) => match dialect(id).route(method, rest) {
                Err(e) if e.status == 404 => continue,
                r => return Some((i, id, r)),
            },
            None => {
                if let Some((id, r)) = detect(method, rest) {
                    return Some((i, id, r));
                }
            }
        }
    }
    None
}

/// The client dialect of the longest route prefix `path` is under (for a 404 below a route).
fn prefix_dialect(snap: &Snapshot, method: &str, path: &str) -> Option<DialectId> {
    snap.routes
        .iter()
        .filter_map(|r| strip_prefix(path, &r.path_prefix).map(|rest| (r, rest)))
        .max_by_key(|(r, _)| r.path_prefix.len())
        .and_then(|(r, rest)| r.client.or_else(|| detect(method, rest).map(|(d, _)| d)))
}

/// Strips a route prefix on a path-segment boundary (`/crm` matches `/crm/v2/…`, not `/crmx`).
fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Longest a client may take to send its whole body (64 KiB at most: 6.4 KB/s is the slowest
/// rate that fits).
const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Reads the whole request body, refusing more than `max` bytes or a body that takes longer
/// than [`BODY_DEADLINE`].
async fn read_body(session: &mut Session, max: usize) -> std::result::Result<Bytes, ApiError> {
    let read = async {
        let mut buf = BytesMut::new();
        loop {
            let chunk = session
                .read_request_body()
                .await
                .map_err(|_| ApiError::new(ErrorKind::Invalid, "Request body could not be read"))?;
            let Some(chunk) = chunk else {
                return Ok(buf.freeze());
            };
            if buf.len() + chunk.len() > max {
                return Err(ApiError::new(
                    ErrorKind::TooLarge,
                    format!("Request body larger than {max} bytes"),
                ));
            }
            buf.extend_from_slice(&chunk);
        }
    };
    // Pingora bounds each read (60 s) but not the whole body: without a deadline a client that
    // trickles a byte now and then holds a connection and a task for as long as it likes.
    match tokio::time::timeout(BODY_DEADLINE, read).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::new(
            ErrorKind::Invalid,
            format!(
                "Request body not received within {} s",
                BODY_DEADLINE.as_secs()
            ),
        )
        .with_status(408)),
    }
}

impl Gateway {
    /// The part of `request_filter` that may fail with an error for the client; `Ok(None)`
    /// means "continue to the proxy phases" (same-dialect forwarding).
    async fn handle(
        &self,
        session: &mut Session,
        ctx: &mut Ctx,
    ) -> std::result::Result<Option<(Synthetic, bool)>, ApiError> {
        let snap = ctx
            .snap
            .clone()
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "no configuration"))?;
        let req = session.req_header();
        let method = req.method.as_str().to_string();
        let path = req.uri.path().to_string();
        let query = req.uri.query().map(str::to_string);
        let Some((ri, client, endpoint)) = match_route(&snap, &method, &path) else {
            // No route knows the path: answer 404 in the dialect the path looks like, if any,
            // else in the dialect of the route whose prefix the path is under (before, an
            // unknown endpoint below a helpcrunch route got a plain `{"status":404}` body).
            ctx.client = detect(&method, &path)
                .map(|(d, _)| d)
                .or_else(|| prefix_dialect(&snap, &method, &path));
            return Err(ApiError::new(ErrorKind::NotFound, "Not found"));
        };
        ctx.route = Some(ri);
        ctx.client = Some(client);
        if let Some(problem) = framing_problem(session) {
            // The gateway and the next hop could disagree on where this body ends (request
            // smuggling): refuse it and close the connection, whose remaining bytes cannot be
            // trusted to start a request.
            ctx.close = true;
            return Err(ApiError::new(
                ErrorKind::Invalid,
                format!("Ambiguous request framing: {problem}"),
            ));
        }
        let route = &snap.routes[ri];
        let ep = endpoint?;
        let secret = snap
            .server
            .token_secret
            .as_ref()
            .map(|s| s.expose().as_bytes());
        let max = snap.server.max_body_bytes;

        let content_type = header(session.req_header(), "content-type").map(str::to_string);
        let declared_len = header(session.req_header(), "content-length")
            .and_then(|v| v.trim().parse::<usize>().ok());

        if ep.kind == EndpointKind::Token {
            if declared_len.is_some_and(|n| n > max) {
                return Err(ApiError::new(ErrorKind::TooLarge, "Request body too large"));
            }
            // The rest of an unread body cannot be skipped safely: close after answering.
            let body = read_body(session, max)
                .await
                .inspect_err(|_| ctx.close = true)?;
            let answer = auth::token_endpoint(
                &route.clients,
                secret,
                snap.server.token_ttl_secs,
                content_type.as_deref(),
                &body,
            );
            return Ok(Some((answer, false)));
        }

        auth::check(
            &route.clients,
            secret,
            header(session.req_header(), "authorization"),
        )?;

        let write = flow::is_write(&ep);
        let mut decoded = None;
        if write {
            if declared_len.is_some_and(|n| n > max) {
                return Err(ApiError::new(
                    ErrorKind::TooLarge,
                    format!("Request body larger than {max} bytes"),
                ));
            }
            if !crate::dialect::rules::is_json_content_type(content_type.as_deref()) {
                return Err(ApiError::new(
                    ErrorKind::MediaType,
                    "Content-Type must be application/json",
                ));
            }
            // The retry buffer keeps the bytes we read here, so that Pingora can replay them to
            // the upstream on the same-dialect path (it sends nothing we did not read). A
            // translated request never needs it, and it is a 64 KiB allocation that a kept-alive
            // connection would hold while idle.
            if client == route.upstream.dialect {
                session.as_mut().enable_retry_buffering();
            }
            let body = read_body(session, max)
                .await
                .inspect_err(|_| ctx.close = true)?;
            let t = Instant::now();
            let mut r = dialect(client).decode_request(&ep, query.as_deref(), &body);
            if client == route.upstream.dialect {
                r = r.and_then(|req| crate::dialect::vendor_rules(client, &req).map(|()| req));
            }
            ctx.trace.translate += t.elapsed();
            decoded = Some(r.inspect_err(|e| {
                for v in &e.violations {
                    metrics().validation_error(client.as_str(), v.rule.as_str());
                }
            })?);
        }

        if let Some(per_minute) = route.upstream.rate_limit_per_minute {
            if let Err(wait) = self.limiter.take(&route.upstream.name, per_minute) {
                metrics().upstream_rate_limited(&route.upstream.name);
                return Err(ApiError::new(ErrorKind::RateLimited, "Too many requests")
                    .with_retry_after(Some(wait)));
            }
        }

        let passthrough: Vec<(String, String)> = header(session.req_header(), "reach-tenant-id")
            .map(|v| vec![("reach-tenant-id".to_string(), v.to_string())])
            .unwrap_or_default();

        if client == route.upstream.dialect {
            // Same dialect: validated above, forwarded byte for byte through the proxy phases.
            if write {
                ctx.lock = Some(self.locks.lock(&route.upstream.name, &ep.customer_id).await);
            }
            let rest = strip_prefix(&path, &route.path_prefix).unwrap_or(&path);
            ctx.forward_path = Some(match &query {
                Some(q) => format!("{}{rest}?{q}", route.upstream.base_path),
                None => format!("{}{rest}", route.upstream.base_path),
            });
            return Ok(None);
        }

        let mut trace = flow::Trace::default();
        let answer = match (write, decoded) {
            (true, Some(req)) => {
                self.translated_write(route, client, &ep, &req, passthrough, &mut trace)
                    .await
            }
            _ => {
                self.translated_get(route, client, &ep, passthrough, &mut trace)
                    .await
            }
        };
        let translate_before = ctx.trace.translate;
        ctx.trace = trace;
        ctx.trace.translate += translate_before;
        answer.map(|a| Some((a, false)))
    }
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = Ctx;

    fn new_ctx(&self) -> Ctx {
        Ctx {
            snap: None,
            started: Instant::now(),
            route: None,
            client: None,
            forward_path: None,
            lock: None,
            kind: ErrorKindOrOk::Ok,
            status: 0,
            trace: flow::Trace::default(),
            request_id: next_request_id(),
            close: false,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        metrics().inflight(1);
        // One snapshot for the whole request: a reload mid-request does not affect it.
        ctx.snap = Some(self.store.current());
        match self.handle(session, ctx).await {
            Ok(None) => Ok(false),
            Ok(Some((answer, close))) => {
                ctx.status = answer.status;
                if answer.status >= 400 {
                    ctx.kind = ErrorKindOrOk::Err(ErrorKind::Upstream);
                }
                respond(session, &answer, close).await?;
                Ok(true)
            }
            Err(err) => {
                let client = ctx.client;
                let body = render_error(client, &err);
                ctx.status = body.status;
                ctx.kind = ErrorKindOrOk::Err(err.kind);
                // After 413 the rest of the body is unread: the connection cannot be reused.
                let close = err.kind == ErrorKind::TooLarge || ctx.close;
                respond(session, &body, close).await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        let snap = ctx
            .snap
            .clone()
            .ok_or_else(|| Error::new(ErrorType::InternalError))?;
        let route = ctx
            .route(&snap)
            .ok_or_else(|| Error::new(ErrorType::InternalError))?;
        match self.client.peer(&route.upstream).await {
            Ok(peer) => Ok(Box::new(peer)),
            Err(e) => Err(Error::because(
                ErrorType::ConnectError,
                "resolving the upstream",
                e.to_api(&route.upstream.name),
            )),
        }
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        let snap = ctx
            .snap
            .clone()
            .ok_or_else(|| Error::new(ErrorType::InternalError))?;
        let route = ctx
            .route(&snap)
            .ok_or_else(|| Error::new(ErrorType::InternalError))?;
        let up = &route.upstream;
        if let Some(p) = &ctx.forward_path {
            let uri: http::Uri = p
                .parse()
                .map_err(|_| Error::new(ErrorType::InternalError))?;
            upstream_request.set_uri(uri);
        }
        for h in HOP_BY_HOP {
            upstream_request.remove_header(*h);
        }
        // The client's credentials are never forwarded (SPEC §6).
        upstream_request.remove_header("authorization");
        upstream_request.insert_header("Host", up.host_header())?;
        match self.client.auth_value(up).await {
            Ok(Some(v)) => {
                upstream_request.insert_header("Authorization", v)?;
            }
            Ok(None) => {}
            Err(e) => {
                let err = e.to_api(&up.name);
                return Err(Error::because(
                    ErrorType::ConnectError,
                    "upstream credentials",
                    err,
                ));
            }
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        for h in HOP_BY_HOP {
            upstream_response.remove_header(*h);
        }
        ctx.status = upstream_response.status.as_u16();
        if ctx.status == 401 {
            // The same-dialect path used the cached OAuth token and the upstream refused it
            // (revoked, expired early): forget it so the next request fetches a new one. Before,
            // every same-dialect request kept failing with the dead token until its expiry.
            let snap = ctx.snap.clone();
            if let Some(route) = snap.as_deref().and_then(|s| ctx.route(s)) {
                if matches!(
                    route.upstream.auth,
                    crate::config::UpstreamAuth::OAuth { .. }
                ) {
                    self.client.invalidate_token(&route.upstream);
                }
            }
        }
        if ctx.status >= 400 {
            ctx.kind = ErrorKindOrOk::Err(ApiError::upstream(ctx.status, "", Vec::new()).kind);
        }
        Ok(())
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        _ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        let mut e = e.more_context(format!("Peer: {peer}"));
        // SPEC §4: a write is never retried once bytes may have reached the upstream (Pingora
        // would retry PUT, which HTTP calls idempotent).
        if session.req_header().method != http::Method::GET {
            e.set_retry(false);
        } else {
            e.retry.decide_reuse(client_reused);
        }
        e
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        let err = match e.etype() {
            ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout => {
                ApiError::new(ErrorKind::GatewayTimeout, "Upstream timed out")
            }
            _ => match e.esource() {
                ErrorSource::Downstream => {
                    ApiError::new(ErrorKind::Invalid, "Request could not be read")
                }
                _ => ApiError::new(ErrorKind::BadGateway, "Upstream unavailable"),
            },
        };
        ctx.kind = ErrorKindOrOk::Err(err.kind);
        let code = if session.response_written().is_some() {
            // Part of the upstream's answer is already on its way: nothing more can be said.
            0
        } else {
            let s = render_error(ctx.client, &err);
            ctx.status = s.status;
            if respond(session, &s, true).await.is_err() {
                0
            } else {
                s.status
            }
        };
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        metrics().inflight(-1);
        ctx.lock = None;
        let status = if ctx.status != 0 {
            ctx.status
        } else {
            session.response_written().map_or(0, |h| h.status.as_u16())
        };
        let snap = ctx.snap.clone();
        let route = snap.as_deref().and_then(|s| ctx.route(s));
        let route_name = route.map_or("none", |r| r.name.as_str());
        let client = ctx.client.map_or("none", DialectId::as_str);
        let upstream = route.map_or("none", |r| r.upstream.dialect.as_str());
        let elapsed = ctx.started.elapsed();
        let outcome = ctx.kind.as_str();
        metrics().request(route_name, client, upstream, outcome, status, elapsed);
        if let (Some(c), Some(r)) = (ctx.client, route) {
            if ctx.trace.translate > Duration::ZERO {
                metrics().translate(c.as_str(), r.upstream.dialect.as_str(), ctx.trace.translate);
            }
        }
        let access_log = snap.as_deref().is_none_or(|s| s.server.access_log);
        if access_log {
            let req = session.req_header();
            crate::logging::access_log(&crate::logging::AccessEntry {
                request_id: &ctx.request_id,
                route: route_name,
                client_dialect: client,
                upstream_dialect: upstream,
                method: req.method.as_str(),
                status,
                outcome,
                duration_ms: elapsed.as_secs_f64() * 1e3,
                upstream_ms: ctx.trace.upstream.as_secs_f64() * 1e3,
                translate_us: ctx.trace.translate.as_secs_f64() * 1e6,
                state_reads: ctx.trace.state_reads,
                dropped_fields: ctx.trace.dropped.iter().map(|d| d.name.as_str()).collect(),
            });
        }
    }
}

/// Renders an error in the client's dialect, or as plain JSON when no dialect is known.
fn render_error(client: Option<DialectId>, err: &ApiError) -> Synthetic {
    match client {
        Some(id) => dialect(id).encode_error(err),
        None => Synthetic::json(
            err.status,
            "application/json",
            &serde_json::json!({ "status": err.status, "error": err.message }),
        ),
    }
}
