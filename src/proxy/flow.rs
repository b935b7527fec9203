//! The driver of a translated request: a [`Session`] (`translate::session`) decides every step —
//! decode → plan → (state read) → write(s) → (read after) → answer — and this module performs
//! them through [`UpstreamClient`](super::client::UpstreamClient), takes the customer lock the
//! session asks for and records metrics and the trace; called from the request pipeline
//! (`request.rs`).
//!
//! The client's answer is built from the upstream's *whole* answer (its status may change: a 2xx
//! carrying garbage becomes 502, an upstream 204 may need a read after the write), so nothing is
//! streamed; same-dialect requests are relayed whole too (`forward.rs`).

use super::client::Answer;
use super::limits::Hold;
use super::Gateway;
use crate::canonical::ApiError;
use crate::config::Route;
use crate::dialect::{
    ClientRequest, DialectId, Endpoint, EndpointKind, Purpose, SubAction, Synthetic,
    UpstreamRequest,
};
use crate::metrics::metrics;
use crate::translate::{Dropped, Facts, Lock, Pair, Reply, Session, Step};
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// What the flow produced besides the answer, for metrics and the access log.
#[derive(Default, Debug)]
pub struct Trace {
    /// Fields dropped under `unmappable = "drop"`.
    pub dropped: Vec<Dropped>,
    /// Upstream reads made before the write.
    pub state_reads: u32,
    /// Time spent waiting for upstreams.
    pub upstream: Duration,
    /// CPU time spent translating (decode, plan, encode, answer).
    pub translate: Duration,
    /// Status of the last upstream answer (`None` when nothing was answered).
    pub upstream_status: Option<u16>,
}

/// The route's pair of dialects and options.
pub fn pair<'r>(route: &'r Route, client: DialectId) -> Pair<'r> {
    Pair {
        client,
        upstream: route.upstream.dialect,
        policy: route.unmappable,
        default_entry_type: route.default_entry_type,
    }
}

impl Gateway {
    /// One exchange with the route's upstream. The request carries `cx.passthrough_headers`
    /// (`X-Request-Id`, `traceparent`, Reach's tenant): every dialect's encoder copies them.
    async fn call(
        &self,
        route: &Route,
        req: &UpstreamRequest,
        purpose: Purpose,
        trace: &mut Trace,
    ) -> Result<Answer, ApiError> {
        let up = &route.upstream;
        let write = purpose == Purpose::Write;
        let result = self.client.send(up, req, write).await;
        match result {
            Ok(answer) => {
                trace.upstream += answer.elapsed;
                trace.upstream_status = Some(answer.status);
                metrics().observe_upstream(&up.name, purpose, answer.elapsed);
                Ok(answer)
            }
            Err(e) => Err(e.to_api(&up.name)),
        }
    }

    /// A client GET, translated.
    pub async fn translated_get(
        &self,
        route: &Route,
        client: DialectId,
        ep: &Endpoint,
        passthrough: Vec<(String, String)>,
        trace: &mut Trace,
    ) -> Result<Synthetic, ApiError> {
        let session = Session::new(facts(route, client), Cow::Borrowed(ep), None, passthrough);
        self.drive(route, session, trace).await
    }

    /// A client write, translated (`req` already decoded and validated).
    pub async fn translated_write(
        &self,
        route: &Route,
        client: DialectId,
        ep: &Endpoint,
        req: &ClientRequest,
        passthrough: Vec<(String, String)>,
        trace: &mut Trace,
    ) -> Result<Synthetic, ApiError> {
        let t = Instant::now();
        let session = Session::new(
            facts(route, client),
            Cow::Borrowed(ep),
            Some(Cow::Borrowed(req)),
            passthrough,
        );
        trace.translate += t.elapsed();
        self.drive(route, session, trace).await
    }

    /// Performs the session's steps: the lock first, then each read and write through
    /// [`call`](Self::call), recording metrics and the trace; every decision is the session's.
    async fn drive(
        &self,
        route: &Route,
        mut session: Session<'_>,
        trace: &mut Trace,
    ) -> Result<Synthetic, ApiError> {
        // Serialise writes to one customer of one upstream (SPEC §3), across replicas with
        // `[cluster]` (§9): a read-modify-write must not interleave with another write of the
        // same customer. Every write takes the lock (a plain write landing between the read and
        // the write of another would be overwritten), but a single write built from the request
        // alone takes it shared: such writes lose nothing to each other (`limits::Hold`). Only a
        // read-modify-write is refused when Redis is unavailable.
        //
        // The first step is taken before the lock: steps do no I/O, and for a write from the
        // request alone it prepares the writes, whose number decides how the lock is held. A
        // request refused by then (or a GET) takes no lock at all.
        let lock = session.lock();
        let t = Instant::now();
        let mut first = Some(session.step());
        trace.translate += t.elapsed();
        let hold = match (lock, &first) {
            (Lock::None, _) | (_, Some(Step::Answer(_) | Step::Fail(_))) => None,
            (Lock::ReadModifyWrite, _) => Some(Hold::ReadModifyWrite),
            (Lock::Write, _) if session.writes_left() > 0 => Some(Hold::Exclusive),
            (Lock::Write, _) => Some(Hold::Shared),
        };
        let customer_id = &session.endpoint().customer_id;
        let _guard = match hold {
            None => None,
            Some(hold) => Some(self.lock_customer(route, customer_id, hold).await?),
        };
        let outcome = loop {
            let step = match first.take() {
                Some(step) => step,
                None => {
                    let t = Instant::now();
                    let step = session.step();
                    trace.translate += t.elapsed();
                    step
                }
            };
            let (request, purpose) = match step {
                Step::Answer(answer) => break Ok(answer),
                Step::Fail(e) => break Err(e),
                Step::Write { request } => (request, Purpose::Write),
                Step::Read {
                    request,
                    purpose,
                    reason,
                } => {
                    if let Some(reason) = reason {
                        metrics().state_read(&route.upstream.name, reason.as_str());
                        trace.state_reads += 1;
                    }
                    (request, purpose)
                }
            };
            let answer = self.call(route, &request, purpose, trace).await;
            let t = Instant::now();
            match answer {
                Ok(a) => session.feed(Ok(Reply {
                    status: a.status,
                    headers: &a.headers,
                    body: &a.body,
                })),
                Err(e) => session.feed(Err(e)),
            }
            trace.translate += t.elapsed();
        };
        trace.dropped = session.into_dropped();
        if outcome.is_ok() {
            for d in &trace.dropped {
                metrics().dropped_field(&route.name, d.label);
            }
        }
        outcome
    }
}

/// The route's facts for a session.
fn facts(route: &Route, client: DialectId) -> Facts<'_> {
    Facts {
        pair: pair(route, client),
        // `Location` is a path on the gateway (RFC 9110 allows a relative reference): the
        // gateway does not know the scheme and host its clients reached it by.
        location_base: route.path_prefix.trim_end_matches('/'),
        upstream_name: &route.upstream.name,
    }
}

/// Writes that carry no body (helpscout-v2 `DELETE` of an entry or the address): no
/// `Content-Type` is required of them.
pub fn is_bodiless(ep: &Endpoint) -> bool {
    matches!(
        ep.kind,
        EndpointKind::SubResource {
            action: SubAction::Delete,
            ..
        }
    )
}
