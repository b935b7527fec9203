//! Same-dialect forwarding: the request was validated but needs no translation, so its bytes go
//! to the upstream unchanged, relayed through the gateway's own client (`Gateway::relay`)
//! toward every upstream — plain HTTP through its keep-alive pool, HTTPS through Pingora's
//! `TransportConnector` with the upstream's `ca_file` — and the answer passed back with
//! hop-by-hop and framing headers removed and a `Location` rewritten to the gateway's path.

use super::limits::Hold;
use super::request::{Handled, Routed};
use super::{ids, Ctx, ErrorKindOrOk, Gateway};
use crate::canonical::{ApiError, ErrorKind};
use crate::dialect::{profile, DialectId, Synthetic};
use crate::metrics::metrics;
use bytes::Bytes;
use pingora::http::RequestHeader;
use pingora::protocols::http::ServerSession;

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
    /// The same-dialect end of `handle`: serialise a write, then relay it.
    pub(super) async fn same_dialect(
        &self,
        session: &ServerSession,
        ctx: &mut Ctx,
        r: &Routed<'_>,
        raw_body: Option<Bytes>,
    ) -> Handled {
        let route = r.route;
        if r.write {
            // Forwarded whole, one write, never read-modify-write: it need not wait for Redis,
            // and it excludes only read-modify-writes (`limits::Hold`).
            ctx.lock = Some(
                self.lock_customer(route, &r.ep.customer_id, Hold::Shared)
                    .await?,
            );
        }
        let path = &r.path;
        let rest = super::request::strip_prefix(path, &route.path_prefix).unwrap_or(path);
        let rest = match &r.query {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_string(),
        };
        self.relay(session, ctx, r, rest, raw_body)
            .await
            .map(|a| (a, false))
    }

    /// A same-dialect request, sent through [`UpstreamClient`](super::client::UpstreamClient)
    /// with the validated body bytes unchanged and the caller's headers (minus hop-by-hop, the
    /// caller's credentials and, toward a non-Reach vendor, `reach-tenant-id`). The whole answer
    /// is read before anything reaches the client, which is what lets an OAuth upstream's 401
    /// (a cached token expired or revoked early; the client's own credentials were fine) be
    /// retried once with a fresh token instead of reaching the client; the upstream's status,
    /// headers (minus hop-by-hop and framing) and body are then answered as they came. The
    /// cost: the answer is buffered (at most `client::MAX_UPSTREAM_BODY`, else 502) rather than
    /// streamed; these customer APIs answer a few KiB. Transport failures are the client's 502
    /// or 504 (`client::classify`), and a write is never sent twice (SPEC §4, `client::send`).
    /// Until issue 11 Bearer and Basic HTTPS upstreams were streamed through Pingora's proxy
    /// phases instead; relaying them too let the gateway leave `ProxyHttp` (see `serve`).
    async fn relay(
        &self,
        session: &ServerSession,
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
