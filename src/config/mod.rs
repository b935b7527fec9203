//! `gateway.toml`: loading, validation, the runtime snapshot and hot reload (SPEC §5).
//!
//! The flow is `text → raw (serde, unknown keys rejected) → validate (every problem collected
//! with its key path) → Snapshot (immutable, secrets loaded)`. Only [`Snapshot`] and its parts
//! reach the proxy; [`raw`] is an implementation detail of validation.
//!
//! Entry points: [`load`] (one file, one generation), [`check_file`] (`patchbay check`), and
//! [`Store`] (the `ArcSwap` the proxy reads, with [`Store::reload`] and [`spawn_watchers`]).
//!
//! Relative secret file paths are resolved against the directory of the config file, so a
//! config works the same whatever the working directory (and a Kubernetes ConfigMap can ship
//! the file next to its secrets).

mod cidr;
mod locate;
pub mod raw;
pub mod reload;
mod snapshot;
mod validate;

pub use cidr::Cidr;
pub use reload::{
    spawn_file_watcher, spawn_watchers, FileWatcher, ReloadOutcome, SecretWatcher, Store,
    WatchHandle,
};
pub use snapshot::{
    ClientAuth, ClusterConf, ClusterFallback, ListenerTls, OAuthClient, Route, SandboxConf, Secret,
    ServerConf, Snapshot, TokenKey, Upstream, UpstreamAuth, REDACTED,
};
pub use validate::{
    parse_url, DEFAULT_ADMIN, DEFAULT_LISTEN, DEFAULT_TOKEN_KEY_ID, DEFAULT_TOKEN_PATH,
};

use std::path::Path;

/// The most `server.max_body_bytes` may be: the proxy holds the whole body in Pingora's retry
/// buffer (64 KiB) so a failed connection can be retried and the body translated.
pub const MAX_BODY_BYTES_CAP: usize = 65_536;

/// One problem found in a config file: where (key path such as `route[2].upstream`) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Key path; empty for problems with the whole file (syntax errors).
    pub path: String,
    /// What is wrong. Never contains a secret value.
    pub message: String,
}

impl Problem {
    /// Builds a problem.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A refused configuration: every error, plus the warnings found on the way.
/// `Display` prints one error per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors {
    /// Fatal problems (at least one).
    pub errors: Vec<Problem>,
    /// Non-fatal remarks.
    pub warnings: Vec<Problem>,
}

impl ConfigErrors {
    /// A single error not tied to a key (unreadable file).
    pub fn single(message: impl Into<String>) -> Self {
        ConfigErrors {
            errors: vec![Problem::new("", message)],
            warnings: Vec::new(),
        }
    }
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// An accepted configuration and its warnings.
#[derive(Debug)]
pub struct Loaded {
    /// The snapshot.
    pub snapshot: Snapshot,
    /// Non-fatal remarks to log.
    pub warnings: Vec<Problem>,
}

/// Reads, validates and builds one file as generation `generation`.
pub fn load(path: &Path, generation: u64) -> Result<Loaded, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::single(format!("cannot read {}: {e}", path.display())))?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    // `Path::new("gateway.toml").parent()` is `Some("")`, which joins as the working dir.
    validate::build(&text, path, base, generation)
}

/// Validates TOML text; relative secret paths are resolved against `base_dir`. For tests and
/// tools that hold the text in memory.
pub fn load_str(text: &str, base_dir: &Path, generation: u64) -> Result<Loaded, ConfigErrors> {
    validate::build(text, Path::new("<memory>"), base_dir, generation)
}

/// `patchbay check FILE`: the printable report (every error and warning, one per line, then a
/// summary line) and whether the file is usable. Exit non-zero when `false`.
pub fn check_file(path: &Path) -> (String, bool) {
    check_file_with(path, true)
}

/// [`check_file`]; with `read_secrets` false the secrets are not read (`patchbay check
/// --no-secrets`: a CI job validates a production file without its secrets). Each problem line
/// starts with `file:line:col:` where the key path could be found in the file, then the key
/// path and the message.
pub fn check_file_with(path: &Path, read_secrets: bool) -> (String, bool) {
    let text = std::fs::read_to_string(path);
    let result = match &text {
        Ok(t) => {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            validate::build_with(t, path, base, 1, read_secrets)
        }
        Err(e) => Err(ConfigErrors::single(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    };
    let (errors, warnings) = match result {
        Ok(l) => (Vec::new(), l.warnings),
        Err(e) => (e.errors, e.warnings),
    };
    let locator = text.as_deref().ok().map(locate::Locator::new);
    let at = |p: &Problem| {
        locator
            .as_ref()
            .filter(|_| !p.path.is_empty())
            .and_then(|l| l.locate(&p.path))
            .map_or_else(String::new, |(line, col)| {
                format!("{}:{line}:{col}: ", path.display())
            })
    };
    let mut out = String::new();
    for e in &errors {
        out.push_str(&format!("{}error: {e}\n", at(e)));
    }
    for w in &warnings {
        out.push_str(&format!("{}warning: {w}\n", at(w)));
    }
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let secrets = if read_secrets {
        ""
    } else {
        ", secrets not read"
    };
    if errors.is_empty() {
        out.push_str(&format!(
            "{}: ok ({}{secrets})\n",
            path.display(),
            plural(warnings.len(), "warning")
        ));
    } else {
        out.push_str(&format!(
            "{}: {}, {}{secrets}\n",
            path.display(),
            plural(errors.len(), "error"),
            plural(warnings.len(), "warning")
        ));
    }
    (out, errors.is_empty())
}

/// Static keys that differ between two snapshots: they need a restart (Pingora graceful
/// upgrade), so a reload that changes them is refused.
pub fn static_changes(old: &Snapshot, new: &Snapshot) -> Vec<String> {
    let mut keys = Vec::new();
    let (o, n) = (&old.server, &new.server);
    if o.listen != n.listen {
        keys.push("server.listen".to_string());
    }
    if o.admin != n.admin {
        keys.push("server.admin".to_string());
    }
    if o.threads != n.threads {
        keys.push("server.threads".to_string());
    }
    // The listener is built once; only the certificate files' contents rotate live.
    if o.tls != n.tls {
        keys.push("server.tls".to_string());
    }
    match (&old.sandbox, &new.sandbox) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            for (d, addr) in a.addrs.iter() {
                if *addr != b.addr(d) {
                    keys.push(format!("sandbox.{}", SandboxConf::addr_key(d)));
                }
            }
            // The backends are started with their credential; a new one needs new backends.
            if a.secret != b.secret {
                keys.push("sandbox.secret".to_string());
            }
        }
        _ => keys.push("sandbox.enabled".to_string()),
    }
    // The cluster client (its Redis, lease length, fallback) is built once at start; only its
    // password follows a rotated secret without a restart.
    let cluster_same = match (&old.cluster, &new.cluster) {
        (None, None) => true,
        (Some(a), Some(b)) => a.static_part() == b.static_part(),
        _ => false,
    };
    if !cluster_same {
        keys.push("cluster".to_string());
    }
    keys
}

#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
pub(crate) mod tests;
