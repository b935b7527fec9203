//! The single integration-test binary (ripgrep style): every module below is one area.
//!
//! - `golden`: the golden fixtures — every client case against all four upstream dialects.

mod golden;
