//! The single integration-test binary (ripgrep style): every module below is one area.
//!
//! - `support`: starts the real gateway binary with sandbox upstreams; a raw HTTP client.
//! - `golden`: the golden fixtures — every client case against all four upstream dialects.
//! - `matrix`: every client dialect × every upstream dialect through real sockets.
//! - `ops`: hot reload under load, metrics (promtool, Prometheus), SIGTERM drain, access log, `check`.
//! - `upgrade`: Pingora graceful upgrade hands the listeners over without a refused connection.
//! - `tls`: HTTPS upstreams (self-signed sandbox certificate), verification on by default.
//! - `writes`: two upstream writes in order; a failed second write is reported as partial.
//! - `hostile`: hostile bytes through real sockets; nothing may reach the upstream.
//! - `regression`: replays every saved fuzz input through the fuzz harness (`fuzz/`).

mod support;

mod auth;
mod errors;
mod faults;
mod golden;
mod hostile;
mod matrix;
mod openapi;
mod ops;
mod regression;
mod roundtrip;
mod tls;
mod upgrade;
mod writes;
