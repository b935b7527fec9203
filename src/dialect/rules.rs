//! Validation helpers shared by the dialects: one definition of "well-formed e-mail", "RFC 3339",
//! "ISO 639-1", "UNIX seconds" and friends, each returning a [`Violation`] at a given pointer.

use crate::canonical::{ApiError, Rule, Violation};
use serde_json::{Map, Value};

/// Parses a body as JSON, turning every failure (not UTF-8, syntax, trailing data, nesting
/// beyond serde_json's recursion limit) into a 400 naming the body root.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(not_utf8());
    }
    serde_json::from_slice(body).map_err(|e| not_json(&e))
}

/// The body is not UTF-8 (400 at the body root).
fn not_utf8() -> ApiError {
    ApiError::invalid_one(Violation::new(
        "",
        Rule::Json,
        "Request body is not valid UTF-8",
    ))
}

/// The body is not JSON (400 at the body root, in serde_json's words).
fn not_json(e: &serde_json::Error) -> ApiError {
    ApiError::invalid_one(Violation::new(
        "",
        Rule::Json,
        format!("Error parsing request body into JSON: {e}"),
    ))
}

/// `key` appears twice in the object at `pointer`'s parent.
fn duplicate_key(pointer: String, key: &str) -> ApiError {
    ApiError::invalid_one(Violation::new(
        pointer,
        Rule::Json,
        format!("Duplicate key \"{key}\" in the request body"),
    ))
}

/// The JSON type name used in messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Requires an object.
pub fn object<'a>(v: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, Violation> {
    v.as_object().ok_or_else(|| {
        Violation::new(
            pointer,
            Rule::Shape,
            format!("Expected a JSON object, got {}", type_name(v)),
        )
        .with_value(v.clone())
    })
}

/// The violation for a value of the wrong JSON type, naming the type that was `expected`.
pub fn wrong_type(v: &Value, expected: &str, pointer: &str) -> Violation {
    let msg = format!("Expected {expected}, got {}", type_name(v));
    Violation::new(pointer, Rule::Type, msg).with_value(v.clone())
}

/// A string or null (`Ok(None)` for null).
pub fn string_or_null<'a>(v: &'a Value, pointer: &str) -> Result<Option<&'a str>, Violation> {
    match v {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(wrong_type(other, "a string", pointer)),
    }
}

/// A string (null rejected).
pub fn string<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, Violation> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(wrong_type(other, "a string", pointer)),
    }
}

/// A boolean or null.
pub fn bool_or_null(v: &Value, pointer: &str) -> Result<Option<bool>, Violation> {
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(wrong_type(other, "a boolean", pointer)),
    }
}

/// The violation refusing the string `s` under `rule` (the value travels with it, for the
/// dialects whose errors echo it).
fn refused(s: &str, rule: Rule, message: impl Into<String>, pointer: &str) -> Violation {
    Violation::new(pointer, rule, message).with_value(Value::String(s.into()))
}

/// `Ok` when a string check passed, else its violation.
fn require(ok: bool, s: &str, rule: Rule, message: &str, pointer: &str) -> Result<(), Violation> {
    if ok {
        Ok(())
    } else {
        Err(refused(s, rule, message, pointer))
    }
}

/// Length in characters (not bytes) between `min` and `max` inclusive.
pub fn length(s: &str, min: usize, max: usize, pointer: &str) -> Result<(), Violation> {
    let n = s.chars().count();
    if n < min || n > max {
        let msg = if min == 0 {
            format!("must be at most {max} characters long")
        } else {
            format!("must be between {min} and {max} characters long")
        };
        return Err(refused(s, Rule::Length, msg, pointer));
    }
    Ok(())
}

/// Membership in an enumeration; `ignore_case` for gender.
pub fn one_of(
    s: &str,
    allowed: &[&str],
    ignore_case: bool,
    pointer: &str,
) -> Result<(), Violation> {
    let ok = allowed.iter().any(|a| {
        if ignore_case {
            a.eq_ignore_ascii_case(s)
        } else {
            *a == s
        }
    });
    if ok {
        Ok(())
    } else {
        let list = allowed
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(refused(
            s,
            Rule::Enum,
            format!("Expected one of these: {list}"),
            pointer,
        ))
    }
}

/// A pragmatic well-formedness check for e-mail addresses: one `@`, a non-empty local part
/// without spaces, a domain with a dot, no empty labels. Deliberately not RFC 5322's full
/// grammar, which accepts addresses no vendor stores.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || s.len() > 254 {
        return false;
    }
    // Byte tests: every character looked for is ASCII, and no byte of a multi-byte UTF-8
    // character is (a `char` searcher decodes every character first).
    let local_b = local.as_bytes();
    if local_b.iter().any(|b| {
        matches!(
            b,
            b'@' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'<' | b'>' | b',' | b';'
        )
    }) {
        return false;
    }
    if local_b[0] == b'.'
        || local_b[local_b.len() - 1] == b'.'
        || local_b.windows(2).any(|w| w == b"..")
    {
        return false;
    }
    // Counted while checked: collecting the labels cost an allocation per address.
    let mut labels = 0;
    for l in domain.split('.') {
        let ok_char = |c: char| {
            if c.is_ascii() {
                c.is_ascii_alphanumeric() || c == '-'
            } else {
                c.is_alphanumeric()
            }
        };
        if l.is_empty() || l.starts_with('-') || l.ends_with('-') || !l.chars().all(ok_char) {
            return false;
        }
        labels += 1;
    }
    labels >= 2
}

/// Requires a well-formed e-mail address.
pub fn email(s: &str, pointer: &str) -> Result<(), Violation> {
    let msg = "Value is not a well formed email address.";
    require(is_email(s), s, Rule::Email, msg, pointer)
}

/// RFC 3339 date-time (`2023-11-07T05:31:56Z`, fractional seconds and offsets allowed).
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let (month, day, hour, min, sec) =
        (num(5..7), num(8..10), num(11..13), num(14..16), num(17..19));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z'] | [b'z'] => true,
        [sign, h1, h2, b':', m1, m2]
            if (*sign == b'+' || *sign == b'-')
                && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) =>
        {
            true
        }
        _ => false,
    }
}

/// UNIX seconds given as a decimal string or a non-negative integer; returns the canonical
/// string form (SPEC §1: HelpCrunch timestamps are emitted as strings).
pub fn unix_seconds(v: &Value, pointer: &str) -> Result<Option<String>, Violation> {
    let bad = |v: &Value| {
        Violation::new(
            pointer,
            Rule::Date,
            "This value should be a UNIX timestamp in seconds (string or integer).",
        )
        .with_value(v.clone())
    };
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(|n| Some(n.to_string()))
            .ok_or_else(|| bad(v)),
        Value::String(s)
            if !s.is_empty() && s.len() <= 12 && s.bytes().all(|c| c.is_ascii_digit()) =>
        {
            Ok(Some(s.clone()))
        }
        other => Err(bad(other)),
    }
}

/// ISO 639-1 two-letter language codes.
pub const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bi",
    "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de",
    "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy",
    "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia",
    "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk",
    "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo",
    "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd",
    "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl",
    "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl",
    "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk",
    "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa",
    "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Requires an ISO 639-1 code (lower case, as HelpCrunch stores it).
pub fn locale(s: &str, pointer: &str) -> Result<(), Violation> {
    let known = ISO_639_1.binary_search(&s).is_ok();
    let msg = "This value is not a valid ISO 639-1 language code.";
    require(known, s, Rule::Locale, msg, pointer)
}

/// A customer id that must be a positive decimal integer (Help Scout, HelpCrunch).
pub fn positive_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 19
        && s.bytes().all(|b| b.is_ascii_digit())
        && !s.starts_with('0')
        && s.parse::<u64>().is_ok_and(|n| n > 0)
}

/// A customer id from a request path that must be a positive integer (Help Scout, HelpCrunch):
/// percent-decoded, then checked; a 400 naming `id` with the vendor's own `message` otherwise.
pub fn numeric_path_id(raw: &str, message: &str) -> Result<String, ApiError> {
    if !raw.contains('%') {
        // Nothing to decode (every well-formed id): skip the byte-by-byte decoder.
        numeric_id(raw, message)?;
        return Ok(raw.to_owned());
    }
    let id = percent_encoding::percent_decode_str(raw).decode_utf8_lossy();
    numeric_id(&id, message)?;
    Ok(id.into_owned())
}

/// A customer id (already decoded) that must be a positive integer (Help Scout, HelpCrunch): a
/// 400 naming `id`, with the vendor's own `message` and the id as the value, otherwise.
pub fn numeric_id(id: &str, message: &str) -> Result<(), ApiError> {
    if positive_id(id) {
        Ok(())
    } else {
        Err(ApiError::invalid_one(
            Violation::new("id", Rule::CustomerId, message)
                .with_value(Value::String(id.to_owned())),
        ))
    }
}

/// Value of `name` in a query string (`a=1&b=2`), percent-decoding not needed for the
/// booleans and ids this is used for.
pub fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then_some(v)
    })
}

/// `application/x-www-form-urlencoded` pairs of a form body or a query string, decoded (`+` is a
/// space; a key without `=` has an empty value).
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_list_is_sorted_for_binary_search() {
        let mut sorted = ISO_639_1.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, ISO_639_1);
    }

    /// Runs one predicate over the inputs it must accept and those it must refuse.
    fn verdicts(pred: fn(&str) -> bool, accepted: &[&str], refused: &[&str]) {
        for s in accepted {
            assert!(pred(s), "{s:?} refused");
        }
        for s in refused {
            assert!(!pred(s), "{s:?} accepted");
        }
    }

    #[test]
    fn emails() {
        verdicts(
            is_email,
            &["bear@acme.com", "a.b+c@x.co.uk"],
            &[
                "bear@acme",
                "bear acme.com",
                "@acme.com",
                "a b@acme.com",
                "a@-acme.com",
            ],
        );
    }

    #[test]
    fn rfc3339() {
        verdicts(
            is_rfc3339,
            &["2023-11-07T05:31:56Z", "2023-11-07T05:31:56.123+02:00"],
            &["2023-11-07", "2023-13-07T05:31:56Z", "2023-11-07T05:31:56"],
        );
    }

    #[test]
    fn ids() {
        verdicts(
            positive_id,
            &["100"],
            &["0", "-1", "01", "1a", "99999999999999999999"],
        );
    }
}

/// Converts a JSON pointer to the dotted property-path form Symfony-style and Help Scout v1
/// errors use: `/emails/0/location` → `emails[0].location`, `/data/email` → `data.email`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&token);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

/// The inverse of [`dotted`]: `emails[0].location` → `/emails/0/location`. A string that already
/// starts with `/` is returned unchanged.
pub fn undotted(path: &str) -> String {
    if path.starts_with('/') || path.is_empty() {
        return path.to_string();
    }
    let mut out = String::with_capacity(path.len() + 4);
    for part in path.split('.') {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            out.push('/');
            out.push_str(&rest[..i].replace('~', "~0").replace('/', "~1"));
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                out.push('/');
                out.push_str(&stripped[..end]);
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else {
            out.push('/');
            out.push_str(&rest.replace('~', "~0").replace('/', "~1"));
        }
    }
    out
}

#[cfg(test)]
mod path_tests {
    use super::*;

    #[test]
    fn dotted_round_trip() {
        for (p, d) in [
            ("/emails/0/location", "emails[0].location"),
            ("/data/email", "data.email"),
            ("/customData/1/value", "customData[1].value"),
            ("/name", "name"),
            ("", ""),
        ] {
            assert_eq!(dotted(p), d);
            assert_eq!(undotted(d), p);
        }
    }
}

/// Whether a `Content-Type` is JSON (`application/json`, any `application/*+json`, parameters
/// such as `charset` allowed).
pub fn is_json_content_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Refuses a body in which some object names the same key twice (RFC 8259 §4: such names
/// "SHOULD be unique"; parsers disagree on which copy wins). The gateway validates one reading
/// and, on same-dialect routes, forwards the client's bytes unchanged: a vendor that kept the
/// other copy would receive a value that was never validated. Bodies that are not JSON pass
/// here untouched: the dialect's decoder reports those in its own words.
pub fn reject_duplicate_keys(body: &[u8]) -> Result<(), ApiError> {
    let path = std::cell::RefCell::new(Vec::new());
    // Read as text when the body is UTF-8 (see `wire::from_json`): the same walk, without a
    // UTF-8 check of every key and string.
    let walked = match std::str::from_utf8(body) {
        Ok(text) => serde::de::DeserializeSeed::deserialize(
            dup::Node(&path),
            &mut serde_json::Deserializer::from_str(text),
        ),
        Err(_) => serde::de::DeserializeSeed::deserialize(
            dup::Node(&path),
            &mut serde_json::Deserializer::from_slice(body),
        ),
    };
    match walked {
        Ok(()) => Ok(()),
        Err(_) => {
            let path = path.into_inner();
            match path.last() {
                Some(dup::Seg::Dup(key)) => {
                    let mut pointer = String::new();
                    for seg in &path {
                        pointer.push('/');
                        match seg {
                            dup::Seg::Key(k) | dup::Seg::Dup(k) => {
                                pointer.push_str(&crate::canonical::pointer_token(k))
                            }
                            dup::Seg::Index(i) => pointer.push_str(&i.to_string()),
                        }
                    }
                    Err(duplicate_key(pointer, key))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Why [`parse_json_unique`] refused a body.
#[derive(Debug)]
pub enum JsonFailure {
    /// Some object names a key twice (the error [`reject_duplicate_keys`] gives).
    Duplicate(ApiError),
    /// Not JSON: the error [`parse_json`] gives.
    Invalid(ApiError),
}

impl JsonFailure {
    /// The error for the client.
    pub fn into_error(self) -> ApiError {
        match self {
            JsonFailure::Duplicate(e) | JsonFailure::Invalid(e) => e,
        }
    }
}

/// [`reject_duplicate_keys`] followed by [`parse_json`], in one pass over the body: the decoders
/// that walk a `Value` tree use it so that validating a body parses it once, not twice. The
/// outcome is exactly that of the two calls in sequence: the walk stops at the first repeated
/// key or the first syntax error, whichever comes first in the document.
pub fn parse_json_unique(body: &[u8]) -> Result<Value, JsonFailure> {
    let dup: std::cell::RefCell<Option<Vec<String>>> = std::cell::RefCell::new(None);
    // Read as text when the body is UTF-8 (see `wire::from_json`): the same walk, without a
    // UTF-8 check of every key and string.
    let parsed = match std::str::from_utf8(body) {
        Ok(text) => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde::de::DeserializeSeed::deserialize(unique::Node(&dup), &mut de)
                .and_then(|v| de.end().map(|()| v))
        }
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(body);
            serde::de::DeserializeSeed::deserialize(unique::Node(&dup), &mut de)
                .and_then(|v| de.end().map(|()| v))
        }
    };
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => match dup.into_inner() {
            Some(reversed) => {
                let key = reversed.first().cloned().unwrap_or_default();
                let mut pointer = String::new();
                for (i, seg) in reversed.iter().enumerate().rev() {
                    pointer.push('/');
                    if i == 0 {
                        pointer.push_str(&crate::canonical::pointer_token(seg));
                    } else {
                        pointer.push_str(seg);
                    }
                }
                Err(JsonFailure::Duplicate(duplicate_key(pointer, &key)))
            }
            // A successful walk implies valid UTF-8 (serde_json checks every string it reads
            // and refuses any other non-ASCII byte), so the check is only needed on failure.
            None if std::str::from_utf8(body).is_err() => Err(JsonFailure::Invalid(not_utf8())),
            None => Err(JsonFailure::Invalid(not_json(&e))),
        },
    }
}

/// A parsed JSON document whose outer objects (down to the depth [`parse_json_members`] was
/// given) are lists of members with keys borrowed from the body, in document order; everything
/// deeper is a `serde_json::Value`. For the decoders that walk the top of a body member by
/// member: they never look a key up, so the hash map of a `Value::Object` and an owned copy of
/// every key are pure cost on the hot path.
#[derive(Debug, PartialEq)]
pub enum Members<'a> {
    /// An object within the depth, members in document order (no key twice).
    Object(Vec<(std::borrow::Cow<'a, str>, Members<'a>)>),
    /// Any other value, or an object below the depth.
    Value(Value),
}

impl Members<'_> {
    /// The value as [`parse_json_unique`] builds it.
    pub fn into_value(self) -> Value {
        match self {
            Members::Value(v) => v,
            Members::Object(members) => Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect(),
            ),
        }
    }

    fn from_value(v: Value, depth: u8) -> Self {
        match v {
            Value::Object(map) if depth > 0 => Members::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        (
                            std::borrow::Cow::Owned(k),
                            Members::from_value(v, depth - 1),
                        )
                    })
                    .collect(),
            ),
            other => Members::Value(other),
        }
    }
}

/// [`parse_json_unique`], with the objects of the first `depth` levels kept as member lists
/// ([`Members`]). Same outcome: any failure of the quick walk (a syntax error, a repeated key,
/// an object too large for its linear duplicate check) is answered by [`parse_json_unique`]
/// itself, so the errors and their pointers are exactly its own.
pub fn parse_json_members(body: &[u8], depth: u8) -> Result<Members<'_>, JsonFailure> {
    // Read as text (see `wire::from_json`); a body that is not UTF-8 fails anyway, in the
    // words `parse_json_unique` gives it.
    let Ok(text) = std::str::from_utf8(body) else {
        return parse_json_unique(body).map(|v| Members::from_value(v, depth));
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let quick = serde::de::DeserializeSeed::deserialize(members::Node(depth), &mut de)
        .and_then(|v| de.end().map(|()| v));
    match quick {
        Ok(m) => Ok(m),
        Err(_) => parse_json_unique(body).map(|v| Members::from_value(v, depth)),
    }
}

/// An object key, borrowed from the body unless it had escapes: the key type of both quick
/// walks ([`members`] and [`dup`]).
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The walk behind [`parse_json_members`]. It only has to be right when it succeeds: any error
/// sends the body to [`parse_json_unique`], which then names it.
mod members {
    use super::{Key, Members};
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
    use serde_json::Value;
    use std::borrow::Cow;

    /// Members beyond this many leave the quick walk (its duplicate check is a linear scan).
    const MAX_MEMBERS: usize = 32;

    pub struct Node(pub u8);

    impl<'de> DeserializeSeed<'de> for Node {
        type Value = Members<'de>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Members<'de>, D::Error> {
            if self.0 == 0 {
                return super::unique_value(d).map(Members::Value);
            }
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Node {
        type Value = Members<'de>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any valid JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::Number(v.into())))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::Number(v.into())))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Members<'de>, E> {
            Ok(Members::Value(
                serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
            ))
        }
        fn visit_str<E>(self, v: &str) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::String(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::String(v)))
        }
        fn visit_unit<E>(self) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::Null))
        }
        fn visit_none<E>(self) -> Result<Members<'de>, E> {
            Ok(Members::Value(Value::Null))
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Members<'de>, A::Error> {
            // Arrays are values: built exactly as `parse_json_unique` builds them.
            let dup = std::cell::RefCell::new(None);
            super::unique::Node(&dup).visit_seq(seq).map(Members::Value)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
            let mut out: Vec<(Cow<'de, str>, Members<'de>)> = Vec::with_capacity(8);
            while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                if out.len() == MAX_MEMBERS || out.iter().any(|(seen, _)| *seen == k) {
                    return Err(de::Error::custom("left to parse_json_unique"));
                }
                let v = map.next_value_seed(Node(self.0 - 1))?;
                out.push((k, v));
            }
            Ok(Members::Object(out))
        }
    }
}

/// One JSON value from a running deserializer, refusing a repeated key anywhere inside it (for
/// typed fast paths that hold an arbitrary `Value` member: see `helpscout_v2::FastOp`).
pub fn unique_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    let dup = std::cell::RefCell::new(None);
    serde::de::DeserializeSeed::deserialize(unique::Node(&dup), d)
}

/// The walk behind [`parse_json_unique`]: builds the `Value` as serde_json's own visitor does.
/// Nothing is tracked on the way down; when a key repeats, the pointer is collected on the way
/// back up, innermost segment first (already escaped as a JSON-pointer token; the repeated key
/// itself stays raw until [`parse_json_unique`] escapes it for the pointer).
mod unique {
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde_json::map::Entry;
    use serde_json::{Map, Number, Value};
    use std::cell::RefCell;

    pub struct Node<'p>(pub &'p RefCell<Option<Vec<String>>>);

    impl<'de> DeserializeSeed<'de> for Node<'_> {
        type Value = Value;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl Node<'_> {
        /// Adds a parent segment to a duplicate's pointer while the error travels up.
        fn unwind<E>(&self, segment: impl FnOnce() -> String, e: E) -> E {
            if let Some(path) = self.0.borrow_mut().as_mut() {
                path.push(segment());
            }
            e
        }
    }

    impl<'de> Visitor<'de> for Node<'_> {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any valid JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(Value::Number(v.into()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            loop {
                match seq.next_element_seed(Node(self.0)) {
                    Ok(Some(v)) => out.push(v),
                    Ok(None) => return Ok(Value::Array(out)),
                    Err(e) => {
                        let i = out.len();
                        return Err(self.unwind(|| i.to_string(), e));
                    }
                }
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                let slot = match out.entry(key) {
                    Entry::Vacant(slot) => slot,
                    Entry::Occupied(taken) => {
                        *self.0.borrow_mut() = Some(vec![taken.key().clone()]);
                        return Err(de::Error::custom("duplicate key"));
                    }
                };
                match map.next_value_seed(Node(self.0)) {
                    Ok(v) => {
                        slot.insert(v);
                    }
                    Err(e) => {
                        let key = slot.key();
                        return Err(
                            self.unwind(|| crate::canonical::pointer_token(key).into_owned(), e)
                        );
                    }
                }
            }
            Ok(Value::Object(out))
        }
    }
}

/// The walk behind [`reject_duplicate_keys`]: borrows keys from the body where it can, keeps
/// the path to the current value, and stops at the first repeated key.
mod dup {
    use super::Key;
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::cell::RefCell;
    use std::collections::HashSet;

    pub enum Seg<'de> {
        Key(Cow<'de, str>),
        Index(usize),
        /// The repeated key (last element; ends the walk).
        Dup(Cow<'de, str>),
    }

    pub struct Node<'p, 'de>(pub &'p RefCell<Vec<Seg<'de>>>);

    impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Node<'_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            loop {
                self.0.borrow_mut().push(Seg::Index(i));
                if seq.next_element_seed(Node(self.0))?.is_none() {
                    self.0.borrow_mut().pop();
                    return Ok(());
                }
                self.0.borrow_mut().pop();
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            // Small objects: a linear scan; large ones: a set (no quadratic blow-up).
            let mut small: Vec<Cow<'de, str>> = Vec::new();
            let mut large: HashSet<Cow<'de, str>> = HashSet::new();
            while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
                let seen = if large.is_empty() {
                    small.contains(&k)
                } else {
                    large.contains(&k)
                };
                if seen {
                    self.0.borrow_mut().push(Seg::Dup(k));
                    return Err(de::Error::custom("duplicate key"));
                }
                self.0.borrow_mut().push(Seg::Key(k.clone()));
                map.next_value_seed(Node(self.0))?;
                self.0.borrow_mut().pop();
                if large.is_empty() && small.len() < 16 {
                    small.push(k);
                } else {
                    if large.is_empty() {
                        large.extend(small.drain(..));
                    }
                    large.insert(k);
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod duplicate_key_tests {
    use super::reject_duplicate_keys;

    fn pointer(body: &str) -> Option<String> {
        reject_duplicate_keys(body.as_bytes())
            .err()
            .map(|e| e.violations[0].pointer.clone())
    }

    #[test]
    fn unique_keys_and_non_json_pass() {
        assert_eq!(
            pointer(r#"{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}"#),
            None
        );
        assert_eq!(pointer("[1,2,3]"), None);
        // Not JSON, too deep, not UTF-8: left to the dialect's decoder.
        assert_eq!(pointer("{\"a\":"), None);
        assert_eq!(pointer(&"[".repeat(10_000)), None);
        assert_eq!(reject_duplicate_keys(b"{\"a\":\"\xff\"}").ok(), Some(()));
    }

    #[test]
    fn duplicates_are_named_by_pointer() {
        assert_eq!(
            pointer(r#"{"name":"A","name":"B"}"#).as_deref(),
            Some("/name")
        );
        assert_eq!(
            pointer(r#"{"data":{"email":"x"},"data":{"email":"y"}}"#).as_deref(),
            Some("/data")
        );
        assert_eq!(
            pointer(r#"{"data":{"email":"x","email":"y"}}"#).as_deref(),
            Some("/data/email")
        );
        assert_eq!(
            pointer(r#"[{"op":"add"},{"op":"replace","value":1,"value":2}]"#).as_deref(),
            Some("/1/value")
        );
        // Escaped spellings of the same key are the same key.
        assert_eq!(pointer(r#"{"a/b":1,"a\/b":2}"#).as_deref(), Some("/a~1b"));
    }

    #[test]
    fn many_keys_use_the_set() {
        let mut body = String::from("{");
        for i in 0..5000 {
            body.push_str(&format!("\"k{i}\":{i},"));
        }
        body.push_str("\"k4999\":0}");
        assert_eq!(pointer(&body).as_deref(), Some("/k4999"));
        let unique = body.replace(",\"k4999\":0}", "}");
        assert_eq!(pointer(&unique), None);
    }
}

#[cfg(test)]
mod unique_parse_tests {
    use super::{
        parse_json, parse_json_members, parse_json_unique, reject_duplicate_keys, JsonFailure,
    };
    use crate::canonical::ApiError;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The two-pass reading [`parse_json_unique`] replaces.
    fn two_pass(body: &[u8]) -> Result<Value, (bool, ApiError)> {
        reject_duplicate_keys(body).map_err(|e| (true, e))?;
        parse_json(body).map_err(|e| (false, e))
    }

    fn one_pass(body: &[u8]) -> Result<Value, (bool, ApiError)> {
        parse_json_unique(body).map_err(|f| match f {
            JsonFailure::Duplicate(e) => (true, e),
            JsonFailure::Invalid(e) => (false, e),
        })
    }

    #[test]
    fn same_outcome_as_the_two_passes() {
        let cases: &[&[u8]] = &[
            br#"{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}"#,
            br#"{"name":"A","name":"B"}"#,
            br#"{"data":{"email":"x","email":"y"}}"#,
            br#"[{"op":"add"},{"op":"replace","value":1,"value":2}]"#,
            br#"{"a/b":1,"a\/b":2}"#,
            br#"{"x~y":{"p/q":[0,{"k":1,"k":2}]}}"#,
            br#"{"a":1,"a":2,"b":"\xff"}"#,
            b"{\"a\":\"\xff\",\"a\":1}",
            b"{\"a\":1} trailing",
            b"{\"a\":1,\"a\":2} trailing",
            b"{\"a\":",
            b"",
            b"1e400",
            br#"{"n":18446744073709551616,"m":-1.5e3,"t":true,"z":null,"s":"\u00e9\n"}"#,
        ];
        for body in cases {
            assert_eq!(
                one_pass(body),
                two_pass(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let deep = "[".repeat(10_000);
        assert_eq!(one_pass(deep.as_bytes()), two_pass(deep.as_bytes()));
        let deep_dup = format!("{}{{\"a\":1,\"a\":2}}{}", "[".repeat(50), "]".repeat(50));
        let r = one_pass(deep_dup.as_bytes());
        assert_eq!(r, two_pass(deep_dup.as_bytes()));
        assert_eq!(
            r.err().map(|(_, e)| e.violations[0].pointer.clone()),
            Some(format!("{}/a", "/0".repeat(50)))
        );
    }

    /// Random near-JSON over a tiny alphabet, so duplicates, syntax errors, escapes and
    /// invalid bytes are all common.
    fn near_json() -> impl Strategy<Value = Vec<u8>> {
        const PARTS: [&[u8]; 16] = [
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"\"a\"",
            b"\"b\"",
            b"\"a\\/b\"",
            b"\"a/b\"",
            b"1",
            b"null",
            b" ",
            b"\"\xff\"",
            b"{\"a\":1,",
            b"\"a\":",
        ];
        let part = proptest::sample::select(&PARTS[..]);
        proptest::collection::vec(part, 0..40).prop_map(|parts| parts.concat())
    }

    /// [`parse_json_members`] at every depth, as values: what [`parse_json_unique`] gives.
    fn members_outcomes(body: &[u8]) -> Vec<Result<Value, (bool, ApiError)>> {
        (0..4)
            .map(|depth| {
                parse_json_members(body, depth)
                    .map(super::Members::into_value)
                    .map_err(|f| match f {
                        JsonFailure::Duplicate(e) => (true, e),
                        JsonFailure::Invalid(e) => (false, e),
                    })
            })
            .collect()
    }

    #[test]
    fn member_lists_have_the_outcome_of_the_tree() {
        let many = format!(
            "{{{}}}",
            (0..40)
                .map(|i| format!("\"k{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let cases: &[&[u8]] = &[
            br#"{"name":"John Doe","email":"j@x.io","unsubscribed":false,"n":-1.5e3}"#,
            br#"{"data":{"firstName":"A","email":null,"x":{"y":[1,{"z":2}]}},"extra":[]}"#,
            br#"{"data":{"a":1,"a":2}}"#,
            br#"{"a\/b":1,"a/b":2}"#,
            br#"{"data":{"k":[{"q":1,"q":2}]}}"#,
            b"{\"a\":\"\xff\"}",
            b"{\"a\":1} x",
            b"[1,2]",
            b"\"s\"",
            b"",
            many.as_bytes(),
        ];
        for body in cases {
            for (depth, got) in members_outcomes(body).into_iter().enumerate() {
                assert_eq!(
                    got,
                    one_pass(body),
                    "depth {depth}: {}",
                    String::from_utf8_lossy(body)
                );
            }
        }
        // The shape: member lists down to the depth, values below, document order kept.
        let body = br#"{"b":{"y":1,"x":{"k":2}},"a":3}"#;
        let Ok(super::Members::Object(top)) = parse_json_members(body, 2) else {
            panic!("an object");
        };
        let keys: Vec<&str> = top.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert!(matches!(&top[0].1, super::Members::Object(inner)
            if matches!(&inner[1].1, super::Members::Value(Value::Object(_)))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Random near-JSON: the member lists have the outcome of the tree at every depth.
        #[test]
        fn member_lists_same_outcome_on_near_json(body in near_json()) {
            let want = one_pass(&body);
            for got in members_outcomes(&body) {
                prop_assert_eq!(&got, &want);
            }
        }

        /// Random near-JSON ([`near_json`]): the single pass has the outcome of the two passes.
        #[test]
        fn same_outcome_on_near_json(body in near_json()) {
            prop_assert_eq!(one_pass(&body), two_pass(&body));
        }
    }
}
