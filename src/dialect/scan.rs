//! A strict, borrowing JSON reader for upstream answers ([`Reader`]): the caller walks the
//! members it knows and the reader skips the rest, without building a tree or copying a string
//! that has no escape.
//!
//! Why not serde: Reach's answer to every write is an 800-byte record of which the gateway
//! keeps a dozen strings, and serde's derived visitors spent ~16k instructions per answer on
//! it (a fifth of a translated request through the gateway). The reader accepts exactly the
//! JSON `serde_json` accepts (RFC 8259: no trailing commas, no leading zeros, no raw control
//! characters in strings, only `" \t\n\r"` as whitespace, nothing after the value), and it
//! leaves the rare hard parts to `serde_json` itself: a string with an escape is decoded (or,
//! where it is skipped, checked) by `serde_json` on that string's bytes alone, so escapes and
//! surrogates follow serde's rules exactly. Nesting follows serde's limit too: 127 containers
//! for what is read, none for what is skipped (serde skips iteratively).
//!
//! `rules::json`'s quick reader of plain request bodies (HelpCrunch, Reach) uses its primitives
//! too ([`Reader::peek`], [`Reader::eat`], [`Reader::plain_string`], [`Reader::literal`]) and
//! hands anything unusual back to serde.

use std::borrow::Cow;

/// `serde_json`'s recursion limit: entering the 128th container it reads is an error.
const MAX_DEPTH: u32 = 128;

/// The input is not JSON, or not of the shape the caller expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid;

/// What every reading step returns.
pub type Result<T> = std::result::Result<T, Invalid>;

/// A cursor over one JSON text (see the module docs).
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// Containers entered by [`Reader::object`] and not yet left.
    depth: u32,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
        }
    }

    /// Only whitespace is left: the text was one value.
    pub fn finish(mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Invalid),
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        // Answers are mostly compact: every whitespace byte is at most a space.
        match bytes.get(self.pos) {
            Some(&b) if b > b' ' => return Some(b),
            None => return None,
            Some(_) => {}
        }
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Whether `b` is the next byte after whitespace; consumed if so.
    #[inline]
    pub fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        self.pos += usize::from(hit);
        hit
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Result<()> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// Reads an object: `member` is called with each key, decoded, and must read or
    /// [`skip`](Reader::skip) its value.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.expect(b'{')?;
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(Invalid);
        }
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            // serde reads a key as it reads any string it keeps.
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(Invalid),
            }
        }
    }

    /// `null`, consumed: `true`; anything else is left for the caller.
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() != Some(b'n') {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    /// A string, borrowed unless it has escapes.
    #[inline]
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        let (raw, escaped) = self.string_token()?;
        if escaped {
            return decode_escaped(raw);
        }
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        raw.get(1..raw.len() - 1).map(Cow::Borrowed).ok_or(Invalid)
    }

    /// A string without escapes, borrowed; one with escapes is [`Invalid`] too, for a quick
    /// reader that leaves such bodies to serde (`rules::json`'s plain bodies).
    #[inline]
    pub fn plain_string(&mut self) -> Result<&'a str> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        match self.string_token()? {
            (raw, false) => raw.get(1..raw.len() - 1).ok_or(Invalid),
            (_, true) => Err(Invalid),
        }
    }

    /// `null` or a string.
    pub fn opt_string(&mut self) -> Result<Option<Cow<'a, str>>> {
        Ok(if self.null()? {
            None
        } else {
            Some(self.string()?)
        })
    }

    /// `null` or a boolean.
    pub fn opt_bool(&mut self) -> Result<Option<bool>> {
        match self.peek() {
            Some(b'n') => self.literal(b"null").map(|()| None),
            Some(b't') => self.literal(b"true").map(|()| Some(true)),
            Some(b'f') => self.literal(b"false").map(|()| Some(false)),
            _ => Err(Invalid),
        }
    }

    /// Any value, checked and skipped; its text is returned with the greatest number of
    /// containers it nests (0 for a scalar), which a caller that parses the text on its own
    /// needs to apply serde's depth limit as if it had been read in place.
    pub fn skip(&mut self) -> Result<(&'a str, u32)> {
        self.peek();
        let start = self.pos;
        let mut frames = Frames::default();
        let mut deepest = 0;
        loop {
            // One value.
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    self.pos += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        deepest = deepest.max(frames.len + 1);
                    } else {
                        frames.push(open == b'{');
                        deepest = deepest.max(frames.len);
                        if open == b'{' {
                            self.skipped_key()?;
                        }
                        continue;
                    }
                }
                Some(b'"') => {
                    let (raw, escaped) = self.string_token()?;
                    if escaped {
                        check_skipped(raw)?;
                    }
                }
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(Invalid),
            }
            // After a value: close what ends here, or go on after a comma.
            loop {
                let Some(object) = frames.top() else {
                    return Ok((&self.text[start..self.pos], deepest));
                };
                match (self.peek(), object) {
                    (Some(b','), _) => {
                        self.pos += 1;
                        if object {
                            self.skipped_key()?;
                        }
                        break;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        self.pos += 1;
                        frames.pop();
                    }
                    _ => return Err(Invalid),
                }
            }
        }
    }

    /// `null` or any value, parsed by serde on its own text, with the depth this reader is at.
    pub fn opt_value(&mut self) -> Result<Option<serde_json::Value>> {
        if self.null()? {
            return Ok(None);
        }
        // Most ids are plain strings: no parser needed for those.
        if self.peek() == Some(b'"') {
            return Ok(Some(serde_json::Value::String(self.string()?.into_owned())));
        }
        let (raw, deepest) = self.skip()?;
        if self.depth + deepest >= MAX_DEPTH {
            return Err(Invalid);
        }
        serde_json::from_str(raw).map(Some).map_err(|_| Invalid)
    }

    /// The key of a skipped object and its colon: checked as serde skips it.
    fn skipped_key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        let (raw, escaped) = self.string_token()?;
        if escaped {
            check_skipped(raw)?;
        }
        self.expect(b':')
    }

    /// The string at the cursor (which is at its opening quote), quotes included, and whether
    /// it has a backslash. Raw control characters are refused here; escapes are left to the
    /// caller. The common case (no escape) is one scan; the rest is out of line.
    #[inline]
    fn string_token(&mut self) -> Result<(&'a str, bool)> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let i = start + 1 + bytes.get(start + 1..).map_or(0, plain_run);
        if bytes.get(i) != Some(&b'"') {
            return self.escaped_token(start, i);
        }
        self.pos = i + 1;
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        Ok((self.text.get(start..self.pos).ok_or(Invalid)?, false))
    }

    /// [`Reader::string_token`] past the first byte that is not plain: a backslash (the byte
    /// after it never ends the string; serde checks the escape), a control character or the
    /// end of the text (both refused).
    #[cold]
    #[inline(never)]
    fn escaped_token(&mut self, start: usize, mut i: usize) -> Result<(&'a str, bool)> {
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => i += 2,
                _ => return Err(Invalid),
            }
            i += bytes.get(i..).map_or(0, plain_run);
        }
        self.pos = i + 1;
        Ok((self.text.get(start..self.pos).ok_or(Invalid)?, true))
    }

    /// The literal `word` (`true`, `false`, `null`) after whitespace. A longer word
    /// (`nullx`) is left to fail at the next delimiter, as in serde.
    pub fn literal(&mut self, word: &[u8]) -> Result<()> {
        self.peek();
        if self.text.as_bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A number, checked as serde checks one it skips: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<()> {
        let bytes = self.text.as_bytes();
        let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
        let digits = |mut i: usize| {
            while at(i).is_ascii_digit() {
                i += 1;
            }
            i
        };
        let mut i = self.pos;
        if at(i) == b'-' {
            i += 1;
        }
        match at(i) {
            b'0' => {
                i += 1;
                if at(i).is_ascii_digit() {
                    return Err(Invalid);
                }
            }
            b'1'..=b'9' => i = digits(i + 1),
            _ => return Err(Invalid),
        }
        if at(i) == b'.' {
            let end = digits(i + 1);
            if end == i + 1 {
                return Err(Invalid);
            }
            i = end;
        }
        if matches!(at(i), b'e' | b'E') {
            i += 1;
            if matches!(at(i), b'+' | b'-') {
                i += 1;
            }
            let end = digits(i);
            if end == i {
                return Err(Invalid);
            }
            i = end;
        }
        self.pos = i;
        Ok(())
    }
}

/// A string with escapes, decoded by serde as it decodes a string it reads.
#[cold]
#[inline(never)]
fn decode_escaped(raw: &str) -> Result<Cow<'_, str>> {
    serde_json::from_str::<String>(raw)
        .map(Cow::Owned)
        .map_err(|_| Invalid)
}

/// A skipped string with escapes, checked by serde as it checks a string it skips.
fn check_skipped(raw: &str) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(raw)
        .map(drop)
        .map_err(|_| Invalid)
}

/// How many leading bytes of `b` can stand in a string as they are (no `"`, `\` or control
/// character), eight at a time with the word tricks of "Bit Twiddling Hacks" (`haszero`,
/// `hasless`, as in `wire::needs_escape`). Their lowest flagged byte is always a real match
/// (a false flag can only sit above a real one), so on a little-endian word the count of
/// trailing zero bits finds the first stop without going back over the word byte by byte.
#[inline(always)]
fn plain_run(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let stops = (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

/// The open containers of a skipped value (object or array), innermost last: a bit each for
/// the first 64, which is as deep as real answers go, then a vector.
#[derive(Default)]
struct Frames {
    bits: u64,
    len: u32,
    more: Vec<bool>,
}

impl Frames {
    fn push(&mut self, object: bool) {
        if self.len < 64 {
            self.bits = (self.bits & !(1 << self.len)) | (u64::from(object) << self.len);
        } else {
            self.more.push(object);
        }
        self.len += 1;
    }

    fn top(&self) -> Option<bool> {
        match self.len {
            0 => None,
            1..=64 => Some(self.bits >> (self.len - 1) & 1 == 1),
            _ => self.more.last().copied(),
        }
    }

    fn pop(&mut self) {
        self.len -= 1;
        if self.len >= 64 {
            self.more.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips one whole text the way serde's `IgnoredAny` does.
    fn skips(text: &str) -> bool {
        let mut r = Reader::new(text);
        r.skip().is_ok() && r.finish().is_ok()
    }

    #[test]
    fn skipping_accepts_and_refuses_what_serde_does() {
        let deep_ok = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let cases = [
            r#"{"a":[1,-2.5e+3,0,0.1,true,false,null,"x\u00e9\"y",{}],"b":{"c":[[]]}}"#,
            " [ ] ",
            r#""\ud800""#,
            "01",
            "1.",
            "1e",
            "-",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "[1 2]",
            "tru",
            "nul",
            "\"a\u{1}b\"",
            r#""\x""#,
            r#""\u12""#,
            "[1]]",
            "{\"a\":1}\u{c}",
            "",
            "\u{a0}1",
            &deep_ok,
        ];
        for text in cases {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
            assert_eq!(skips(text), serde, "{text:?}");
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_decoded_as_serde_decodes() {
        let mut r = Reader::new(r#"["plain","a\nb","\ud83d\ude00","\ud800"]"#);
        r.expect(b'[').expect("reads");
        assert!(matches!(r.string(), Ok(Cow::Borrowed("plain"))));
        r.expect(b',').expect("reads");
        assert_eq!(r.string().expect("reads"), "a\nb");
        r.expect(b',').expect("reads");
        assert_eq!(r.string().expect("reads"), "\u{1f600}");
        r.expect(b',').expect("reads");
        // A lone surrogate is refused where the string is kept.
        assert_eq!(r.string(), Err(Invalid));
    }

    #[test]
    fn objects_give_each_key_and_refuse_a_trailing_comma() {
        let mut keys = Vec::new();
        let mut r = Reader::new(r#" {"a" : 1 , "b\u0063": "x"} "#);
        r.object(|r, k| {
            keys.push(k.into_owned());
            r.skip().map(drop)
        })
        .expect("reads");
        r.finish().expect("reads");
        assert_eq!(keys, ["a", "bc"]);
        let mut r = Reader::new(r#"{"a":1,}"#);
        assert_eq!(r.object(|r, _| r.skip().map(drop)), Err(Invalid));
    }

    #[test]
    fn read_values_keep_serdes_depth_limit() {
        // The value is parsed on its own text but counted from where it stands.
        let nested = |n: usize| format!("{{\"v\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        for (n, ok) in [(125, true), (126, false)] {
            let text = format!("{{\"x\":{}}}", nested(n));
            let mut r = Reader::new(&text);
            let got = r.object(|r, _| r.object(|r, _| r.opt_value().map(drop)));
            assert_eq!(got.is_ok(), ok, "{n}");
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Outer {
                x: Inner,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            struct Inner {
                v: serde_json::Value,
            }
            assert_eq!(
                serde_json::from_str::<Outer>(&text).is_ok(),
                ok,
                "serde {n}"
            );
        }
    }
}
