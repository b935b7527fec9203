//! Duplicate-key-refusing JSON parsing: the one-pass readers every dialect decodes its bodies
//! with (a tree, or for the flat HelpCrunch and Reach bodies a list of top-level members with
//! borrowed keys), and the refusal of a repeated key anywhere in a body that is forwarded
//! unchanged. Every failure is the parent module's 400 at the body root or at the repeated key.

use super::{duplicate_key, not_json, not_utf8};
use crate::canonical::ApiError;
use serde_json::Value;

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
    if let Some(m) = flat::members(text, depth) {
        return Ok(m);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let quick = serde::de::DeserializeSeed::deserialize(members::Node(depth), &mut de)
        .and_then(|v| de.end().map(|()| v));
    match quick {
        Ok(m) => Ok(m),
        Err(_) => parse_json_unique(body).map(|v| Members::from_value(v, depth)),
    }
}

/// The plainest bodies, read by a byte scan before any serde walk: objects (down to the
/// depth) whose keys have no escapes, appear once and number at most [`members`]'s limit, and
/// whose other values are strings without escapes or control characters, `true`, `false` or
/// `null`. For those the scan builds exactly the [`Members`] the quick walk builds, for a
/// fraction of the cost (serde's per-key and per-value machinery was most of decoding a
/// HelpCrunch or Reach body); anything else (a number, an array, an escape, a repeat, bad or
/// trailing JSON) is `None`, and the serde walks decide as before.
mod flat {
    use super::Members;
    use crate::dialect::scan::Reader;
    use serde_json::Value;
    use std::borrow::Cow;

    /// Members beyond this many are left to the serde walks (the quick walk's own limit).
    const MAX_MEMBERS: usize = 32;

    pub fn members(text: &str, depth: u8) -> Option<Members<'_>> {
        let mut r = Reader::new(text);
        if r.peek()? != b'{' || depth == 0 {
            return None;
        }
        let m = value(&mut r, depth)?;
        r.finish().ok().map(|()| m)
    }

    /// One value; objects are member lists while `depth` lasts.
    fn value<'a>(r: &mut Reader<'a>, depth: u8) -> Option<Members<'a>> {
        let v = match r.peek()? {
            b'"' => Value::String(r.plain_string().ok()?.to_owned()),
            b't' => r.literal(b"true").ok().map(|()| Value::Bool(true))?,
            b'f' => r.literal(b"false").ok().map(|()| Value::Bool(false))?,
            b'n' => r.literal(b"null").ok().map(|()| Value::Null)?,
            b'{' if depth > 0 => {
                r.eat(b'{');
                let mut out: Vec<(Cow<'a, str>, Members<'a>)> = Vec::with_capacity(8);
                if r.eat(b'}') {
                    return Some(Members::Object(out));
                }
                loop {
                    let key = r.plain_string().ok()?;
                    if out.len() == MAX_MEMBERS || out.iter().any(|(k, _)| k == key) {
                        return None;
                    }
                    if !r.eat(b':') {
                        return None;
                    }
                    let v = value(r, depth - 1)?;
                    out.push((Cow::Borrowed(key), v));
                    if !r.eat(b',') {
                        return r.eat(b'}').then_some(Members::Object(out));
                    }
                }
            }
            _ => return None,
        };
        Some(Members::Value(v))
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

/// A JSON object whose key-value pairs a visitor is handed, built as [`unique_value`] builds
/// it: a repeated key anywhere inside fails the walk.
pub fn unique_map<'de, A: serde::de::MapAccess<'de>>(map: A) -> Result<Value, A::Error> {
    let dup = std::cell::RefCell::new(None);
    serde::de::Visitor::visit_map(unique::Node(&dup), map)
}

/// A JSON array whose elements a visitor is handed, built as [`unique_value`] builds it.
pub fn unique_seq<'de, A: serde::de::SeqAccess<'de>>(seq: A) -> Result<Value, A::Error> {
    let dup = std::cell::RefCell::new(None);
    serde::de::Visitor::visit_seq(unique::Node(&dup), seq)
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
    use super::super::parse_json;
    use super::{parse_json_members, parse_json_unique, reject_duplicate_keys, JsonFailure};
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

#[cfg(test)]
mod flat_tests {
    use super::{flat, members, Members};

    fn quick(body: &str, depth: u8) -> Option<Members<'_>> {
        let mut de = serde_json::Deserializer::from_str(body);
        let m = serde::de::DeserializeSeed::deserialize(members::Node(depth), &mut de).ok()?;
        de.end().ok().map(|()| m)
    }

    /// Where the scan answers, the quick serde walk answers the same; every other body is left
    /// to the serde walks.
    #[test]
    fn the_scan_agrees_with_the_quick_walk_or_leaves_the_body_to_it() {
        let answered = [
            (r#"{}"#, 1),
            (" { } ", 2),
            (
                r#"{"name":"John Doe","email":"john@example.com","unsubscribed":false}"#,
                1,
            ),
            ("{\"a\" :\t\"Zo\u{eb}\" ,\n\"b\":true,\"c\":null}\r\n", 1),
            (
                r#"{"data":{"firstName":"John","email":"a@b.co","emailOptOut":false},"x":"y"}"#,
                2,
            ),
            (r#"{"data":{},"other":null}"#, 2),
            (r#"{"data":"not an object"}"#, 2),
        ];
        for (body, depth) in answered {
            let scanned = flat::members(body, depth).expect(body);
            assert_eq!(Some(scanned), quick(body, depth), "{body}");
        }
        let many: String = format!(
            "{{{}}}",
            (0..33)
                .map(|i| format!("\"k{i}\":1"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let left = [
            ("", 1),
            ("[]", 1),
            ("\"x\"", 1),
            ("{}", 0),
            (r#"{"a":1}"#, 1),
            (r#"{"a":-1}"#, 1),
            (r#"{"a":[]}"#, 1),
            (r#"{"a":{"b":"c"}}"#, 1),
            (r#"{"a":"x","a":"y"}"#, 1),
            (r#"{"a\u0041":"x"}"#, 1),
            (r#"{"a":"\n"}"#, 1),
            ("{\"a\":\"x\u{1}\"}", 1),
            (r#"{"a":tru}"#, 1),
            (r#"{"a":truex}"#, 1),
            (r#"{"a":nul"#, 1),
            (r#"{"a":"x",}"#, 1),
            (r#"{"a":"x"} {}"#, 1),
            (r#"{"a" "x"}"#, 1),
            (r#"{a:"x"}"#, 1),
            (r#"{"a":"x""#, 1),
            (r#"{"data":{"a":"x","a":"y"}}"#, 2),
            (r#"{"data":{"a":{"b":1}}}"#, 2),
            (many.as_str(), 1),
        ];
        for (body, depth) in left {
            assert!(flat::members(body, depth).is_none(), "{body}");
        }
    }
}
