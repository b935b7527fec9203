//! Wall-clock timestamps in the one format every sandbox vendor writes (RFC 3339, UTC, whole
//! seconds: `2017-03-31T23:30:01Z`, which is also Help Scout's documented date format).
//!
//! The formatting itself is `canonical::time`'s, the one every answer's timestamps go through.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as `yyyy-MM-ddTHH:mm:ssZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339(secs)
}

/// Formats UNIX seconds as `yyyy-MM-ddTHH:mm:ssZ`.
pub fn rfc3339(unix_secs: u64) -> String {
    crate::canonical::time::format_utc(i64::try_from(unix_secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_491_003_001), "2017-03-31T23:30:01Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
