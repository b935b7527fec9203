//! The single integration-test binary (ripgrep style): every module below is one area.
//!
//! - `support`: starts the real gateway binary with sandbox upstreams; a raw HTTP client.
//! - `golden`: the golden fixtures — every client case against all four upstream dialects.
//! - `roundtrip`: property tests — v1 ⇄ v2 change sets, GET round trips, planner safety.
//! - `matrix`: every client dialect × every upstream dialect through real sockets.
//! - `errors`: every client error (400/413/415/404/405, unmappable, target rules) per dialect.
//! - `auth`: client credentials, the gateway's OAuth tokens, upstream credentials, no leaks.
//! - `faults`: upstream down, slow, 5xx, garbage, 429; rate limit; no write retried; locks.
//! - `fidelity_data`: empty values echoed back (GET-modify-PUT per dialect), one-word names,
//!   full replacement without e-mail, timestamps in every client dialect's format.
//! - `fidelity_upstream`: upstream errors on the right element, same-dialect OAuth refresh, 405
//!   `Allow`, `reach-tenant-id` to Reach only, partial-write codes, client field names.
//! - `writes`: two upstream writes in order; a failed second write is reported as partial.
//! - `subresources`: the helpscout-v2 customer sub-resources (entries, address) toward every upstream.
//! - `tls`: HTTPS upstreams (self-signed sandbox certificate), verification on by default.
//! - `tls_listener`: HTTPS toward clients (HTTP/1.1 and h2), certificate rotation under load,
//!   client certificates and `cert_names`, upstreams verified through `ca_file` (wrong CA and
//!   expired certificate: 502, nothing applied).
//! - `hostile`: hostile bytes through real sockets; nothing may reach the upstream.
//! - `json_patch`: RFC 6902 test/move/copy in helpscout-v2 PATCH, evaluated against the upstream's state.
//! - `regression`: replays every saved fuzz input through the fuzz harness (`fuzz/`).
//! - `ops`: hot reload under load, metrics (promtool, Prometheus), SIGTERM drain, access log, `check`.
//! - `upgrade`: Pingora graceful upgrade hands the listeners over without a refused connection.
//! - `openapi`: the served OpenAPI document, and schemathesis against a running gateway.
//! - `fidelity`: issue 9 regressions — token parameters in the query string, 404s in the path's
//!   dialect, single-slot capacity and entry types (also through `patchbay translate`).
//! - `access`: the access-log fields, `X-Request-Id` / `traceparent` passed upstream, `logRef`,
//!   `X-Forwarded-For` from trusted proxies, the per-upstream in-flight bound.
//! - `sdks`: the five published Help Scout SDKs driven unchanged through a live gateway.
//! - `cluster`: two replicas on one Redis (`[cluster]`): contiguous read-modify-writes, shared
//!   rate limit and OAuth token, lease renewal, Redis killed and restarted.
//! - `rotation`: secret files rotated under a running gateway (Kubernetes Secret swap), token-key
//!   rotation with key ids, a bad new secret refused.
//! - `glue`: the lean data path — the plain-HTTP upstream pool (stale, misframed, over-long
//!   answers) and the listener without a per-connection read buffer (bodies in one segment and in pieces).
//! - `serve`: the gateway's own `HttpServerApp` — 400/405 before routing, keep-alive reuse and
//!   `Connection: close`/HTTP/1.0, one access line for a client gone mid-body, same-dialect
//!   requests toward Bearer/Basic HTTPS upstreams relayed (502 in the client's dialect).

mod support;

mod access;
mod auth;
mod cluster;
mod errors;
mod faults;
mod fidelity;
mod fidelity_data;
mod fidelity_upstream;
mod glue;
mod golden;
mod hostile;
mod json_patch;
mod matrix;
mod openapi;
mod ops;
mod regression;
mod rotation;
mod roundtrip;
mod sdks;
mod serve;
mod subresources;
mod tls;
mod tls_listener;
mod upgrade;
mod writes;
