//! Same-dialect forwarding: the request was validated but needs no translation, so its bytes go
//! to the upstream unchanged — relayed through the gateway's own client toward OAuth and
//! plain-HTTP upstreams (`Gateway::relay`), streamed through Pingora's proxy phases toward
//! Bearer and Basic HTTPS upstreams (`upstream_peer`, `upstream_request_filter`,
//! `response_filter`, `error_while_proxy` delegate here). Both paths
//! filter the same headers and rewrite a `Location` the same way, which is why they live together.

use super::request::{Handled, Routed};
use super::{ids, Ctx, ErrorKindOrOk, Gateway};
use crate::canonical::{ApiError, ErrorKind};
use crate::dialect::{profile, DialectId, Synthetic};
use crate::metrics::metrics;
use bytes::Bytes;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::proxy::Session;

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

/// Framing headers: `respond` and the upstream client write their own.
const FRAMING: &[&str] = &["content-length", "transfer-encoding"];

/// Correlation headers: the client's are replaced by the gateway's decision
/// ([`Correlation`](ids::Correlation)).
const CORRELATION: &[&str] = &[ids::REQUEST_ID, ids::TRACEPARENT, ids::TRACESTATE];

impl Gateway {
    /// The same-dialect end of `handle`: serialise a write, then relay it (OAuth upstream) or
    /// leave it to the proxy phases (`Ok(None)`), with the upstream path in the context.
    pub(super) async fn same_dialect(
        &self,
        session: &Session,
        ctx: &mut Ctx,
        r: &Routed<'_>,
        raw_body: Option<Bytes>,
    ) -> Handled {
        let route = r.route;
        if r.write {
            // Forwarded whole, never read-modify-write: it need not wait for Redis.
            ctx.lock = Some(self.lock_customer(route, &r.ep.customer_id, false).await?);
        }
        let path = &r.path;
        let rest = super::request::strip_prefix(path, &route.path_prefix).unwrap_or(path);
        let rest = match &r.query {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        if r.relay {
            return self
                .relay(session, ctx, r, rest, raw_body)
                .await
                .map(|a| Some((a, false)));
        }
        ctx.forward_path = Some(format!("{}{rest}", route.upstream.base_path));
        Ok(None)
    }

    /// A same-dialect request toward an OAuth upstream, sent through
    /// [`UpstreamClient`](super::client::UpstreamClient) rather than streamed through the proxy
    /// phases: a cached token can expire or be revoked before the upstream sees it, and the
    /// client's own credentials were fine, so the 401 must not reach the client. Pingora has
    /// already streamed the upstream's status line toward the client by the time
    /// `response_filter` sees a 401, so a retry is only possible when the whole answer is read
    /// first: the gateway's client sends the validated body bytes unchanged, with the caller's
    /// headers (minus hop-by-hop, the caller's credentials and, toward a non-Reach vendor,
    /// `reach-tenant-id`); on a 401 it fetches a new token and sends once more (the upstream
    /// refused, nothing was applied); the upstream's status, headers (minus hop-by-hop and
    /// framing) and body are answered as they came. The cost: the answer is buffered (at most
    /// `client::MAX_UPSTREAM_BODY`, else 502) rather than streamed. Plain-HTTP upstreams are
    /// relayed too (issue 11): the gateway's keep-alive pool ([`plain`](super::plain)) costs
    /// fewer instructions per request than Pingora's proxy phases and its connector
    /// (`docs/benchmarks.md`), and these customer APIs answer a few KiB at most. Bearer and
    /// Basic HTTPS upstreams keep the streaming path.
    async fn relay(
        &self,
        session: &Session,
        ctx: &mut Ctx,
        r: &Routed<'_>,
        path: String,
        body: Option<Bytes>,
    ) -> std::result::Result<Synthetic, ApiError> {
        let (route, up) = (r.route, &r.route.upstream);
        let method = static_method(&r.method)
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "unexpected method"))?;
        let headers = relayed_headers(session.req_header(), up.dialect)
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
            .send(up, &req, r.write)
            .await
            .map_err(|e| e.to_api(&up.name))?;
        let purpose = if r.write {
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

    /// `upstream_peer`: the route's upstream with its timeouts.
    pub(super) async fn peer(&self, ctx: &Ctx) -> Result<Box<HttpPeer>> {
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

    /// `upstream_request_filter`: the upstream path, `Host`, correlation ids and the upstream's
    /// credentials in place of the client's.
    pub(super) async fn upstream_headers(
        &self,
        upstream_request: &mut RequestHeader,
        ctx: &Ctx,
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
        // Another vendor's tenant header would leak its tenant ids into this vendor's logs.
        for h in profile::foreign_passthrough_headers(up.dialect) {
            upstream_request.remove_header(h);
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
}

/// The caller's headers a relay passes on: not hop-by-hop or framing (the client writes its
/// own), not the caller's credentials, `Host` or correlation ids (the gateway's replace them),
/// and a vendor's pass-through header (`reach-tenant-id`) only toward that vendor.
fn relayed_headers(
    req: &RequestHeader,
    upstream: DialectId,
) -> impl Iterator<Item = (String, String)> + '_ {
    req.headers
        .iter()
        .filter(move |(n, _)| {
            let n = n.as_str();
            !HOP_BY_HOP.contains(&n)
                && !FRAMING.contains(&n)
                && n != "authorization"
                && n != "host"
                && !CORRELATION.contains(&n)
                && profile::header_reaches(n, upstream)
        })
        .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
}

/// `response_filter`: the streamed answer's headers, minus hop-by-hop, with the gateway's request
/// id and a client-visible `Location`.
pub(super) fn response_headers(
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

/// `error_while_proxy`: SPEC §4, a write is never retried once bytes may have reached the
/// upstream (Pingora would retry PUT, which HTTP calls idempotent).
pub(super) fn retry_rule(
    peer: &HttpPeer,
    session: &Session,
    e: Box<Error>,
    client_reused: bool,
) -> Box<Error> {
    let mut e = e.more_context(format!("Peer: {peer}"));
    if session.req_header().method != http::Method::GET {
        e.set_retry(false);
    } else {
        e.retry.decide_reuse(client_reused);
    }
    e
}

/// The method as the `'static` string an [`crate::dialect::UpstreamRequest`] holds.
fn static_method(m: &str) -> Option<&'static str> {
    ["GET", "PUT", "PATCH", "POST", "DELETE"]
        .into_iter()
        .find(|x| *x == m)
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
