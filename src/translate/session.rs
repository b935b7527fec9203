//! One translated request as a sans-I/O step machine ([`Session`]): the proxy, `patchbay
//! translate`, the golden fixtures, the fuzzers and the benches all drive this one sequence.
//!
//! decode → plan → (precheck → state read) → prepare → write(s) → (read after) → answer.
//!
//! The session never sends anything, sleeps, reads a clock or records a metric. It yields a
//! [`Step`] — "read this", "write this", "answer this", "fail with this" — and the driver
//! performs the exchange and feeds the upstream's answer back ([`Session::feed`]), or, when it
//! already holds the customer in canonical form (golden fixtures, `--state`), hands that over
//! instead ([`Session::give_state`]). What the driver must do around the steps is returned as
//! data: the lock a write needs before the first step ([`Session::lock`]), why the state is
//! read ([`Step::Read::reason`]), what was dropped ([`Session::dropped`]).
//!
//! Keeping every rule here, not in the driver, is what lets the golden fixtures pin state reads,
//! partial application and read-after-write answers against recorded upstream answers: a rule
//! in the proxy alone could only be tested through sockets.

use super::{check_upstream_id, created_entry, map_upstream_error, plan, precheck, prepare};
use super::{Dropped, Pair, Plan, StateReason};
use crate::canonical::{ApiError, Change, Customer, ErrorKind};
use crate::dialect::{
    dialect, vendor_rules, AnswerCx, ClientRequest, EncodeCx, Endpoint, EndpointKind, Purpose,
    SubAction, Synthetic, UpstreamRequest,
};
use std::borrow::Cow;

/// The route's facts a session runs under.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The two dialects and the route's options.
    pub pair: Pair<'a>,
    /// Prepended to a created entry's `Location`: the route's path prefix on the gateway,
    /// without a trailing `/` (the gateway does not know the scheme and host its clients used).
    pub location_base: &'a str,
    /// The upstream's name, as messages to clients name it.
    pub upstream_name: &'a str,
}

/// One upstream answer, as much of it as the translation needs.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'r> {
    /// Status.
    pub status: u16,
    /// Headers (names compared without regard to case): only the rate-limit wait is read.
    pub headers: &'r [(String, String)],
    /// Body.
    pub body: &'r [u8],
}

impl Reply<'_> {
    /// Seconds to wait from the upstream's rate-limit headers (`Retry-After`,
    /// `X-RateLimit-Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        let header = |name: &str| {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        header("retry-after")
            .or_else(|| header("x-ratelimit-retry-after"))
            .and_then(|v| v.trim().parse().ok())
    }

    fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What the driver does next.
#[derive(Debug)]
pub enum Step {
    /// Read the customer from the upstream, then [`Session::feed`] the answer (or
    /// [`Session::give_state`] the customer).
    Read {
        /// The upstream GET.
        request: UpstreamRequest,
        /// A client GET, the state before a write, or the customer after it.
        purpose: Purpose,
        /// Why the state is read before the write (`Purpose::ReadBefore` only).
        reason: Option<StateReason>,
    },
    /// Send this write, then [`Session::feed`] the answer.
    Write {
        /// The upstream request.
        request: UpstreamRequest,
    },
    /// Answer the client with this; the session is over.
    Answer(Synthetic),
    /// Answer the client with this error (rendered in the client's dialect by the driver); the
    /// session is over.
    Fail(ApiError),
}

/// The lock a write must hold before its first step (SPEC §3, §9: writes to one customer are
/// serialised, so a read-modify-write cannot interleave with another write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// No lock: a GET, or a request already refused.
    None,
    /// A plain write.
    Write,
    /// A write that reads the state first: refused when the lock cannot be guaranteed.
    ReadModifyWrite,
}

/// Where the session stands.
#[derive(Debug)]
enum Phase {
    /// Nothing yielded yet.
    Begin,
    /// An error to yield.
    Fail(ApiError),
    /// A step was yielded; its answer is awaited.
    Await(Awaiting),
    /// The state read (if any) is in: resolve, validate, encode (against the known state when
    /// none was read). Customers are boxed here and below: a session is moved and its phase
    /// replaced at every step, and an inline customer would make each of those a kilobyte copy
    /// on the offline hot path.
    Prepare(Option<Box<Customer>>),
    /// Yield the next prepared write, or move on to the answer.
    Writes,
    /// Build the answer from the customer (if the client's dialect shows one).
    Answer(Option<Box<Customer>>),
    /// Same dialect: the upstream's answer is the client's.
    Relay(Synthetic),
    /// Over.
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaiting {
    Get,
    StateRead,
    Write,
    ReadAfter,
}

/// One translated request (see the module docs).
#[derive(Debug)]
pub struct Session<'a> {
    facts: Facts<'a>,
    ep: Cow<'a, Endpoint>,
    /// `None` for a GET.
    req: Option<Cow<'a, ClientRequest>>,
    verdict: Option<Plan>,
    /// The client's dialect answers with the customer (HelpCrunch, Reach, v1 `reload`).
    needs_answer: bool,
    cx: EncodeCx,
    /// The customer as the upstream holds it, when the driver knows it without a read.
    known: Option<&'a Customer>,
    phase: Phase,
    /// Writes not yet yielded.
    writes: std::vec::IntoIter<UpstreamRequest>,
    /// `METHOD path` of the write in flight, when another write follows it.
    sending: Option<String>,
    /// `METHOD path` of each write the upstream accepted.
    applied: Vec<String>,
    /// Resolved changes, to map upstream errors back to the client's fields.
    changes: Vec<Change>,
    dropped: Vec<Dropped>,
    /// The customer the last write answered with (HelpCrunch, Reach, v1 `reload`).
    from_write: Option<Box<Customer>>,
}

impl<'a> Session<'a> {
    /// A client GET (`req` = `None`) or a decoded write. `passthrough` are the headers the
    /// driver passes to the upstream (request id, `traceparent`, Reach's tenant).
    pub fn new(
        facts: Facts<'a>,
        ep: Cow<'a, Endpoint>,
        req: Option<Cow<'a, ClientRequest>>,
        passthrough: Vec<(String, String)>,
    ) -> Self {
        let pair = &facts.pair;
        let verdict = req.as_deref().map(|r| plan(r, pair));
        let needs_answer = req
            .as_deref()
            .is_some_and(|r| dialect(pair.client).answer_needs_customer(&ep, r));
        // Same dialect is validated by the vendor's own rules and forwarded unchanged: the
        // upstream checks its own ids.
        let phase = match verdict {
            Some(Plan::Passthrough) => Phase::Begin,
            _ => match check_upstream_id(&ep.customer_id, pair.upstream) {
                Ok(()) => Phase::Begin,
                Err(e) => Phase::Fail(e),
            },
        };
        Session {
            facts,
            ep,
            req,
            verdict,
            needs_answer,
            // helpscout-v1 can return the customer with the write (`reload=true`); the others
            // either always do (helpcrunch, reach) or never do (helpscout-v2: 204).
            cx: EncodeCx {
                want_customer: needs_answer,
                passthrough_headers: passthrough,
            },
            known: None,
            phase,
            writes: Vec::new().into_iter(),
            sending: None,
            applied: Vec::new(),
            changes: Vec::new(),
            dropped: Vec::new(),
            from_write: None,
        }
    }

    /// Routes and decodes a request as the client sent it (offline use: `patchbay translate`,
    /// fixtures, fuzzers). A same-dialect write yields the client's bytes as its one write.
    pub fn from_wire(
        facts: Facts<'a>,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ApiError> {
        let client = dialect(facts.pair.client);
        let ep = client.route(method, path)?;
        if !ep.is_write() {
            return Ok(Session::new(facts, Cow::Owned(ep), None, Vec::new()));
        }
        let req = client.decode_request(&ep, query, body)?;
        let mut s = Session::new(facts, Cow::Owned(ep), Some(Cow::Owned(req)), Vec::new());
        if s.verdict == Some(Plan::Passthrough) {
            let raw = UpstreamRequest {
                method: static_method(method),
                path: match query {
                    Some(q) => format!("{path}?{q}"),
                    None => path.to_string(),
                },
                headers: if body.is_empty() {
                    Vec::new()
                } else {
                    vec![("Content-Type".to_string(), "application/json".to_string())]
                },
                body: (!body.is_empty()).then(|| bytes::Bytes::copy_from_slice(body)),
            };
            s.writes = vec![raw].into_iter();
        }
        Ok(s)
    }

    /// A write whose driver already holds the customer as the upstream does (`patchbay
    /// translate --state`, the golden fixtures' `state.json`): no state read is yielded, so no
    /// precheck is needed (it only spares that read), and the resolver recognises a change that
    /// repeats a current value even on a stateless plan. The proxy never knows the state before
    /// reading it, so it never calls this.
    pub fn with_state(mut self, state: &'a Customer) -> Self {
        self.known = Some(state);
        self
    }

    /// The client's endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    /// The decoded client write (`None` for a GET).
    pub fn request(&self) -> Option<&ClientRequest> {
        self.req.as_deref()
    }

    /// The planner's verdict (`None` for a GET).
    pub fn plan(&self) -> Option<Plan> {
        self.verdict
    }

    /// The lock to take before the first step.
    pub fn lock(&self) -> Lock {
        match (&self.phase, self.verdict) {
            (Phase::Fail(_), _) | (_, None) => Lock::None,
            (_, Some(Plan::NeedsState(_))) => Lock::ReadModifyWrite,
            (_, Some(_)) => Lock::Write,
        }
    }

    /// Fields dropped under `unmappable = "drop"` (known once the writes are prepared).
    pub fn dropped(&self) -> &[Dropped] {
        &self.dropped
    }

    /// The dropped fields, moved out once the exchange is over (the proxy keeps them for the
    /// access log and metrics without copying their names).
    pub fn into_dropped(self) -> Vec<Dropped> {
        self.dropped
    }

    /// The prepared writes not yet yielded (offline use: every write of the plan is shown
    /// without sending any).
    pub fn remaining_writes(&mut self) -> Vec<UpstreamRequest> {
        std::mem::take(&mut self.writes).collect()
    }

    /// Prepared writes not yet yielded: after the first `Write` step, more than none means the
    /// request is translated into several upstream writes (the proxy then holds the customer's
    /// lock exclusively, `proxy::limits::Hold`).
    pub fn writes_left(&self) -> usize {
        self.writes.len()
    }

    /// The next step. Called again after a `Read` or `Write` without an answer fed, it fails.
    pub fn step(&mut self) -> Step {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Done) {
                Phase::Begin => {
                    if let Some(step) = self.begin() {
                        return step;
                    }
                }
                Phase::Fail(e) => return Step::Fail(e),
                Phase::Await(a) => {
                    self.phase = Phase::Await(a);
                    return Step::Fail(internal("a step was taken before the last one's answer"));
                }
                Phase::Prepare(read) => self.prepare(read.as_deref().or(self.known)),
                Phase::Writes => {
                    if let Some(request) = self.writes.next() {
                        // Named only when a later write could fail and need to say it was
                        // applied: a single write (the common case) allocates nothing here.
                        self.sending = (!self.writes.as_slice().is_empty())
                            .then(|| format!("{} {}", request.method, request.path));
                        self.phase = Phase::Await(Awaiting::Write);
                        return Step::Write { request };
                    }
                    self.phase = self.after_writes();
                    if let Phase::Await(Awaiting::ReadAfter) = self.phase {
                        return self.read(Purpose::ReadAfter, None);
                    }
                }
                Phase::Answer(customer) => return Step::Answer(self.answer(customer.as_deref())),
                Phase::Relay(answer) => return Step::Answer(answer),
                Phase::Done => return Step::Fail(internal("the session is over")),
            }
        }
    }

    /// The first step of a GET or a write; `None` when the state is not needed.
    fn begin(&mut self) -> Option<Step> {
        let Some(verdict) = self.verdict else {
            self.phase = Phase::Await(Awaiting::Get);
            return Some(self.read(Purpose::Read, None));
        };
        match verdict {
            Plan::Passthrough => {
                if let Some(req) = self.req.as_deref() {
                    if let Err(e) = vendor_rules(self.facts.pair.client, req) {
                        return Some(Step::Fail(e));
                    }
                }
                self.phase = Phase::Writes;
                None
            }
            Plan::Stateless => {
                self.phase = Phase::Prepare(None);
                None
            }
            Plan::NeedsState(_) if self.known.is_some() => {
                self.phase = Phase::Prepare(None);
                None
            }
            Plan::NeedsState(reason) => {
                // Refuse what can be refused without the state before reading it: an unmappable
                // field or a value the upstream cannot hold must not cost an upstream read
                // (SPEC §4: nothing is sent upstream for a request that is refused).
                let req = self.req.as_deref()?;
                if let Err(e) = precheck(&self.ep, req, &self.facts.pair, &self.cx) {
                    return Some(Step::Fail(e));
                }
                self.phase = Phase::Await(Awaiting::StateRead);
                Some(self.read(Purpose::ReadBefore, Some(reason)))
            }
        }
    }

    fn read(&self, purpose: Purpose, reason: Option<StateReason>) -> Step {
        let request = dialect(self.facts.pair.upstream).encode_get(&self.ep.customer_id, &self.cx);
        Step::Read {
            request,
            purpose,
            reason,
        }
    }

    fn prepare(&mut self, state: Option<&Customer>) {
        let Some(req) = self.req.as_deref() else {
            self.phase = Phase::Fail(internal("a GET has nothing to prepare"));
            return;
        };
        match prepare(&self.ep, req, &self.facts.pair, state, &self.cx) {
            Ok(p) => {
                self.writes = p.requests.into_iter();
                self.changes = p.changes;
                self.dropped = p.dropped;
                self.phase = Phase::Writes;
            }
            Err(e) => self.phase = Phase::Fail(e),
        }
    }

    /// Every write was accepted: the answer, or the read it needs first.
    fn after_writes(&mut self) -> Phase {
        if self.verdict == Some(Plan::Passthrough) {
            return Phase::Fail(internal("a forwarded write was not answered"));
        }
        if !self.needs_answer {
            return Phase::Answer(None);
        }
        match self.from_write.take() {
            Some(c) => Phase::Answer(Some(c)),
            None => Phase::Await(Awaiting::ReadAfter),
        }
    }

    /// The customer a read step asked for, already in canonical form (offline: the state the
    /// caller supplies instead of an upstream exchange).
    pub fn give_state(&mut self, customer: Customer) {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Await(Awaiting::StateRead) => Phase::Prepare(Some(Box::new(customer))),
            Phase::Await(Awaiting::Get | Awaiting::ReadAfter) => {
                Phase::Answer(Some(Box::new(customer)))
            }
            Phase::Await(Awaiting::Write) => {
                Phase::Fail(internal("a write was answered with a customer"))
            }
            _ => Phase::Fail(internal("a customer was given that no step asked for")),
        };
    }

    /// The upstream's answer to the last `Read` or `Write`, or why none arrived (transport
    /// errors, already in the client-safe form).
    pub fn feed(&mut self, answer: Result<Reply<'_>, ApiError>) {
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Await(Awaiting::Write) => self.write_answered(answer),
            Phase::Await(a) => match answer.and_then(|r| self.customer_of(r)) {
                Ok(c) if a == Awaiting::StateRead => Phase::Prepare(Some(Box::new(c))),
                Ok(c) => Phase::Answer(Some(Box::new(c))),
                Err(e) => Phase::Fail(e),
            },
            _ => Phase::Fail(internal("an answer was fed that no step asked for")),
        };
    }

    fn write_answered(&mut self, answer: Result<Reply<'_>, ApiError>) -> Phase {
        let sent = self.sending.take();
        let reply = match answer {
            Ok(r) => r,
            Err(e) => return Phase::Fail(self.partially_applied(e)),
        };
        if self.verdict == Some(Plan::Passthrough) {
            // Offline view of same-dialect forwarding: the upstream's answer is relayed.
            let mut relayed = Synthetic::empty(reply.status);
            relayed.body = bytes::Bytes::copy_from_slice(reply.body);
            relayed.headers = reply
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .cloned()
                .collect();
            return Phase::Relay(relayed);
        }
        if !reply.success() {
            let err = self.upstream_error(&reply, true);
            return Phase::Fail(self.partially_applied(err));
        }
        // A 2xx whose body is not the customer (garbage, truncated, HTML from a broken proxy) is
        // a 502: before, it fell through to the read after the write and the client got 200 with
        // a customer the write may never have touched. Decoded once: the customer also builds
        // the client's answer.
        self.from_write = None;
        if !reply.body.trim_ascii().is_empty() {
            match dialect(self.facts.pair.upstream).decode_customer(reply.body) {
                Some(c) => self.from_write = Some(Box::new(c)),
                None => {
                    let err = ApiError::new(
                        ErrorKind::BadGateway,
                        format!(
                            "Upstream {} answered a success the gateway cannot read",
                            self.facts.upstream_name
                        ),
                    );
                    return Phase::Fail(self.partially_applied(err));
                }
            }
        }
        self.applied.extend(sent);
        Phase::Writes
    }

    /// A read's answer as a customer.
    fn customer_of(&self, reply: Reply<'_>) -> Result<Customer, ApiError> {
        if !reply.success() {
            return Err(self.upstream_error(&reply, false));
        }
        dialect(self.facts.pair.upstream)
            .decode_customer(reply.body)
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::BadGateway,
                    format!(
                        "Upstream {} answered a customer the gateway cannot read",
                        self.facts.upstream_name
                    ),
                )
            })
    }

    /// An upstream error answer, rendered in canonical terms naming the client's fields (a
    /// write's error is pinned to the change that caused it).
    fn upstream_error(&self, reply: &Reply<'_>, write: bool) -> ApiError {
        let up = self.facts.pair.upstream;
        let err = dialect(up).decode_error(reply.status, reply.body);
        let changes: &[Change] = if write { &self.changes } else { &[] };
        map_upstream_error(err, up, self.facts.pair.client, changes)
            .with_status(reply.status)
            .with_retry_after(reply.retry_after())
    }

    /// A write after the first failed: say what was applied (SPEC §3: nothing is applied
    /// silently in part).
    fn partially_applied(&self, mut err: ApiError) -> ApiError {
        if self.applied.is_empty() {
            return err;
        }
        err.message = format!(
            "Partially applied: {} succeeded; the next write failed: {}",
            self.applied.join(", "),
            err.message
        );
        err.kind = ErrorKind::PartiallyApplied;
        err
    }

    /// The client's success answer.
    fn answer(&self, customer: Option<&Customer>) -> Synthetic {
        let Some(req) = self.req.as_deref() else {
            // A GET: the customer as read, nothing created.
            return self.encode_success(customer, false, None, "");
        };
        let create = matches!(
            self.ep.kind,
            EndpointKind::SubResource {
                action: SubAction::Create,
                ..
            }
        );
        let mut answer = if create && self.changes.is_empty() && !self.dropped.is_empty() {
            // Every change of the create was dropped (`unmappable = "drop"`): nothing was
            // created, so no 201 and no `Location` for a resource that does not exist.
            Synthetic::empty(204)
        } else {
            let created = customer
                .filter(|_| create)
                .and_then(|c| created_entry(req, c));
            self.encode_success(customer, req.reload, created, self.facts.location_base)
        };
        if !self.dropped.is_empty() {
            let names: Vec<&str> = self.dropped.iter().map(|d| d.name.as_str()).collect();
            answer = answer.with_header("Patchbay-Dropped-Fields", names.join(","));
        }
        answer
    }

    /// The client dialect's success answer for this endpoint and route.
    fn encode_success(
        &self,
        customer: Option<&Customer>,
        reload: bool,
        created: Option<u64>,
        location_base: &str,
    ) -> Synthetic {
        let pair = &self.facts.pair;
        dialect(pair.client).encode_success(
            &self.ep,
            customer,
            &AnswerCx {
                customer_id: &self.ep.customer_id,
                default_entry_type: pair.default_entry_type,
                upstream: pair.upstream,
                reload,
                created,
                location_base,
            },
        )
    }
}

fn internal(message: &str) -> ApiError {
    ApiError::new(ErrorKind::Internal, message)
}

/// The client's method as the upstream request's (forwarded unchanged).
fn static_method(method: &str) -> &'static str {
    match method {
        "PATCH" => "PATCH",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        _ => "GET",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DialectId;
    use crate::translate::Policy;

    fn facts() -> Facts<'static> {
        Facts {
            pair: Pair {
                client: DialectId::HelpscoutV2,
                upstream: DialectId::Helpcrunch,
                policy: Policy::Reject,
                default_entry_type: "work",
            },
            location_base: "",
            upstream_name: "crunch",
        }
    }

    fn session(body: &str) -> Session<'static> {
        Session::from_wire(facts(), "PATCH", "/v2/customers/7", None, body.as_bytes())
            .expect("decodes")
    }

    /// A driver that skips feeding an answer gets an error, not a second request: the session
    /// cannot lose track of which answer belongs to which step.
    #[test]
    fn a_step_taken_before_the_answer_fails_and_an_unasked_answer_fails() {
        let mut s = session(r#"[{"op":"replace","path":"/firstName","value":"A"}]"#);
        assert_eq!(s.lock(), Lock::ReadModifyWrite);
        assert!(matches!(
            s.step(),
            Step::Read {
                purpose: Purpose::ReadBefore,
                reason: Some(StateReason::NameHalf),
                ..
            }
        ));
        let Step::Fail(e) = s.step() else {
            panic!("a second step without an answer must fail");
        };
        assert_eq!(e.kind, ErrorKind::Internal);

        let mut s = session(
            r#"[{"op":"replace","path":"/firstName","value":"A"},{"op":"replace","path":"/lastName","value":"B"}]"#,
        );
        assert_eq!(s.lock(), Lock::Write);
        s.feed(Ok(Reply {
            status: 200,
            headers: &[],
            body: b"{}",
        }));
        let Step::Fail(e) = s.step() else {
            panic!("an answer no step asked for must fail the session");
        };
        assert_eq!(e.kind, ErrorKind::Internal);
    }

    /// A transport error on the first write is the error itself; on the second it says what the
    /// first applied.
    #[test]
    fn a_transport_error_after_an_accepted_write_is_partially_applied() {
        let mut s = Session::from_wire(
            Facts {
                pair: Pair {
                    client: DialectId::Helpcrunch,
                    upstream: DialectId::HelpscoutV2,
                    ..facts().pair
                },
                ..facts()
            },
            "PATCH",
            "/v1/customers/7",
            None,
            br#"{"company":"Acme","customData":[{"property":"plan","value":"pro"}]}"#,
        )
        .expect("decodes");
        let Step::Write { request } = s.step() else {
            panic!("the customer write first");
        };
        assert_eq!(request.path, "/v2/customers/7");
        s.feed(Ok(Reply {
            status: 204,
            headers: &[],
            body: b"",
        }));
        assert!(matches!(s.step(), Step::Write { .. }));
        s.feed(Err(ApiError::new(
            ErrorKind::GatewayTimeout,
            "Upstream timed out",
        )));
        let Step::Fail(e) = s.step() else {
            panic!("the second write failed");
        };
        assert_eq!(e.kind, ErrorKind::PartiallyApplied);
        assert!(
            e.message
                .starts_with("Partially applied: PATCH /v2/customers/7 succeeded"),
            "{}",
            e.message
        );
    }
}
