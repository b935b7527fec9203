//! The one error type every failure becomes before a client dialect renders it.
//!
//! Decoders, the planner, the proxy and upstream-answer decoders all produce an [`ApiError`]; the
//! client's dialect turns it into that vendor's error body ([`crate::dialect::ClientSide::encode_error`]).
//! Status codes are decided here and nowhere else (SPEC §4).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The validation rule a violation broke; `as_str` is the `rule` label of
/// `patchbay_validation_errors_total`, so the set is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Body is not JSON or not UTF-8.
    Json,
    /// JSON of the wrong shape (array expected, object expected, ...).
    Shape,
    /// A value of the wrong JSON type.
    Type,
    /// A required member is missing.
    Required,
    /// Unknown member (Reach without `ignoreUnknownFields`).
    UnknownField,
    /// Patch `op` not allowed.
    Op,
    /// Patch `path` outside the grammar.
    Path,
    /// Removing a whole collection.
    RemoveCollection,
    /// Value not in the enumeration.
    Enum,
    /// String length out of range.
    Length,
    /// Malformed e-mail address.
    Email,
    /// Malformed timestamp / date.
    Date,
    /// Malformed locale.
    Locale,
    /// Entry id not a positive integer, or unknown.
    EntryId,
    /// The customer id in the path is invalid for the dialect.
    CustomerId,
    /// A required field may not be cleared.
    NotNull,
    /// A change the upstream dialect has no place for (`unmappable = "reject"`).
    Unmappable,
    /// The add would need a free single slot that is taken.
    SlotFull,
    /// A value the upstream reported as invalid.
    Upstream,
    /// An RFC 6902 `test` operation failed against the customer's current state.
    Test,
}

impl Rule {
    /// Stable label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Json => "json",
            Rule::Shape => "shape",
            Rule::Type => "type",
            Rule::Required => "required",
            Rule::UnknownField => "unknown_field",
            Rule::Op => "op",
            Rule::Path => "path",
            Rule::RemoveCollection => "remove_collection",
            Rule::Enum => "enum",
            Rule::Length => "length",
            Rule::Email => "email",
            Rule::Date => "date",
            Rule::Locale => "locale",
            Rule::EntryId => "entry_id",
            Rule::CustomerId => "customer_id",
            Rule::NotNull => "not_null",
            Rule::Unmappable => "unmappable",
            Rule::SlotFull => "slot_full",
            Rule::Upstream => "upstream",
            Rule::Test => "test",
        }
    }
}

/// One problem with one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// Where: a JSON pointer into the client's body (`/0/value/type`, `/data/email`), or, for
    /// errors not tied to the body, a name such as `id` (path id) or `reload`.
    pub pointer: String,
    /// Which rule.
    pub rule: Rule,
    /// Human-readable message in the vendor's style.
    pub message: String,
    /// The rejected value, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Value>,
}

impl Violation {
    /// Builds a violation.
    pub fn new(pointer: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Violation {
            pointer: pointer.into(),
            rule,
            message: message.into(),
            rejected: None,
        }
    }

    /// Attaches the rejected value.
    pub fn with_value(mut self, v: Value) -> Self {
        self.rejected = Some(v);
        self
    }

    /// The pointer without its leading `/`, with `/` between tokens kept: Help Scout v2 writes
    /// error paths this way.
    pub fn path_without_slash(&self) -> &str {
        self.pointer.strip_prefix('/').unwrap_or(&self.pointer)
    }
}

/// What kind of failure; decides the status and the metric `outcome`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// 400: not JSON, wrong shape, rule broken (client's or target's rules).
    Invalid,
    /// 400: changes the upstream has no place for, under `reject`.
    Unmappable,
    /// 413.
    TooLarge,
    /// 415.
    MediaType,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 409: the request conflicts with the customer's current state (a failed patch `test`).
    Conflict,
    /// 429 from the gateway's own limiter or the upstream.
    RateLimited,
    /// Upstream answered an error status (its status is kept).
    Upstream,
    /// 502: upstream unreachable or answered garbage.
    BadGateway,
    /// 504: upstream too slow.
    GatewayTimeout,
    /// 502: the first of two writes succeeded, the second failed.
    PartiallyApplied,
    /// 503: the shared state a write needs (the cluster lock in Redis) cannot be had.
    Unavailable,
    /// 503: the upstream already has `max_inflight` requests from this gateway in flight;
    /// nothing was sent.
    UpstreamBusy,
    /// 500.
    Internal,
}

impl ErrorKind {
    /// Stable label value (`outcome` in metrics and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unmappable => "unmappable",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::MediaType => "media_type",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Upstream => "upstream_error",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::GatewayTimeout => "gateway_timeout",
            ErrorKind::PartiallyApplied => "partially_applied",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::UpstreamBusy => "upstream_busy",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A failure to be answered in the client's dialect.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiError {
    /// What kind.
    pub kind: ErrorKind,
    /// The HTTP status the client gets.
    pub status: u16,
    /// Headline message ("Bad request", "Input could not be validated", ...); dialects may
    /// replace it with their own fixed wording.
    pub message: String,
    /// Field-level problems (empty for non-validation errors).
    pub violations: Vec<Violation>,
    /// Seconds to wait, for 429.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The methods the path allows, for 405 (`Allow`, RFC 9110 §15.5.6: a 405 must list them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<String>,
    /// The request id, for dialects whose error body names the log line (helpscout-v2
    /// `logRef`): set by the proxy when it renders the answer; `None` offline.
    #[serde(skip)]
    pub log_ref: Option<String>,
}

impl ApiError {
    /// A generic error of `kind` with its default status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let status = match kind {
            ErrorKind::Invalid | ErrorKind::Unmappable => 400,
            ErrorKind::TooLarge => 413,
            ErrorKind::MediaType => 415,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::Conflict => 409,
            ErrorKind::RateLimited => 429,
            ErrorKind::Upstream | ErrorKind::BadGateway | ErrorKind::PartiallyApplied => 502,
            ErrorKind::GatewayTimeout => 504,
            ErrorKind::Unavailable => 503,
            ErrorKind::UpstreamBusy => 503,
            ErrorKind::Internal => 500,
        };
        ApiError {
            kind,
            status,
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
            allow: None,
            log_ref: None,
        }
    }

    /// 405 for a known path, listing the methods it allows (`"GET, PATCH"`).
    pub fn method_not_allowed(message: impl Into<String>, allow: &str) -> Self {
        ApiError {
            allow: Some(allow.to_string()),
            ..ApiError::new(ErrorKind::MethodNotAllowed, message)
        }
    }

    /// 400 with field violations.
    pub fn invalid(violations: Vec<Violation>) -> Self {
        ApiError {
            violations,
            ..ApiError::new(ErrorKind::Invalid, "Bad request")
        }
    }

    /// 400 with one violation.
    pub fn invalid_one(v: Violation) -> Self {
        ApiError::invalid(vec![v])
    }

    /// 400 for unmappable changes (every field named).
    pub fn unmappable(violations: Vec<Violation>) -> Self {
        ApiError {
            violations,
            ..ApiError::new(ErrorKind::Unmappable, "Bad request")
        }
    }

    /// An error carrying an upstream's status.
    pub fn upstream(status: u16, message: impl Into<String>, violations: Vec<Violation>) -> Self {
        let kind = match status {
            400 | 422 => ErrorKind::Invalid,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            413 => ErrorKind::TooLarge,
            415 => ErrorKind::MediaType,
            429 => ErrorKind::RateLimited,
            _ => ErrorKind::Upstream,
        };
        ApiError {
            kind,
            status,
            message: message.into(),
            violations,
            retry_after: None,
            allow: None,
            log_ref: None,
        }
    }

    /// Sets the status explicitly.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Sets `log_ref` (the request id the access log records).
    pub fn with_log_ref(mut self, request_id: &str) -> Self {
        self.log_ref = Some(request_id.to_string());
        self
    }

    /// Sets `retry_after`.
    pub fn with_retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs;
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status,
            self.kind.as_str(),
            self.message
        )?;
        for v in &self.violations {
            write!(f, "; {}: {}", v.pointer, v.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
