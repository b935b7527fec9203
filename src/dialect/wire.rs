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
        // One copy call per key (the short tail is pushed): answers write thirty keys.
        self.buf.reserve(k.len() + 4);
        self.sep();
        self.buf.push(b'"');
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.push(b'"');
        self.buf.push(b':');
    }

    /// A member name from data (a customData slug), escaped.
    pub fn key_escaped(&mut self, k: &str) {
        self.sep();
        self.str(k);
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
            Some(s) => self.str(s),
            None => self.raw(b"null"),
        }
    }

    /// A string, escaped exactly as serde_json escapes it. Most values need no escape at all
    /// (names, ids, addresses, timestamps): they are copied in one piece after one branch-free
    /// scan, where serde_json's writer looks every byte up and writes through `io::Write`; a
    /// string that needs escapes is left to serde_json.
    pub fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        if needs_escape(b) {
            self.ser(s);
            return;
        }
        self.buf.reserve(b.len() + 2);
        self.buf.push(b'"');
        self.buf.extend_from_slice(b);
        self.buf.push(b'"');
    }

    /// A JSON value, with strings through [`JsonWriter::str`].
    pub fn value(&mut self, v: &serde_json::Value) {
        match v {
            serde_json::Value::String(s) => self.str(s),
            serde_json::Value::Null => self.raw(b"null"),
            serde_json::Value::Bool(b) => self.opt_bool(Some(*b)),
            other => self.ser(other),
        }
    }

    /// A member whose value is a string or `null` (see [`JsonWriter::str`]).
    pub fn member_str(&mut self, k: &str, v: Option<&str>) {
        self.key(k);
        self.opt_str(v);
    }

    /// A member whose value is a JSON value (see [`JsonWriter::value`]).
    pub fn member_value(&mut self, k: &str, v: &serde_json::Value) {
        self.key(k);
        self.value(v);
    }

    /// Where the next byte will be written: with [`JsonWriter::member_copy`], a value written
    /// once can be repeated under another name without being escaped again.
    pub fn mark(&self) -> usize {
        self.buf.len()
    }

    /// A member whose value is the JSON already written in `from` (two [`JsonWriter::mark`]s
    /// around one complete value).
    pub fn member_copy(&mut self, k: &str, from: std::ops::Range<usize>) {
        self.key(k);
        self.buf.extend_from_within(from);
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

/// `serde_json::from_slice`, reading the body as text when it is UTF-8 as a whole. The byte
/// reader checks the UTF-8 of every string it reads, keys included (a seventh of the cost of
/// decoding an upstream answer); one check of the whole body lets the text reader skip those.
/// A body that is not UTF-8 as a whole keeps the byte reader, which accepts it when the bad
/// bytes sit in members the target type skips, so the outcome is `from_slice`'s in every case.
pub fn from_json<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

/// Whether JSON needs an escape for some byte of `b` (a control character, `"` or `\\`), eight
/// bytes at a time: the word tricks of "Bit Twiddling Hacks" (`hasless`, `haszero`) are exact as
/// a yes/no answer, and bytes of multi-byte characters (0x80 and up) never match.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        let below_space = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
        if below_space || has_zero(x ^ (ONES * u64::from(b'"'))) || has_zero(x ^ (ONES * 0x5c)) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
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
            .map(|c| Violation::new(&*c.origin, Rule::Unmappable, message))
            .collect(),
    )
}

/// One entry of a vendor's list of field errors (Help Scout v1 `validationErrors`, Reach
/// `errors`): the member `path_key` names the field, dotted as the vendor writes it, and
/// `message` says what is wrong (`"Invalid value"` when the entry does not).
pub fn upstream_violation(entry: &serde_json::Value, path_key: &str) -> Violation {
    let member = |key: &str| entry.get(key).and_then(serde_json::Value::as_str);
    let path = super::rules::undotted(member(path_key).unwrap_or(""));
    Violation::new(
        path,
        Rule::Upstream,
        member("message").unwrap_or("Invalid value"),
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

    /// The quick string writer writes what serde_json writes, escapes or not.
    #[test]
    fn strings_and_values_are_written_as_serde_json_writes_them() {
        let samples = [
            "",
            "John Doe",
            "john@example.com",
            "+10233456781",
            "quote \" in",
            "back\\slash",
            "tab\there",
            "nl\n",
            "\u{1}\u{1f}",
            "del\u{7f}",
            "caf\u{e9} \u{1F600}",
            "</script>",
        ];
        // What `write` puts into a fresh writer is what serde_json makes of `v`.
        fn writes_as_serde<T: Serialize + std::fmt::Debug + ?Sized>(
            v: &T,
            write: impl FnOnce(&mut JsonWriter),
        ) {
            let mut w = JsonWriter::with_capacity(0);
            write(&mut w);
            assert_eq!(
                w.into_bytes(),
                serde_json::to_vec(v).unwrap_or_default(),
                "{v:?}"
            );
        }
        for s in samples {
            writes_as_serde(s, |w| w.str(s));
            let v = serde_json::Value::String(s.to_owned());
            writes_as_serde(&v, |w| w.value(&v));
        }
        for v in [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(-1.5),
            serde_json::json!(18446744073709551615u64),
            serde_json::json!([1, "a\"b", {"k": null}]),
            serde_json::json!({"x": "y"}),
        ] {
            writes_as_serde(&v, |w| w.value(&v));
        }
    }

    proptest::proptest! {
        /// Any string, in particular any mix of control characters, quotes, backslashes and
        /// multi-byte characters.
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "(\\PC|[\\x00-\\x1f\"\\\\\\x7f])*") {
            let mut w = JsonWriter::with_capacity(0);
            w.str(&s);
            proptest::prop_assert_eq!(w.into_bytes(), serde_json::to_vec(&s).unwrap_or_default());
        }
    }

    #[test]
    fn a_copied_member_repeats_the_value_bytes() {
        let mut w = JsonWriter::with_capacity(0);
        w.open(b'{');
        w.key("a");
        let start = w.mark();
        w.opt_str(Some("x\"y"));
        let end = w.mark();
        w.member_copy("b", start..end);
        w.member_str("c", None);
        w.close(b'}');
        assert_eq!(&w.into_bytes()[..], br#"{"a":"x\"y","b":"x\"y","c":null}"#);
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
