//! The end of every request: the one place that records its metrics and writes its
//! access-log line, whatever path the request took (translated, relayed, refused, or its
//! answer not written because the client went away); it also releases the customer lock and
//! the in-flight slot.

use super::request::header;
use super::{ids, Ctx};
use crate::config::{Route, Snapshot};
use crate::dialect::DialectId;
use crate::metrics::metrics;
use pingora::protocols::http::ServerSession;
use std::net::IpAddr;
use std::time::Duration;

/// Ends the request: releases what it held, records metrics, writes the access-log line.
pub(super) fn finish(session: &ServerSession, ctx: &mut Ctx) {
    metrics().inflight(-1);
    ctx.lock = None;
    ctx.slot = None;
    if ctx.ids.request_id.is_empty() {
        // No id was decided (defensive: `serve` decides one first): still one id per line.
        ctx.ids = ids::Correlation::from_client(None, None, None);
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
    let protocol = crate::metrics::protocol_label(session.req_header().version);
    metrics().request_protocol(protocol);
    metrics().request(
        route_name,
        client,
        upstream,
        ctx.kind.as_str(),
        status,
        elapsed,
    );
    if let (Some(c), Some(r)) = (ctx.client, route) {
        if ctx.trace.translate > Duration::ZERO {
            metrics().translate(c.as_str(), r.upstream.dialect.as_str(), ctx.trace.translate);
        }
    }
    if snap.as_deref().is_none_or(|s| s.server.access_log) {
        access_line(
            session,
            ctx,
            snap.as_deref(),
            route,
            status,
            elapsed,
            protocol,
        );
    }
}

/// Writes the access-log line.
fn access_line(
    session: &ServerSession,
    ctx: &Ctx,
    snap: Option<&Snapshot>,
    route: Option<&Route>,
    status: u16,
    elapsed: Duration,
    protocol: &'static str,
) {
    let req = session.req_header();
    let (client_addr, peer) = addresses(session, snap);
    crate::logging::access_log(&crate::logging::AccessEntry {
        request_id: &ctx.ids.request_id,
        traceparent: &ctx.ids.traceparent,
        client_addr: client_addr.map(|a| a.to_string()),
        peer_addr: peer.map(|a| a.to_string()),
        method: req.method.as_str(),
        protocol,
        endpoint: ctx.endpoint.unwrap_or("none"),
        route: route.map_or("none", |r| r.name.as_str()),
        client_dialect: ctx.client.map_or("none", DialectId::as_str),
        upstream_dialect: route.map_or("none", |r| r.upstream.dialect.as_str()),
        upstream: route.map_or("none", |r| r.upstream.name.as_str()),
        upstream_status: ctx.trace.upstream_status,
        status,
        outcome: ctx.kind.as_str(),
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

/// The client's address (behind `trusted_proxies`, from `X-Forwarded-For`) and the peer's.
fn addresses(session: &ServerSession, snap: Option<&Snapshot>) -> (Option<IpAddr>, Option<IpAddr>) {
    let peer = session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip().to_canonical());
    let forwarded: Vec<&str> = session
        .req_header()
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
    let trusted = snap.map_or(&[][..], |s| s.server.trusted_proxies.as_slice());
    (ids::client_addr(peer, forwarded.as_deref(), trusted), peer)
}
