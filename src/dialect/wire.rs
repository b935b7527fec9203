//! Wire helpers every dialect shares: the byte-buffer JSON writer of the hot encoders, the
//! status reason used when a vendor's error body carries no message, and the rate-limit header
//! on a 429 answer. Parsing with duplicate keys refused lives in [`super::rules`]
//! (`parse_json_unique`, `reject_duplicate_keys`), next to the other validation rules.

use super::Synthetic;
use crate::canonical::{ApiError, Change, Rule, Violation};
use bytes::Bytes;
use serde::Serialize;

/// A minimal JSON writer for the hot encoders (HelpCrunch's model and PATCH, Reach's envelope
/// and PATCH): writing straight into one buffer instead of building a `serde_json::Value` tree
/// first, which costs an allocation per node. Member names passed to [`JsonWriter::key`] are
/// the dialect's own ASCII constants and are written as they are; names from data go through
/// [`JsonWriter::key_escaped`]; values always go through serde_json, which escapes them.
pub struct JsonWriter {
    buf: Vec<u8>,
    comma: bool,
}

impl JsonWriter {
    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        JsonWriter {
            buf: Vec::with_capacity(n),
            comma: false,
        }
    }

    /// Opens an object (`b'{'`) or array (`b'['`).
    pub fn open(&mut self, c: u8) {
        self.buf.push(c);
        self.comma = false;
    }

    /// Closes an object (`b'}'`) or array (`b']'`).
    pub fn close(&mut self, c: u8) {
        self.buf.push(c);
        self.comma = true;
    }

    /// The comma before any member or element but the first.
    pub fn sep(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
        self.comma = true;
    }

    /// A member name that needs no escaping (the dialect's own constants).
    pub fn key(&mut self, k: &str) {
        self.sep();
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    /// A member name from data (a customData slug), escaped.
    pub fn key_escaped(&mut self, k: &str) {
        self.sep();
        self.ser(k);
        self.buf.push(b':');
    }

    /// A value, serialised by serde_json.
    pub fn ser<T: Serialize + ?Sized>(&mut self, v: &T) {
        // Serializing strings, numbers and `Value`s into a Vec cannot fail (no I/O, no maps
        // with non-string keys), so the Result carries no information here.
        let _ = serde_json::to_writer(&mut self.buf, v);
    }

    /// A member: name (unescaped, see [`JsonWriter::key`]) and value.
    pub fn member<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) {
        self.key(k);
        self.ser(v);
    }

    /// A string or `null`.
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => self.ser(s),
            None => self.raw(b"null"),
        }
    }

    /// A boolean or `null`.
    pub fn opt_bool(&mut self, v: Option<bool>) {
        self.raw(match v {
            Some(true) => b"true",
            Some(false) => b"false",
            None => b"null",
        });
    }

    /// Bytes that are already JSON (a literal such as `[]` or `null`).
    pub fn raw(&mut self, json: &[u8]) {
        self.buf.extend_from_slice(json);
    }

    /// The written document.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

/// The refusal of changes an upstream encoder has no place for, each named at its origin. The
/// planner resolves such changes before encoding; one that slips through is refused by name
/// rather than silently dropped. `message` names the vendor ("Reach has no place for this
/// change").
pub fn refuse_unencodable<'c>(
    changes: impl IntoIterator<Item = &'c Change>,
    message: &str,
) -> ApiError {
    ApiError::unmappable(
        changes
            .into_iter()
            .map(|c| Violation::new(c.origin.as_str(), Rule::Unmappable, message))
            .collect(),
    )
}

/// The standard reason phrase of a status, for a vendor error body that carries no message
/// (HelpCrunch, Help Scout v1); `"Upstream error"` for a status without one.
pub fn status_reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Upstream error")
}

/// Adds the vendor's retry header (`header`: `Retry-After`, or Help Scout v2's
/// `X-RateLimit-Retry-After`) to a 429 answer that knows how long to wait; any other answer is
/// returned as it is.
pub fn with_retry_after(reply: Synthetic, err: &ApiError, header: &str) -> Synthetic {
    match err.retry_after {
        Some(secs) if err.status == 429 => reply.with_header(header, secs.to_string()),
        _ => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::ErrorKind;

    #[test]
    fn writer_separates_members_and_elements_across_nesting() {
        let mut w = JsonWriter::with_capacity(16);
        w.open(b'{');
        w.member("a", &1);
        w.key("b");
        w.open(b'[');
        w.sep();
        w.opt_str(Some("x\"y"));
        w.sep();
        w.opt_bool(None);
        w.close(b']');
        w.key_escaped("c\"d");
        w.raw(b"[]");
        w.member("e", &Option::<bool>::None);
        w.close(b'}');
        assert_eq!(
            &w.into_bytes()[..],
            br#"{"a":1,"b":["x\"y",null],"c\"d":[],"e":null}"#
        );
    }

    #[test]
    fn status_reason_falls_back_for_unknown_statuses() {
        assert_eq!(status_reason(503), "Service Unavailable");
        assert_eq!(status_reason(599), "Upstream error");
    }

    #[test]
    fn retry_header_only_on_a_429_with_a_known_wait() {
        let limited = ApiError::new(ErrorKind::RateLimited, "slow down");
        let reply = || Synthetic::json(429, "application/json", &serde_json::json!({}));
        let with = with_retry_after(reply(), &limited.clone().with_retry_after(Some(7)), "R");
        assert!(with.headers.contains(&("R".to_owned(), "7".to_owned())));
        let without = with_retry_after(reply(), &limited, "R");
        assert!(!without.headers.iter().any(|(k, _)| k == "R"));
        let unavailable = limited.with_status(503).with_retry_after(Some(7));
        let other = with_retry_after(reply(), &unavailable, "R");
        assert!(!other.headers.iter().any(|(k, _)| k == "R"));
    }
}
