//! Secret references (`*_env` / `*_file`, read once or stood in for under `--no-secrets`) and
//! other files the config names.

use super::{join, Cx};
use crate::config::Secret;

impl Cx {
    /// Reads a secret given as exactly one of an environment variable (`{key}_env`) or a file
    /// (`{key}_file`) in the table at `path`.
    pub(super) fn secret(
        &mut self,
        path: &str,
        key: &str,
        env: &Option<String>,
        file: &Option<String>,
    ) -> Option<Secret> {
        let (env_key, file_key) = (format!("{key}_env"), format!("{key}_file"));
        match (env.as_deref(), file.as_deref()) {
            (Some(_), Some(_)) => {
                self.err(path, format!("set only one of {env_key} and {file_key}"));
                None
            }
            (Some(name), None) => self.secret_env(&join(path, &env_key), name),
            (None, Some(f)) => self.secret_file(&join(path, &file_key), f),
            (None, None) => None,
        }
    }

    /// What both sources check before reading: an empty name is an error, and under
    /// `--no-secrets` a stand-in is the answer. `Some(answer)` ends the lookup there.
    fn before_read(&mut self, path: &str, name: &str, what: &str) -> Option<Option<Secret>> {
        if name.is_empty() {
            self.err(path, format!("empty {what}"));
            return Some(None);
        }
        (!self.read_secrets).then(|| Some(unread(path)))
    }

    pub(super) fn secret_env(&mut self, path: &str, name: &str) -> Option<Secret> {
        if let Some(answer) = self.before_read(path, name, "environment variable name") {
            return answer;
        }
        match std::env::var(name) {
            Ok(v) if v.trim().is_empty() => {
                self.err(path, format!("environment variable {name} is empty"));
                None
            }
            Ok(v) => Some(Secret::new(v.trim())),
            Err(std::env::VarError::NotPresent) => {
                self.err(path, format!("environment variable {name} is not set"));
                None
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                self.err(
                    path,
                    format!("environment variable {name} is not valid UTF-8"),
                );
                None
            }
        }
    }

    pub(super) fn secret_file(&mut self, path: &str, file: &str) -> Option<Secret> {
        if let Some(answer) = self.before_read(path, file, "file name") {
            return answer;
        }
        let full = self.base_dir.join(file);
        if !self.secret_files.iter().any(|(p, _)| *p == full) {
            // Taken before the read: a rotation landing between the two still differs from it.
            let fp = crate::config::reload::fingerprint(&full);
            self.secret_files.push((full.clone(), fp));
        }
        match std::fs::read(&full) {
            Ok(bytes) => match String::from_utf8(bytes) {
                // Only the surrounding whitespace (the trailing newline editors add) is dropped.
                Ok(s) if s.trim().is_empty() => {
                    self.err(path, format!("file \"{file}\" is empty"));
                    None
                }
                Ok(s) => Some(Secret::new(s.trim())),
                Err(_) => {
                    self.err(path, format!("file \"{file}\" is not valid UTF-8"));
                    None
                }
            },
            Err(e) => {
                self.err(path, format!("cannot read file \"{file}\": {e}"));
                None
            }
        }
    }

    /// A file that must exist and be readable, resolved against the config's directory.
    pub(super) fn readable(&mut self, path: &str, file: &str) -> Option<std::path::PathBuf> {
        let full = self.base_dir.join(file);
        match std::fs::File::open(&full) {
            Ok(_) => Some(full),
            Err(e) => {
                self.err(path, format!("cannot read file \"{file}\": {e}"));
                None
            }
        }
    }
}

/// The stand-in for a secret that `--no-secrets` does not read: distinct per reference, so
/// checks that compare secrets see different values.
pub(super) fn unread(path: &str) -> Secret {
    Secret::new(format!("unread-secret:{path}"))
}
