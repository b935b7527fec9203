//! Hot reload: one `ArcSwap<Snapshot>`, replaced all at once or not at all (SPEC §5).
//!
//! [`Store::reload`] reads, parses, validates and builds a complete snapshot, compares its
//! static keys with the running one, and only then stores it. A bad file keeps the old
//! snapshot serving; a static change is refused and left to Pingora's graceful upgrade.
//! Requests in flight keep the `Arc<Snapshot>` they loaded, so they finish under the
//! configuration they started with.
//!
//! Triggers: a polling file watcher ([`FileWatcher`], which also follows the symlink chain the
//! way Kubernetes swaps a ConfigMap's `..data` link), `SIGHUP`, and `POST /reload` on the admin
//! listener ([`crate::admin`]). Polling rather than inotify: it needs no extra dependency,
//! sees symlink swaps in parent directories, and 500 ms is fast enough for config.
//!
//! Secret files are watched the same way (SPEC §6): every `*_file` secret the running snapshot
//! read is fingerprinted ([`SecretWatcher`]), and a change reloads the whole configuration —
//! same validation, same all-or-nothing store — so a rotated upstream or client credential, or
//! token-signing key, takes effect without a restart, and an invalid one (an empty file) is
//! refused while the old snapshot keeps serving. They are polled half as often as the config
//! file: kubelet itself takes up to a minute to project an updated Secret.

use super::{static_changes, ConfigErrors, Problem, Snapshot};
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// How often the file watcher looks at the file.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The secret files are looked at every this many polls of the config file.
const SECRET_POLLS: u32 = 2;

/// The running configuration.
pub struct Store {
    path: PathBuf,
    current: ArcSwap<Snapshot>,
    /// Serialises reloads (watcher, SIGHUP and admin may fire together) so generations are
    /// strictly increasing and no reload is based on a stale "old" snapshot.
    reloading: Mutex<()>,
}

/// What a reload did.
#[derive(Clone, Debug)]
pub enum ReloadOutcome {
    /// The new snapshot serves.
    Ok {
        /// Its generation.
        generation: u64,
        /// Its warnings.
        warnings: Vec<Problem>,
    },
    /// The file was refused; the old snapshot keeps serving.
    Invalid {
        /// The generation still serving.
        generation: u64,
        /// Why.
        errors: ConfigErrors,
    },
    /// Static keys changed; the old snapshot keeps serving until a restart.
    RestartRequired {
        /// The generation still serving.
        generation: u64,
        /// The changed static keys.
        keys: Vec<String>,
    },
}

impl ReloadOutcome {
    /// The `result` label of `patchbay_config_reloads_total`.
    pub fn result_label(&self) -> &'static str {
        match self {
            ReloadOutcome::Ok { .. } => "ok",
            ReloadOutcome::Invalid { .. } => "error",
            ReloadOutcome::RestartRequired { .. } => "restart_required",
        }
    }

    /// The generation serving after the attempt.
    pub fn generation(&self) -> u64 {
        match self {
            ReloadOutcome::Ok { generation, .. }
            | ReloadOutcome::Invalid { generation, .. }
            | ReloadOutcome::RestartRequired { generation, .. } => *generation,
        }
    }

    /// HTTP status for `POST /reload`: 200, 422 (invalid file), 409 (restart required).
    pub fn http_status(&self) -> u16 {
        match self {
            ReloadOutcome::Ok { .. } => 200,
            ReloadOutcome::Invalid { .. } => 422,
            ReloadOutcome::RestartRequired { .. } => 409,
        }
    }

    /// JSON body for `POST /reload`.
    pub fn to_json(&self) -> Value {
        let lines = |v: &[Problem]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        match self {
            ReloadOutcome::Ok {
                generation,
                warnings,
            } => json!({
                "result": "ok",
                "generation": generation,
                "warnings": lines(warnings),
            }),
            ReloadOutcome::Invalid { generation, errors } => json!({
                "result": "error",
                "generation": generation,
                "errors": lines(&errors.errors),
                "warnings": lines(&errors.warnings),
            }),
            ReloadOutcome::RestartRequired { generation, keys } => json!({
                "result": "restart_required",
                "generation": generation,
                "keys": keys,
                "message": format!("changing {} needs a restart (graceful upgrade)", keys.join(", ")),
            }),
        }
    }
}

impl Store {
    /// Loads `path` as generation 1 and applies its runtime settings (log level, access log,
    /// generation gauge). Warnings are logged and returned.
    pub fn open(path: impl Into<PathBuf>) -> Result<(Store, Vec<Problem>), ConfigErrors> {
        let path = path.into();
        let loaded = super::load(&path, 1)?;
        for w in &loaded.warnings {
            log::warn!("config {}: {w}", path.display());
        }
        let store = Store::from_snapshot(path, loaded.snapshot);
        crate::metrics::metrics().config_read(true, Some(false));
        Ok((store, loaded.warnings))
    }

    /// A store around an already validated snapshot; `path` is what reload re-reads.
    pub fn from_snapshot(path: impl Into<PathBuf>, snapshot: Snapshot) -> Store {
        apply_runtime(&snapshot);
        Store {
            path: path.into(),
            current: ArcSwap::from_pointee(snapshot),
            reloading: Mutex::new(()),
        }
    }

    /// The current snapshot. Load it once per request and keep the `Arc`.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// The file reload reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file; stores the new snapshot only when it is valid and changes no static
    /// key. Logs and counts the attempt.
    pub fn reload(&self) -> ReloadOutcome {
        let _guard = self.reloading.lock();
        let old = self.current.load_full();
        let outcome = match super::load(&self.path, old.generation + 1) {
            Err(errors) => {
                for e in &errors.errors {
                    log::error!("config reload refused: {}: {e}", self.path.display());
                }
                ReloadOutcome::Invalid {
                    generation: old.generation,
                    errors,
                }
            }
            Ok(loaded) => {
                let keys = static_changes(&old, &loaded.snapshot);
                if !keys.is_empty() {
                    log::error!(
                        "config reload refused: {}: changing {} needs a restart (graceful upgrade)",
                        self.path.display(),
                        keys.join(", ")
                    );
                    ReloadOutcome::RestartRequired {
                        generation: old.generation,
                        keys,
                    }
                } else {
                    for w in &loaded.warnings {
                        log::warn!("config {}: {w}", self.path.display());
                    }
                    let generation = loaded.snapshot.generation;
                    apply_runtime(&loaded.snapshot);
                    self.current.store(Arc::new(loaded.snapshot));
                    log::info!(
                        "config generation {generation} loaded from {}",
                        self.path.display()
                    );
                    ReloadOutcome::Ok {
                        generation,
                        warnings: loaded.warnings,
                    }
                }
            }
        };
        let m = crate::metrics::metrics();
        m.config_reload(outcome.result_label());
        match &outcome {
            ReloadOutcome::Ok { .. } => m.config_read(true, Some(false)),
            ReloadOutcome::Invalid { .. } => m.config_read(false, None),
            ReloadOutcome::RestartRequired { .. } => m.config_read(true, Some(true)),
        }
        outcome
    }
}

/// Settings that live outside the snapshot: log level, access-log switch, generation gauge, the
/// configured routes' and upstreams' series at zero.
fn apply_runtime(s: &Snapshot) {
    crate::logging::apply(s.server.log_level, s.server.access_log);
    let m = crate::metrics::metrics();
    m.set_config_generation(s.generation);
    m.init_config(s);
}

// === FileWatcher ===

/// What identifies one version of the file: the fully resolved target (a ConfigMap swap
/// changes it even when the new file has the same mtime and size), the link itself, and the
/// target's inode, mtime and length (an in-place edit or an atomic rename).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    target: Option<PathBuf>,
    link: Option<(u64, u64, Option<SystemTime>)>,
    file: Option<(u64, u64, Option<SystemTime>, u64)>,
}

pub(crate) fn fingerprint(path: &Path) -> Fingerprint {
    Fingerprint {
        target: std::fs::canonicalize(path).ok(),
        link: std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.modified().ok())),
        file: std::fs::metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino(), m.modified().ok(), m.len())),
    }
}

/// Polls one path for changes.
#[derive(Debug)]
pub struct FileWatcher {
    path: PathBuf,
    last: Fingerprint,
}

impl FileWatcher {
    /// Starts watching; the file as it is now counts as seen.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let last = fingerprint(&path);
        FileWatcher { path, last }
    }

    /// Whether the file changed since the last call (or since `new`).
    pub fn changed(&mut self) -> bool {
        let now = fingerprint(&self.path);
        if now == self.last {
            return false;
        }
        self.last = now;
        true
    }
}

/// Polls the secret files of the running snapshot. A path is compared with what the watcher saw
/// last, or — the first time — with the fingerprint taken when the snapshot read it, so a
/// rotation landing between the load and the first poll is not missed. A refused reload (an
/// empty secret) does not repeat every poll: the new fingerprint counts as seen.
#[derive(Debug, Default)]
pub struct SecretWatcher {
    seen: std::collections::HashMap<PathBuf, Fingerprint>,
}

impl SecretWatcher {
    /// An empty watcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// The secret files of `snapshot` that changed since the last call (or since it read them).
    pub fn changed(&mut self, snapshot: &Snapshot) -> Vec<PathBuf> {
        let files = &snapshot.secret_files;
        // Files the configuration no longer mentions are forgotten.
        self.seen.retain(|p, _| files.iter().any(|(q, _)| q == p));
        let mut changed = Vec::new();
        for (path, at_load) in files {
            let now = fingerprint(path);
            let before = self
                .seen
                .entry(path.clone())
                .or_insert_with(|| at_load.clone());
            if *before != now {
                *before = now;
                changed.push(path.clone());
            }
        }
        changed
    }
}

// === background triggers ===

/// The watcher threads; [`WatchHandle::stop`] ends them. Dropping the handle leaves them
/// running for the life of the process.
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl WatchHandle {
    /// Stops the threads and waits for them.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            // A panicked watcher thread has nothing left to clean up.
            let _ = t.join();
        }
    }
}

/// Starts the file watcher (every [`POLL_INTERVAL`]) and the `SIGHUP` listener, each in its
/// own thread, both calling [`Store::reload`].
pub fn spawn_watchers(store: Arc<Store>) -> std::io::Result<WatchHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let file = spawn_file_thread(store.clone(), POLL_INTERVAL, stop.clone())?;
    let hup = spawn_sighup_thread(store, stop.clone())?;
    Ok(WatchHandle {
        stop,
        threads: vec![file, hup],
    })
}

/// Only the file watcher, polling every `interval` (tests use a short one).
pub fn spawn_file_watcher(store: Arc<Store>, interval: Duration) -> std::io::Result<WatchHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let file = spawn_file_thread(store, interval, stop.clone())?;
    Ok(WatchHandle {
        stop,
        threads: vec![file],
    })
}

fn spawn_file_thread(
    store: Arc<Store>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let mut watcher = FileWatcher::new(store.path());
    // Starts empty: the first poll compares each file with its fingerprint from the load.
    let mut secrets = SecretWatcher::new();
    std::thread::Builder::new()
        .name("patchbay-config-watch".into())
        .spawn(move || {
            let mut tick: u32 = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(interval);
                tick = tick.wrapping_add(1);
                let mut reload = false;
                if watcher.changed() {
                    log::info!("config file {} changed", store.path().display());
                    reload = true;
                }
                if tick % SECRET_POLLS == 0 {
                    for path in secrets.changed(&store.current()) {
                        // The path names the secret; its value is never logged.
                        log::info!("secret file {} changed", path.display());
                        reload = true;
                    }
                }
                if reload {
                    store.reload();
                }
            }
        })
}

fn spawn_sighup_thread(
    store: Arc<Store>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registering here, before returning, means a SIGHUP sent right after startup reloads
    // instead of killing the process (its default action).
    let mut hup = rt.block_on(async {
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    })?;
    std::thread::Builder::new()
        .name("patchbay-sighup".into())
        .spawn(move || {
            rt.block_on(async move {
                while !stop.load(Ordering::Relaxed) {
                    match tokio::time::timeout(POLL_INTERVAL, hup.recv()).await {
                        Ok(Some(())) => {
                            log::info!("SIGHUP: reloading {}", store.path().display());
                            let s = store.clone();
                            // Reload does blocking file I/O; keep it off the signal loop.
                            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
                        }
                        Ok(None) => break,
                        Err(_) => {}
                    }
                }
            })
        })
}
