//! Unit tests of `crate::tls`.
