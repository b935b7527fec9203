//! patchbay: a reverse-proxy translation gateway for customer-update APIs.
//!
//! Clients keep calling the customer-update API they were written for (Help Scout Mailbox API
//! v2, Help Scout legacy v1, HelpCrunch or Reach); patchbay validates the request, rewrites it
//! into the configured upstream's dialect, forwards it and translates the answer back.
//!
//! Module map (details in `docs/architecture.md`):
//! - [`canonical`]: the canonical customer, change sets and the one error type.
//! - [`dialect`]: the four vendor dialects behind one trait, plus shared validation rules.
//! - [`translate`]: the planner — stateless fast path or one read of state, unmappable policy,
//!   target-side validation, error mapping back into the client's terms.
//! - [`proxy`]: the Pingora service: routing, credentials, bounded bodies, the translated flow.
//! - [`oauth`]: the client-credentials token exchange shared by the gateway and the sandbox.
//! - [`config`]: `gateway.toml` → validated, immutable snapshot; hot reload.
//! - [`metrics`], [`logging`], [`admin`]: Prometheus families, JSON logs, the admin listener.
//! - [`sandbox`]: in-memory reference backends of the four vendors.
//! - [`server`]: assembles and runs the Pingora server.
//! - [`tls`]: the HTTPS listener (h2, rotating certificates, client certificates) and upstream CAs.
#![forbid(unsafe_code)]

pub mod admin;
pub mod canonical;
pub mod cluster;
pub mod config;
pub mod dialect;
pub mod logging;
pub mod metrics;
pub mod oauth;
pub mod proxy;
pub mod sandbox;
pub mod server;
pub mod tls;
pub mod translate;
