//! HelpCrunch error bodies in both directions: `{"errors": [{code, message}]}` written for
//! clients, vendor errors (current and older forms) read and their codes located.

use super::*;
use crate::dialect::profile;
/// The pointer an upstream error code names, when it names a field: a property path
/// (`customer`, `email`, `filter[0].field`) or the live API's `invalid_<field>_value`.
pub(super) fn code_pointer(code: &str) -> Option<String> {
    if code.is_empty() || KIND_CODES.contains(&code) {
        return None;
    }
    if let Some(field) = code
        .strip_prefix("invalid_")
        .and_then(|c| c.strip_suffix("_value"))
        .filter(|f| !f.is_empty())
    {
        return Some(rules::undotted(field));
    }
    let path_like = code.contains(['.', '[']) || code.bytes().all(|b| b.is_ascii_alphanumeric());
    path_like.then(|| rules::undotted(code))
}

/// The code of the specific entry for an error that names no field.
pub(super) fn kind_code(err: &ApiError) -> &'static str {
    match err.kind {
        ErrorKind::Invalid | ErrorKind::Unmappable => "bad_request",
        ErrorKind::Unauthorized => "unauthorized",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::NotFound => "not_found",
        ErrorKind::MethodNotAllowed => "method_not_allowed",
        ErrorKind::Conflict => "conflict",
        ErrorKind::RateLimited => "too_many_requests",
        ErrorKind::TooLarge => "payload_too_large",
        ErrorKind::MediaType => "unsupported_media_type",
        ErrorKind::BadGateway => "bad_gateway",
        ErrorKind::GatewayTimeout => "gateway_timeout",
        // As an upstream's own 503 reads (`status_code`).
        ErrorKind::Unavailable | ErrorKind::UpstreamBusy => "internal_error",
        ErrorKind::Internal => "internal_error",
        // These carry whatever status the upstream answered (a partially applied write: the
        // second write's failure), so the code follows the status, not the kind.
        ErrorKind::Upstream | ErrorKind::PartiallyApplied => status_code(err.status),
    }
}

/// The code HelpCrunch's answers use for a status.
pub(super) fn status_code(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        400..=499 => "bad_request",
        502 => "bad_gateway",
        504 => "gateway_timeout",
        _ => "internal_error",
    }
}

/// A violation's pointer as a HelpCrunch error code.
pub(super) fn violation_code(v: &Violation) -> String {
    if v.pointer.is_empty() {
        "invalid_json".to_string()
    } else if v.pointer.starts_with('/') {
        rules::dotted(&v.pointer)
    } else {
        v.pointer.clone()
    }
}

pub(super) fn encode_error(err: &ApiError) -> Synthetic {
    let mut errors = Vec::with_capacity(err.violations.len() + 2);
    errors.push(json!({"code": "invalid_request", "message": "Invalid request"}));
    // A partially applied write says what was applied even when the failure names fields.
    if err.violations.is_empty() || err.kind == ErrorKind::PartiallyApplied {
        let message = if err.message.is_empty() {
            wire::status_reason(err.status)
        } else {
            err.message.as_str()
        };
        errors.push(json!({"code": kind_code(err), "message": message}));
    }
    for v in &err.violations {
        errors.push(json!({"code": violation_code(v), "message": v.message}));
    }
    let reply = Synthetic::json(err.status, "application/json", &json!({ "errors": errors }))
        .with_error_headers(err);
    wire::with_retry_after(reply, err, profile::HELPCRUNCH.retry_header)
}

pub(super) fn decode_error(status: u16, body: &[u8]) -> ApiError {
    let doc: Option<Value> = serde_json::from_slice(body).ok();
    let entries = doc
        .as_ref()
        .and_then(|d| d.get("errors"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut headline: Option<&str> = None;
    let mut generic: Option<&str> = None;
    let mut violations = Vec::new();
    for entry in entries {
        let code = entry.get("code").and_then(Value::as_str).unwrap_or("");
        let message = entry.get("message").and_then(Value::as_str).unwrap_or("");
        if code == "invalid_request" {
            generic = generic.or(Some(message));
        } else if let Some(pointer) = code_pointer(code) {
            violations.push(Violation::new(pointer, Rule::Upstream, message));
        } else if headline.is_none() {
            headline = Some(message);
        }
    }
    let message = headline
        .or(generic)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| wire::status_reason(status));
    ApiError::upstream(status, message, violations)
}
