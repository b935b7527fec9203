//! The whole pure pipeline for one client request without sending anything ([`offline`]):
//! what `patchbay translate` prints and what the golden fixtures pin.

use super::session::{Facts, Session, Step};
use super::{Pair, Plan, StateReason};
use crate::canonical::{ApiError, Customer};
use crate::dialect::{dialect, DialectId, Purpose, UpstreamRequest};

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
/// anything: it drives a [`Session`] (route → decode → plan → precheck → resolve/validate/encode)
/// up to its first write and reports every write of the plan. `state` answers the state read;
/// without it a request that needs one stops there. Used by `patchbay translate` and by the
/// golden fixtures.
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
    let facts = Facts {
        pair: *pair,
        location_base: "",
        upstream_name: pair.upstream.as_str(),
    };
    let mut session = match Session::from_wire(facts, method, path, query, body) {
        Ok(s) => match state {
            Some(state) => s.with_state(state),
            None => s,
        },
        Err(e) => return error(&e),
    };
    let Some(verdict) = session.plan() else {
        return error(&ApiError::new(
            crate::canonical::ErrorKind::MethodNotAllowed,
            "only writes are translated offline",
        ));
    };
    match session.step() {
        // Only without a known state (the reason always comes with this purpose).
        Step::Read {
            purpose: Purpose::ReadBefore,
            reason: Some(reason),
            ..
        } => Offline::NeedsState { reason },
        Step::Fail(e) => error(&e),
        // The plan is prepared: its first write, or (nothing left to write) the read after or
        // the answer. Offline stops here and shows every write.
        step => {
            // The rest reuses the plan's buffer, which has room for the first again.
            let mut requests = session.remaining_writes();
            if let Step::Write { request } = step {
                requests.insert(0, request);
            }
            Offline::Forward {
                plan: verdict,
                requests,
                dropped: session.dropped().iter().map(|d| d.name.clone()).collect(),
            }
        }
    }
}
