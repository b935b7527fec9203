//! Timestamps: the one parser and the one formatter behind every date an answer carries.
//!
//! The canonical customer keeps timestamps as the upstream wrote them (record `createdAt` /
//! `updatedAt` / `modifiedAt`, Reach's `data.createdAt`, HelpCrunch's `firstSeen` / `lastSeen`),
//! because the upstreams disagree: Help Scout writes `2012-07-23T12:34:12Z`, Reach any RFC 3339
//! (`2026-01-01T00:00:00.000Z`), HelpCrunch UNIX seconds (as a string or a number). Each client
//! dialect renders them, when it builds an answer, through [`render`] in its own documented
//! format ([`Style`]), so a client never sees another vendor's format: the published Help Scout
//! v1 client refuses fractional seconds, a HelpCrunch client expects digits.
//!
//! Hand-written (civil-date arithmetic, no date library): the crate formats and parses only
//! these shapes, and `chrono`/`time` would be a new direct dependency for two functions.

use crate::dialect::rules;
use std::borrow::Cow;

/// A client dialect's documented timestamp format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Help Scout (v1 and v2): `yyyy-MM-ddTHH:mm:ssZ`, UTC, whole seconds.
    HelpScout,
    /// HelpCrunch: UNIX seconds as a decimal string.
    Unix,
    /// Reach: RFC 3339. A value that already is RFC 3339 is kept as written (it is the
    /// customer's data, fractional seconds and offset included); anything else readable is
    /// written as `yyyy-MM-ddTHH:mm:ssZ`.
    Rfc3339,
}

/// `s` in `style`; `None` when `s` is not a timestamp this module can read (the answer then
/// shows the field as unknown rather than in a format the client would refuse). A value already
/// in `style` is borrowed, so answers from an upstream of the same format allocate nothing.
pub fn render(s: &str, style: Style) -> Option<Cow<'_, str>> {
    let already = match style {
        Style::Rfc3339 => rules::is_rfc3339(s),
        Style::HelpScout => is_helpscout(s) && parse(s).is_some(),
        Style::Unix => is_canonical_unix(s),
    };
    if already {
        return Some(Cow::Borrowed(s));
    }
    let secs = parse(s)?;
    Some(Cow::Owned(match style {
        Style::Unix => secs.to_string(),
        Style::HelpScout | Style::Rfc3339 => format_utc(secs),
    }))
}

/// [`render`] of an optional value.
pub fn render_opt(s: Option<&str>, style: Style) -> Option<Cow<'_, str>> {
    s.and_then(|s| render(s, style))
}

/// The shape `yyyy-MM-ddTHH:mm:ssZ` (digits unchecked for range).
fn is_helpscout(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Decimal seconds as `i64::to_string` writes them (no sign, no leading zero), within
/// [`parse`]'s range.
fn is_canonical_unix(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 12
        && b.iter().all(u8::is_ascii_digit)
        && (b[0] != b'0' || b.len() == 1)
}

/// UNIX seconds of a timestamp: decimal UNIX seconds (HelpCrunch), or a date-time
/// `yyyy-MM-dd[T| ]HH:mm:ss[.fraction][Z|±HH:mm]` (RFC 3339; without an offset, as HelpCrunch's
/// older `2020-09-01 00:40:00`, it is read as UTC). Fractional seconds are truncated.
pub fn parse(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &b[r];
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    // A leap second (`:60`) is read as the first second of the next minute.
    let local = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    Some(local - offset)
}

/// UNIX seconds as `yyyy-MM-ddTHH:mm:ssZ` (Help Scout's format, and RFC 3339).
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Proleptic Gregorian (year, month, day) to days since 1970-01-01 (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_vendor_shape() {
        let t = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert_eq!(parse("2026-01-01T00:00:00Z"), Some(t));
        assert_eq!(parse("2026-01-01T00:00:00.000Z"), Some(t));
        assert_eq!(parse("2026-01-01T00:00:00.999999Z"), Some(t));
        assert_eq!(parse("2026-01-01T02:30:00+02:30"), Some(t));
        assert_eq!(parse("2025-12-31T19:00:00-05:00"), Some(t));
        assert_eq!(parse("2026-01-01 00:00:00"), Some(t));
        assert_eq!(parse("1767225600"), Some(t));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Some(-1));
        assert_eq!(parse("2000-02-29T00:00:00Z"), Some(951_782_400));
    }

    #[test]
    fn refuses_what_is_not_a_timestamp() {
        for bad in [
            "",
            "yesterday",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+2:00",
            "2026-01-01T00:00:00Zjunk",
            "1767225600.5",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_491_003_001), "2017-03-31T23:30:01Z");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn parse_and_format_agree_over_four_centuries() {
        // One instant per ~10 days from 1900 to 2300, each with a distinct time of day.
        let mut secs = -2_208_988_800_i64;
        while secs < 10_413_792_000 {
            assert_eq!(parse(&format_utc(secs)), Some(secs), "{secs}");
            secs += 863_999;
        }
    }

    #[test]
    fn renders_in_each_dialect_style() {
        let millis = "2026-01-01T00:00:00.000Z";
        assert_eq!(
            render(millis, Style::HelpScout).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(render(millis, Style::Unix).as_deref(), Some("1767225600"));
        // Already RFC 3339: Reach keeps the value as written.
        assert_eq!(render(millis, Style::Rfc3339).as_deref(), Some(millis));
        assert_eq!(
            render("1767225600", Style::Rfc3339).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            render("1767225600", Style::HelpScout).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            render("2026-01-01T01:00:00+01:00", Style::HelpScout).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(render("not a date", Style::HelpScout), None);
        assert_eq!(render_opt(None, Style::Unix), None);
        // Already in the style: borrowed, not rebuilt.
        for (s, style) in [
            ("2026-01-01T00:00:00Z", Style::HelpScout),
            ("1767225600", Style::Unix),
            (millis, Style::Rfc3339),
        ] {
            assert!(
                matches!(render(s, style), Some(Cow::Borrowed(b)) if b == s),
                "{s}"
            );
        }
        assert_eq!(render("2026-02-30T00:00:00Z", Style::HelpScout), None);
        assert_eq!(
            render("01767225600", Style::Unix).as_deref(),
            Some("1767225600")
        );
    }
}
