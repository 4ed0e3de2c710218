//! What the two mail adapters (IMAP in `source`, SMTP in `send`) share about TLS set-up:
//! reading a `ca_file` bundle into its certificates, and keeping built connectors.
//!
//! Why keep them: a TLS context with the system roots makes OpenSSL read and parse the whole
//! CA bundle (~45 ms of CPU with OpenSSL 3.0 on the benchmark machine, twice that for
//! lettre's native-tls parameters, which parse it twice), before a single byte goes to the
//! server. A daemon that reconnects after every dropped connection, and sends a digest with
//! retries, would pay that each time. A context depends only on the trusted roots, so one
//! per distinct `ca_file` content is enough for the life of the process.

use std::sync::{Mutex, PoisonError};

/// How many distinct keys a [`Cache`] keeps: one per account and one for SMTP is the usual
/// case; the oldest is dropped beyond this, so a config that changes often cannot grow it.
const CACHE_ENTRIES: usize = 8;

/// The `CERTIFICATE` blocks of a PEM file, each from its BEGIN line to its END line, in
/// file order. Other blocks (keys, CRLs) and text between blocks are skipped; a BEGIN with
/// no END ends the list. Single-certificate readers such as `Certificate::from_pem` read
/// only the first block, and CA bundles commonly hold several.
pub fn pem_certificates(pem: &[u8]) -> Vec<&[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = memchr::memmem::find(rest, BEGIN) {
        let Some(len) = memchr::memmem::find(&rest[start..], END) else {
            break;
        };
        let end = start + len + END.len();
        blocks.push(&rest[start..end]);
        rest = &rest[end..];
    }
    blocks
}

/// Built values (connectors, TLS parameters) by the key they were built from (the CA
/// bundle's bytes, plus whatever else the value depends on). A lookup compares keys, so a
/// `ca_file` whose content changes gets a new connector on the next connection, without a
/// restart.
pub struct Cache<K, V> {
    entries: Mutex<Vec<(K, V)>>,
}

impl<K: PartialEq, V: Clone> Cache<K, V> {
    pub const fn new() -> Self {
        Cache {
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The value kept for `key`, or `build()`'s, which is kept when it succeeds. The lock
    /// is not held while building, so two first connections may both build; the later
    /// one is simply kept too (harmless, and it keeps a slow build from blocking others).
    pub fn get_or_build<E>(&self, key: K, build: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.lock().iter().find(|(k, _)| *k == key).map(|(_, v)| v) {
            return Ok(v.clone());
        }
        let v = build()?;
        let mut entries = self.lock();
        entries.retain(|(k, _)| *k != key);
        if entries.len() >= CACHE_ENTRIES {
            entries.remove(0);
        }
        entries.push((key, v.clone()));
        Ok(v)
    }

    /// A panic elsewhere while holding the lock cannot leave the list half-updated (every
    /// update is a single push or remove), so a poisoned lock is still safe to use.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(K, V)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: PartialEq, V: Clone> Default for Cache<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn pem_blocks_in_order_and_only_certificates() {
        let pem = b"junk\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\
            -----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n\
            -----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n\
            -----BEGIN CERTIFICATE-----\nunterminated";
        let blocks = pem_certificates(pem);
        assert_eq!(blocks.len(), 2);
        assert!(blocks[0].ends_with(b"AAA\n-----END CERTIFICATE-----"));
        assert!(blocks[1].starts_with(b"-----BEGIN CERTIFICATE-----\nBBB"));
        assert!(pem_certificates(b"").is_empty());
        assert!(pem_certificates(b"-----END CERTIFICATE-----").is_empty());
    }

    #[test]
    fn cache_builds_once_per_key_and_again_when_the_key_changes() {
        let cache: Cache<Option<Vec<u8>>, u32> = Cache::new();
        let builds = Cell::new(0);
        let build = |v: u32| {
            builds.set(builds.get() + 1);
            Ok::<_, ()>(v)
        };
        assert_eq!(cache.get_or_build(None, || build(1)), Ok(1));
        assert_eq!(cache.get_or_build(None, || build(2)), Ok(1));
        assert_eq!(builds.get(), 1);
        // A changed CA file is a new key: built, and the old entry stays for its key.
        assert_eq!(cache.get_or_build(Some(b"ca".to_vec()), || build(3)), Ok(3));
        assert_eq!(cache.get_or_build(Some(b"ca".to_vec()), || build(4)), Ok(3));
        assert_eq!(builds.get(), 2);
        // A failed build is not kept.
        assert_eq!(cache.get_or_build(Some(b"x".to_vec()), || Err(())), Err(()));
        assert_eq!(cache.get_or_build(Some(b"x".to_vec()), || build(5)), Ok(5));
        assert_eq!(builds.get(), 3);
    }

    #[test]
    fn cache_is_bounded() {
        let cache: Cache<u32, u32> = Cache::new();
        for k in 0..(CACHE_ENTRIES as u32 + 5) {
            cache.get_or_build(k, || Ok::<_, ()>(k)).unwrap();
        }
        assert_eq!(cache.lock().len(), CACHE_ENTRIES);
        // The newest are kept, the oldest were dropped.
        assert_eq!(cache.get_or_build(0, || Ok::<_, ()>(99)), Ok(99));
    }
}
