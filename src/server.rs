//! Assembles and runs the Pingora server: the gateway service on `server.listen`, the admin
//! service on `server.admin`, the sandbox backends when enabled, and the reload watchers.

use crate::config::reload::{spawn_watchers, Store};
use crate::proxy::Gateway;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

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
        // Kubernetes' preStop hook covers endpoint removal; in-flight requests get the drain.
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(30),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade,
        daemon,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();

    let mut gateway =
        pingora::proxy::http_proxy_service(&server.configuration, Gateway::new(Arc::clone(&store)));
    gateway.add_tcp(&snap.server.listen.to_string());
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
            server.add_service(crate::sandbox::server::service(
                backend,
                &sb.addr(d).to_string(),
            ));
        }
    }
    match spawn_watchers(Arc::clone(&store)) {
        // The watchers live as long as the process.
        Ok(handle) => std::mem::forget(handle),
        Err(e) => log::error!("config watchers could not start: {e}"),
    }
    log::info!(
        "patchbay listening on {} (admin {}), config generation {}",
        snap.server.listen,
        snap.server.admin,
        snap.generation
    );
    server.run_forever()
}
