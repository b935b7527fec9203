//! The translation planner (SPEC §2–§3): pure, no I/O.
//!
//! A decoded client write ([`ClientRequest`]) is turned into upstream requests in three steps:
//!
//! 1. [`plan`] decides, from the change set and the two dialects alone, whether the upstream
//!    request can be built statelessly (the fast path), must be forwarded byte-for-byte (same
//!    dialect), or needs the customer's current state (one GET before the write), and why.
//! 2. [`resolve`] rewrites the client's changes into changes the upstream dialect can hold —
//!    single-slot e-mail/phone ⇄ entry collections, name halves toward HelpCrunch, the primary
//!    entry rule — and applies the route's `unmappable` policy. A change that merely repeats the
//!    current value (a clear of a field the upstream does not have, an entry type equal to the
//!    slot's type) is not unmappable.
//! 3. [`prepare`] runs the upstream's own value rules on the resolved changes (reported at the
//!    client's pointers) and encodes the upstream request(s).
//!
//! Upstream errors travel the other way through [`map_upstream_error`], which rewrites the
//! upstream's field names into the client's pointers.

use crate::canonical::{ApiError, Change, Coll, Customer, Field, Op, Rule, Violation};
use crate::dialect::{
    dialect, rules, ClientRequest, DialectId, EncodeCx, Endpoint, EndpointKind, Target,
    UpstreamRequest,
};

/// The route's policy for changes the upstream has no place for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Answer 400 naming every such field; send nothing.
    #[default]
    Reject,
    /// Forward the rest; report the dropped fields.
    Drop,
}

/// What a translation runs under: the two dialects and the route's options.
#[derive(Clone, Copy, Debug)]
pub struct Pair<'a> {
    /// The caller's dialect.
    pub client: DialectId,
    /// The upstream's dialect.
    pub upstream: DialectId,
    /// Unmappable policy.
    pub policy: Policy,
    /// Type given to entries created from a single-slot value, and the type single-slot entries
    /// are shown with.
    pub default_entry_type: &'a str,
}

/// Why the current state must be read before the write (`reason` label of
/// `patchbay_state_reads_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateReason {
    /// One half of the name changes toward a dialect that stores the whole name.
    NameHalf,
    /// A single-slot e-mail/phone value toward a multi-entry upstream: the first entry is needed.
    PrimaryEntry,
    /// An entry is added toward a single slot: is the slot free?
    SlotAdd,
    /// A helpscout-v2 PATCH with `test`, `move` or `copy`: evaluated as RFC 6902 against the
    /// customer document (`dialect::document`).
    PatchDocument,
}

impl StateReason {
    /// Stable label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StateReason::NameHalf => "name_half",
            StateReason::PrimaryEntry => "primary_entry",
            StateReason::SlotAdd => "slot_add",
            StateReason::PatchDocument => "patch_document",
        }
    }
}

/// The planner's verdict for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "plan", content = "reason")]
pub enum Plan {
    /// Same dialect: validate, then forward the client's bytes unchanged.
    Passthrough,
    /// The upstream request can be built from the request alone.
    Stateless,
    /// One read of the customer is needed first.
    NeedsState(StateReason),
}

/// A field left out under `unmappable = "drop"`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Dropped {
    /// The client's own name for it (`company`, `emails/7/type`, `data.smsOptOut` → `smsOptOut`),
    /// as listed in `Patchbay-Dropped-Fields`.
    pub name: String,
    /// Canonical label (`organization`, `chats`, `properties`) for metrics.
    pub label: &'static str,
}

/// The result of resolving a change set toward an upstream.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Resolved {
    /// Changes the upstream can hold, origins preserved.
    pub changes: Vec<Change>,
    /// What was dropped (empty under `reject`, which errors instead).
    pub dropped: Vec<Dropped>,
}

/// A prepared translation: what to send and what was dropped.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Prepared {
    /// The upstream writes, in order (empty when nothing is left to write).
    pub requests: Vec<UpstreamRequest>,
    /// Resolved changes (kept to map upstream errors back to the client's fields).
    pub changes: Vec<Change>,
    /// Dropped fields.
    pub dropped: Vec<Dropped>,
}

fn joins_names(id: DialectId) -> bool {
    // HelpCrunch stores one `name`: changing one half needs the other.
    id == DialectId::Helpcrunch
}

/// Whether the upstream identifies customers by positive integers.
pub fn numeric_ids(id: DialectId) -> bool {
    id != DialectId::Reach
}

/// Decides how a write is translated (see the module docs).
pub fn plan(req: &ClientRequest, pair: &Pair<'_>) -> Plan {
    if pair.client == pair.upstream {
        return Plan::Passthrough;
    }
    if req.document.is_some() {
        return Plan::NeedsState(StateReason::PatchDocument);
    }
    let up = dialect(pair.upstream);
    let mut first = false;
    let mut last = false;
    let mut reason = None;
    for (i, c) in req.changes.changes.iter().enumerate() {
        match &c.op {
            Op::Set { field, .. } => {
                first |= *field == Field::FirstName;
                last |= *field == Field::LastName;
            }
            Op::Primary { .. } if !up.single_slot() => {
                reason.get_or_insert(StateReason::PrimaryEntry);
            }
            Op::EntryAdd { coll, .. }
                if up.single_slot()
                    && up.holds_coll(*coll)
                    && !removes_slot_before(&req.changes.changes[..i], *coll) =>
            {
                reason.get_or_insert(StateReason::SlotAdd);
            }
            _ => {}
        }
    }
    if joins_names(pair.upstream) && first != last {
        return Plan::NeedsState(StateReason::NameHalf);
    }
    match reason {
        Some(r) => Plan::NeedsState(r),
        None => Plan::Stateless,
    }
}

/// True when an earlier change in the same request empties the single slot of `coll`.
fn removes_slot_before(earlier: &[Change], coll: Coll) -> bool {
    earlier.iter().any(|c| match &c.op {
        Op::EntryRemove { coll: k, id } => *k == coll && *id == 1,
        Op::Primary { coll: k, value } => *k == coll && value.is_none(),
        _ => false,
    })
}

/// The client's own name for a change, as listed in `Patchbay-Dropped-Fields`: the top-level
/// member of the body it came from (`company`, `customData`, `emails`; Reach without its `data`
/// wrapper), or for helpscout-v2 the patch path without its leading slash (`emails/7/type`),
/// since a patch path is the field the client named.
fn client_name(client: DialectId, origin: &str) -> String {
    let trimmed = origin.strip_prefix('/').unwrap_or(origin);
    let name = match client {
        DialectId::HelpscoutV2 => trimmed,
        DialectId::Reach => {
            let inner = trimmed.strip_prefix("data/").unwrap_or(trimmed);
            inner.split('/').next().unwrap_or(inner)
        }
        DialectId::HelpscoutV1 | DialectId::Helpcrunch => {
            trimmed.split('/').next().unwrap_or(trimmed)
        }
    };
    if name.contains('~') {
        name.replace("~1", "/").replace("~0", "~")
    } else {
        name.to_string()
    }
}

fn label_of(op: &Op) -> &'static str {
    match op {
        Op::Set { field, .. } => field.as_str(),
        Op::EntryAdd { coll, .. }
        | Op::EntryRemove { coll, .. }
        | Op::EntryUpdate { coll, .. }
        | Op::Primary { coll, .. } => coll.as_str(),
        Op::PropertySet { .. } | Op::PropertyRemove { .. } => "properties",
    }
}

/// Accumulates the outcome of resolution: kept changes, unmappable ones, violations.
struct Acc<'p> {
    pair: &'p Pair<'p>,
    out: Vec<Change>,
    unmappable: Vec<(Violation, Dropped)>,
    invalid: Vec<Violation>,
}

impl Acc<'_> {
    fn keep(&mut self, op: Op, origin: &str) {
        self.out.push(Change::new(op, origin));
    }

    fn unmappable(&mut self, change: &Change, what: &str) {
        let up = self.pair.upstream;
        // One entry per client field: `name` yields two changes with the same origin.
        if self
            .unmappable
            .iter()
            .any(|(v, _)| v.pointer == change.origin)
        {
            return;
        }
        let name = client_name(self.pair.client, &change.origin);
        self.unmappable.push((
            Violation::new(
                change.origin.clone(),
                Rule::Unmappable,
                format!("{what} cannot be stored by the upstream ({up})"),
            ),
            Dropped {
                name,
                label: label_of(&change.op),
            },
        ));
    }
}

/// Rewrites the client's changes into changes the upstream can hold (see the module docs).
/// `state` is the customer as the upstream holds it; it must be given when [`plan`] said
/// [`Plan::NeedsState`], and may be given otherwise (a change repeating the current value is then
/// recognised as harmless).
pub fn resolve(
    req: &ClientRequest,
    pair: &Pair<'_>,
    state: Option<&Customer>,
) -> Result<Resolved, ApiError> {
    let up = dialect(pair.upstream);
    let mut acc = Acc {
        pair,
        out: Vec::with_capacity(req.changes.changes.len() + 1),
        unmappable: Vec::new(),
        invalid: Vec::new(),
    };
    let changes = &req.changes.changes;
    for (i, change) in changes.iter().enumerate() {
        let origin = change.origin.as_str();
        match &change.op {
            Op::Set { field, value } => {
                if up.holds(*field) {
                    acc.keep(change.op.clone(), origin);
                } else if value.is_null() || state.is_some_and(|s| s.get(*field) == *value) {
                    // Clearing a field the upstream does not have repeats its current value.
                } else {
                    acc.unmappable(
                        change,
                        &format!("Field {}", client_name(pair.client, origin)),
                    );
                }
            }
            Op::Primary { coll, value } => {
                if up.single_slot() {
                    if up.holds_coll(*coll) {
                        acc.keep(change.op.clone(), origin);
                    } else if value.is_some() {
                        acc.unmappable(change, "This entry");
                    }
                } else if !up.holds_coll(*coll) {
                    if value.is_some() {
                        acc.unmappable(change, "This entry");
                    }
                } else {
                    let Some(state) = state else {
                        return Err(state_missing());
                    };
                    let first = state.coll(*coll).first();
                    match (value, first) {
                        (Some(v), Some(e)) if &e.value == v => {}
                        (Some(v), Some(e)) => acc.keep(
                            Op::EntryUpdate {
                                coll: *coll,
                                id: e.id,
                                kind: None,
                                value: Some(v.clone()),
                            },
                            origin,
                        ),
                        (Some(v), None) => acc.keep(
                            Op::EntryAdd {
                                coll: *coll,
                                kind: Some(pair.default_entry_type.to_string()),
                                value: v.clone(),
                            },
                            origin,
                        ),
                        (None, Some(e)) => acc.keep(
                            Op::EntryRemove {
                                coll: *coll,
                                id: e.id,
                            },
                            origin,
                        ),
                        (None, None) => {}
                    }
                }
            }
            Op::EntryAdd { coll, value, .. } => {
                if !up.holds_coll(*coll) {
                    acc.unmappable(change, "This entry");
                } else if !up.single_slot() {
                    acc.keep(change.op.clone(), origin);
                } else if removes_slot_before(&changes[..i], *coll) {
                    // The slot itself has no type (it reads back as the route's default type):
                    // adding an entry carries its value, as SPEC §2 says "add fills the slot".
                    acc.keep(
                        Op::Primary {
                            coll: *coll,
                            value: Some(value.clone()),
                        },
                        origin,
                    );
                } else {
                    let Some(state) = state else {
                        return Err(state_missing());
                    };
                    match state.coll(*coll).first() {
                        None => acc.keep(
                            Op::Primary {
                                coll: *coll,
                                value: Some(value.clone()),
                            },
                            origin,
                        ),
                        Some(e) if &e.value == value => {}
                        Some(_) => acc.unmappable(
                            change,
                            "A second entry (the upstream holds one, which is taken)",
                        ),
                    }
                }
            }
            Op::EntryRemove { coll, id } => {
                if !up.holds_coll(*coll) {
                    acc.unmappable(change, "This entry");
                } else if !up.single_slot() {
                    acc.keep(change.op.clone(), origin);
                } else if *id == 1 {
                    acc.keep(
                        Op::Primary {
                            coll: *coll,
                            value: None,
                        },
                        origin,
                    );
                } else {
                    acc.invalid.push(slot_id_violation(origin, *id));
                }
            }
            Op::EntryUpdate {
                coll,
                id,
                kind,
                value,
            } => {
                if !up.holds_coll(*coll) {
                    acc.unmappable(change, "This entry");
                } else if !up.single_slot() {
                    acc.keep(change.op.clone(), origin);
                } else if *id != 1 {
                    acc.invalid.push(slot_id_violation(origin, *id));
                } else {
                    if kind
                        .as_deref()
                        .is_some_and(|k| k != pair.default_entry_type)
                    {
                        acc.unmappable(change, "The entry type");
                    }
                    if let Some(v) = value {
                        acc.keep(
                            Op::Primary {
                                coll: *coll,
                                value: Some(v.clone()),
                            },
                            origin,
                        );
                    }
                }
            }
            Op::PropertySet { slug, value } => {
                if up.has_properties() {
                    acc.keep(change.op.clone(), origin);
                } else if !value.is_null() {
                    acc.unmappable(change, &format!("Property {slug}"));
                }
            }
            Op::PropertyRemove { .. } => {
                if up.has_properties() {
                    acc.keep(change.op.clone(), origin);
                }
            }
        }
    }

    if joins_names(pair.upstream) {
        complete_name(&mut acc.out, state)?;
    }
    if !acc.invalid.is_empty() {
        return Err(ApiError::invalid(acc.invalid));
    }
    let mut dropped = Vec::new();
    if !acc.unmappable.is_empty() {
        match pair.policy {
            Policy::Reject => {
                return Err(ApiError::unmappable(
                    acc.unmappable.into_iter().map(|(v, _)| v).collect(),
                ))
            }
            Policy::Drop => {
                // Every item of `customData` or `emails` is the same field to the client: list
                // each name once, in the client's order.
                for (_, d) in acc.unmappable {
                    if !dropped.iter().any(|x: &Dropped| x.name == d.name) {
                        dropped.push(d);
                    }
                }
            }
        }
    }
    Ok(Resolved {
        changes: acc.out,
        dropped,
    })
}

/// Toward a dialect that stores one `name`, a change of one half brings the other half along,
/// read from the state (origin: the changed half's, so errors point at what the client sent).
fn complete_name(out: &mut Vec<Change>, state: Option<&Customer>) -> Result<(), ApiError> {
    let find = |f: Field| {
        out.iter()
            .position(|c| matches!(&c.op, Op::Set { field, .. } if *field == f))
    };
    let (first, last) = (find(Field::FirstName), find(Field::LastName));
    let (missing, present) = match (first, last) {
        (Some(i), None) => (Field::LastName, i),
        (None, Some(i)) => (Field::FirstName, i),
        _ => return Ok(()),
    };
    let Some(state) = state else {
        return Err(state_missing());
    };
    let origin = out[present].origin.clone();
    out.insert(
        present + 1,
        Change::new(
            Op::Set {
                field: missing,
                value: state.get(missing),
            },
            origin,
        ),
    );
    Ok(())
}

fn slot_id_violation(origin: &str, id: u64) -> Violation {
    Violation::new(
        origin,
        Rule::EntryId,
        format!("No entry with id {id}: this customer has a single entry, id 1"),
    )
    .with_value(serde_json::Value::from(id))
}

fn state_missing() -> ApiError {
    ApiError::new(
        crate::canonical::ErrorKind::Internal,
        "translation needs the customer's current state, which was not read",
    )
}

/// Checks the path id against the upstream's id rules (Help Scout and HelpCrunch ids are
/// positive integers; a Reach external id may be any string).
pub fn check_upstream_id(customer_id: &str, upstream: DialectId) -> Result<(), ApiError> {
    if numeric_ids(upstream) && !rules::positive_id(customer_id) {
        return Err(ApiError::invalid_one(
            Violation::new(
                "id",
                Rule::CustomerId,
                format!("The upstream ({upstream}) identifies customers by positive integers"),
            )
            .with_value(serde_json::Value::String(customer_id.to_string())),
        ));
    }
    Ok(())
}

/// Resolves, validates against the upstream's rules, and encodes the upstream write(s).
pub fn prepare(
    ep: &Endpoint,
    req: &ClientRequest,
    pair: &Pair<'_>,
    state: Option<&Customer>,
    cx: &EncodeCx,
) -> Result<Prepared, ApiError> {
    check_upstream_id(&ep.customer_id, pair.upstream)?;
    let evaluated;
    let req = match &req.document {
        Some(doc) => {
            evaluated = evaluate_document(doc, req, pair, state)?;
            &evaluated
        }
        None => req,
    };
    let resolved = resolve(req, pair, state)?;
    let up = dialect(pair.upstream);
    let violations = up.check_target(&resolved.changes);
    if !violations.is_empty() {
        return Err(ApiError::invalid(violations));
    }
    let requests = up.encode_update(&ep.customer_id, &resolved.changes, cx)?;
    Ok(Prepared {
        requests,
        changes: resolved.changes,
        dropped: resolved.dropped,
    })
}

/// The request a patch document amounts to against `state`: its derived change set
/// (`dialect::document::evaluate`), which then resolves like any other.
fn evaluate_document(
    doc: &crate::dialect::document::PatchDocument,
    req: &ClientRequest,
    pair: &Pair<'_>,
    state: Option<&Customer>,
) -> Result<ClientRequest, ApiError> {
    let Some(state) = state else {
        return Err(state_missing());
    };
    let changes = crate::dialect::document::evaluate(doc, state, pair.default_entry_type)?;
    Ok(ClientRequest {
        changes: crate::canonical::ChangeSet { changes },
        reload: req.reload,
        full: req.full,
        document: None,
    })
}

/// The checks of [`prepare`] that do not depend on the customer's state, run before a state
/// read so that a request that will be refused anyway (unmappable fields under `reject`, values
/// the upstream cannot hold, an invalid id) causes no upstream traffic at all. It resolves
/// against an empty customer: the only state-dependent outcomes (a full slot, a value equal to
/// the current one) are decided later, with the real state.
pub fn precheck(
    ep: &Endpoint,
    req: &ClientRequest,
    pair: &Pair<'_>,
    cx: &EncodeCx,
) -> Result<(), ApiError> {
    if req.document.is_some() {
        // What a patch document changes is only known against the real state (a `test` against
        // an empty customer would fail for nothing): only the id can be checked before.
        return check_upstream_id(&ep.customer_id, pair.upstream);
    }
    prepare(ep, req, pair, Some(&Customer::default()), cx).map(|_| ())
}

/// Whether `change` touches `target`.
fn touches(change: &Change, target: &Target) -> bool {
    match (&change.op, target) {
        (Op::Set { field, .. }, Target::Field(f)) => field == f,
        (Op::Set { field, .. }, Target::Coll(..)) => {
            // Address lines etc. never match a collection.
            let _ = field;
            false
        }
        (Op::EntryAdd { coll, .. } | Op::Primary { coll, .. }, Target::Coll(c, None | Some(1))) => {
            coll == c
        }
        (Op::EntryAdd { coll, .. }, Target::Coll(c, Some(_))) => coll == c,
        (Op::EntryRemove { coll, id } | Op::EntryUpdate { coll, id, .. }, Target::Coll(c, i)) => {
            coll == c && i.is_none_or(|i| i == *id)
        }
        (Op::PropertySet { slug, .. } | Op::PropertyRemove { slug }, Target::Property(s)) => {
            s.is_empty() || slug == s
        }
        _ => false,
    }
}

/// Rewrites an upstream's error so it names the client's fields: each violation's upstream
/// field is located in the canonical model, then named by the change that produced it (its
/// origin) or, when no change did, by the client dialect's own pointer for that location.
pub fn map_upstream_error(
    mut err: ApiError,
    upstream: DialectId,
    client: DialectId,
    changes: &[Change],
) -> ApiError {
    if upstream == client {
        return err;
    }
    let up = dialect(upstream);
    let cl = dialect(client);
    for v in &mut err.violations {
        if let Some(target) = up.locate(&v.pointer) {
            v.pointer = match changes.iter().find(|c| touches(c, &target)) {
                Some(c) => c.origin.clone(),
                None => cl.pointer_for(&target),
            };
        }
    }
    err
}

/// The default client path for `patchbay translate` when none is given.
pub fn default_path(client: DialectId) -> (&'static str, &'static str) {
    match client {
        DialectId::HelpscoutV2 => ("PATCH", "/v2/customers/100"),
        DialectId::HelpscoutV1 => ("PUT", "/v1/customers/100.json"),
        DialectId::Helpcrunch => ("PATCH", "/v1/customers/100"),
        DialectId::Reach => ("PATCH", "/api/resources/customers/100"),
    }
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
    if !matches!(
        ep.kind,
        EndpointKind::Update { .. } | EndpointKind::Properties
    ) {
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
            _ => "GET",
        };
        return Offline::Forward {
            plan: verdict,
            requests: vec![UpstreamRequest {
                method,
                path,
                headers,
                body: Some(bytes::Bytes::copy_from_slice(body)),
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
