//! Structured logs: diagnostics as JSON lines on stderr, one access-log JSON line per request
//! on stdout (SPEC §7).
//!
//! The two streams are separate so a log shipper can route them differently and so `patchbay
//! … 2>/dev/null` keeps only the access log. Both levels are switchable at runtime: a
//! configuration reload applies `server.log_level` and `server.access_log` through [`apply`].
//! Access lines carry names, dialects, statuses and timings only — never bodies, customer data
//! or credentials.

use log::{LevelFilter, Log, Metadata, Record};
use serde::Serialize;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Tests that change or assert the global level hold this, so they do not race.
#[cfg(test)]
pub(crate) static TEST_LEVEL_LOCK: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

static LEVEL: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);
static ACCESS_LOG: AtomicBool = AtomicBool::new(true);

/// The stderr JSON logger.
struct JsonLogger;

static LOGGER: JsonLogger = JsonLogger;

fn level() -> LevelFilter {
    match LEVEL.load(Ordering::Relaxed) {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

impl Log for JsonLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = format_record(
            &timestamp(SystemTime::now()),
            record.level(),
            record.target(),
            &record.args().to_string(),
        );
        // A closed stderr cannot be reported anywhere; dropping the line is all we can do.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs the JSON logger as the `log` backend at `level`. Fails if another logger was
/// installed first (then only the level is changed).
pub fn init(level: LevelFilter) -> Result<(), log::SetLoggerError> {
    set_level(level);
    log::set_logger(&LOGGER)
}

/// Changes the level at runtime.
pub fn set_level(level: LevelFilter) {
    LEVEL.store(level as usize, Ordering::Relaxed);
    log::set_max_level(level);
}

/// Applies the reloadable logging settings of `[server]`.
pub fn apply(level: LevelFilter, access_log: bool) {
    set_level(level);
    ACCESS_LOG.store(access_log, Ordering::Relaxed);
}

/// Whether access lines are written (`server.access_log`).
pub fn access_log_enabled() -> bool {
    ACCESS_LOG.load(Ordering::Relaxed)
}

/// One diagnostic line: `{"ts","level","target","msg"}`.
pub fn format_record(ts: &str, level: log::Level, target: &str, msg: &str) -> String {
    serde_json::json!({
        "ts": ts,
        "level": level.as_str().to_ascii_lowercase(),
        "target": target,
        "msg": msg,
    })
    .to_string()
}

/// One request, as the access log records it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccessEntry<'a> {
    /// The request id: the client's `X-Request-Id` when valid, else a UUID unique across
    /// replicas; answered as `X-Request-Id`, and helpscout-v2's `logRef`.
    pub request_id: &'a str,
    /// The W3C `traceparent` passed upstream (the client's when valid, else a new trace).
    pub traceparent: &'a str,
    /// The client: the peer, or what `X-Forwarded-For` says when the peer is a trusted proxy.
    pub client_addr: Option<String>,
    /// The TCP peer.
    pub peer_addr: Option<String>,
    /// HTTP method.
    pub method: &'a str,
    /// The protocol the client used: `http/1.1`, `h2` (or `http/1.0`).
    pub protocol: &'a str,
    /// Endpoint kind (`update`, `replace`, `properties`, `get`, `token`,
    /// `sub_resource_create|update|delete`), or `none` when no endpoint matched.
    pub endpoint: &'a str,
    /// Route name, or [`crate::metrics::NO_ROUTE`].
    pub route: &'a str,
    /// Client dialect id, or [`crate::metrics::UNKNOWN_DIALECT`].
    pub client_dialect: &'a str,
    /// Upstream dialect id, or [`crate::metrics::UNKNOWN_DIALECT`].
    pub upstream_dialect: &'a str,
    /// Upstream name (the route's), or `none`.
    pub upstream: &'a str,
    /// Status of the last upstream answer; `None` when nothing was answered upstream.
    pub upstream_status: Option<u16>,
    /// Status sent to the client.
    pub status: u16,
    /// `ok` or an `ErrorKind::as_str`.
    pub outcome: &'a str,
    /// Request body bytes read from the client.
    pub bytes_in: u64,
    /// Response body bytes sent to the client.
    pub bytes_out: u64,
    /// The client's `User-Agent` (at most [`MAX_USER_AGENT`] bytes).
    pub user_agent: Option<&'a str>,
    /// Total time, ms rounded to µs.
    pub duration_ms: f64,
    /// Time spent waiting on the upstream (all exchanges; 0 when none was made), ms rounded
    /// to µs.
    pub upstream_ms: f64,
    /// Time spent translating, whole µs.
    pub translate_us: u64,
    /// Reads of state before the write (0 or 1).
    pub state_reads: u32,
    /// Canonical names of dropped fields (`unmappable = "drop"`).
    pub dropped_fields: Vec<&'a str>,
}

/// Longest `User-Agent` logged: a client cannot make the log line arbitrarily long.
pub const MAX_USER_AGENT: usize = 256;

/// `s` cut to at most [`MAX_USER_AGENT`] bytes, on a character boundary.
pub fn bounded(s: &str) -> &str {
    if s.len() <= MAX_USER_AGENT {
        return s;
    }
    let mut end = MAX_USER_AGENT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A duration in milliseconds with three decimals (µs resolution: more digits are noise).
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

#[derive(Serialize)]
struct AccessLine<'a> {
    ts: String,
    #[serde(flatten)]
    entry: &'a AccessEntry<'a>,
}

/// The access line for `entry` (without the trailing newline).
pub fn format_access(entry: &AccessEntry<'_>, ts: &str) -> String {
    let line = AccessLine {
        ts: ts.to_string(),
        entry,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Writes one access line to stdout, unless `server.access_log = false`.
pub fn access_log(entry: &AccessEntry<'_>) {
    if !access_log_enabled() {
        return;
    }
    let line = format_access(entry, &timestamp(SystemTime::now()));
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// RFC 3339 UTC with milliseconds (`2026-11-25T17:02:39.123Z`).
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DialectId;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_626_159_123);
        assert_eq!(timestamp(t), "2026-11-25T17:02:39.123Z");
        // Leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(t), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn diagnostic_line_is_one_json_object() {
        let line = format_record(
            "T",
            log::Level::Warn,
            "patchbay::config",
            "a \"quoted\"\nmsg",
        );
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["level"], "warn");
        assert_eq!(v["target"], "patchbay::config");
        assert_eq!(v["msg"], "a \"quoted\"\nmsg");
        assert_eq!(v["ts"], "T");
    }

    #[test]
    fn access_line_has_every_field() {
        let e = AccessEntry {
            request_id: "r-1",
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            client_addr: Some("203.0.113.7".into()),
            peer_addr: Some("10.0.0.2".into()),
            method: "PATCH",
            protocol: "h2",
            endpoint: "update",
            route: "hs2-to-crunch",
            client_dialect: DialectId::HelpscoutV2.as_str(),
            upstream_dialect: DialectId::Helpcrunch.as_str(),
            upstream: "crunch",
            upstream_status: Some(200),
            status: 204,
            outcome: "ok",
            bytes_in: 61,
            bytes_out: 0,
            user_agent: Some("sdk/1.0"),
            duration_ms: millis(Duration::from_nanos(1_500_400)),
            upstream_ms: 1.0,
            translate_us: 2,
            state_reads: 1,
            dropped_fields: vec!["job_title", "chats"],
        };
        let v: serde_json::Value = serde_json::from_str(&format_access(&e, "T")).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "ts",
                "request_id",
                "traceparent",
                "client_addr",
                "peer_addr",
                "method",
                "protocol",
                "endpoint",
                "route",
                "client_dialect",
                "upstream_dialect",
                "upstream",
                "upstream_status",
                "status",
                "outcome",
                "bytes_in",
                "bytes_out",
                "user_agent",
                "duration_ms",
                "upstream_ms",
                "translate_us",
                "state_reads",
                "dropped_fields"
            ]
        );
        assert_eq!(v["client_dialect"], "helpscout-v2");
        assert_eq!(v["duration_ms"], 1.5, "rounded to µs");
        assert_eq!(v["upstream_status"], 200);
        assert_eq!(
            v["dropped_fields"],
            serde_json::json!(["job_title", "chats"])
        );
    }

    #[test]
    fn absent_values_are_null_and_user_agents_bounded() {
        let v: serde_json::Value =
            serde_json::from_str(&format_access(&AccessEntry::default(), "T")).expect("json");
        assert!(v["upstream_status"].is_null());
        assert!(v["client_addr"].is_null());
        assert!(v["user_agent"].is_null());
        let long = "é".repeat(MAX_USER_AGENT);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_USER_AGENT && cut.len() >= MAX_USER_AGENT - 1);
        assert_eq!(bounded("curl/8"), "curl/8");
        assert_eq!(millis(Duration::from_nanos(2_000_499)), 2.0);
        assert_eq!(millis(Duration::from_micros(1234)), 1.234);
    }

    #[test]
    fn level_switches_at_runtime() {
        let _g = TEST_LEVEL_LOCK.lock();
        set_level(LevelFilter::Warn);
        assert!(!LOGGER.enabled(&Metadata::builder().level(log::Level::Info).build()));
        assert!(LOGGER.enabled(&Metadata::builder().level(log::Level::Warn).build()));
        set_level(LevelFilter::Debug);
        assert!(LOGGER.enabled(&Metadata::builder().level(log::Level::Debug).build()));
        set_level(LevelFilter::Info);
    }
}
