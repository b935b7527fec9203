//! The request pipeline (`Gateway::handle`), one named step each: route the request,
//! guard its framing, answer the token endpoint, check the client's credentials, read and decode
//! a write's body, apply the upstream's limits; then hand over to same-dialect forwarding
//! ([`forward`](super::forward)) or complete a translated request ([`flow`]). Every step that
//! refuses returns an [`ApiError`], which [`answer`](super::answer) renders.

use super::{auth, flow, ids, limits, Ctx, Gateway};
use crate::canonical::{ApiError, ErrorKind};
use crate::config::{Route, Snapshot};
use crate::dialect::{
    detect, dialect, ClientRequest, DialectId, Endpoint, EndpointKind, Synthetic,
};
use crate::metrics::metrics;
use bytes::{Bytes, BytesMut};
use ids::Correlation;
use pingora::http::RequestHeader;
use pingora::protocols::http::ServerSession;
use std::time::{Duration, Instant};

/// What `handle` ends with: `Ok((answer, close))` is answered as it is (`close`: the connection
/// ends after it), an error is rendered in the client's dialect.
pub(super) type Handled = Result<(Synthetic, bool), ApiError>;

/// A routed request: what the steps after routing need, copied out of the session header
/// (which the body read borrows mutably).
pub(super) struct Routed<'a> {
    pub route: &'a Route,
    pub client: DialectId,
    pub ep: Endpoint,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    /// `Content-Length`, checked against `max_body_bytes` before the body is read.
    pub declared_len: Option<usize>,
    pub max_body: usize,
    pub write: bool,
    /// Same dialect on both sides: the validated bytes are relayed unchanged (see `forward`).
    pub same: bool,
}

/// A write's body: decoded for translation, the bytes for same-dialect forwarding.
struct Body {
    decoded: ClientRequest,
    raw: Bytes,
}

impl Gateway {
    /// Everything between reading the request header and writing the answer.
    pub(super) async fn handle(&self, session: &mut ServerSession, ctx: &mut Ctx) -> Handled {
        let snap = ctx
            .snap
            .clone()
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "no configuration"))?;
        let (ri, client, endpoint) = route(&snap, session.req_header(), ctx)?;
        guard_framing(session, ctx)?;
        let r = Routed::new(&snap, ri, client, endpoint?, session.req_header());
        ctx.endpoint = Some(endpoint_label(&r.ep.kind));
        if r.ep.kind == EndpointKind::Token {
            return token(session, ctx, &snap, &r).await.map(|a| (a, false));
        }
        auth::check(
            &r.route.clients,
            snap.server.token_keys.as_slice(),
            header(session.req_header(), "authorization"),
            crate::tls::client_identity(session.digest()),
        )?;
        let body = if r.write {
            Some(read_write_body(session, ctx, &r).await?)
        } else {
            None
        };
        self.limits(r.route, ctx).await?;
        if r.same {
            return self
                .same_dialect(session, ctx, &r, body.map(|b| b.raw))
                .await;
        }
        let passthrough = passthrough(session.req_header(), r.route, &ctx.ids);
        self.translated(ctx, &r, body.map(|b| b.decoded), passthrough)
            .await
            .map(|a| (a, false))
    }

    /// The upstream's rate limit (429) and `max_inflight` slot (503): a slow upstream must not
    /// hold every task of the gateway, so beyond its bound the request is refused here, before
    /// anything is sent (`inflight`).
    async fn limits(&self, route: &Route, ctx: &mut Ctx) -> Result<(), ApiError> {
        let up = &route.upstream;
        if let Some(per_minute) = up.rate_limit_per_minute {
            let taken =
                limits::take_rate(&self.limiter, self.cluster.as_ref(), &up.name, per_minute).await;
            if let Err(wait) = taken {
                metrics().upstream_rate_limited(&up.name);
                return Err(ApiError::new(ErrorKind::RateLimited, "Too many requests")
                    .with_retry_after(Some(wait)));
            }
        }
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
        Ok(())
    }

    /// Completes a translated request through [`flow`]; its trace replaces the context's,
    /// keeping the decode time already counted.
    async fn translated(
        &self,
        ctx: &mut Ctx,
        r: &Routed<'_>,
        decoded: Option<ClientRequest>,
        passthrough: Vec<(String, String)>,
    ) -> Result<Synthetic, ApiError> {
        let mut trace = flow::Trace::default();
        let (route, client, ep) = (r.route, r.client, &r.ep);
        let answer = match decoded {
            Some(req) => {
                self.translated_write(route, client, ep, &req, passthrough, &mut trace)
                    .await
            }
            None => {
                self.translated_get(route, client, ep, passthrough, &mut trace)
                    .await
            }
        };
        let translate_before = ctx.trace.translate;
        ctx.trace = trace;
        ctx.trace.translate += translate_before;
        answer
    }
}

impl<'a> Routed<'a> {
    fn new(
        snap: &'a Snapshot,
        ri: usize,
        client: DialectId,
        ep: Endpoint,
        req: &RequestHeader,
    ) -> Self {
        let route = &snap.routes[ri];
        let same = client == route.upstream.dialect;
        Routed {
            route,
            client,
            write: ep.is_write(),
            ep,
            method: req.method.as_str().to_string(),
            path: req.uri.path().to_string(),
            query: req.uri.query().map(str::to_string),
            content_type: header(req, "content-type").map(str::to_string),
            declared_len: header(req, "content-length").and_then(|v| v.trim().parse().ok()),
            max_body: snap.server.max_body_bytes,
            same,
        }
    }
}

/// Matches the route and the client's dialect, recorded in the context; no route is a 404 in the
/// dialect the path looks like, if any, else in the dialect of the route whose prefix the path
/// is under (before, an unknown endpoint below a helpcrunch route got a plain `{"status":404}`).
fn route(
    snap: &Snapshot,
    req: &RequestHeader,
    ctx: &mut Ctx,
) -> Result<(usize, DialectId, Result<Endpoint, ApiError>), ApiError> {
    let (method, path) = (req.method.as_str(), req.uri.path());
    let Some((ri, client, endpoint)) = match_route(snap, method, path) else {
        ctx.client = detect(method, path)
            .map(|(d, _)| d)
            .or_else(|| not_found_dialect(snap, method, path));
        return Err(ApiError::new(ErrorKind::NotFound, "Not found"));
    };
    ctx.route = Some(ri);
    ctx.client = Some(client);
    Ok((ri, client, endpoint))
}

/// The gateway and the next hop could disagree on where this body ends (request smuggling):
/// refuse it and close the connection, whose remaining bytes cannot be trusted to start a
/// request.
fn guard_framing(session: &ServerSession, ctx: &mut Ctx) -> Result<(), ApiError> {
    match framing_problem(session) {
        None => Ok(()),
        Some(problem) => {
            ctx.close = true;
            Err(ApiError::new(
                ErrorKind::Invalid,
                format!("Ambiguous request framing: {problem}"),
            ))
        }
    }
}

/// The gateway's own OAuth token endpoint (helpscout-v2 client credentials).
async fn token(
    session: &mut ServerSession,
    ctx: &mut Ctx,
    snap: &Snapshot,
    r: &Routed<'_>,
) -> Result<Synthetic, ApiError> {
    if r.declared_len.is_some_and(|n| n > r.max_body) {
        return Err(ApiError::new(ErrorKind::TooLarge, "Request body too large"));
    }
    // The rest of an unread body cannot be skipped safely: close after answering.
    let body = read_body(session, r.max_body)
        .await
        .inspect_err(|_| ctx.close = true)?;
    Ok(auth::token_endpoint(
        &r.route.clients,
        snap.server.token_keys.as_slice(),
        snap.server.token_ttl_secs,
        r.content_type.as_deref(),
        r.query.as_deref(),
        &body,
    ))
}

/// A write's body: 413 from `Content-Length` before reading, 415 for non-JSON, read under the
/// cap, decoded and validated (with the vendor's own rules when it is forwarded unchanged).
async fn read_write_body(
    session: &mut ServerSession,
    ctx: &mut Ctx,
    r: &Routed<'_>,
) -> Result<Body, ApiError> {
    let max = r.max_body;
    if r.declared_len.is_some_and(|n| n > max) {
        return Err(ApiError::new(
            ErrorKind::TooLarge,
            format!("Request body larger than {max} bytes"),
        ));
    }
    if !flow::is_bodiless(&r.ep)
        && !crate::dialect::rules::is_json_content_type(r.content_type.as_deref())
    {
        return Err(ApiError::new(
            ErrorKind::MediaType,
            "Content-Type must be application/json",
        ));
    }
    let raw = read_body(session, max)
        .await
        .inspect_err(|_| ctx.close = true)?;
    let t = Instant::now();
    let mut decoded = dialect(r.client).decode_request(&r.ep, r.query.as_deref(), &raw);
    if r.same {
        decoded =
            decoded.and_then(|req| crate::dialect::vendor_rules(r.client, &req).map(|()| req));
    }
    ctx.trace.translate += t.elapsed();
    let decoded = decoded.inspect_err(|e| {
        for v in &e.violations {
            metrics().validation_error(r.client.as_str(), v.rule.as_str());
        }
    })?;
    Ok(Body { decoded, raw })
}

/// Headers a translated request passes to the upstream: the correlation ids, and the upstream
/// profile's own pass-through headers (Reach's `reach-tenant-id`, SPEC §1) toward that upstream
/// only, since other vendors' logs would otherwise collect another vendor's tenant ids.
fn passthrough(req: &RequestHeader, route: &Route, ids: &Correlation) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = route
        .upstream
        .dialect
        .profile()
        .passthrough_headers
        .iter()
        .filter_map(|&name| header(req, name).map(|v| (name.to_string(), v.to_string())))
        .collect();
    headers.extend(ids.headers());
    headers
}

/// The client's correlation headers, each kept only when sent exactly once.
pub(super) fn correlation(req: &RequestHeader) -> Correlation {
    Correlation::from_client(
        single_header(req, ids::REQUEST_ID),
        single_header(req, ids::TRACEPARENT),
        single_header(req, ids::TRACESTATE),
    )
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
fn framing_problem(session: &ServerSession) -> Option<&'static str> {
    let raw = session.as_http1()?.get_headers_raw_bytes();
    // Counted in one pass without collecting: this runs for every request.
    let (mut te_count, mut te_first): (usize, &[u8]) = (0, &[]);
    let (mut cl_count, mut cl_first, mut cl_conflict): (usize, &[u8], bool) = (0, &[], false);
    for line in raw.split(|b| *b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            if te_count == 0 {
                te_first = value;
            }
            te_count += 1;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            if cl_count == 0 {
                cl_first = value;
            } else if value != cl_first {
                cl_conflict = true;
            }
            cl_count += 1;
        }
    }
    if te_count > 0 && cl_count > 0 {
        return Some("both Content-Length and Transfer-Encoding");
    }
    if cl_conflict {
        return Some("conflicting Content-Length values");
    }
    if te_count > 1 || (te_count == 1 && !te_first.eq_ignore_ascii_case(b"chunked")) {
        return Some("a Transfer-Encoding other than chunked");
    }
    None
}
pub(super) fn header<'a>(req: &'a RequestHeader, name: &str) -> Option<&'a str> {
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
pub(super) fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
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
async fn read_body(
    session: &mut ServerSession,
    max: usize,
) -> std::result::Result<Bytes, ApiError> {
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
