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
    /// The request id (process-unique; correlates log lines).
    pub request_id: &'a str,
    /// Route name, or [`crate::metrics::NO_ROUTE`].
    pub route: &'a str,
    /// Client dialect id, or [`crate::metrics::UNKNOWN_DIALECT`].
    pub client_dialect: &'a str,
    /// Upstream dialect id, or [`crate::metrics::UNKNOWN_DIALECT`].
    pub upstream_dialect: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Status sent to the client.
    pub status: u16,
    /// `ok` or an `ErrorKind::as_str`.
    pub outcome: &'a str,
    /// Total time.
    pub duration_ms: f64,
    /// Time spent waiting on the upstream (all exchanges; 0 when none was made).
    pub upstream_ms: f64,
    /// Time spent translating.
    pub translate_us: f64,
    /// Reads of state before the write (0 or 1).
    pub state_reads: u32,
    /// Canonical names of dropped fields (`unmappable = "drop"`).
    pub dropped_fields: Vec<&'a str>,
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
            route: "hs2-to-crunch",
            client_dialect: DialectId::HelpscoutV2.as_str(),
            upstream_dialect: DialectId::Helpcrunch.as_str(),
            method: "PATCH",
            status: 204,
            outcome: "ok",
            duration_ms: 1.5,
            upstream_ms: 1.0,
            translate_us: 2.0,
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
                "route",
                "client_dialect",
                "upstream_dialect",
                "method",
                "status",
                "outcome",
                "duration_ms",
                "upstream_ms",
                "translate_us",
                "state_reads",
                "dropped_fields"
            ]
        );
        assert_eq!(v["client_dialect"], "helpscout-v2");
        assert_eq!(
            v["dropped_fields"],
            serde_json::json!(["job_title", "chats"])
        );
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
