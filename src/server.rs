//! Assembles and runs the Pingora server: the gateway service on `server.listen` (plain HTTP, or
//! HTTPS with h2 and rotating certificates when `server.tls` is set: [`crate::tls`]), the admin
//! service on `server.admin`, the sandbox backends when enabled, and the reload watchers.

use crate::config::reload::{spawn_watchers, Store};
use crate::proxy::Gateway;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{ExecutionPhase, Server};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

/// The most a shutdown waits for requests in flight (Pingora's grace period). Deployments
/// allow this plus 1 s of runtime shutdown (`DRAIN_SECS` in `scripts/check-deploy.sh`).
pub const DRAIN_SECONDS: u64 = 30;

/// How long `inflight_requests` must stay 0 before a draining process exits: covers a request
/// whose connection was accepted just before the listener closed but not yet parsed.
const DRAIN_QUIET: Duration = Duration::from_millis(300);

/// Once Pingora enters its shutdown grace period (listeners closed), waits until no request
/// is in flight, then exits the process instead of sleeping out the whole grace period.
fn exit_when_drained(mut phases: tokio::sync::broadcast::Receiver<ExecutionPhase>) {
    let spawned = std::thread::Builder::new()
        .name("patchbay-drain".into())
        .spawn(move || {
            loop {
                match phases.blocking_recv() {
                    Ok(ExecutionPhase::ShutdownGracePeriod) => break,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return,
                }
            }
            let metrics = crate::metrics::metrics();
            let mut idle_since: Option<Instant> = None;
            loop {
                if metrics.inflight_requests() > 0 {
                    idle_since = None;
                } else if idle_since.get_or_insert_with(Instant::now).elapsed() >= DRAIN_QUIET {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            log::info!("shutdown: no request in flight, exiting");
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            std::process::exit(0);
        });
    if let Err(e) = spawned {
        log::error!("drain watcher could not start (shutdown waits the full grace period): {e}");
    }
}

/// The HTTPS listener's settings, with its certificate watcher started (it lives as long as
/// the process; a rotated pair serves the next handshakes).
fn https_listener(
    tls: &crate::config::ListenerTls,
) -> Result<pingora::listeners::tls::TlsSettings, String> {
    let certs = crate::tls::ListenerCerts::open(tls)?;
    let settings = crate::tls::listener_settings(tls, &certs)?;
    certs
        .spawn_watcher(
            crate::tls::POLL_INTERVAL,
            Arc::new(std::sync::atomic::AtomicBool::new(false)),
        )
        .map_err(|e| format!("cannot start the certificate watcher: {e}"))?;
    Ok(settings)
}

/// Runs the gateway until it is told to stop. Returns only on a configuration error; otherwise
/// Pingora exits the process when it shuts down.
pub fn serve(config: &Path, upgrade: bool, daemon: bool) -> ExitCode {
    let _ = crate::logging::init(log::LevelFilter::Info);
    let (store, warnings) = match Store::open(config) {
        Ok(s) => s,
        Err(errors) => {
            eprint!("{errors}");
            eprintln!("{}: configuration refused", config.display());
            return ExitCode::FAILURE;
        }
    };
    for w in &warnings {
        log::warn!("{w}");
    }
    // The client-facing API (openapi/patchbay.json, docs/openapi.md) on GET /openapi.json.
    crate::admin::set_openapi(include_str!("../openapi/patchbay.json"));
    let store = Arc::new(store);
    let snap = store.current();
    crate::logging::apply(snap.server.log_level, snap.server.access_log);

    let port = snap.server.listen.port();
    let conf = ServerConf {
        threads: snap.server.threads,
        daemon,
        // Per listener, so several gateways (tests, blue/green on one host) do not collide.
        upgrade_sock: format!("/tmp/patchbay-{port}.upgrade.sock"),
        pid_file: format!("/tmp/patchbay-{port}.pid"),
        // The drain: after SIGTERM (or the old side of a graceful upgrade) the listeners close
        // and requests in flight get up to DRAIN_SECONDS. Pingora cancels every task when it
        // shuts its runtimes down after the grace period, so the grace period *is* the drain;
        // `exit_when_drained` ends the process as soon as nothing is in flight.
        grace_period_seconds: Some(DRAIN_SECONDS),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade,
        daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();

    // `[cluster]` is static: built once here (a change is refused by reload as needing a
    // restart), with its pinger running from the start so `/readyz` shows Redis at once.
    let cluster = match &snap.cluster {
        None => None,
        Some(conf) => match crate::cluster::Cluster::new(conf, Some(Arc::clone(&store))) {
            Ok(c) => {
                if let Err(e) = c.spawn_pinger() {
                    eprintln!("cluster: cannot start the Redis pinger: {e}");
                    return ExitCode::FAILURE;
                }
                crate::cluster::install(Arc::clone(&c));
                Some(c)
            }
            Err(e) => {
                eprintln!("cluster: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    // Our own `HttpServerApp` on Pingora's listeners (`proxy::serve`), not `ProxyHttp`.
    let mut gateway =
        crate::proxy::gateway_service(Gateway::with_cluster(Arc::clone(&store), cluster));
    match &snap.server.tls {
        None => gateway.add_listener(crate::proxy::plain_listener(
            &snap.server.listen.to_string(),
        )),
        Some(tls) => match https_listener(tls) {
            Ok(settings) => {
                gateway.add_tls_with_settings(&snap.server.listen.to_string(), None, settings)
            }
            Err(e) => {
                eprintln!("server.tls: {e}");
                return ExitCode::FAILURE;
            }
        },
    }
    server.add_service(gateway);
    server.add_service(crate::admin::admin_service(
        Arc::clone(&store),
        &snap.server.admin.to_string(),
    ));
    if let Some(sb) = &snap.sandbox {
        for d in crate::dialect::DialectId::ALL {
            let backend = Arc::new(crate::sandbox::Backend::new(
                d,
                sb.secret.expose().to_string(),
            ));
            let addr = sb.addr(d).to_string();
            match &sb.tls {
                None => server.add_service(crate::sandbox::server::service(backend, &addr)),
                Some((cert, key)) => {
                    match crate::sandbox::server::tls_service(
                        backend,
                        &addr,
                        &cert.to_string_lossy(),
                        &key.to_string_lossy(),
                    ) {
                        Ok(svc) => server.add_service(svc),
                        Err(e) => {
                            eprintln!("sandbox {d}: cannot serve HTTPS on {addr}: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                }
            };
        }
    }
    exit_when_drained(server.watch_execution_phase());
    match spawn_watchers(Arc::clone(&store)) {
        // The watchers live as long as the process.
        Ok(handle) => std::mem::forget(handle),
        Err(e) => log::error!("config watchers could not start: {e}"),
    }
    log::info!(
        "patchbay listening on {}{} (admin {}), config generation {}",
        if snap.server.tls.is_some() {
            "https://"
        } else {
            ""
        },
        snap.server.listen,
        snap.server.admin,
        snap.generation
    );
    server.run_forever()
}
