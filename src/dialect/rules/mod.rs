//! Validation helpers shared by the dialects: one definition of "well-formed e-mail", "RFC 3339",
//! "ISO 639-1", "UNIX seconds" and friends, each returning a [`Violation`] at a given pointer.

use crate::canonical::{ApiError, Rule, Violation};
use serde_json::{Map, Value};

mod json;
pub use json::*;

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
    let b = s.as_bytes();
    // The last `@` splits, as `rsplit_once` would: a byte search, `@` being ASCII.
    let Some(at) = b.iter().rposition(|&c| c == b'@') else {
        return false;
    };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if local.is_empty() || local.len() > 64 || domain.len() > 253 || s.len() > 254 {
        return false;
    }
    // One pass over the local part: every character looked for is ASCII, and no byte of a
    // multi-byte UTF-8 character is, so byte tests decide exactly what character tests would.
    let mut prev = 0u8;
    for &c in local {
        if matches!(
            c,
            b'@' | b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'<' | b'>' | b',' | b';'
        ) || (c == b'.' && prev == b'.')
        {
            return false;
        }
        prev = c;
    }
    if local[0] == b'.' || prev == b'.' {
        return false;
    }
    // Labels checked and counted in one byte pass: `prev` starts as a separator, so an empty
    // first label or a leading `-` is caught like any other.
    let mut labels = 0;
    let mut prev = b'.';
    for &c in domain {
        if c == b'.' {
            if prev == b'.' || prev == b'-' {
                return false;
            }
            labels += 1;
        } else if c == b'-' {
            if prev == b'.' {
                return false;
            }
        } else if !c.is_ascii_alphanumeric() {
            if c.is_ascii() {
                return false;
            }
            // Internationalised labels need `char::is_alphanumeric`: the character walk.
            return domain_labels_ok(&s[at + 1..]);
        }
        prev = c;
    }
    if prev == b'.' || prev == b'-' {
        return false;
    }
    labels += 1;
    labels >= 2
}

/// The domain rule of [`is_email`] for a domain with non-ASCII characters: at least two
/// non-empty labels of letters, digits and inner hyphens.
fn domain_labels_ok(domain: &str) -> bool {
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

    /// The character-walk rule `is_email` had before its byte pass: the byte pass must agree
    /// with it on every address.
    fn is_email_chars(s: &str) -> bool {
        let Some((local, domain)) = s.rsplit_once('@') else {
            return false;
        };
        if local.is_empty() || local.len() > 64 || domain.len() > 253 || s.len() > 254 {
            return false;
        }
        if local.contains(['@', ' ', '\t', '\r', '\n', '"', '<', '>', ',', ';'])
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
        {
            return false;
        }
        domain_labels_ok(domain)
    }

    #[test]
    fn is_email_byte_pass_agrees_with_the_character_walk() {
        let locals = [
            "",
            "a",
            ".a",
            "a.",
            "a..b",
            "a.b",
            "j\u{e9}",
            "a b",
            "a\tb",
            "a\"b",
            "a<b",
            "a;b",
            "a,b",
            "a@b",
            "-",
            "\u{1F600}",
        ];
        let domains = [
            "",
            ".",
            "a",
            "a.b",
            "a..b",
            ".a.b",
            "a.b.",
            "-a.b",
            "a-.b",
            "a.-b",
            "a-b.c",
            "x.y.z",
            "m\u{fc}nchen.de",
            "\u{e9}.\u{e9}",
            "a.\u{1F600}",
            "a_b.c",
            "1.2",
            "a.b-",
            "-\u{e9}.b",
            "\u{e9}-.b",
            "a.b\u{e9}",
            "a..\u{e9}",
            "a.-\u{e9}",
            "@a.b",
        ];
        let long_local = "l".repeat(65);
        let long_domain = format!("{}.com", "d".repeat(250));
        for local in locals
            .iter()
            .copied()
            .chain([long_local.as_str(), &long_local[1..]])
        {
            for domain in domains.iter().copied().chain([long_domain.as_str()]) {
                for s in [format!("{local}@{domain}"), format!("{local}{domain}")] {
                    assert_eq!(is_email(&s), is_email_chars(&s), "{s:?}");
                }
            }
        }
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
