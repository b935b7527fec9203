//! Every Prometheus family of SPEC §7, defined once (STYLE: "metric names defined once, label
//! values from enums").
//!
//! The families live in a private [`Registry`] behind [`metrics()`]; callers record through
//! typed methods whose label arguments come from closed sets: [`DialectId`], [`ErrorKind`],
//! [`Rule`](crate::canonical::Rule), [`Purpose`], `&'static str` names such as `Field::as_str`, and route / upstream
//! names from the configuration. No method takes a customer id or a raw path, so cardinality
//! is bounded by the config. [`render()`] produces the text exposition for `GET /metrics`.

use crate::canonical::ErrorKind;
use crate::dialect::{DialectId, Purpose};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::OnceLock;
use std::time::Duration;

/// `route` label when no route matched.
pub const NO_ROUTE: &str = "none";
/// Dialect label when the dialect is not known (an `auto` route that recognised nothing).
pub const UNKNOWN_DIALECT: &str = "none";
/// `outcome` label of a success.
pub const OUTCOME_OK: &str = "ok";

/// Buckets for translation: 1 µs … 10 ms (the target is < 2 µs per translation).
const TRANSLATE_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.01,
];
/// Buckets for request and upstream latency: 0.5 ms … 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// All families.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    translate_duration: HistogramVec,
    upstream_duration: HistogramVec,
    validation_errors: IntCounterVec,
    dropped_fields: IntCounterVec,
    state_reads: IntCounterVec,
    config_reloads: IntCounterVec,
    config_generation: IntGauge,
    config_last_reload_success: IntGauge,
    config_restart_pending: IntGauge,
    inflight: IntGauge,
    upstream_rate_limited: IntCounterVec,
    cluster_redis_up: IntGauge,
    cluster_redis_errors: IntCounterVec,
    cluster_locks: IntCounterVec,
    cluster_fallbacks: IntCounterVec,
    cluster_tokens: IntCounterVec,
    upstream_inflight: IntGaugeVec,
    upstream_inflight_refused: IntCounterVec,
    requests_by_protocol: IntCounterVec,
    tls_reloads: IntCounterVec,
    tls_expiry: IntGauge,
}

/// `protocol` label values of `requests_by_protocol_total` (the ALPN names; HTTP/1.0 is
/// counted as `http/1.0`).
pub const PROTOCOLS: [&str; 3] = ["http/1.0", "http/1.1", "h2"];
/// `result` label values of `tls_reloads_total`.
pub const TLS_RELOAD_RESULTS: [&str; 2] = ["ok", "error"];

/// The `protocol` label (and access-log field) of a request's HTTP version.
pub fn protocol_label(version: http::Version) -> &'static str {
    match version {
        http::Version::HTTP_10 | http::Version::HTTP_09 => PROTOCOLS[0],
        http::Version::HTTP_2 => PROTOCOLS[2],
        _ => PROTOCOLS[1],
    }
}

/// `op` label values of `cluster_redis_errors_total`.
pub const CLUSTER_OPS: [&str; 6] = ["lock", "renew", "release", "rate_limit", "token", "ping"];
/// `result` label values of `cluster_locks_total`.
pub const CLUSTER_LOCK_RESULTS: [&str; 5] = ["acquired", "timeout", "refused", "local", "lost"];
/// `kind` label values of `cluster_fallbacks_total`.
pub const CLUSTER_FALLBACKS: [&str; 2] = ["rate_limit", "token"];
/// `source` label values of `cluster_tokens_total`.
pub const CLUSTER_TOKEN_SOURCES: [&str; 2] = ["shared", "fetched"];

/// Decrements `inflight_requests` when dropped: hold it for the life of a request.
pub struct InflightGuard(IntGauge);

impl InflightGuard {
    fn on(gauge: &IntGauge) -> Self {
        gauge.inc();
        InflightGuard(gauge.clone())
    }
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The `outcome` label for a result.
pub fn outcome_label(outcome: Option<ErrorKind>) -> &'static str {
    outcome.map_or(OUTCOME_OK, ErrorKind::as_str)
}

/// The dialect label for an optional dialect.
pub fn dialect_label(d: Option<DialectId>) -> &'static str {
    d.map_or(UNKNOWN_DIALECT, DialectId::as_str)
}

fn name(n: &str) -> String {
    format!("patchbay_{n}")
}

// The registrations below use fixed names and label sets, so a failure would be a programming
// error caught by the first test run; `expect` documents that.
#[allow(clippy::expect_used)]
fn build() -> Metrics {
    let registry = Registry::new();
    let counter = |n: &str, help: &str, labels: &[&str]| {
        let c = IntCounterVec::new(Opts::new(name(n), help), labels).expect("valid counter");
        registry
            .register(Box::new(c.clone()))
            .expect("unique counter");
        c
    };
    let histogram = |n: &str, help: &str, labels: &[&str], buckets: &[f64]| {
        let h = HistogramVec::new(
            HistogramOpts::new(name(n), help).buckets(buckets.to_vec()),
            labels,
        )
        .expect("valid histogram");
        registry
            .register(Box::new(h.clone()))
            .expect("unique histogram");
        h
    };
    let gauge = |n: &str, help: &str| {
        let g = IntGauge::new(name(n), help).expect("valid gauge");
        registry
            .register(Box::new(g.clone()))
            .expect("unique gauge");
        g
    };
    let m = Metrics {
        requests: counter(
            "requests_total",
            "Requests answered, by route, dialects, outcome and status.",
            &[
                "route",
                "client_dialect",
                "upstream_dialect",
                "outcome",
                "status",
            ],
        ),
        request_duration: histogram(
            "request_duration_seconds",
            "Time from request start to the end of the answer.",
            &["route"],
            LATENCY_BUCKETS,
        ),
        translate_duration: histogram(
            "translate_duration_seconds",
            "Time spent translating a request between two dialects.",
            &["from", "to"],
            TRANSLATE_BUCKETS,
        ),
        upstream_duration: histogram(
            "upstream_duration_seconds",
            "Upstream request latency by purpose.",
            &["upstream", "kind"],
            LATENCY_BUCKETS,
        ),
        validation_errors: counter(
            "validation_errors_total",
            "Validation violations reported to clients, by client dialect and rule.",
            &["dialect", "rule"],
        ),
        dropped_fields: counter(
            "dropped_fields_total",
            "Unmappable changes dropped under unmappable = \"drop\".",
            &["route", "field"],
        ),
        state_reads: counter(
            "state_reads_total",
            "Reads of the customer's current state before a write.",
            &["upstream", "reason"],
        ),
        config_reloads: counter(
            "config_reloads_total",
            "Configuration reload attempts by result (ok, error, restart_required).",
            &["result"],
        ),
        config_generation: gauge(
            "config_generation",
            "Generation of the configuration serving requests.",
        ),
        config_last_reload_success: gauge(
            "config_last_reload_success",
            "1 when the last load or reload of the configuration file found it valid, 0 while a \
             refused file is in place (stays 0 until a valid file is read).",
        ),
        config_restart_pending: gauge(
            "config_restart_pending",
            "1 while the file on disk changes static settings that only a restart applies.",
        ),
        inflight: gauge("inflight_requests", "Requests being processed."),
        upstream_rate_limited: counter(
            "upstream_rate_limited_total",
            "Requests refused by the gateway's own per-upstream rate limit.",
            &["upstream"],
        ),
        // Registered by `init_cluster` only: without `[cluster]` a constant 0 would read as
        // "Redis down" to an alert.
        cluster_redis_up: IntGauge::new(
            name("cluster_redis_up"),
            "1 while the cluster's Redis answers, 0 while it does not (only with [cluster]).",
        )
        .expect("valid gauge"),
        cluster_redis_errors: counter(
            "cluster_redis_errors_total",
            "Redis calls of the cluster that failed or timed out, by operation.",
            &["op"],
        ),
        cluster_locks: counter(
            "cluster_locks_total",
            "Per-customer cluster locks: acquired, timeout (503), refused (Redis down, 503), \
             local (Redis down, local lock used), lost (a lease expired or was taken during a write).",
            &["result"],
        ),
        cluster_fallbacks: counter(
            "cluster_fallbacks_total",
            "Operations done in-process because Redis was unavailable (rate limit, token).",
            &["kind"],
        ),
        cluster_tokens: counter(
            "cluster_tokens_total",
            "Upstream OAuth tokens obtained: shared (another replica's, from Redis) or fetched.",
            &["source"],
        ),
        upstream_inflight: {
            let g = IntGaugeVec::new(
                Opts::new(
                    name("upstream_inflight"),
                    "Requests in flight toward each upstream.",
                ),
                &["upstream"],
            )
            .expect("valid gauge");
            registry
                .register(Box::new(g.clone()))
                .expect("unique gauge");
            g
        },
        upstream_inflight_refused: counter(
            "upstream_inflight_refused_total",
            "Requests answered 503 because the upstream had max_inflight requests in flight.",
            &["upstream"],
        ),
        requests_by_protocol: counter(
            "requests_by_protocol_total",
            "Requests answered, by the HTTP protocol the client used (http/1.0, http/1.1, h2).",
            &["protocol"],
        ),
        tls_reloads: counter(
            "tls_reloads_total",
            "Reloads of the listener's rotated certificate files: ok, or error (refused, the \
             previous pair keeps serving).",
            &["result"],
        ),
        // Registered by `init_tls` only: without `[server] tls` a constant 0 would read as an
        // expired certificate to the alert.
        tls_expiry: IntGauge::new(
            name("tls_certificate_expiry_timestamp_seconds"),
            "Unix time at which the listener's serving certificate expires (only with [server] tls).",
        )
        .expect("valid gauge"),
        registry,
    };
    for p in PROTOCOLS {
        m.requests_by_protocol.with_label_values(&[p]);
    }
    // Reload results exist from the start so `rate()` and alerts see zeros, not gaps.
    for r in ["ok", "error", "restart_required"] {
        m.config_reloads.with_label_values(&[r]);
    }
    let build_info = IntGaugeVec::new(
        Opts::new(
            name("build_info"),
            "Always 1; the labels say which build is running.",
        ),
        &["version", "commit"],
    )
    .expect("valid gauge");
    build_info
        .with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            option_env!("PATCHBAY_COMMIT").unwrap_or("unknown"),
        ])
        .set(1);
    m.registry
        .register(Box::new(build_info))
        .expect("unique gauge");
    // The standard process_* families (CPU, resident memory, open fds, start time): Linux only.
    #[cfg(target_os = "linux")]
    m.registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("unique process collector");
    m
}

/// The process-wide families.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(build)
}

/// Text exposition format (`text/plain; version=0.0.4`).
pub fn render() -> String {
    metrics().render()
}

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Metrics {
    /// Records a finished request: `requests_total` and `request_duration_seconds`.
    /// `route` is a configured route name or [`NO_ROUTE`]; the dialect labels are
    /// `DialectId::as_str` or [`UNKNOWN_DIALECT`]; `outcome` is [`OUTCOME_OK`] or
    /// `ErrorKind::as_str` (see [`outcome_label`]).
    pub fn request(
        &self,
        route: &str,
        client_dialect: &'static str,
        upstream_dialect: &'static str,
        outcome: &'static str,
        status: u16,
        duration: Duration,
    ) {
        let mut digits = itoa::Buffer::new();
        self.requests
            .with_label_values(&[
                route,
                client_dialect,
                upstream_dialect,
                outcome,
                digits.format(status),
            ])
            .inc();
        self.request_duration
            .with_label_values(&[route])
            .observe(duration.as_secs_f64());
    }

    /// Records the time a translation took (`DialectId::as_str` labels).
    pub fn translate(&self, from: &'static str, to: &'static str, duration: Duration) {
        self.translate_duration
            .with_label_values(&[from, to])
            .observe(duration.as_secs_f64());
    }

    /// Records one upstream exchange.
    pub fn observe_upstream(&self, upstream: &str, kind: Purpose, duration: Duration) {
        self.upstream_duration
            .with_label_values(&[upstream, kind.as_str()])
            .observe(duration.as_secs_f64());
    }

    /// Counts one violation reported to a client: `DialectId::as_str`, `Rule::as_str`.
    pub fn validation_error(&self, dialect: &'static str, rule: &'static str) {
        self.validation_errors
            .with_label_values(&[dialect, rule])
            .inc();
    }

    /// Counts one dropped field. `field` is `Field::as_str`, `Coll::as_str` or `"properties"`.
    pub fn dropped_field(&self, route: &str, field: &'static str) {
        self.dropped_fields.with_label_values(&[route, field]).inc();
    }

    /// Counts one read of state before a write; `reason` comes from the planner's closed set.
    pub fn state_read(&self, upstream: &str, reason: &'static str) {
        self.state_reads
            .with_label_values(&[upstream, reason])
            .inc();
    }

    /// Counts one refusal by the gateway's own rate limit.
    pub fn upstream_rate_limited(&self, upstream: &str) {
        self.upstream_rate_limited
            .with_label_values(&[upstream])
            .inc();
    }

    /// Registers `cluster_redis_up` and creates the `cluster_*` series at zero (when `[cluster]`
    /// is configured; a second call changes nothing).
    pub fn init_cluster(&self) {
        // Already registered on a second call: the error only says so.
        let _ = self
            .registry
            .register(Box::new(self.cluster_redis_up.clone()));
        for op in CLUSTER_OPS {
            self.cluster_redis_errors.with_label_values(&[op]);
        }
        for r in CLUSTER_LOCK_RESULTS {
            self.cluster_locks.with_label_values(&[r]);
        }
        for k in CLUSTER_FALLBACKS {
            self.cluster_fallbacks.with_label_values(&[k]);
        }
        for s in CLUSTER_TOKEN_SOURCES {
            self.cluster_tokens.with_label_values(&[s]);
        }
    }

    /// Registers the expiry gauge and creates the TLS reload series at zero (when the listener
    /// serves HTTPS; a second call changes nothing).
    pub fn init_tls(&self) {
        // Already registered on a second call: the error only says so.
        let _ = self.registry.register(Box::new(self.tls_expiry.clone()));
        for r in TLS_RELOAD_RESULTS {
            self.tls_reloads.with_label_values(&[r]);
        }
    }

    /// Sets the serving certificate's expiry (Unix seconds).
    pub fn set_tls_expiry(&self, not_after: i64) {
        self.tls_expiry.set(not_after);
    }

    /// Counts one certificate reload; `result` is one of [`TLS_RELOAD_RESULTS`].
    pub fn tls_reload(&self, result: &'static str) {
        self.tls_reloads.with_label_values(&[result]).inc();
    }

    /// Certificate reloads with `result` so far.
    pub fn tls_reloads(&self, result: &'static str) -> u64 {
        self.tls_reloads.with_label_values(&[result]).get()
    }

    /// Counts a finished request under its protocol ([`protocol_label`]).
    pub fn request_protocol(&self, protocol: &'static str) {
        self.requests_by_protocol
            .with_label_values(&[protocol])
            .inc();
    }

    /// Sets `cluster_redis_up`.
    pub fn cluster_redis_up(&self, up: bool) {
        self.cluster_redis_up.set(i64::from(up));
    }

    /// Counts a failed Redis call; `op` is one of [`CLUSTER_OPS`].
    pub fn cluster_redis_error(&self, op: &'static str) {
        self.cluster_redis_errors.with_label_values(&[op]).inc();
    }

    /// Counts a lock outcome; `result` is one of [`CLUSTER_LOCK_RESULTS`].
    pub fn cluster_lock(&self, result: &'static str) {
        self.cluster_locks.with_label_values(&[result]).inc();
    }

    /// Counts an in-process fallback; `kind` is one of [`CLUSTER_FALLBACKS`].
    pub fn cluster_fallback(&self, kind: &'static str) {
        self.cluster_fallbacks.with_label_values(&[kind]).inc();
    }

    /// Counts an upstream token obtained; `source` is one of [`CLUSTER_TOKEN_SOURCES`].
    pub fn cluster_token(&self, source: &'static str) {
        self.cluster_tokens.with_label_values(&[source]).inc();
    }

    /// The in-flight gauge of one upstream (held by the in-flight limiter).
    pub fn upstream_inflight_gauge(&self, upstream: &str) -> IntGauge {
        self.upstream_inflight.with_label_values(&[upstream])
    }

    /// Counts one refusal by an upstream's `max_inflight`.
    pub fn upstream_inflight_refused(&self, upstream: &str) {
        self.upstream_inflight_refused
            .with_label_values(&[upstream])
            .inc();
    }

    /// Counts one reload attempt (`ok`, `error`, `restart_required`).
    pub fn config_reload(&self, result: &'static str) {
        self.config_reloads.with_label_values(&[result]).inc();
    }

    /// Reload attempts with `result` so far.
    pub fn config_reloads(&self, result: &'static str) -> u64 {
        self.config_reloads.with_label_values(&[result]).get()
    }

    /// Records the result of reading the configuration file (at start and on every reload):
    /// `valid` is false when it was refused; `restart_pending` is `Some` when the result says
    /// whether the file needs a restart (a refused file says nothing about that).
    pub fn config_read(&self, valid: bool, restart_pending: Option<bool>) {
        self.config_last_reload_success.set(i64::from(valid));
        if let Some(pending) = restart_pending {
            self.config_restart_pending.set(i64::from(pending));
        }
    }

    /// Creates the series of every configured route and upstream at zero, so that dashboards
    /// and alerts see them from the first scrape instead of after the first request: the
    /// success series of `requests_total` and the `request_duration_seconds` histogram per
    /// route, `translate_duration_seconds` per translated dialect pair, and
    /// `upstream_duration_seconds` (write, read), `upstream_rate_limited_total`,
    /// `upstream_inflight` and `upstream_inflight_refused_total` per upstream.
    /// Series of routes a reload removed stay, as Prometheus clients do.
    pub fn init_config(&self, snap: &crate::config::Snapshot) {
        for route in &snap.routes {
            let up = route.upstream.dialect;
            let clients: Vec<DialectId> = match route.client {
                Some(c) => vec![c],
                None => DialectId::ALL.to_vec(),
            };
            for c in clients {
                let ok = c.update_success_status();
                self.requests.with_label_values(&[
                    route.name.as_str(),
                    c.as_str(),
                    up.as_str(),
                    OUTCOME_OK,
                    ok.to_string().as_str(),
                ]);
                if c != up {
                    self.translate_duration
                        .with_label_values(&[c.as_str(), up.as_str()]);
                }
            }
            self.request_duration
                .with_label_values(&[route.name.as_str()]);
        }
        for up in &snap.upstreams {
            for kind in [Purpose::Write, Purpose::Read] {
                self.upstream_duration
                    .with_label_values(&[up.name.as_str(), kind.as_str()]);
            }
            self.upstream_rate_limited
                .with_label_values(&[up.name.as_str()]);
            self.upstream_inflight
                .with_label_values(&[up.name.as_str()]);
            self.upstream_inflight_refused
                .with_label_values(&[up.name.as_str()]);
        }
    }

    /// Sets the generation gauge.
    pub fn set_config_generation(&self, generation: u64) {
        self.config_generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
    }

    /// Adds `delta` (+1 at request start, -1 in the logging phase) to `inflight_requests`.
    pub fn inflight(&self, delta: i64) {
        self.inflight.add(delta);
    }

    /// Requests in flight now (the drain on shutdown waits for 0).
    pub fn inflight_requests(&self) -> i64 {
        self.inflight.get()
    }

    /// Counts a request as in flight until the guard drops (alternative to [`Metrics::inflight`]).
    pub fn inflight_guard(&self) -> InflightGuard {
        InflightGuard::on(&self.inflight)
    }

    /// Text exposition of every family.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            log::error!("metrics encoding failed: {e}");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_rendered_with_its_labels() {
        let m = metrics();
        m.request(
            "metrics-test",
            DialectId::Helpcrunch.as_str(),
            DialectId::Reach.as_str(),
            outcome_label(Some(ErrorKind::Invalid)),
            400,
            Duration::from_millis(3),
        );
        m.translate(
            DialectId::Helpcrunch.as_str(),
            DialectId::Reach.as_str(),
            Duration::from_nanos(1500),
        );
        m.observe_upstream("metrics-up", Purpose::ReadBefore, Duration::from_millis(2));
        m.validation_error(
            DialectId::Reach.as_str(),
            crate::canonical::Rule::Email.as_str(),
        );
        m.dropped_field("metrics-test", crate::canonical::Field::JobTitle.as_str());
        m.state_read("metrics-up", "name_half");
        m.upstream_rate_limited("metrics-up");
        m.upstream_inflight_refused("metrics-up");
        m.upstream_inflight_gauge("metrics-up").set(0);
        let text = render();
        for needle in [
            "patchbay_requests_total{client_dialect=\"helpcrunch\",outcome=\"invalid\",route=\"metrics-test\",status=\"400\",upstream_dialect=\"reach\"}",
            "patchbay_request_duration_seconds_bucket{route=\"metrics-test\",le=\"0.005\"}",
            "patchbay_translate_duration_seconds_bucket{from=\"helpcrunch\",to=\"reach\",le=\"0.0000025\"} 1",
            "patchbay_upstream_duration_seconds_count{kind=\"read_before\",upstream=\"metrics-up\"} 1",
            "patchbay_validation_errors_total{dialect=\"reach\",rule=\"email\"}",
            "patchbay_dropped_fields_total{field=\"job_title\",route=\"metrics-test\"}",
            "patchbay_state_reads_total{reason=\"name_half\",upstream=\"metrics-up\"}",
            "patchbay_upstream_rate_limited_total{upstream=\"metrics-up\"}",
            "patchbay_upstream_inflight_refused_total{upstream=\"metrics-up\"} 1",
            "patchbay_upstream_inflight{upstream=\"metrics-up\"} 0",
            "patchbay_config_reloads_total{result=\"restart_required\"}",
            "# TYPE patchbay_config_generation gauge",
            "# TYPE patchbay_inflight_requests gauge",
            "patchbay_requests_by_protocol_total{protocol=\"h2\"}",
            "patchbay_requests_by_protocol_total{protocol=\"http/1.1\"}",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
    }

    #[test]
    fn success_and_unknown_labels() {
        assert_eq!(outcome_label(None), "ok");
        assert_eq!(
            outcome_label(Some(ErrorKind::GatewayTimeout)),
            "gateway_timeout"
        );
        assert_eq!(dialect_label(None), "none");
    }

    #[test]
    fn inflight_guard_counts_up_and_down() {
        // A private gauge: the global one is shared with concurrently running tests.
        let gauge = IntGauge::new("t", "t").expect("gauge");
        let a = InflightGuard::on(&gauge);
        let b = InflightGuard::on(&gauge);
        assert_eq!(gauge.get(), 2);
        drop(a);
        assert_eq!(gauge.get(), 1);
        drop(b);
        assert_eq!(gauge.get(), 0);
    }
}
