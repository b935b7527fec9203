//! The one place a failure becomes the client's answer: an [`ApiError`] from the request
//! pipeline (including the upstream's transport failures, 502/504 from `client::classify`)
//! ends in [`render_error`] (the client's dialect, or plain JSON when no dialect is known) and
//! [`respond`], which puts the request id on every answer as `X-Request-Id` (and as a
//! helpscout-v2 `logRef`). Internal names — the upstream's, Pingora's error types — stay in the
//! log (`CallError::to_api`).

use super::request::Handled;
use super::{Ctx, ErrorKindOrOk};
use crate::canonical::{ApiError, ErrorKind};
use crate::dialect::{dialect, DialectId, Synthetic};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::protocols::http::ServerSession;

/// Writes the answer `handle` decided on (success or error); an error means the client could
/// not be written to.
pub(super) async fn handled(
    session: &mut ServerSession,
    ctx: &mut Ctx,
    outcome: Handled,
) -> Result<()> {
    match outcome {
        Ok((answer, close)) => {
            ctx.status = answer.status;
            // A relayed answer has set its kind from the upstream's status already.
            if answer.status >= 400 && matches!(ctx.kind, ErrorKindOrOk::Ok) {
                ctx.kind = ErrorKindOrOk::Err(ErrorKind::Upstream);
            }
            respond(session, answer, close, &ctx.ids.request_id).await
        }
        Err(err) => {
            let body = render_error(ctx.client, &err, &ctx.ids.request_id);
            ctx.status = body.status;
            ctx.kind = ErrorKindOrOk::Err(err.kind);
            // After 413 the rest of the body is unread: the connection cannot be reused.
            let close = err.kind == ErrorKind::TooLarge || ctx.close;
            respond(session, body, close, &ctx.ids.request_id).await
        }
    }
}

/// Writes a synthetic answer, with the request id as `X-Request-Id`. The answer is taken by
/// value so its header names and values move into the response header without a copy.
pub(super) async fn respond(
    session: &mut ServerSession,
    s: Synthetic,
    close: bool,
    request_id: &str,
) -> Result<()> {
    let mut h = ResponseHeader::build(s.status, Some(s.headers.len() + 3))?;
    for (n, v) in s.headers {
        // Replaced below: the client gets the id it can find in the gateway's log (and which
        // the upstream received), and the length of the body actually sent. Skipped here
        // rather than removed after, which costs a lookup in both of Pingora's header maps.
        // `Connection` is hop-by-hop: decided here, never taken from an answer.
        if ["x-request-id", "content-length", "connection"]
            .iter()
            .any(|x| n.eq_ignore_ascii_case(x))
        {
            continue;
        }
        // Appended: a relayed upstream answer may repeat a header (`Set-Cookie`, `Link`).
        h.append_header(n, v)?;
    }
    h.append_header("X-Request-Id", request_id)?;
    h.append_header("Content-Length", s.body.len())?;
    // HTTP/2 has no `Connection` header (Pingora drops it) and closes nothing: an unread
    // request body only ends its own stream.
    if close && !session.is_http2() {
        h.append_header("Connection", "close")?;
        session.set_keepalive(None);
    }
    session.write_response_header(Box::new(h)).await?;
    session.write_response_body(s.body, true).await?;
    if session.is_http2() && !session.is_body_done() {
        drain_h2_body(session).await;
    }
    Ok(())
}

/// How long, and how many bytes, an HTTP/2 request body left unread by an early answer is
/// read and discarded.
const H2_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);
const H2_DRAIN_BYTES: usize = 1 << 20;

/// HTTP/2: an answer given before the request body was read (413, 401, 404, 415 ...) is only
/// queued on the stream; ending the request with its body unread resets the stream, and the h2
/// codec discards frames still queued for a reset stream, so the client got a stream error
/// instead of the answer (HTTP/1.1 closes the connection after writing, which loses nothing).
/// Reading the rest of the body keeps the stream open while the answer goes out; bounded in
/// time and bytes, so a client cannot hold the task with an endless body.
async fn drain_h2_body(session: &mut ServerSession) {
    let deadline = tokio::time::Instant::now() + H2_DRAIN;
    let mut left = H2_DRAIN_BYTES;
    while left > 0 && !session.is_body_done() {
        match tokio::time::timeout_at(deadline, session.read_request_body()).await {
            Ok(Ok(Some(chunk))) => left = left.saturating_sub(chunk.len()),
            _ => break,
        }
    }
}

/// Renders an error in the client's dialect, or as plain JSON when no dialect is known; a
/// helpscout-v2 `logRef` is the request id.
pub(super) fn render_error(
    client: Option<DialectId>,
    err: &ApiError,
    request_id: &str,
) -> Synthetic {
    match client {
        Some(id) => dialect(id).encode_error(&err.clone().with_log_ref(request_id)),
        None => Synthetic::json(
            err.status,
            "application/json",
            &serde_json::json!({ "status": err.status, "error": err.message }),
        ),
    }
}
