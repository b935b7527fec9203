//! patchbay: a reverse-proxy translation gateway for customer-update APIs.
//!
//! Clients keep calling the customer-update API they were written for (Help Scout Mailbox API
//! v2, Help Scout legacy v1, HelpCrunch or Reach); patchbay validates the request, rewrites it
//! into the configured upstream's dialect, forwards it and translates the answer back.
//!
//! Module map:
//! - [`canonical`]: the canonical customer, change sets and the one error type.
//! - [`dialect`]: the four vendor dialects behind one trait, plus shared validation rules.
//! - [`translate`]: the planner — stateless fast path or one read of state, unmappable policy,
//!   target-side validation, error mapping back into the client's terms.
#![forbid(unsafe_code)]

pub mod canonical;
pub mod dialect;
pub mod sandbox;
pub mod translate;
pub mod config;
pub mod metrics;
pub mod admin;
pub mod logging;
pub mod proxy;
pub mod server;
