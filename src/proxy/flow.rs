//! The translated request flow: decode → plan → (state read) → write(s) → (read after) → answer,
//! all through [`UpstreamClient`](super::client::UpstreamClient), answered from `request_filter`.
//!
//! Why not Pingora's proxy phases for translated requests: the client's answer is built from the
//! upstream's *whole* answer (its status may change: a 2xx carrying garbage becomes 502, an
//! upstream 204 may need a read after the write), and Pingora writes the downstream response
//! header before the upstream body is seen. Same-dialect requests, whose answers need no
//! translation, do stream through the proxy phases (see `proxy/mod.rs`).

use super::client::Answer;
use super::Gateway;
use crate::canonical::{ApiError, Customer, ErrorKind};
use crate::config::Route;
use crate::dialect::{
    dialect, AnswerCx, ClientRequest, DialectId, EncodeCx, Endpoint, EndpointKind, Purpose,
    SubAction, Synthetic, UpstreamRequest,
};
use crate::metrics::metrics;
use crate::translate::{self, Dropped, Pair, Plan};
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

    /// An upstream error answer, rendered in canonical terms naming the client's fields.
    fn upstream_error(
        route: &Route,
        client: DialectId,
        answer: &Answer,
        changes: &[crate::canonical::Change],
    ) -> ApiError {
        let up = dialect(route.upstream.dialect);
        let err = up.decode_error(answer.status, &answer.body);
        translate::map_upstream_error(err, route.upstream.dialect, client, changes)
            .with_status(answer.status)
            .with_retry_after(answer.retry_after())
    }

    /// Reads the customer from the upstream.
    async fn read_customer(
        &self,
        route: &Route,
        client: DialectId,
        customer_id: &str,
        purpose: Purpose,
        cx: &EncodeCx,
        trace: &mut Trace,
    ) -> Result<Customer, ApiError> {
        let up = dialect(route.upstream.dialect);
        let get = up.encode_get(customer_id, cx);
        let answer = self.call(route, &get, purpose, trace).await?;
        if !(200..300).contains(&answer.status) {
            return Err(Self::upstream_error(route, client, &answer, &[]));
        }
        up.decode_customer(&answer.body).ok_or_else(|| {
            ApiError::new(
                ErrorKind::BadGateway,
                format!(
                    "Upstream {} answered a customer the gateway cannot read",
                    route.upstream.name
                ),
            )
        })
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
        translate::check_upstream_id(&ep.customer_id, route.upstream.dialect)?;
        let cx = EncodeCx {
            want_customer: false,
            passthrough_headers: passthrough,
        };
        let customer = self
            .read_customer(route, client, &ep.customer_id, Purpose::Read, &cx, trace)
            .await?;
        let t = Instant::now();
        let answer = dialect(client).encode_success(
            ep,
            Some(&customer),
            &AnswerCx {
                customer_id: &ep.customer_id,
                default_entry_type: route.default_entry_type,
                upstream: route.upstream.dialect,
                reload: false,
                created: None,
                location_base: "",
            },
        );
        trace.translate += t.elapsed();
        Ok(answer)
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
        let cl = dialect(client);
        let up_id = route.upstream.dialect;
        let up = dialect(up_id);
        let pair = pair(route, client);
        translate::check_upstream_id(&ep.customer_id, up_id)?;

        let t = Instant::now();
        let verdict = translate::plan(req, &pair);
        let needs_answer = cl.answer_needs_customer(ep, req);
        // helpscout-v1 can return the customer with the write (`reload=true`); the others
        // either always do (helpcrunch, reach) or never do (helpscout-v2: 204).
        let cx = EncodeCx {
            want_customer: needs_answer,
            passthrough_headers: passthrough,
        };
        trace.translate += t.elapsed();

        // Serialise writes to one customer of one upstream (SPEC §3), across replicas with
        // `[cluster]` (§9): a read-modify-write must not interleave with another write of the
        // same customer. Every write takes the lock (a plain write landing between the read and
        // the write of another would be overwritten); only a read-modify-write is refused when
        // Redis is unavailable.
        let needs_state = matches!(verdict, Plan::NeedsState(_));
        let _guard = self
            .lock_customer(route, &ep.customer_id, needs_state)
            .await?;

        let state = match verdict {
            Plan::NeedsState(reason) => {
                // Refuse what can be refused without the state before reading it: an unmappable
                // field or a value the upstream cannot hold must not cost an upstream read
                // (SPEC §4: nothing is sent upstream for a request that is refused).
                translate::precheck(ep, req, &pair, &cx)?;
                metrics().state_read(&route.upstream.name, reason.as_str());
                trace.state_reads += 1;
                Some(
                    self.read_customer(
                        route,
                        client,
                        &ep.customer_id,
                        Purpose::ReadBefore,
                        &cx,
                        trace,
                    )
                    .await?,
                )
            }
            _ => None,
        };

        let t = Instant::now();
        let prepared = translate::prepare(ep, req, &pair, state.as_ref(), &cx)?;
        trace.translate += t.elapsed();
        trace.dropped = prepared.dropped.clone();

        // The customer the last write answered with (HelpCrunch, Reach, v1 `reload`), decoded
        // once: it both proves the 2xx readable and builds the client's answer.
        let mut from_write: Option<Customer> = None;
        for (i, request) in prepared.requests.iter().enumerate() {
            let answer = match self.call(route, request, Purpose::Write, trace).await {
                Ok(a) => a,
                Err(e) if i > 0 => return Err(partially_applied(e, &prepared.requests[..i])),
                Err(e) => return Err(e),
            };
            if !(200..300).contains(&answer.status) {
                let err = Self::upstream_error(route, client, &answer, &prepared.changes);
                return Err(if i > 0 {
                    partially_applied(err, &prepared.requests[..i])
                } else {
                    err
                });
            }
            // A 2xx whose body is not the customer (garbage, truncated, HTML from a broken
            // proxy) is a 502: before, it fell through to the read after the write and the
            // client got 200 with a customer the write may never have touched.
            from_write = if answer.body.trim_ascii().is_empty() {
                None
            } else {
                up.decode_customer(&answer.body)
            };
            if from_write.is_none() && !answer.body.trim_ascii().is_empty() {
                let err = ApiError::new(
                    ErrorKind::BadGateway,
                    format!(
                        "Upstream {} answered a success the gateway cannot read",
                        route.upstream.name
                    ),
                );
                return Err(if i > 0 {
                    partially_applied(err, &prepared.requests[..i])
                } else {
                    err
                });
            }
        }

        let customer = if needs_answer {
            match from_write {
                Some(c) => Some(c),
                None => Some(
                    self.read_customer(
                        route,
                        client,
                        &ep.customer_id,
                        Purpose::ReadAfter,
                        &cx,
                        trace,
                    )
                    .await?,
                ),
            }
        } else {
            None
        };

        let t = Instant::now();
        let create = matches!(
            ep.kind,
            EndpointKind::SubResource {
                action: SubAction::Create,
                ..
            }
        );
        let created = customer
            .as_ref()
            .filter(|_| create)
            .and_then(|c| translate::created_entry(req, c));
        let mut answer = if create && prepared.changes.is_empty() && !prepared.dropped.is_empty() {
            // Every change of the create was dropped (`unmappable = "drop"`): nothing was
            // created, so no 201 and no `Location` for a resource that does not exist.
            Synthetic::empty(204)
        } else {
            cl.encode_success(
                ep,
                customer.as_ref(),
                &AnswerCx {
                    customer_id: &ep.customer_id,
                    default_entry_type: route.default_entry_type,
                    upstream: up_id,
                    reload: req.reload,
                    created,
                    // `Location` is a path on the gateway (RFC 9110 allows a relative
                    // reference): the gateway does not know the scheme and host its clients
                    // reached it by.
                    location_base: route.path_prefix.trim_end_matches('/'),
                },
            )
        };
        if !trace.dropped.is_empty() {
            let names: Vec<&str> = trace.dropped.iter().map(|d| d.name.as_str()).collect();
            answer = answer.with_header("Patchbay-Dropped-Fields", names.join(","));
            for d in &trace.dropped {
                metrics().dropped_field(&route.name, d.label);
            }
        }
        trace.translate += t.elapsed();
        Ok(answer)
    }
}

/// The second of two writes failed: say what was applied (SPEC §3: nothing is applied silently
/// in part).
fn partially_applied(mut err: ApiError, applied: &[UpstreamRequest]) -> ApiError {
    let done: Vec<String> = applied
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    err.message = format!(
        "Partially applied: {} succeeded; the next write failed: {}",
        done.join(", "),
        err.message
    );
    err.kind = ErrorKind::PartiallyApplied;
    err
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
