//! The four vendor dialects: one unit struct each, behind one trait (SPEC §1).
//!
//! A dialect plays two roles. On the **client side** the gateway speaks it to the caller: it
//! recognises the caller's endpoints ([`ClientSide::route`]), decodes and validates the caller's body
//! into a [`ChangeSet`] ([`ClientSide::decode_request`]) and renders answers and errors
//! ([`ClientSide::encode_success`], [`ClientSide::encode_error`]). On the **upstream side** the gateway
//! speaks it to the vendor: it encodes resolved changes into requests
//! ([`UpstreamSide::encode_update`], [`UpstreamSide::encode_get`]) and decodes the vendor's answers
//! ([`UpstreamSide::decode_customer`], [`UpstreamSide::decode_error`]).
//!
//! All methods are pure: no I/O, no clocks except where a vendor format demands a timestamp, no
//! globals, so fixtures, benchmarks, fuzzers and the built-in sandbox call them directly.

mod codec;
#[cfg(test)]
mod contract;
pub mod document;
pub mod fields;
pub mod helpcrunch;
pub mod helpscout_v1;
pub mod helpscout_v2;
mod http;
pub mod profile;
#[cfg(test)]
mod profile_tests;
pub mod reach;
pub mod routes;
pub mod rules;
pub(crate) mod scan;
#[cfg(test)]
pub(crate) mod test_support;
pub mod wire;

pub use codec::{Codec, Wired};
pub use http::{
    Endpoint, EndpointKind, Purpose, SubAction, SubResource, Synthetic, UpstreamRequest,
};
pub use profile::{namespace_of, Profile};

use crate::canonical::{ApiError, ChangeSet, Coll, Customer, Field, Violation};
use serde::{Deserialize, Serialize};

/// Stable dialect identifiers: config values, metric labels, log fields, fixture directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DialectId {
    /// Help Scout Mailbox API v2 (JSON-Patch PATCH, PUT overwrite, properties).
    HelpscoutV2,
    /// Help Scout legacy API v1 (PUT `.json` with entry ids).
    HelpscoutV1,
    /// HelpCrunch REST API v1 (PUT/PATCH).
    Helpcrunch,
    /// Reach (PATCH with a `{"data": …}` wrapper).
    Reach,
}

impl DialectId {
    /// How many dialects there are.
    pub const COUNT: usize = 4;

    /// All four, in a fixed order (the declaration order, which [`DialectId::index`] relies on).
    pub const ALL: [DialectId; DialectId::COUNT] = [
        DialectId::HelpscoutV2,
        DialectId::HelpscoutV1,
        DialectId::Helpcrunch,
        DialectId::Reach,
    ];

    /// The id as written in config and labels.
    pub fn as_str(self) -> &'static str {
        self.profile().name
    }

    /// The dialect's capabilities and vendor facts.
    pub fn profile(self) -> &'static Profile {
        match self {
            DialectId::HelpscoutV2 => &profile::HELPSCOUT_V2,
            DialectId::HelpscoutV1 => &profile::HELPSCOUT_V1,
            DialectId::Helpcrunch => &profile::HELPCRUNCH,
            DialectId::Reach => &profile::REACH,
        }
    }

    /// The status of a successful customer update in this dialect (Help Scout v2 answers 204,
    /// the others 200 with a body).
    pub fn update_success_status(self) -> u16 {
        self.profile().update_success_status
    }

    /// Position in [`DialectId::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parses a config id.
    pub fn parse(s: &str) -> Option<DialectId> {
        DialectId::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The implementation.
    pub fn dialect(self) -> &'static dyn Dialect {
        dialect(self)
    }
}

impl std::fmt::Display for DialectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value per dialect, looked up by [`DialectId`]: the runtime form of a config table keyed
/// by dialect, so a new dialect adds an entry, not a field and a match arm at each user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerDialect<T>([T; DialectId::COUNT]);

impl<T> PerDialect<T> {
    /// The value of each dialect, computed in [`DialectId::ALL`] order.
    pub fn from_fn(f: impl FnMut(DialectId) -> T) -> Self {
        PerDialect(DialectId::ALL.map(f))
    }

    /// The value for `d`.
    pub fn get(&self, d: DialectId) -> &T {
        &self.0[d.index()]
    }

    /// Every dialect with its value, in [`DialectId::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (DialectId, &T)> {
        DialectId::ALL.into_iter().zip(self.0.iter())
    }
}

impl<T> PerDialect<Option<T>> {
    /// `Some` when every dialect has a value.
    pub fn transpose(self) -> Option<PerDialect<T>> {
        let all: Vec<T> = self.0.into_iter().collect::<Option<_>>()?;
        all.try_into().ok().map(PerDialect)
    }
}

/// The closed registry.
pub fn dialect(id: DialectId) -> &'static dyn Dialect {
    match id {
        DialectId::HelpscoutV2 => &helpscout_v2::HelpscoutV2,
        DialectId::HelpscoutV1 => &helpscout_v1::HelpscoutV1,
        DialectId::Helpcrunch => &helpcrunch::Helpcrunch,
        DialectId::Reach => &reach::Reach,
    }
}

/// Picks the client dialect for `auto` routes from method and path shape (SPEC §1): the first
/// dialect whose [`ClientSide::route`] recognises the path. The `.json` suffix separates
/// `helpscout-v1` from `helpcrunch`. A path that is a dialect's but has the wrong method (405) or
/// an invalid id (400) still identifies the dialect, so the client gets the error in its own
/// format; `None` means no dialect knows the path (404).
pub fn detect(method: &str, path: &str) -> Option<(DialectId, Result<Endpoint, ApiError>)> {
    for id in DialectId::ALL {
        match dialect(id).route(method, path) {
            Ok(ep) => return Some((id, Ok(ep))),
            Err(e) if e.status != 404 => return Some((id, Err(e))),
            Err(_) => {}
        }
    }
    None
}

/// The rest of a vendor's own validation of a decoded write in its own dialect: the rules it
/// enforces on what it stores ([`UpstreamSide::check_target`]), which the client decoder leaves to
/// the target because toward another upstream they may not apply (Reach's `customerId: null`
/// is refused by Reach, but is the harmless echo of an unknown field toward Help Scout). Run
/// on same-dialect routes, by the sandbox and by the offline pipeline's passthrough.
pub fn vendor_rules(id: DialectId, req: &ClientRequest) -> Result<(), ApiError> {
    let violations = dialect(id).check_target(&req.changes.changes);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(violations))
    }
}

/// A decoded client write.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClientRequest {
    /// The changes.
    pub changes: ChangeSet,
    /// The client asked for the customer back (helpscout-v1 `reload=true`).
    pub reload: bool,
    /// Full replacement (helpscout-v2 PUT, helpcrunch PUT): absent owned fields were turned into
    /// explicit clears by the decoder.
    pub full: bool,
    /// A helpscout-v2 PATCH with `test`, `move` or `copy`: RFC 6902 operations on the customer
    /// document, evaluated against the upstream's state ([`document::evaluate`]); `changes` is
    /// then empty until the evaluation derives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<document::PatchDocument>,
}

/// The `(pointer, rule)` of each violation, in order: what the dialects' unit tests compare.
#[cfg(test)]
fn pointer_rules(violations: Vec<Violation>) -> Vec<(String, crate::canonical::Rule)> {
    violations
        .into_iter()
        .map(|v| (v.pointer, v.rule))
        .collect()
}

/// Options the route gives the upstream encoder.
#[derive(Clone, Debug, Default)]
pub struct EncodeCx {
    /// Ask the upstream to return the customer in its answer when the dialect can
    /// (helpscout-v1 `reload=true`).
    pub want_customer: bool,
    /// Headers to pass through to the upstream (already filtered by the proxy), e.g.
    /// `reach-tenant-id`.
    pub passthrough_headers: Vec<(String, String)>,
}

/// Options for building a success answer in the client's dialect.
#[derive(Clone, Debug)]
pub struct AnswerCx<'a> {
    /// The customer id from the client's path.
    pub customer_id: &'a str,
    /// The route's `default_entry_type` (type shown for single-slot entries).
    pub default_entry_type: &'a str,
    /// Which dialect the customer came from (decides which fields are "unknowable" → null).
    pub upstream: DialectId,
    /// helpscout-v1 `reload`.
    pub reload: bool,
    /// The id of the entry a sub-resource `POST` created (helpscout-v2 `Resource-ID`), as the
    /// upstream assigned it; `None` when nothing was created (the add was dropped).
    pub created: Option<u64>,
    /// Prepended to the path in a `Location` header: the route's path prefix on the gateway
    /// (without trailing `/`), or a vendor's scheme and host in the sandbox.
    pub location_base: &'a str,
}

/// Where an upstream's error field lives in the canonical model. (Deserialize: the contract
/// cases name targets as `{"field": "first_name"}`, `{"coll": ["emails", 7]}`,
/// `{"property": "plan"}`.)
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A scalar field.
    Field(Field),
    /// A collection, optionally one entry of it.
    Coll(Coll, Option<u64>),
    /// A custom property slug (or the whole properties set when empty).
    Property(String),
}

/// One vendor wire format: its data model (which fields it has a place for) plus both roles.
/// Implementors are unit structs; every method is pure. The roles are separate traits, as hyper
/// separates client and server, so a reader of one side sees only that side's surface; call
/// sites keep using `dialect(id).method()` through this trait.
pub trait Dialect: ClientSide + UpstreamSide + Send + Sync + 'static {
    /// Which dialect this is.
    fn id(&self) -> DialectId;

    // --- capabilities: the vendor's data model, the same in both roles ----------------------

    /// Whether the dialect has a place for the scalar field (from the [`Profile`]'s field rows).
    fn holds(&self, field: Field) -> bool {
        fields::holds(self.id().profile(), field)
    }
    /// Whether the dialect has the collection (from the [`Profile`]). Single-slot dialects hold
    /// `Emails` and `Phones`.
    fn holds_coll(&self, coll: Coll) -> bool {
        self.id().profile().colls.contains(&coll)
    }
    /// HelpCrunch and Reach hold one e-mail and one phone, not collections of entries (from the
    /// [`Profile`]).
    fn single_slot(&self) -> bool {
        self.id().profile().single_slot
    }
    /// Whether custom properties exist (helpscout-v2 properties endpoint, helpcrunch customData;
    /// from the [`Profile`]).
    fn has_properties(&self) -> bool {
        self.id().profile().has_properties
    }
}

/// The dialect as the gateway speaks it **to the caller**: routes, request decoding and
/// validation, answers and errors.
pub trait ClientSide {
    /// Recognises one of this dialect's client-facing endpoints in a path (after the route
    /// prefix was stripped; the query is not part of `path`; percent-encoding not yet decoded).
    /// Errors: 404 when the path is not one of ours; 405 when it is but the method is wrong;
    /// 400 (rule `customer_id`, pointer `id`) when it is but the customer id is invalid for the
    /// dialect. The returned `customer_id` is percent-decoded and validated.
    fn route(&self, method: &str, path: &str) -> Result<Endpoint, ApiError>;
    /// Decodes and validates a client write (SPEC §1 validation rules).
    fn decode_request(
        &self,
        ep: &Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ClientRequest, ApiError>;
    /// Whether the success answer for this request carries the customer.
    fn answer_needs_customer(&self, ep: &Endpoint, req: &ClientRequest) -> bool;
    /// The success answer (204 / 200 body / GET body) built from the canonical customer.
    fn encode_success(
        &self,
        ep: &Endpoint,
        customer: Option<&Customer>,
        cx: &AnswerCx<'_>,
    ) -> Synthetic;
    /// Renders any error in this dialect's format (SPEC §1 error table).
    fn encode_error(&self, err: &ApiError) -> Synthetic;
    /// The client-facing name of a canonical location, as this dialect's errors write it
    /// (JSON pointer), used when an upstream error names a field no change came from.
    fn pointer_for(&self, target: &Target) -> String;
}

/// The dialect as the gateway speaks it **to the vendor**: the vendor's own value rules, upstream
/// requests, and decoding the vendor's answers and errors.
pub trait UpstreamSide {
    /// Rules the **target** enforces on values (lengths, enumerations): violations are reported
    /// at each change's origin, in the client's terms. Ops the dialect cannot hold are not this
    /// method's concern.
    fn check_target(&self, changes: &[crate::canonical::Change]) -> Vec<Violation>;

    /// Encodes resolved changes (only ops this dialect can hold) into the upstream write(s): one
    /// request, or two for helpscout-v2 customer fields plus properties (in that order).
    fn encode_update(
        &self,
        customer_id: &str,
        changes: &[crate::canonical::Change],
        cx: &EncodeCx,
    ) -> Result<Vec<UpstreamRequest>, ApiError>;
    /// The GET that reads the customer.
    fn encode_get(&self, customer_id: &str, cx: &EncodeCx) -> UpstreamRequest;
    /// Decodes a success body that carries the customer (GET answer, HelpCrunch/Reach update
    /// answers, v1 `{"item"}`); `None` when the body does not carry one (204, empty 200).
    fn decode_customer(&self, body: &[u8]) -> Option<Customer>;
    /// Decodes an upstream error answer. Violation pointers are the upstream's own field names;
    /// [`UpstreamSide::locate`] maps them into the canonical model.
    fn decode_error(&self, status: u16, body: &[u8]) -> ApiError;
    /// Maps one of this dialect's error field names/paths to a canonical location.
    fn locate(&self, upstream_path: &str) -> Option<Target>;
}

#[cfg(test)]
mod per_dialect_tests {
    use super::{DialectId, PerDialect};

    /// `index` is the position in `ALL` (it is computed from the declaration order).
    #[test]
    fn index_is_the_position_in_all_and_values_stay_with_their_dialect() {
        for (i, d) in DialectId::ALL.into_iter().enumerate() {
            assert_eq!(d.index(), i, "{d}");
        }
        let names = PerDialect::from_fn(DialectId::as_str);
        for d in DialectId::ALL {
            assert_eq!(*names.get(d), d.as_str());
        }
        let order: Vec<DialectId> = names.iter().map(|(d, _)| d).collect();
        assert_eq!(order, DialectId::ALL);
    }

    #[test]
    fn transpose_needs_a_value_for_every_dialect() {
        let all = PerDialect::from_fn(|d| Some(d.index()));
        assert_eq!(all.transpose().map(|p| *p.get(DialectId::ALL[2])), Some(2));
        for missing in DialectId::ALL {
            let one_gone = PerDialect::from_fn(|d| (d != missing).then_some(d.index()));
            assert!(one_gone.transpose().is_none(), "{missing}");
        }
    }
}
