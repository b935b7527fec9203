//! The whole pure pipeline for one client request without sending anything ([`offline`]):
//! what `patchbay translate` prints and what the golden fixtures pin.

use super::{plan, prepare, Pair, Plan, StateReason};
use crate::canonical::{ApiError, Customer};
use crate::dialect::{dialect, DialectId, EncodeCx, UpstreamRequest};

/// The default client path for `patchbay translate` when none is given.
pub fn default_path(client: DialectId) -> (&'static str, &'static str) {
    client.profile().default_update
}

/// What `patchbay translate` (and the golden fixtures) report for one request.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum Offline {
    /// The upstream request(s) that would be sent.
    Forward {
        /// The planner's verdict.
        #[serde(flatten)]
        plan: Plan,
        /// Requests, in order.
        requests: Vec<UpstreamRequest>,
        /// Dropped fields (under `drop`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        dropped: Vec<String>,
    },
    /// The translation needs the customer's state and none was given.
    NeedsState {
        /// Why.
        reason: StateReason,
    },
    /// The error the client would receive.
    Error {
        /// Status.
        status: u16,
        /// Content type.
        content_type: Option<String>,
        /// Body (JSON when it parses, else text).
        body: serde_json::Value,
    },
}

/// Runs the whole pure pipeline for one client request, as the gateway would, without sending
/// anything: route → decode → plan → resolve/validate/encode. Used by `patchbay translate` and
/// by the golden fixtures.
pub fn offline(
    pair: &Pair<'_>,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
    state: Option<&Customer>,
) -> Offline {
    let client = dialect(pair.client);
    let error = |e: &ApiError| {
        let s = client.encode_error(e);
        Offline::Error {
            status: s.status,
            content_type: s.header("content-type").map(str::to_string),
            body: serde_json::from_slice(&s.body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&s.body).into())
            }),
        }
    };
    let ep = match client.route(method, path) {
        Ok(ep) => ep,
        Err(e) => return error(&e),
    };
    if !ep.is_write() {
        return error(&ApiError::new(
            crate::canonical::ErrorKind::MethodNotAllowed,
            "only writes are translated offline",
        ));
    }
    let req = match client.decode_request(&ep, query, body) {
        Ok(r) => r,
        Err(e) => return error(&e),
    };
    let verdict = plan(&req, pair);
    if verdict == Plan::Passthrough {
        if let Err(e) = crate::dialect::vendor_rules(pair.client, &req) {
            return error(&e);
        }
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        headers.retain(|_| !body.is_empty());
        let path = match query {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let method = match method {
            "PATCH" => "PATCH",
            "PUT" => "PUT",
            "POST" => "POST",
            "DELETE" => "DELETE",
            _ => "GET",
        };
        return Offline::Forward {
            plan: verdict,
            requests: vec![UpstreamRequest {
                method,
                path,
                headers,
                body: (!body.is_empty()).then(|| bytes::Bytes::copy_from_slice(body)),
            }],
            dropped: Vec::new(),
        };
    }
    if let Plan::NeedsState(reason) = verdict {
        if state.is_none() {
            return Offline::NeedsState { reason };
        }
    }
    let cx = EncodeCx {
        want_customer: client.answer_needs_customer(&ep, &req),
        passthrough_headers: Vec::new(),
    };
    match prepare(&ep, &req, pair, state, &cx) {
        Ok(p) => Offline::Forward {
            plan: verdict,
            requests: p.requests,
            dropped: p.dropped.into_iter().map(|d| d.name).collect(),
        },
        Err(e) => error(&e),
    }
}
