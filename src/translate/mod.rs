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
//! upstream's field names into the client's pointers (and messages), naming the change that
//! produced each upstream field.

use crate::canonical::{ApiError, Change, Coll, Customer, EntryUpdate, Field, Op, Rule, Violation};
use crate::dialect::profile::{client_name, IdKind};
use crate::dialect::{
    dialect, rules, ClientRequest, DialectId, EncodeCx, Endpoint, UpstreamRequest,
};

mod errors;
mod offline;
pub mod session;

use errors::check_target;
pub use errors::map_upstream_error;
pub use offline::{default_path, offline, Offline};
pub use session::{Facts, Lock, Reply, Session, Step};

/// The route's policy for changes the upstream has no place for (SPEC §2): the route's
/// `unmappable` key in the config and the planner's input are this one type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Answer 400 naming every such field; send nothing.
    #[default]
    Reject,
    /// Forward the rest; report the dropped fields in a header and metrics.
    Drop,
}

impl Policy {
    /// Both, in the order they are listed in messages.
    pub const ALL: [Policy; 2] = [Policy::Reject, Policy::Drop];

    /// Config (and CLI) spelling, the same as the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Reject => "reject",
            Policy::Drop => "drop",
        }
    }

    /// Parses the config spelling.
    pub fn parse(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.as_str() == s)
    }
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

/// Whether the upstream identifies customers by positive integers.
pub fn numeric_ids(id: DialectId) -> bool {
    id.profile().id_kind == IdKind::PositiveInteger
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
                    && !slot_decided_before(&req.changes.changes[..i], *coll) =>
            {
                reason.get_or_insert(StateReason::SlotAdd);
            }
            _ => {}
        }
    }
    // A vendor storing one `name` needs the other half to change one.
    if pair.upstream.profile().joins_name && first != last {
        return Plan::NeedsState(StateReason::NameHalf);
    }
    match reason {
        Some(r) => Plan::NeedsState(r),
        None => Plan::Stateless,
    }
}

/// What the earlier changes of the same request did to the single slot of `coll`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotBefore {
    /// Nothing: its occupancy is the upstream's (state needed).
    Untouched,
    /// The last change emptied it (`remove …/1`, a single-slot client's `email: null`).
    Emptied,
    /// A change of this request already put a value into it: the slot's capacity counts the
    /// whole request, so another add is a second entry (SPEC §2).
    FilledHere,
}

/// `earlier` are either the client's changes (planning) or the changes already kept for the
/// upstream (resolving, where every slot change has become `Primary`): what was refused as
/// unmappable does not occupy the slot.
fn slot_before(earlier: &[Change], coll: Coll) -> SlotBefore {
    earlier
        .iter()
        .fold(SlotBefore::Untouched, |slot, c| match &c.op {
            Op::EntryRemove { coll: k, id: 1 } if *k == coll => SlotBefore::Emptied,
            Op::Primary { coll: k, value } if *k == coll => match value {
                None => SlotBefore::Emptied,
                Some(_) => SlotBefore::FilledHere,
            },
            Op::EntryAdd { coll: k, .. } if *k == coll => SlotBefore::FilledHere,
            _ => slot,
        })
}

/// True when an earlier change in the same request decides the single slot of `coll` (emptied
/// or filled it), so an add needs no state to be resolved.
fn slot_decided_before(earlier: &[Change], coll: Coll) -> bool {
    slot_before(earlier, coll) != SlotBefore::Untouched
}

fn label_of(op: &Op) -> &'static str {
    match op {
        Op::Set { field, .. } => field.as_str(),
        Op::EntryAdd { coll, .. }
        | Op::EntryRemove { coll, .. }
        | Op::EntryUpdate(EntryUpdate { coll, .. })
        | Op::Primary { coll, .. } => coll.as_str(),
        Op::PropertySet { .. } | Op::PropertyRemove { .. } => "properties",
    }
}

/// Accumulates the outcome of resolution: kept changes, unmappable ones, violations. An
/// unmappable change is kept in the one form the route's policy uses: the violation under
/// `reject`, the dropped name under `drop` (building both cost two `format!`s per dropped field
/// that the other policy threw away).
struct Acc<'p, 'r> {
    pair: &'p Pair<'p>,
    out: Vec<Change>,
    /// Under `reject`.
    refused: Vec<Violation>,
    /// Under `drop`, with the origin that makes each client field count once.
    dropped: Vec<(&'r str, Dropped)>,
    invalid: Vec<Violation>,
}

impl<'r> Acc<'_, 'r> {
    /// `origin` is the client change's own: a `Cow`, not a `&str`, because cloning a borrowed
    /// constant copies nothing.
    #[allow(clippy::ptr_arg)]
    fn keep(&mut self, op: Op, origin: &std::borrow::Cow<'static, str>) {
        self.out.push(Change::new(op, origin.clone()));
    }

    /// `what` names the change in the refusal's message; it is only worded under `reject`.
    fn unmappable<W: std::fmt::Display>(&mut self, change: &'r Change, what: impl FnOnce() -> W) {
        // One entry per client field: `name` yields two changes with the same origin.
        match self.pair.policy {
            Policy::Reject => {
                if self.refused.iter().any(|v| v.pointer == change.origin) {
                    return;
                }
                let up = self.pair.upstream;
                self.refused.push(Violation::new(
                    change.origin.clone(),
                    Rule::Unmappable,
                    format!("{} cannot be stored by the upstream ({up})", what()),
                ));
            }
            Policy::Drop => {
                if self.dropped.iter().any(|(o, _)| *o == change.origin) {
                    return;
                }
                let name = client_name(self.pair.client, &change.origin);
                self.dropped.push((
                    &change.origin,
                    Dropped {
                        name,
                        label: label_of(&change.op),
                    },
                ));
            }
        }
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
        refused: Vec::new(),
        dropped: Vec::new(),
        invalid: Vec::new(),
    };
    for change in &req.changes.changes {
        let origin = &change.origin;
        match &change.op {
            Op::Set { field, value } => {
                if up.holds(*field) {
                    acc.keep(change.op.clone(), origin);
                } else if is_empty_value(value)
                    || is_unknown(*field, value)
                    || state.is_some_and(|s| s.get(*field) == *value)
                {
                    // Clearing a field the upstream does not have (to any empty value: answers
                    // built from another dialect show it as `null`, `""`, `[]` or `{}`, and a
                    // GET-modify-PUT client echoes that back) repeats its current value.
                } else {
                    acc.unmappable(change, || {
                        format!("Field {}", client_name(pair.client, origin))
                    });
                }
            }
            Op::Primary { coll, value } => {
                if up.single_slot() {
                    if up.holds_coll(*coll) {
                        acc.keep(change.op.clone(), origin);
                    } else if value.is_some() {
                        acc.unmappable(change, || "This entry");
                    }
                } else if !up.holds_coll(*coll) {
                    if value.is_some() {
                        acc.unmappable(change, || "This entry");
                    }
                } else {
                    let Some(state) = state else {
                        return Err(state_missing());
                    };
                    if value.is_none() && req.full {
                        // A full replacement (helpcrunch PUT) without the slot means "no e-mail":
                        // every entry goes, or the client would read the second one back as its
                        // e-mail.
                        for e in state.coll(*coll) {
                            acc.keep(
                                Op::EntryRemove {
                                    coll: *coll,
                                    id: e.id,
                                },
                                origin,
                            );
                        }
                        continue;
                    }
                    let first = state.coll(*coll).first();
                    match (value, first) {
                        (Some(v), Some(e)) if &e.value == v => {}
                        (Some(v), Some(e)) => acc.keep(
                            Op::EntryUpdate(EntryUpdate {
                                coll: *coll,
                                id: e.id,
                                kind: None,
                                value: Some(v.clone()),
                            }),
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
            Op::EntryAdd { coll, kind, value } => {
                if !up.holds_coll(*coll) {
                    acc.unmappable(change, || "This entry");
                } else if !up.single_slot() {
                    acc.keep(change.op.clone(), origin);
                } else if let Some(k) = kind.as_deref().filter(|k| *k != pair.default_entry_type) {
                    // The slot has no type: it reads back as the route's default type, so an
                    // entry of another type would be stored as something the client did not
                    // write (SPEC §2).
                    acc.unmappable(change, || slot_type_what(k, pair));
                } else {
                    match slot_before(&acc.out, *coll) {
                        SlotBefore::FilledHere => acc.unmappable(change, || {
                            "A second entry (the upstream holds one, filled by this request)"
                        }),
                        // Emptied earlier in this request: adding fills it (SPEC §2).
                        SlotBefore::Emptied => acc.keep(
                            Op::Primary {
                                coll: *coll,
                                value: Some(value.clone()),
                            },
                            origin,
                        ),
                        SlotBefore::Untouched => {
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
                                Some(_) => acc.unmappable(change, || {
                                    "A second entry (the upstream holds one, which is taken)"
                                }),
                            }
                        }
                    }
                }
            }
            Op::EntryRemove { coll, id } => {
                if !up.holds_coll(*coll) {
                    acc.unmappable(change, || "This entry");
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
            Op::EntryUpdate(update) => {
                if !up.holds_coll(update.coll) {
                    acc.unmappable(change, || "This entry");
                } else if !up.single_slot() {
                    acc.keep(change.op.clone(), origin);
                } else if update.id != 1 {
                    acc.invalid.push(slot_id_violation(origin, update.id));
                } else {
                    let kind = update.kind.as_deref();
                    if let Some(k) = kind.filter(|k| *k != pair.default_entry_type) {
                        acc.unmappable(change, || slot_type_what(k, pair));
                    }
                    if let Some(v) = &update.value {
                        acc.keep(
                            Op::Primary {
                                coll: update.coll,
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
                } else if !is_empty_value(value) {
                    acc.unmappable(change, || format!("Property {slug}"));
                }
            }
            Op::PropertyRemove { .. } => {
                if up.has_properties() {
                    acc.keep(change.op.clone(), origin);
                }
            }
        }
    }

    if pair.upstream.profile().joins_name {
        complete_name(&mut acc.out, state)?;
    }
    if !acc.invalid.is_empty() {
        return Err(ApiError::invalid(acc.invalid));
    }
    if !acc.refused.is_empty() {
        return Err(ApiError::unmappable(acc.refused));
    }
    // Every item of `customData` or `emails` is the same field to the client: list each name
    // once, in the client's order.
    let mut dropped: Vec<Dropped> = Vec::with_capacity(acc.dropped.len());
    for (_, d) in acc.dropped {
        if !dropped.iter().any(|x| x.name == d.name) {
            dropped.push(d);
        }
    }
    Ok(Resolved {
        changes: acc.out,
        dropped,
    })
}

/// `null`, `""`, `[]` or `{}`: the values that mean "nothing here" in some dialect's answer.
/// Setting a field the upstream cannot hold to one of them changes nothing, so it is never
/// unmappable (SPEC §2 "Unmappable changes").
fn is_empty_value(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Help Scout's own "nothing known" for an enumeration: `gender` and `photoType` are `unknown`
/// when nobody set them, and the published v1 client (PyPI `helpscout`) sends `"gender":
/// "unknown"` back in every PUT of a customer it read with no gender. Toward an upstream without
/// the field that is the same as clearing it.
fn is_unknown(field: Field, value: &serde_json::Value) -> bool {
    matches!(field, Field::Gender | Field::PhotoType)
        && value
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("unknown"))
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

/// What is unmappable about an entry type a single slot cannot keep.
fn slot_type_what(kind: &str, pair: &Pair<'_>) -> String {
    format!(
        "Entry type \"{kind}\" (the single entry reads back as \"{}\")",
        pair.default_entry_type
    )
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
    let violations = check_target(up, &resolved.changes);
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

/// The id of the entry a helpscout-v2 sub-resource `POST` created, found in the customer as the
/// upstream holds it after the write: the entry of the added collection with the added value
/// (e-mail addresses compared without regard to ASCII case, as mail systems do) and the largest
/// id. Help Scout assigns increasing ids, so when the customer already had an entry with the
/// same value the new one is the newest; a single slot appears as id 1. `None` when no entry
/// holds the value: the add was dropped (`unmappable = "drop"`), and nothing was created.
///
/// Reading the id from the answer, rather than diffing against a state read before the write,
/// keeps an entry create toward helpscout-v1 at one upstream request (`reload=true`).
pub fn created_entry(req: &ClientRequest, customer: &Customer) -> Option<u64> {
    let (coll, value) = req.changes.changes.iter().find_map(|c| match &c.op {
        Op::EntryAdd { coll, value, .. } => Some((*coll, value.as_str())),
        _ => None,
    })?;
    customer
        .coll(coll)
        .iter()
        .filter(|e| {
            if coll == Coll::Emails {
                e.value.eq_ignore_ascii_case(value)
            } else {
                e.value == value
            }
        })
        .map(|e| e.id)
        .max()
}

#[cfg(test)]
mod tests {
    use super::Policy;

    /// The config, the CLI and the golden fixtures (serde) spell the policy the same way, and
    /// only that way.
    #[test]
    fn policy_spelling_is_the_serde_name_and_nothing_else_parses() {
        for p in Policy::ALL {
            assert_eq!(
                serde_json::to_value(p).ok(),
                Some(serde_json::Value::from(p.as_str()))
            );
            assert_eq!(Policy::parse(p.as_str()), Some(p));
        }
        for bad in ["Reject", "DROP", "ignore", ""] {
            assert_eq!(Policy::parse(bad), None, "{bad}");
        }
        assert_eq!(Policy::default(), Policy::Reject);
    }
}
