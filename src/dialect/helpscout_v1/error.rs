//! Help Scout v1 error bodies in both directions: `{"error", "validationErrors"}` written for
//! clients, vendor errors read back.

use super::*;
use crate::dialect::profile;
/// How a violation's location is written in `validationErrors[].property`.
pub(super) fn property(pointer: &str) -> String {
    if pointer.is_empty() {
        "body".to_owned()
    } else if pointer.starts_with('/') {
        rules::dotted(pointer)
    } else {
        pointer.to_owned()
    }
}

/// `validationErrors[].value` is a string in the real bodies (`"value":"2562545"`).
pub(super) fn value_text(v: Option<&Value>) -> String {
    match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(super) fn encode_error(err: &ApiError) -> Synthetic {
    // Field errors are listed whatever the status: an upstream's 422 naming fields reaches a v1
    // client with the fields named (SPEC §1), not as a bare `{"code":422,"error":…}`.
    let body = if !err.violations.is_empty() {
        let list: Vec<Value> = err
            .violations
            .iter()
            .map(|v| {
                json!({
                    "property": property(&v.pointer),
                    "value": value_text(v.rejected.as_ref()),
                    "message": v.message,
                })
            })
            .collect();
        // A partially applied write keeps its message: it says what was applied.
        let headline = if err.kind == ErrorKind::PartiallyApplied {
            err.message.as_str()
        } else {
            "Input could not be validated"
        };
        json!({
            "code": err.status,
            "error": headline,
            "validationErrors": list,
        })
    } else {
        let message = if err.message.is_empty() {
            wire::status_reason(err.status).to_owned()
        } else {
            err.message.clone()
        };
        json!({ "code": err.status, "error": message })
    };
    let out = Synthetic::json(err.status, JSON, &body).with_error_headers(err);
    wire::with_retry_after(out, err, profile::HELPSCOUT_V1.retry_header)
}

pub(super) fn decode_error(status: u16, body: &[u8]) -> ApiError {
    let doc: Option<Value> = serde_json::from_slice(body).ok();
    let obj = doc.as_ref().and_then(Value::as_object);
    // Real bodies say `error`; the superseded envelope (L7) said `message`.
    let message = obj
        .and_then(|o| o.get("error").or_else(|| o.get("message")))
        .and_then(Value::as_str)
        .map_or_else(|| wire::status_reason(status).to_owned(), str::to_owned);
    let violations = obj
        .and_then(|o| o.get("validationErrors"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter(|e| e.is_object())
                .map(|e| {
                    let v = wire::upstream_violation(e, "property");
                    match e.get("value") {
                        Some(Value::Null) | None => v,
                        Some(val) => v.with_value(val.clone()),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    ApiError::upstream(status, message, violations)
}
