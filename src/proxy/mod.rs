//! The gateway: a Pingora [`ProxyHttp`] service.
//!
//! Phase chart (details in `docs/architecture.md`):
//! - `request_filter`: load the config snapshot once, match the route and the client's dialect,
//!   check client credentials, answer the OAuth token endpoint, bound and read the body (413 /
//!   415 before anything goes upstream), decode and validate it, apply the upstream rate limit,
//!   take a slot under the upstream's `max_inflight` ([`inflight`]; 503 beyond it). The
//!   client's `X-Request-Id` and `traceparent` are kept or replaced first ([`ids`]); they go to
//!   the upstream on every path and `X-Request-Id` comes back on every answer.
//!   Translated requests (client dialect ≠ upstream dialect) are then completed right here
//!   ([`flow`]) and answered; `Ok(true)` ends Pingora's processing.
//! - Same-dialect requests toward an OAuth upstream are relayed from here through the
//!   gateway's own client (`Gateway::relay`), which refreshes an expired token and retries once;
//!   the upstream's answer is passed on unchanged.
//! - Other same-dialect requests continue through the proxy phases: `upstream_peer` (the route's
//!   upstream with its timeouts), `upstream_request_filter` (path, host, upstream credentials in
//!   place of the client's), the body replayed unchanged from Pingora's retry buffer, the answer
//!   streamed back; `fail_to_proxy` renders connect failures (502) and timeouts (504) in the
//!   client's dialect.
//! - `logging`: the one place that records metrics and writes the access-log line (client
//!   address behind `trusted_proxies`, endpoint kind, upstream and its status, bytes, ids).

pub mod auth;
pub mod client;
pub mod flow;
pub mod ids;
pub mod inflight;
pub mod limits;

use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Route, Snapshot, Store, UpstreamAuth};
use crate::dialect::{detect, dialect, DialectId, Endpoint, EndpointKind, Synthetic};
use crate::metrics::metrics;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use client::UpstreamClient;
use ids::Correlation;
use inflight::{InflightGuard, InflightLimits};
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

/// Reach's tenant header, passed through to Reach upstreams only.
const TENANT_HEADER: &str = "reach-tenant-id";

/// The gateway service.
pub struct Gateway {
    store: Arc<Store>,
    client: UpstreamClient,
    limiter: RateLimiter,
    locks: CustomerLocks,
    /// Redis shared by the replicas (`[cluster]`), built once at start.
    cluster: Option<Arc<crate::cluster::Cluster>>,
    inflight: InflightLimits,
}

impl Gateway {
    /// A gateway serving whatever snapshot `store` holds at each request, everything in-process.
    pub fn new(store: Arc<Store>) -> Self {
        Self::with_cluster(store, None)
    }

    /// A gateway whose locks, rate limits and upstream tokens are shared through `cluster`.
    pub fn with_cluster(store: Arc<Store>, cluster: Option<Arc<crate::cluster::Cluster>>) -> Self {
        Gateway {
            store,
            client: UpstreamClient::with_cluster(cluster.clone()),
            limiter: RateLimiter::default(),
            locks: CustomerLocks::default(),
            cluster,
            inflight: InflightLimits::default(),
        }
    }

    /// See [`limits::lock_customer`].
    async fn lock_customer(
        &self,
        route: &Route,
        customer: &str,
        needs_state: bool,
    ) -> std::result::Result<limits::CustomerGuard, ApiError> {
        limits::lock_customer(
            &self.locks,
            self.cluster.as_ref(),
            &route.upstream,
            customer,
            needs_state,
        )
        .await
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
    lock: Option<limits::CustomerGuard>,
    kind: ErrorKindOrOk,
    status: u16,
    trace: flow::Trace,
    /// Request id, `traceparent`, `tracestate`: logged, passed upstream, the id answered as
    /// `X-Request-Id` (empty until `request_filter` reads the client's headers).
    ids: Correlation,
    /// The endpoint kind, for the access log (`None` before a route matched it).
    endpoint: Option<&'static str>,
    /// This request's slot under the upstream's `max_inflight`, held until the answer is done.
    slot: Option<InflightGuard>,
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

/// The endpoint kind as the access log names it: a closed set, never the path or an id.
fn endpoint_label(kind: &EndpointKind) -> &'static str {
    use crate::dialect::SubAction;
    match kind {
        EndpointKind::Update { full: false } => "update",
        EndpointKind::Update { full: true } => "replace",
        EndpointKind::Properties => "properties",
        EndpointKind::SubResource { action, .. } => match action {
            SubAction::Create => "sub_resource_create",
            SubAction::Update => "sub_resource_update",
            SubAction::Delete => "sub_resource_delete",
        },
        EndpointKind::Get => "get",
        EndpointKind::Token => "token",
    }
}

/// The value of `name` when the client sent it exactly once (a repeated correlation header is
/// ambiguous, W3C Trace Context §3.2.2.1: treated as absent).
fn single_header<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a str> {
    let mut all = req.headers.get_all(name).iter();
    match (all.next(), all.next()) {
        (Some(v), None) => v.to_str().ok(),
        _ => None,
    }
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

/// Writes a synthetic answer, with the request id as `X-Request-Id`.
async fn respond(
    session: &mut Session,
    s: &Synthetic,
    close: bool,
    request_id: &str,
) -> Result<()> {
    let mut h = ResponseHeader::build(s.status, Some(s.headers.len() + 3))?;
    for (n, v) in &s.headers {
        // Appended: a relayed upstream answer may repeat a header (`Set-Cookie`, `Link`).
        h.append_header(n.clone(), v.as_str())?;
    }
    // Replaces an upstream's own id on a relayed answer: the client gets the id it can find
    // in the gateway's log (and which the upstream received).
    h.insert_header("X-Request-Id", request_id)?;
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

/// The dialect of a 404 for a path no route serves. Among the routes with the longest prefix the
/// path is under, the dialect whose URL space the rest of the path lies in wins when one of them
/// serves that dialect (or detects it): with a v1 and a v2 route on one prefix, `/v2/unknown`
/// is a v2 client's. Otherwise the first such route's client dialect; under no route, the URL
/// space alone.
fn not_found_dialect(snap: &Snapshot, method: &str, path: &str) -> Option<DialectId> {
    let mut under = snap
        .match_order
        .iter()
        .map(|&i| &snap.routes[i])
        .filter_map(|r| strip_prefix(path, &r.path_prefix).map(|rest| (r, rest)));
    let Some((first, rest)) = under.next() else {
        return crate::dialect::namespace_of(path);
    };
    let longest = first.path_prefix.trim_end_matches('/').len();
    if let Some(ns) = crate::dialect::namespace_of(rest) {
        let same_prefix = std::iter::once(first).chain(
            under
                .take_while(|(r, _)| r.path_prefix.trim_end_matches('/').len() == longest)
                .map(|(r, _)| r),
        );
        if same_prefix
            .into_iter()
            .any(|r| r.client.is_none_or(|c| c == ns))
        {
            return Some(ns);
        }
    }
    first
        .client
        .or_else(|| detect(method, rest).map(|(d, _)| d))
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
                .or_else(|| not_found_dialect(&snap, &method, &path));
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
        let token_keys = snap.server.token_keys.as_slice();
        ctx.endpoint = Some(endpoint_label(&ep.kind));
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
                token_keys,
                snap.server.token_ttl_secs,
                content_type.as_deref(),
                query.as_deref(),
                &body,
            );
            return Ok(Some((answer, false)));
        }

        auth::check(
            &route.clients,
            token_keys,
            header(session.req_header(), "authorization"),
        )?;

        let write = flow::is_write(&ep);
        let mut decoded = None;
        let mut raw_body = None;
        // Same dialect toward an OAuth upstream: relayed through the gateway's own client, which
        // can refresh an expired token and send the request again (see `relay`).
        let relay = client == route.upstream.dialect
            && matches!(route.upstream.auth, UpstreamAuth::OAuth { .. });
        if write {
            if declared_len.is_some_and(|n| n > max) {
                return Err(ApiError::new(
                    ErrorKind::TooLarge,
                    format!("Request body larger than {max} bytes"),
                ));
            }
            if !flow::is_bodiless(&ep)
                && !crate::dialect::rules::is_json_content_type(content_type.as_deref())
            {
                return Err(ApiError::new(
                    ErrorKind::MediaType,
                    "Content-Type must be application/json",
                ));
            }
            // The retry buffer keeps the bytes we read here, so that Pingora can replay them to
            // the upstream on the same-dialect path (it sends nothing we did not read). A
            // translated request never needs it, and it is a 64 KiB allocation that a kept-alive
            // connection would hold while idle.
            if client == route.upstream.dialect && !relay {
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
            raw_body = Some(body);
        }

        if let Some(per_minute) = route.upstream.rate_limit_per_minute {
            let taken = limits::take_rate(
                &self.limiter,
                self.cluster.as_ref(),
                &route.upstream.name,
                per_minute,
            )
            .await;
            if let Err(wait) = taken {
                metrics().upstream_rate_limited(&route.upstream.name);
                return Err(ApiError::new(ErrorKind::RateLimited, "Too many requests")
                    .with_retry_after(Some(wait)));
            }
        }

        // A slow upstream must not hold every task of the gateway: beyond its bound the
        // request is refused here, before anything is sent (`inflight`).
        let up = &route.upstream;
        match self.inflight.acquire(&up.name, up.max_inflight) {
            Some(slot) => ctx.slot = Some(slot),
            None => {
                return Err(ApiError::new(
                    ErrorKind::UpstreamBusy,
                    format!(
                        "Upstream {} is busy: {} requests already in flight; try again later",
                        up.name,
                        up.max_inflight.unwrap_or_default()
                    ),
                ))
            }
        }

        // `reach-tenant-id` is Reach's header (SPEC §1): it goes to a Reach upstream and to no
        // other vendor, whose logs would otherwise collect another vendor's tenant ids.
        let mut passthrough: Vec<(String, String)> = if route.upstream.dialect == DialectId::Reach {
            header(session.req_header(), TENANT_HEADER)
                .map(|v| vec![(TENANT_HEADER.to_string(), v.to_string())])
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        passthrough.extend(ctx.ids.headers());

        if client == route.upstream.dialect {
            // Same dialect: validated above, forwarded byte for byte (relayed, or through the
            // proxy phases).
            if write {
                // Forwarded whole, never read-modify-write: it need not wait for Redis.
                ctx.lock = Some(self.lock_customer(route, &ep.customer_id, false).await?);
            }
            let rest = strip_prefix(&path, &route.path_prefix).unwrap_or(&path);
            let rest = match &query {
                Some(q) => format!("{rest}?{q}"),
                None => rest.to_string(),
            };
            if relay {
                return self
                    .relay(session, ctx, route, &method, rest, raw_body, write)
                    .await
                    .map(|a| Some((a, false)));
            }
            ctx.forward_path = Some(format!("{}{rest}", route.upstream.base_path));
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

impl Gateway {
    /// A same-dialect request toward an OAuth upstream, sent through [`UpstreamClient`] rather
    /// than streamed through the proxy phases: a cached token can expire or be revoked before
    /// the upstream sees it, and the client's own credentials were fine, so the 401 must not
    /// reach the client. Pingora has already streamed the upstream's status line toward the
    /// client by the time `response_filter` sees a 401, so a retry is only possible when the
    /// whole answer is read first: the gateway's client sends the validated body bytes
    /// unchanged, with the caller's headers (minus hop-by-hop, the caller's credentials and,
    /// toward a non-Reach vendor, `reach-tenant-id`); on a 401 it fetches a new token and sends
    /// once more (the upstream refused, nothing was applied); the upstream's status, headers
    /// (minus hop-by-hop and framing) and body are answered as they came. The cost: the answer
    /// is buffered (at most `client::MAX_UPSTREAM_BODY`, else 502) rather than streamed. Bearer and Basic upstreams, whose credentials cannot expire under
    /// the gateway, keep the streaming path.
    #[allow(clippy::too_many_arguments)]
    async fn relay(
        &self,
        session: &Session,
        ctx: &mut Ctx,
        route: &Route,
        method: &str,
        path: String,
        body: Option<Bytes>,
        write: bool,
    ) -> std::result::Result<Synthetic, ApiError> {
        let up = &route.upstream;
        let method = static_method(method)
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "unexpected method"))?;
        let headers = session
            .req_header()
            .headers
            .iter()
            .filter(|(n, _)| {
                let n = n.as_str();
                !HOP_BY_HOP.contains(&n)
                    && !FRAMING.contains(&n)
                    && n != "authorization"
                    && n != "host"
                    && !CORRELATION.contains(&n)
                    && (up.dialect == DialectId::Reach || n != TENANT_HEADER)
            })
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .chain(ctx.ids.headers())
            .collect();
        let req = crate::dialect::UpstreamRequest {
            method,
            path,
            headers,
            body,
        };
        let answer = self
            .client
            .send(up, &req, write)
            .await
            .map_err(|e| e.to_api(&up.name))?;
        let purpose = if write {
            crate::dialect::Purpose::Write
        } else {
            crate::dialect::Purpose::Read
        };
        metrics().observe_upstream(&up.name, purpose, answer.elapsed);
        ctx.trace.upstream += answer.elapsed;
        ctx.trace.upstream_status = Some(answer.status);
        if answer.status >= 400 {
            ctx.kind = ErrorKindOrOk::Err(ApiError::upstream(answer.status, "", Vec::new()).kind);
        }
        Ok(Synthetic {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .filter(|(n, _)| {
                    !HOP_BY_HOP.contains(&n.as_str()) && !FRAMING.contains(&n.as_str())
                })
                .map(|(n, v)| {
                    // A helpscout-v2 create's `Location` names the upstream's host and path.
                    let v = if n.eq_ignore_ascii_case("location") {
                        client_location(&v, &up.base_path, &route.path_prefix).unwrap_or(v)
                    } else {
                        v
                    };
                    (n, v)
                })
                .collect(),
            body: answer.body,
        })
    }
}

/// Framing headers: `respond` and the upstream client write their own.
const FRAMING: &[&str] = &["content-length", "transfer-encoding"];

/// Correlation headers: the client's are replaced by the gateway's decision ([`Correlation`]).
const CORRELATION: &[&str] = &[ids::REQUEST_ID, ids::TRACEPARENT, ids::TRACESTATE];

/// The method as the `'static` string an [`crate::dialect::UpstreamRequest`] holds.
fn static_method(m: &str) -> Option<&'static str> {
    ["GET", "PUT", "PATCH", "POST", "DELETE"]
        .into_iter()
        .find(|x| *x == m)
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
            ids: Correlation::default(),
            endpoint: None,
            slot: None,
            close: false,
        }
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut Ctx) -> Result<bool> {
        metrics().inflight(1);
        let req = session.req_header();
        ctx.ids = Correlation::from_client(
            single_header(req, ids::REQUEST_ID),
            single_header(req, ids::TRACEPARENT),
            single_header(req, ids::TRACESTATE),
        );
        // One snapshot for the whole request: a reload mid-request does not affect it.
        ctx.snap = Some(self.store.current());
        match self.handle(session, ctx).await {
            Ok(None) => Ok(false),
            Ok(Some((answer, close))) => {
                ctx.status = answer.status;
                // A relayed answer has set its kind from the upstream's status already.
                if answer.status >= 400 && matches!(ctx.kind, ErrorKindOrOk::Ok) {
                    ctx.kind = ErrorKindOrOk::Err(ErrorKind::Upstream);
                }
                respond(session, &answer, close, &ctx.ids.request_id).await?;
                Ok(true)
            }
            Err(err) => {
                let client = ctx.client;
                let body = render_error(client, &err, &ctx.ids.request_id);
                ctx.status = body.status;
                ctx.kind = ErrorKindOrOk::Err(err.kind);
                // After 413 the rest of the body is unread: the connection cannot be reused.
                let close = err.kind == ErrorKind::TooLarge || ctx.close;
                respond(session, &body, close, &ctx.ids.request_id).await?;
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
        for h in CORRELATION {
            upstream_request.remove_header(*h);
        }
        for (n, v) in ctx.ids.headers() {
            upstream_request.insert_header(n, v)?;
        }
        if up.dialect != DialectId::Reach {
            upstream_request.remove_header(TENANT_HEADER);
        }
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
        // OAuth upstreams never come through here (see `relay`): a 401 is the upstream's word
        // on credentials that cannot expire under the gateway, and is passed on.
        ctx.status = upstream_response.status.as_u16();
        ctx.trace.upstream_status = Some(ctx.status);
        upstream_response.insert_header("X-Request-Id", ctx.ids.request_id.as_str())?;
        if ctx.forward_path.is_some() {
            // Same-dialect answers stream through unchanged, except a `Location` (helpscout-v2
            // sub-resource creates), which would otherwise name the upstream's host and path.
            let snap = ctx.snap.clone();
            let rewritten = snap
                .as_deref()
                .and_then(|s| ctx.route(s))
                .and_then(|route| {
                    let loc = upstream_response.headers.get("location")?.to_str().ok()?;
                    client_location(loc, &route.upstream.base_path, &route.path_prefix)
                });
            if let Some(loc) = rewritten {
                upstream_response.insert_header("Location", loc)?;
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
        let err = match e.esource() {
            ErrorSource::Downstream => {
                ApiError::new(ErrorKind::Invalid, "Request could not be read")
            }
            _ => {
                let upstream = ctx
                    .snap
                    .as_deref()
                    .and_then(|s| ctx.route(s))
                    .map_or("(none)", |r| r.upstream.name.as_str());
                client::classify(e).to_api(upstream)
            }
        };
        ctx.kind = ErrorKindOrOk::Err(err.kind);
        let code = if session.response_written().is_some() {
            // Part of the upstream's answer is already on its way: nothing more can be said.
            0
        } else {
            let s = render_error(ctx.client, &err, &ctx.ids.request_id);
            ctx.status = s.status;
            if respond(session, &s, true, &ctx.ids.request_id)
                .await
                .is_err()
            {
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
        ctx.slot = None;
        if ctx.ids.request_id.is_empty() {
            // `request_filter` never ran (the request could not be read): still one id per line.
            ctx.ids = Correlation::from_client(None, None, None);
        }
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
            let peer = session
                .client_addr()
                .and_then(|a| a.as_inet())
                .map(|a| a.ip().to_canonical());
            let forwarded: Vec<&str> = req
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
            let trusted = snap
                .as_deref()
                .map_or(&[][..], |s| s.server.trusted_proxies.as_slice());
            let client_addr = ids::client_addr(peer, forwarded.as_deref(), trusted);
            crate::logging::access_log(&crate::logging::AccessEntry {
                request_id: &ctx.ids.request_id,
                traceparent: &ctx.ids.traceparent,
                client_addr: client_addr.map(|a| a.to_string()),
                peer_addr: peer.map(|a| a.to_string()),
                method: req.method.as_str(),
                endpoint: ctx.endpoint.unwrap_or("none"),
                route: route_name,
                client_dialect: client,
                upstream_dialect: upstream,
                upstream: route.map_or("none", |r| r.upstream.name.as_str()),
                upstream_status: ctx.trace.upstream_status,
                status,
                outcome,
                bytes_in: session.body_bytes_read() as u64,
                bytes_out: session.body_bytes_sent() as u64,
                user_agent: header(req, "user-agent").map(crate::logging::bounded),
                duration_ms: crate::logging::millis(elapsed),
                upstream_ms: crate::logging::millis(ctx.trace.upstream),
                translate_us: ctx.trace.translate.as_micros() as u64,
                state_reads: ctx.trace.state_reads,
                dropped_fields: ctx.trace.dropped.iter().map(|d| d.name.as_str()).collect(),
            });
        }
    }
}

/// The client-visible form of an upstream's `Location`: an absolute URL (or a path) on the
/// upstream becomes a path on the gateway — the upstream's base path removed, the route's
/// prefix put in front — so the client is never sent to the upstream directly. The gateway
/// does not know the scheme and host its clients used, so the result is a path (a relative
/// reference, which RFC 9110 §10.2.2 allows). `None` leaves a relative reference such as
/// `emails/7` alone.
fn client_location(loc: &str, base_path: &str, prefix: &str) -> Option<String> {
    let after_authority = |rest: &str| -> String {
        match rest.find(['/', '?', '#']) {
            Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
            Some(i) => format!("/{}", &rest[i..]),
            None => "/".to_string(),
        }
    };
    let path = if let Some(rest) = loc.strip_prefix("//") {
        after_authority(rest)
    } else if loc.starts_with('/') {
        loc.to_string()
    } else {
        let (scheme, rest) = loc.split_once("://")?;
        let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !is_scheme {
            return None;
        }
        after_authority(rest)
    };
    let below = match path.strip_prefix(base_path) {
        Some(rest)
            if !base_path.is_empty() && (rest.is_empty() || rest.starts_with(['/', '?'])) =>
        {
            rest
        }
        _ => path.as_str(),
    };
    Some(format!("{}{below}", prefix.trim_end_matches('/')))
}

/// Renders an error in the client's dialect, or as plain JSON when no dialect is known; a
/// helpscout-v2 `logRef` is the request id.
fn render_error(client: Option<DialectId>, err: &ApiError, request_id: &str) -> Synthetic {
    match client {
        Some(id) => dialect(id).encode_error(&err.clone().with_log_ref(request_id)),
        None => Synthetic::json(
            err.status,
            "application/json",
            &serde_json::json!({ "status": err.status, "error": err.message }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::client_location;

    #[test]
    fn upstream_locations_become_gateway_paths() {
        let cases = [
            (
                "https://api.helpscout.net/v2/customers/100/address",
                "",
                "/",
                Some("/v2/customers/100/address"),
            ),
            (
                "http://127.0.0.1:9001/v2/customers/7/emails/1001",
                "",
                "/t/hs2/hs2",
                Some("/t/hs2/hs2/v2/customers/7/emails/1001"),
            ),
            (
                "https://internal:8443/hs/v2/customers/7/emails/3",
                "/hs",
                "/crm",
                Some("/crm/v2/customers/7/emails/3"),
            ),
            (
                "/hs/v2/customers/7/address",
                "/hs",
                "/crm/",
                Some("/crm/v2/customers/7/address"),
            ),
            // The base path only strips at a segment boundary.
            (
                "/hsx/v2/customers/7",
                "/hs",
                "/",
                Some("/hsx/v2/customers/7"),
            ),
            (
                "//up.example/v2/customers/7",
                "",
                "/p",
                Some("/p/v2/customers/7"),
            ),
            ("https://up.example", "", "/p", Some("/p/")),
            ("emails/7", "", "/p", None),
            ("1://x/y", "", "/p", None),
        ];
        for (loc, base, prefix, want) in cases {
            assert_eq!(
                client_location(loc, base, prefix).as_deref(),
                want,
                "{loc} base {base} prefix {prefix}"
            );
        }
    }
}
