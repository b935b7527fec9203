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
//! - Same-dialect requests toward an OAuth or a plain-HTTP upstream are relayed from here
//!   through the gateway's own client (`Gateway::relay`), which refreshes an expired token and
//!   retries once; the upstream's answer (read whole) is passed on unchanged.
//! - Other same-dialect requests (Bearer or Basic HTTPS upstreams) continue through the proxy
//!   phases: `upstream_peer` (the route's
//!   upstream with its timeouts), `upstream_request_filter` (path, host, upstream credentials in
//!   place of the client's), the body replayed unchanged from Pingora's retry buffer, the answer
//!   streamed back; `fail_to_proxy` renders connect failures (502) and timeouts (504) in the
//!   client's dialect.
//! - `logging`: the one place that records metrics and writes the access-log line (client
//!   address behind `trusted_proxies`, endpoint kind, upstream and its status, bytes, ids).
//!
//! The phases below are thin delegations, so each fits on a screen: `request` holds the
//! `request_filter` pipeline as named steps, `forward` the same-dialect path (relay and the
//! streaming phases), `answer` the one place a failure becomes the client's answer, `log`
//! the logging phase.

mod answer;
pub mod auth;
pub mod client;
pub mod flow;
mod forward;
pub mod ids;
pub mod inflight;
pub mod limits;
mod log;
mod plain;
mod request;

use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Route, Snapshot, Store};
use crate::dialect::DialectId;
use crate::metrics::metrics;
use async_trait::async_trait;
use client::UpstreamClient;
use ids::Correlation;
use inflight::{InflightGuard, InflightLimits};
use limits::{CustomerLocks, RateLimiter};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use std::sync::Arc;
use std::time::Instant;

/// The gateway's plain-TCP listener. Pingora gives every accepted connection a 64 KiB read
/// buffer (`DEFAULT_L4_READ_BUFFER_SIZE`) for as long as the connection lives, idle or not:
/// 1,000 idle keep-alive clients held ~64 MiB in those buffers alone. Its HTTP/1 session reads
/// the header block and the body into buffers of its own, so the read buffer only adds a copy
/// on plain TCP; without it (`read(0)`, reads go straight to the socket) an idle connection
/// costs a few KiB (`docs/benchmarks.md`). TLS listeners keep Pingora's buffer: TLS records
/// are read 16 KiB at a time and the buffer saves system calls there.
pub fn plain_listener(addr: &str) -> pingora::listeners::ListenerConfig {
    pingora::listeners::ListenerConfig::tcp(addr)
        .l4_buffer(pingora::listeners::L4BufferSettings::default().read(0))
}

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
        // Kept or replaced first: every answer, even a 404, carries the request id.
        ctx.ids = request::correlation(session.req_header());
        // One snapshot for the whole request: a reload mid-request does not affect it.
        ctx.snap = Some(self.store.current());
        let outcome = self.handle(session, ctx).await;
        answer::handled(session, ctx, outcome).await
    }

    async fn upstream_peer(&self, _session: &mut Session, ctx: &mut Ctx) -> Result<Box<HttpPeer>> {
        self.peer(ctx).await
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        self.upstream_headers(upstream_request, ctx).await
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Ctx,
    ) -> Result<()> {
        forward::response_headers(upstream_response, ctx)
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        e: Box<Error>,
        _ctx: &mut Ctx,
        client_reused: bool,
    ) -> Box<Error> {
        forward::retry_rule(peer, session, e, client_reused)
    }

    async fn fail_to_proxy(&self, session: &mut Session, e: &Error, ctx: &mut Ctx) -> FailToProxy {
        answer::proxy_failure(session, e, ctx).await
    }

    async fn logging(&self, session: &mut Session, _e: Option<&Error>, ctx: &mut Ctx) {
        log::finish(session, ctx);
    }
}
