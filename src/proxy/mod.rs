//! The gateway: a pingora-core `HttpServerApp` ([`serve`]) on Pingora's listeners — plain TCP
//! ([`plain_listener`]) or TLS with h2 through ALPN — which answers every request itself. Until
//! issue 11 it was a `pingora-proxy` `ProxyHttp` service; the proxy phases are gone.
//!
//! Request chart (details in `docs/architecture.md`), one pass per request:
//! - `serve::process_new_http`: read the request header (400 for an unreadable one, 405 for
//!   `CONNECT`, the connection dropped when the service shuts down while it waits), no
//!   keep-alive once shutdown has begun.
//! - `request::handle`: load the config snapshot once, match the route and the client's
//!   dialect, check client credentials, answer the OAuth token endpoint, bound and read the body
//!   (413 / 415 before anything goes upstream), decode and validate it, apply the upstream rate
//!   limit, take a slot under the upstream's `max_inflight` ([`inflight`]; 503 beyond it). The
//!   client's `X-Request-Id` and `traceparent` are kept or replaced first ([`ids`]); they go to
//!   the upstream on every path and `X-Request-Id` comes back on every answer.
//!   - Translated requests (client dialect ≠ upstream dialect) are completed by [`flow`].
//!   - Same-dialect requests are relayed through the gateway's own client (`forward`,
//!     `Gateway::relay`): plain-HTTP upstreams through its keep-alive pool, HTTPS ones through
//!     Pingora's connector; an OAuth upstream's 401 refreshes the token and retries once; the
//!     upstream's answer (read whole, ≤ 1 MiB) is passed on with its `Location` rewritten.
//!     Transport failures become 502/504 in the client's dialect (`client::classify`).
//! - `answer::handled`: the answer or the error, rendered in the client's dialect, written with
//!   `X-Request-Id` (and `Connection: close` when the connection cannot be trusted any more).
//! - `log::finish`: the one place that records metrics and writes the access-log line (client
//!   address behind `trusted_proxies`, endpoint kind, upstream and its status, bytes, ids),
//!   for every request whose header was read, also when the answer could not be written.
//! - `serve`: the downstream connection goes back for the next request when the request body
//!   was read whole and nothing asked for a close.

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
mod serve;

pub use serve::{service as gateway_service, GatewayService};

use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Route, Snapshot, Store};
use crate::dialect::DialectId;
use client::UpstreamClient;
use ids::Correlation;
use inflight::{InflightGuard, InflightLimits};
use limits::{CustomerLocks, RateLimiter};
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
        hold: limits::Hold,
    ) -> std::result::Result<limits::CustomerGuard, ApiError> {
        limits::lock_customer(
            &self.locks,
            self.cluster.as_ref(),
            &route.upstream,
            customer,
            hold,
        )
        .await
    }
}

/// Per-request state.
pub struct Ctx {
    snap: Option<Arc<Snapshot>>,
    started: Instant,
    route: Option<usize>,
    client: Option<DialectId>,
    /// Held while a same-dialect write is in flight (see `flow` for why writes are serialised).
    lock: Option<limits::CustomerGuard>,
    kind: ErrorKindOrOk,
    status: u16,
    trace: flow::Trace,
    /// Request id, `traceparent`, `tracestate`: logged, passed upstream, the id answered as
    /// `X-Request-Id` (empty until `serve` has read the client's headers).
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
    fn new() -> Self {
        Ctx {
            snap: None,
            started: Instant::now(),
            route: None,
            client: None,
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

    fn route<'a>(&self, snap: &'a Snapshot) -> Option<&'a Route> {
        self.route.and_then(|i| snap.routes.get(i))
    }
}
