//! `[sandbox]`: the built-in backends' addresses, credential and TLS files.

use super::Cx;
use crate::config::raw::RawSandbox;
use crate::config::SandboxConf;
use crate::dialect::{DialectId, PerDialect};

/// Default sandbox addresses, in [`DialectId::ALL`] order.
pub const DEFAULT_SANDBOX: [&str; DialectId::COUNT] = [
    "127.0.0.1:18102",
    "127.0.0.1:18101",
    "127.0.0.1:18103",
    "127.0.0.1:18104",
];

/// `Some(None)`: disabled; `None`: errors were recorded.
pub(super) fn sandbox(cx: &mut Cx, s: RawSandbox) -> Option<Option<SandboxConf>> {
    if !s.enabled.unwrap_or(true) {
        return Some(None);
    }
    // The public keys, in `DialectId::ALL` order; sized by the dialect count so that a new
    // dialect without its key does not compile.
    let given: [&Option<String>; DialectId::COUNT] =
        [&s.helpscout_v2, &s.helpscout_v1, &s.helpcrunch, &s.reach];
    let addrs = PerDialect::from_fn(|d| {
        let key = format!("sandbox.{}", SandboxConf::addr_key(d));
        let value = given[d.index()].as_deref();
        cx.addr(&key, value.unwrap_or(DEFAULT_SANDBOX[d.index()]))
    });
    let secret = cx.secret("sandbox", "secret", &s.secret_env, &s.secret_file);
    if s.secret_env.is_none() && s.secret_file.is_none() {
        cx.err(
            "sandbox.secret_file",
            "required (or sandbox.secret_env) when the sandbox is enabled",
        );
    }
    let tls = match (s.tls_cert_file.as_deref(), s.tls_key_file.as_deref()) {
        (None, None) => Some(None),
        (Some(cert), Some(key)) => {
            let cert = cx.readable("sandbox.tls_cert_file", cert);
            let key = cx.readable("sandbox.tls_key_file", key);
            Some(cert.zip(key))
        }
        (Some(_), None) => {
            cx.err(
                "sandbox.tls_key_file",
                "required with sandbox.tls_cert_file",
            );
            None
        }
        (None, Some(_)) => {
            cx.err(
                "sandbox.tls_cert_file",
                "required with sandbox.tls_key_file",
            );
            None
        }
    };
    Some(Some(SandboxConf {
        addrs: addrs.transpose()?,
        secret: secret?,
        tls: tls?,
    }))
}
