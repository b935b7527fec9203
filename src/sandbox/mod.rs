//! Built-in sandbox: faithful in-memory reference backends of the four vendors (SPEC §5).
//!
//! A [`Backend`] plays one vendor. It takes its behaviour from that dialect's **client side**
//! ([`ClientSide`](crate::dialect::ClientSide)): `route` recognises the vendor's endpoints,
//! `decode_request` is the vendor's validation, [`Customer::apply`] is its storage semantics and
//! `encode_success` / `encode_error` are its answers. The sandbox itself
//! adds only what a vendor has and a codec does not: a store, entry-id assignment, record
//! metadata, authentication, and the control surface under `/__sandbox/` that tests and demos
//! use to seed state, read the request log and inject faults.
//!
//! [`Backend::handle`] is the whole behaviour and does no socket I/O, so unit tests drive it
//! directly; [`server`] wraps it into a Pingora listening service (and a standalone server for
//! tools and tests). See `docs/sandbox.md` for the operator's view.

mod clock;
mod seed;
pub mod server;

#[cfg(test)]
mod tests;

pub use server::{free_loopback_addr, service, spawn_standalone, SandboxApp, Standalone};

use crate::canonical::{
    ApiError, Coll, Customer, EntryUpdate, ErrorKind, Field, Op, Rule, Violation,
};
use crate::config::Secret;
use crate::dialect::profile::Auth;
use crate::dialect::{AnswerCx, Dialect, DialectId, Endpoint, EndpointKind, Profile, Synthetic};
use crate::oauth::{self, TokenRequest};
use base64::Engine as _;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The OAuth `client_id` the helpscout-v2 sandbox accepts (the secret is the backend's).
pub const SANDBOX_CLIENT_ID: &str = "patchbay-sandbox";

/// Lifetime of a helpscout-v2 sandbox token, as the real service answers (`expires_in`).
pub const TOKEN_LIFETIME_SECS: u64 = 7200;

/// The first entry id a multi-entry backend hands out; far from 1 so that a single-slot id
/// (always 1) is never mistaken for a real Help Scout entry in tests.
pub const FIRST_ENTRY_ID: u64 = 1001;

/// Prefix of the control endpoints (not vendor API: no auth, no faults, not logged).
pub const CONTROL_PREFIX: &str = "/__sandbox/";

/// The request headers the request log keeps (everything else is noise for assertions),
/// besides every dialect's pass-through headers (`Profile::passthrough_headers`).
const LOGGED_HEADERS: [&str; 5] = [
    "authorization",
    "content-type",
    "x-request-id",
    "traceparent",
    "tracestate",
];

/// The request log keeps the newest this many entries, so a long `make run` stays bounded.
pub const REQUEST_LOG_CAP: usize = 10_000;

/// What the sandbox does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Answer with this response.
    Respond(Synthetic),
    /// Drop the connection without answering (fault injection `close: true`).
    Close,
}

impl Reply {
    /// The response, unless the connection is to be dropped.
    pub fn synthetic(&self) -> Option<&Synthetic> {
        match self {
            Reply::Respond(s) => Some(s),
            Reply::Close => None,
        }
    }
}

/// A fault to inject into vendor-API answers (`POST /__sandbox/faults`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fault {
    /// Wait this long before answering (alone: then answer normally).
    pub delay_ms: Option<u64>,
    /// Answer with this status instead. Without `body` the vendor's own error body is used.
    pub status: Option<u16>,
    /// Canned body (any bytes, e.g. non-JSON garbage).
    pub body: Option<String>,
    /// Content type of the canned body (default `application/json`).
    pub content_type: Option<String>,
    /// How many requests the fault applies to (default: every request until reset).
    pub count: Option<u64>,
    /// Drop the connection without answering.
    pub close: bool,
    /// Answer 429 in the vendor's format with its retry header set to this many seconds.
    pub rate_limit_retry_after: Option<u64>,
    /// Only requests whose method and path (`PATCH /v2/customers/7/properties`) contain this
    /// text get the fault (and count toward `count`); others are answered normally. Lets a
    /// test fail the second of two writes.
    pub matching: Option<String>,
}

impl Fault {
    /// Rejects faults that would do nothing or cannot be sent.
    fn check(&self) -> Result<(), String> {
        if let Some(status) = self.status {
            if !(200..=599).contains(&status) {
                return Err(format!("status {status} is not between 200 and 599"));
            }
        }
        if self.count == Some(0) {
            return Err("count must be at least 1 (omit it for every request)".into());
        }
        if self.delay_ms.is_none()
            && self.status.is_none()
            && self.body.is_none()
            && !self.close
            && self.rate_limit_retry_after.is_none()
        {
            return Err("the fault does nothing: give delay_ms, status, body, close or rate_limit_retry_after".into());
        }
        Ok(())
    }
}

/// One vendor-API request as the backend received it (`GET /__sandbox/requests`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// Arrival order since the last reset, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path and query, as received.
    pub path: String,
    /// `authorization`, `content-type`, `reach-tenant-id` and the correlation headers
    /// (`x-request-id`, `traceparent`, `tracestate`), when present (names lower case).
    pub headers: BTreeMap<String, String>,
    /// Body as text (lossy UTF-8).
    pub body: String,
    /// Which injected fault answered it (`delay`, `status`, `rate_limit`, `close`), if any.
    pub fault: Option<&'static str>,
    /// The status answered (`None` while in flight or when the connection was dropped).
    pub status: Option<u16>,
}

impl LoggedRequest {
    /// A logged header (name lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// The mutable state of one backend, behind one lock that is never held across an `.await`.
#[derive(Debug)]
struct State {
    customers: HashMap<String, Customer>,
    /// Next entry id for multi-entry vendors (unique across the backend, like Help Scout's).
    next_entry_id: u64,
    /// helpscout-v2 access tokens and when they were issued.
    tokens: HashMap<String, (Instant, Secret)>,
    /// The credentials accepted now: the configured secret, until `PUT /__sandbox/credentials`
    /// replaces the list (a vendor-side key rotation, with an overlap while both are valid).
    accepted: Vec<Secret>,
    log: std::collections::VecDeque<LoggedRequest>,
    next_seq: u64,
    /// The active fault and how many more requests it applies to (`None` = unlimited).
    fault: Option<(Fault, Option<u64>)>,
}

/// Reach's fixed per-account ids (one tenant per sandbox backend).
#[derive(Debug)]
struct ReachAccount {
    schema_definition_id: String,
    platform_id: String,
    business_id: String,
}

/// One in-memory vendor backend.
pub struct Backend {
    dialect: DialectId,
    reach: ReachAccount,
    state: Mutex<State>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of debug output (SPEC §5: secrets never appear in logs).
        f.debug_struct("Backend")
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

/// Splits `path?query`.
fn split_query(path_and_query: &str) -> (&str, Option<&str>) {
    match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    }
}

/// A header value by case-insensitive name.
fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `true` for `reload=true`-style query flags (used by `POST /__sandbox/reset?seed=true`).
fn query_flag(query: Option<&str>, name: &str) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == name || kv == format!("{name}=true") || kv == format!("{name}=1"))
    })
}

/// A control-endpoint JSON answer.
fn control_json(status: u16, body: &Value) -> Reply {
    Reply::Respond(Synthetic::json(status, "application/json", body))
}

fn control_error(status: u16, message: impl Into<String>) -> Reply {
    control_json(status, &json!({ "error": message.into() }))
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

// === impl Backend ===

impl Backend {
    /// A backend for `dialect` with its demo customers (see `docs/sandbox.md`). `secret` is the
    /// one credential it accepts, in the vendor's own way (SPEC §6).
    pub fn new(dialect: DialectId, secret: String) -> Backend {
        let backend = Backend::empty(dialect, secret);
        backend.seed();
        backend
    }

    /// A backend with an empty store (tests that want no demo data).
    pub fn empty(dialect: DialectId, secret: String) -> Backend {
        Backend {
            dialect,
            reach: ReachAccount {
                schema_definition_id: uuid::Uuid::new_v4().to_string(),
                platform_id: uuid::Uuid::new_v4().to_string(),
                business_id: uuid::Uuid::new_v4().to_string(),
            },
            state: Mutex::new(State {
                customers: HashMap::new(),
                next_entry_id: FIRST_ENTRY_ID,
                tokens: HashMap::new(),
                accepted: vec![Secret::new(secret)],
                log: std::collections::VecDeque::new(),
                next_seq: 1,
                fault: None,
            }),
        }
    }

    /// The vendor this backend plays.
    pub fn dialect(&self) -> DialectId {
        self.dialect
    }

    fn codec(&self) -> &'static dyn Dialect {
        self.dialect.dialect()
    }

    fn profile(&self) -> &'static Profile {
        self.dialect.profile()
    }

    /// (Re)stores the demo customers, replacing any with the same ids.
    pub fn seed(&self) {
        for (id, customer) in seed::customers(self.dialect) {
            self.put_customer(&id, customer);
        }
    }

    /// Clears the store, the request log and any fault (issued tokens stay valid: they are
    /// credentials, not data, and a gateway holding one should not see a spurious 401).
    pub fn reset(&self) {
        let mut st = self.state.lock();
        st.customers.clear();
        st.log.clear();
        st.next_seq = 1;
        st.fault = None;
    }

    /// Invalidates every issued helpscout-v2 token (to exercise a client's refresh-on-401).
    pub fn revoke_tokens(&self) {
        self.state.lock().tokens.clear();
    }

    /// Replaces the accepted credentials (the bearer token, Basic key or helpscout-v2 client
    /// secret), as a vendor does when a key is rotated: give the old and the new key during the
    /// overlap, then the new one alone. helpscout-v2 tokens obtained with a secret that is no
    /// longer accepted are revoked with it.
    pub fn set_credentials(&self, accepted: Vec<String>) -> Result<(), String> {
        if accepted.is_empty() || accepted.iter().any(|s| s.trim().is_empty()) {
            return Err("give at least one non-empty credential".into());
        }
        let accepted: Vec<Secret> = accepted.into_iter().map(Secret::new).collect();
        let mut st = self.state.lock();
        st.tokens.retain(|_, (_, secret)| accepted.contains(secret));
        st.accepted = accepted;
        Ok(())
    }

    fn accepts(&self, presented: &str) -> bool {
        self.state
            .lock()
            .accepted
            .iter()
            .any(|s| s.matches(presented.as_bytes()))
    }

    /// The stored customer, as the vendor holds it.
    pub fn customer(&self, id: &str) -> Option<Customer> {
        self.state.lock().customers.get(id).cloned()
    }

    /// Seeds or replaces a customer. The record is cut down to what the vendor can hold, entry
    /// ids are assigned where missing (0) or would collide, and record metadata is filled in.
    /// Returns the customer as stored.
    pub fn put_customer(&self, id: &str, mut customer: Customer) -> Customer {
        let mut st = self.state.lock();
        self.fit(&mut customer);
        if !self.codec().single_slot() {
            let mut seen = std::collections::HashSet::new();
            for coll in Coll::ALL {
                for entry in customer.coll_mut(coll).iter_mut() {
                    if entry.id == 0 || !seen.insert(entry.id) {
                        entry.id = st.next_entry_id;
                        st.next_entry_id += 1;
                        seen.insert(entry.id);
                    }
                }
            }
            // Later adds must not reuse an id the seed chose itself.
            st.next_entry_id = st.next_entry_id.max(customer.max_entry_id() + 1);
        }
        let now = clock::now_rfc3339();
        let previous = st.customers.get(id).map(|c| c.meta.clone());
        if customer.meta.id.is_none() {
            customer.meta.id = previous.as_ref().and_then(|m| m.id.clone());
        }
        if customer.meta.record_created_at.is_none() {
            customer.meta.record_created_at = previous.and_then(|m| m.record_created_at);
        }
        self.stamp(id, &mut customer, &now);
        st.customers.insert(id.to_string(), customer.clone());
        customer
    }

    /// Deletes a customer; `false` when there was none.
    pub fn delete_customer(&self, id: &str) -> bool {
        self.state.lock().customers.remove(id).is_some()
    }

    /// The vendor-API requests received since the last reset, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.lock().log.iter().cloned().collect()
    }

    /// Installs a fault for the next vendor-API requests (replacing any active one).
    pub fn set_fault(&self, fault: Fault) -> Result<(), String> {
        fault.check()?;
        let remaining = fault.count;
        self.state.lock().fault = Some((fault, remaining));
        Ok(())
    }

    /// Removes any active fault.
    pub fn clear_fault(&self) {
        self.state.lock().fault = None;
    }

    /// Drops what the vendor cannot hold, so the store never has data the real service would
    /// not (a HelpCrunch record has no chats; a Reach record has no properties).
    fn fit(&self, customer: &mut Customer) {
        let codec = self.codec();
        for field in Field::ALL {
            if !codec.holds(field) && !customer.get(field).is_null() {
                customer.set(field, &Value::Null);
            }
        }
        for coll in Coll::ALL {
            if !codec.holds_coll(coll) {
                customer.coll_mut(coll).clear();
            }
        }
        if !codec.has_properties() {
            customer.properties.clear();
        }
        if codec.single_slot() {
            // One e-mail and one phone; the slot always appears as entry 1 without a type,
            // as the single-slot GET decoders produce it.
            for coll in [Coll::Emails, Coll::Phones] {
                let entries = customer.coll_mut(coll);
                entries.truncate(1);
                for e in entries.iter_mut() {
                    e.id = 1;
                    e.kind = None;
                }
            }
        }
    }

    /// Fills the record metadata the vendor reports: its id and timestamps (`now` is the update).
    fn stamp(&self, id: &str, customer: &mut Customer, now: &str) {
        let meta = &mut customer.meta;
        if meta.id.is_none() {
            // Reach records have their own uuid besides the external id in the path.
            meta.id = Some(if self.profile().records.own_uuid {
                Value::String(uuid::Uuid::new_v4().to_string())
            } else {
                id.parse::<u64>()
                    .map_or_else(|_| Value::String(id.to_string()), Value::from)
            });
        }
        if meta.record_created_at.is_none() {
            meta.record_created_at = Some(now.to_string());
        }
        meta.record_updated_at = Some(now.to_string());
        if self.profile().records.tenant_meta {
            meta.schema_definition_id = Some(self.reach.schema_definition_id.clone());
            meta.platform_id = Some(self.reach.platform_id.clone());
            meta.business_id = Some(self.reach.business_id.clone());
        }
    }

    /// Answers one HTTP request: control endpoints, or the vendor API with auth, faults and the
    /// request log. `headers` are `(name, value)` pairs in any case; `body` is the whole body.
    pub async fn handle(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Reply {
        let (path, query) = split_query(path_and_query);
        if let Some(rest) = path.strip_prefix(CONTROL_PREFIX) {
            return self.control(method, rest, query, body);
        }

        let (seq, fault) = self.log_and_take_fault(method, path_and_query, headers, body);
        let mut fault_label = None;
        let reply = match fault {
            Some(fault) => {
                if let Some(ms) = fault.delay_ms {
                    fault_label = Some("delay");
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                if fault.close {
                    fault_label = Some("close");
                    Reply::Close
                } else if let Some(s) = self.canned(&fault) {
                    fault_label = Some(if s.status == 429 && fault.body.is_none() {
                        "rate_limit"
                    } else {
                        "status"
                    });
                    Reply::Respond(s)
                } else {
                    Reply::Respond(self.vendor(method, path, query, headers, body))
                }
            }
            None => Reply::Respond(self.vendor(method, path, query, headers, body)),
        };
        self.finish_log(seq, fault_label, &reply);
        reply
    }

    /// Appends the request to the log and consumes one use of the active fault.
    fn log_and_take_fault(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (u64, Option<Fault>) {
        let mut st = self.state.lock();
        let seq = st.next_seq;
        st.next_seq += 1;
        let passthrough = DialectId::ALL
            .into_iter()
            .flat_map(|d| d.profile().passthrough_headers.iter());
        let logged = LOGGED_HEADERS
            .iter()
            .chain(passthrough)
            .filter_map(|name| header(headers, name).map(|v| (name.to_string(), v.to_string())))
            .collect();
        if st.log.len() >= REQUEST_LOG_CAP {
            st.log.pop_front();
        }
        st.log.push_back(LoggedRequest {
            seq,
            method: method.to_string(),
            path: path_and_query.to_string(),
            headers: logged,
            body: String::from_utf8_lossy(body).into_owned(),
            fault: None,
            status: None,
        });
        let line = format!("{method} {path_and_query}");
        let applies = st
            .fault
            .as_ref()
            .is_some_and(|(f, _)| f.matching.as_deref().is_none_or(|m| line.contains(m)));
        let fault = match st.fault.take() {
            Some(active) if !applies => {
                st.fault = Some(active);
                None
            }
            Some((fault, remaining)) => {
                let left = remaining.map(|n| n.saturating_sub(1));
                if left != Some(0) {
                    st.fault = Some((fault.clone(), left));
                }
                Some(fault)
            }
            None => None,
        };
        (seq, fault)
    }

    fn finish_log(&self, seq: u64, fault: Option<&'static str>, reply: &Reply) {
        let mut st = self.state.lock();
        // A reset while the request was in flight removed the entry; nothing to update then.
        if let Some(entry) = st.log.iter_mut().find(|e| e.seq == seq) {
            entry.fault = fault;
            entry.status = reply.synthetic().map(|s| s.status);
        }
    }

    /// The canned answer of a fault, or `None` when it only delays.
    fn canned(&self, fault: &Fault) -> Option<Synthetic> {
        let status = match (fault.status, fault.rate_limit_retry_after) {
            (Some(s), _) => s,
            (None, Some(_)) => 429,
            (None, None) if fault.body.is_some() => 500,
            (None, None) => return None,
        };
        if let Some(body) = &fault.body {
            let ct = fault.content_type.as_deref().unwrap_or("application/json");
            let mut s = Synthetic::empty(status).with_header("Content-Type", ct);
            s.body = bytes::Bytes::from(body.clone().into_bytes());
            return Some(s);
        }
        let err = if status == 429 {
            ApiError::new(ErrorKind::RateLimited, "API rate limit exceeded")
                .with_retry_after(fault.rate_limit_retry_after)
        } else {
            ApiError::upstream(status, reason_phrase(status), Vec::new())
        };
        let mut s = self.codec().encode_error(&err);
        if let Some(secs) = fault.rate_limit_retry_after.filter(|_| status == 429) {
            // The vendor's retry header, whether or not its codec writes one for this error.
            let name = self.profile().retry_header;
            if s.header(name).is_none() {
                s = s.with_header(name, secs.to_string());
            }
        }
        Some(s)
    }

    // --- the vendor API ----------------------------------------------------------------------

    fn vendor(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Synthetic {
        if self.profile().token_path == Some(path) {
            if method != "POST" {
                return self.error(ApiError::new(
                    ErrorKind::MethodNotAllowed,
                    "Method not allowed",
                ));
            }
            return self.token(headers, query, body);
        }
        if let Err(e) = self.authenticate(headers) {
            return self.error(e);
        }
        let ep = match self.codec().route(method, path) {
            Ok(ep) => ep,
            Err(e) => return self.error(e),
        };
        match ep.kind {
            EndpointKind::Get => self.get(&ep),
            EndpointKind::Update { .. }
            | EndpointKind::Properties
            | EndpointKind::SubResource { .. } => self.update(&ep, query, headers, body),
            // Only the path check above serves the token endpoint; a codec that routes it
            // elsewhere is answered as an unknown endpoint.
            EndpointKind::Token => self.error(ApiError::new(ErrorKind::NotFound, "Not Found")),
        }
    }

    fn error(&self, err: ApiError) -> Synthetic {
        self.codec().encode_error(&err)
    }

    /// Checks the caller's credentials the vendor's way.
    fn authenticate(&self, headers: &[(String, String)]) -> Result<(), ApiError> {
        let unauthorized = |msg: &str| ApiError::new(ErrorKind::Unauthorized, msg);
        let Some(auth) = header(headers, "authorization") else {
            return Err(unauthorized("Authentication required"));
        };
        let (scheme, cred) = auth.trim().split_once(' ').unwrap_or((auth, ""));
        let cred = cred.trim();
        match self.profile().auth {
            Auth::OAuthClientCredentials => {
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return Err(unauthorized("Bearer token required"));
                }
                let st = self.state.lock();
                match st.tokens.get(cred) {
                    Some((issued, _))
                        if issued.elapsed() < Duration::from_secs(TOKEN_LIFETIME_SECS) =>
                    {
                        Ok(())
                    }
                    Some(_) => Err(unauthorized("Access token expired")),
                    None => Err(unauthorized("Invalid access token")),
                }
            }
            Auth::BasicKey => {
                // HTTP Basic with the API key as user name and any password.
                let user = scheme
                    .eq_ignore_ascii_case("basic")
                    .then(|| base64::engine::general_purpose::STANDARD.decode(cred).ok())
                    .flatten()
                    .map(|raw| String::from_utf8_lossy(&raw).into_owned())
                    .map(|pair| pair.split(':').next().unwrap_or_default().to_string());
                if user.as_deref().is_some_and(|u| self.accepts(u)) {
                    Ok(())
                } else {
                    Err(unauthorized("Invalid API key"))
                }
            }
            Auth::BearerKey => {
                if scheme.eq_ignore_ascii_case("bearer") && self.accepts(cred) {
                    Ok(())
                } else {
                    Err(unauthorized("Unauthorized"))
                }
            }
        }
    }

    /// helpscout-v2 `POST /v2/oauth2/token`: client credentials, read as the gateway reads them
    /// ([`TokenRequest`]); tokens are random and kept in memory.
    fn token(&self, headers: &[(String, String)], query: Option<&str>, body: &[u8]) -> Synthetic {
        // A body starting with `{` is JSON whatever its `Content-Type`: the vendor does not insist.
        let req = match TokenRequest::client_credentials(
            header(headers, "content-type"),
            true,
            query,
            body,
        ) {
            Ok(req) => req,
            Err(answer) => return answer,
        };
        let param = |name: &str| req.param(name);
        let secret = param("client_secret").unwrap_or_default();
        if param("client_id") != Some(SANDBOX_CLIENT_ID) || !self.accepts(secret) {
            return oauth::error(401, "invalid_client", "Bad client credentials");
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.state
            .lock()
            .tokens
            .insert(token.clone(), (Instant::now(), Secret::new(secret)));
        oauth::granted(&token, TOKEN_LIFETIME_SECS)
    }

    fn answer_cx<'a>(&self, ep: &'a Endpoint, reload: bool) -> AnswerCx<'a> {
        AnswerCx {
            customer_id: &ep.customer_id,
            default_entry_type: "work",
            upstream: self.dialect,
            reload,
            created: None,
            location_base: "",
        }
    }

    fn not_found(&self, id: &str) -> Synthetic {
        self.error(ApiError::new(
            ErrorKind::NotFound,
            format!("Customer not found: {id}"),
        ))
    }

    fn get(&self, ep: &Endpoint) -> Synthetic {
        match self.customer(&ep.customer_id) {
            Some(c) => self
                .codec()
                .encode_success(ep, Some(&c), &self.answer_cx(ep, false)),
            None => self.not_found(&ep.customer_id),
        }
    }

    fn update(
        &self,
        ep: &Endpoint,
        query: Option<&str>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Synthetic {
        let codec = self.codec();
        let req = match codec
            .decode_request(ep, query, body)
            .and_then(|r| crate::dialect::vendor_rules(self.dialect, &r).map(|()| r))
        {
            Ok(r) => r,
            Err(e) => return self.error(e),
        };
        let single = codec.single_slot();
        let mut created = None;
        let stored = {
            let mut st = self.state.lock();
            let mut customer = match st.customers.get(&ep.customer_id) {
                Some(c) => c.clone(),
                // Reach's PATCH is an upsert; everyone else answers 404.
                None if self.profile().records.upsert => Customer {
                    external_id: Some(ep.customer_id.clone()),
                    ..Customer::default()
                },
                None => return self.not_found(&ep.customer_id),
            };
            // Work on a copy and store it only when every change applied: a vendor rejects a
            // write as a whole, never half of it.

            // A patch with test/move/copy is evaluated against the stored customer with the
            // gateway's own document code; what it amounts to applies like any other change set.
            let derived = match &req.document {
                Some(doc) => match crate::dialect::document::evaluate(doc, &customer, "work") {
                    Ok(changes) => changes,
                    Err(e) => return self.error(e),
                },
                None => Vec::new(),
            };
            let changes = if req.document.is_some() {
                &derived
            } else {
                &req.changes.changes
            };
            let mut next = st.next_entry_id;
            let applied = customer.apply(
                changes,
                &mut || {
                    let id = if single { 1 } else { next };
                    next += u64::from(!single);
                    created = Some(id);
                    id
                },
                "work",
            );
            st.next_entry_id = next;
            if let (Err(_), EndpointKind::SubResource { .. }) = (&applied, ep.kind) {
                // The entry is the resource the URL names: Help Scout answers 404 for an
                // unknown entry id on its sub-resource endpoints (a PATCH op naming one is a
                // validation error of the body, below).
                return self.error(ApiError::new(
                    ErrorKind::NotFound,
                    "The customer entry was not found",
                ));
            }
            if let Err(change) = applied {
                let (coll, id) = match &change.op {
                    Op::EntryRemove { coll, id }
                    | Op::EntryUpdate(EntryUpdate { coll, id, .. }) => (coll.as_str(), *id),
                    _ => ("entries", 0),
                };
                return self.error(ApiError::invalid_one(
                    Violation::new(
                        change.origin.clone(),
                        Rule::EntryId,
                        format!("The {coll} entry {id} does not exist for this customer"),
                    )
                    .with_value(json!(id)),
                ));
            }
            self.fit(&mut customer);
            self.stamp(&ep.customer_id, &mut customer, &clock::now_rfc3339());
            st.customers
                .insert(ep.customer_id.clone(), customer.clone());
            customer
        };
        // The vendor's `Location` is an absolute URL on its own host (helpscout.md §2:
        // `https://api.helpscout.net/v2/customers/100/address`); the sandbox's host is whatever
        // the caller reached it by.
        let base = header(headers, "host").map(|h| format!("http://{h}"));
        let cx = AnswerCx {
            created,
            location_base: base.as_deref().unwrap_or_default(),
            ..self.answer_cx(ep, req.reload)
        };
        codec.encode_success(ep, Some(&stored), &cx)
    }

    // --- control endpoints -------------------------------------------------------------------

    fn control(&self, method: &str, rest: &str, query: Option<&str>, body: &[u8]) -> Reply {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        match (method, rest) {
            ("GET", "customers") => {
                let st = self.state.lock();
                let all: BTreeMap<&String, &Customer> = st.customers.iter().collect();
                control_json(200, &json!(all))
            }
            (_, r) if r.starts_with("customers/") => {
                let id = decode(&r["customers/".len()..]);
                if id.is_empty() || id.contains('/') {
                    return control_error(404, "no such control endpoint");
                }
                match method {
                    "GET" => match self.customer(&id) {
                        Some(c) => control_json(200, &json!(c)),
                        None => control_error(404, format!("no customer {id}")),
                    },
                    "PUT" => match serde_json::from_slice::<Customer>(body) {
                        Ok(c) => {
                            let existed = self.customer(&id).is_some();
                            let stored = self.put_customer(&id, c);
                            control_json(if existed { 200 } else { 201 }, &json!(stored))
                        }
                        Err(e) => control_error(400, format!("not a canonical customer: {e}")),
                    },
                    "DELETE" => {
                        if self.delete_customer(&id) {
                            Reply::Respond(Synthetic::empty(204))
                        } else {
                            control_error(404, format!("no customer {id}"))
                        }
                    }
                    _ => control_error(405, "use GET, PUT or DELETE"),
                }
            }
            ("GET", "requests") => control_json(200, &json!(self.requests())),
            ("POST", "reset") => {
                self.reset();
                if query_flag(query, "seed") {
                    self.seed();
                }
                Reply::Respond(Synthetic::empty(204))
            }
            ("POST", "faults") => match serde_json::from_slice::<Fault>(body) {
                Ok(fault) => match self.set_fault(fault) {
                    Ok(()) => Reply::Respond(Synthetic::empty(204)),
                    Err(e) => control_error(400, e),
                },
                Err(e) => control_error(400, format!("not a fault: {e}")),
            },
            ("DELETE", "faults") => {
                self.clear_fault();
                Reply::Respond(Synthetic::empty(204))
            }
            ("DELETE", "tokens") => {
                self.revoke_tokens();
                Reply::Respond(Synthetic::empty(204))
            }
            ("PUT", "credentials") => {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Credentials {
                    accept: Vec<String>,
                }
                match serde_json::from_slice::<Credentials>(body) {
                    Ok(c) => match self.set_credentials(c.accept) {
                        Ok(()) => Reply::Respond(Synthetic::empty(204)),
                        Err(e) => control_error(400, e),
                    },
                    Err(e) => control_error(400, format!("expected {{\"accept\": [\"…\"]}}: {e}")),
                }
            }
            ("GET", "info") => control_json(
                200,
                &json!({
                    "dialect": self.dialect.as_str(),
                    "customers": self.state.lock().customers.len(),
                }),
            ),
            (
                _,
                "customers" | "requests" | "reset" | "faults" | "tokens" | "info" | "credentials",
            ) => control_error(405, "method not allowed on this control endpoint"),
            _ => control_error(404, "no such control endpoint"),
        }
    }
}
