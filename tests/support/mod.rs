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

pub mod proxy;
pub mod rig;

use std::path::{Path, PathBuf};

/// Every `.eml` file under `dir`, recursively, sorted.
pub fn emls_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
