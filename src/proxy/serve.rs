//! The gateway as a pingora-core [`HttpServerApp`]: Pingora's listeners (plain TCP and TLS with
//! h2 through ALPN), its HTTP/1 and HTTP/2 server sessions, keep-alive reuse and graceful
//! shutdown, with the gateway's own request handling in place of `pingora-proxy`'s `ProxyHttp`
//! phases (issue 11). Every request is answered by the gateway itself — translated ones from
//! [`flow`](super::flow), same-dialect ones relayed through its own client — so the proxy phases,
//! their upstream connector and their cache/module machinery had nothing left to do but cost:
//! two large boxed futures per request (`process_new_http`, `process_request`) were moved into
//! the heap, ~28k of the ~51k instructions the phases took per request (`docs/benchmarks.md`).
//!
//! What `pingora-proxy` did around the phases and the gateway relies on is kept here: a header
//! block that cannot be parsed is answered 400 and the connection closed, `CONNECT` 405, a
//! keep-alive connection waiting for its next request is dropped when the service shuts down,
//! no connection is kept alive once shutdown has begun, the access log is written once per
//! request that was read (also when the answer could not be written), and the connection goes
//! back for the next request only when the request and the answer allow it
//! ([`ServerSession::finish`] refuses a connection whose body was not read, or that must close).

use super::{answer, log, request, Ctx, Gateway};
use crate::metrics::metrics;
use async_trait::async_trait;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ReusedHttpStream};
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use std::sync::Arc;

/// The listening service of the gateway (what `server.rs` adds its listeners to).
pub type GatewayService = pingora::services::listening::Service<Gateway>;

/// The gateway's service, named as in Pingora's logs.
pub fn service(gateway: Gateway) -> GatewayService {
    GatewayService::new("patchbay gateway".to_string(), gateway)
}

#[async_trait]
impl HttpServerApp for Gateway {
    async fn process_new_http(
        self: &Arc<Self>,
        mut session: ServerSession,
        shutdown: &ShutdownWatch,
    ) -> Option<ReusedHttpStream> {
        if !read_header(&mut session, shutdown).await {
            return None;
        }
        if *shutdown.borrow() {
            // Shutting down: this answer is the connection's last.
            session.set_keepalive(None);
        }
        let mut ctx = Ctx::new();
        let written = self.serve(&mut session, &mut ctx).await;
        log::finish(&session, &mut ctx);
        if !written {
            return None;
        }
        let settings = HttpPersistentSettings::for_session(&session);
        session
            .finish()
            .await
            .ok()
            .flatten()
            .map(|s| ReusedHttpStream::from_reusable_stream(s, settings))
    }
}

impl Gateway {
    /// Handles one request whose header has been read; `false` when the answer could not be
    /// written (the client went away): the connection is not reused.
    async fn serve(&self, session: &mut ServerSession, ctx: &mut Ctx) -> bool {
        metrics().inflight(1);
        // Kept or replaced first: every answer, even a 404, carries the request id.
        ctx.ids = request::correlation(session.req_header());
        // One snapshot for the whole request: a reload mid-request does not affect it.
        ctx.snap = Some(self.store.current());
        let outcome = self.handle(session, ctx).await;
        match answer::handled(session, ctx, outcome).await {
            Ok(()) => true,
            Err(e) => {
                ::log::debug!("answer not written: {e}");
                false
            }
        }
    }
}

/// Reads the next request's header; `false` ends the connection: closed by the client, an
/// unreadable header (answered 400), `CONNECT` (405), or the service shutting down while the
/// connection waited for a request.
async fn read_header(session: &mut ServerSession, shutdown: &ShutdownWatch) -> bool {
    let mut stop = shutdown.clone();
    let res = tokio::select! {
        // Biased: a request already buffered is served before the shutdown is noticed.
        biased;
        res = session.read_request() => res,
        _ = stop.wait_for(|down| *down) => return false,
    };
    match res {
        Ok(true) => {}
        Ok(false) => return false,
        Err(e) => {
            if matches!(e.etype, pingora::ErrorType::InvalidHTTPHeader) {
                ::log::debug!("unreadable request header: {e}");
                let _ = session.respond_error(400).await;
            } else {
                ::log::debug!("connection ended before a request: {e}");
            }
            session.shutdown().await;
            return false;
        }
    }
    // CONNECT changes the message framing (RFC 9112 §6.3) and is no API call: refused as
    // Pingora's proxy did, before any of the gateway's handling.
    if session.req_header().method == http::Method::CONNECT {
        let _ = session.respond_error(405).await;
        session.shutdown().await;
        return false;
    }
    true
}
