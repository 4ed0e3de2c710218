//! Shared helpers for the integration tests.
//!
//! Use from a test file (`tests/foo.rs`) with
//!
//! ```ignore
//! mod support;
//! use support::rig::MailRig;
//! ```
//!
//! Every test binary compiles its own copy of this module and uses only part of
//! it, hence the `dead_code` allowance (clippy runs with `-D warnings`).
#![allow(dead_code)]

pub mod rig;
