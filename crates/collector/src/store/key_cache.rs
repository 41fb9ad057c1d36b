//! Agent keys recently found valid, so the hot path (every ingest asks who sent it) skips a
//! database read.
//!
//! Revoking an agent through the store forgets its key at once. A revocation written by
//! another process (a second collector, a command-line tool on the same database) takes
//! effect once the entry expires, within [`KEY_CACHE_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long a key found valid is trusted without asking the database again.
pub(super) const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Most keys kept; when full the cache starts over (one read per agent refills it).
const CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub(super) struct KeyCache {
    /// Key hash -> (agent, when it was checked).
    entries: Mutex<HashMap<String, (Uuid, Instant)>>,
}

impl KeyCache {
    pub(super) fn get(&self, key_hash: &str) -> Option<Uuid> {
        let entries = self.entries.lock().ok()?;
        let (agent, checked) = entries.get(key_hash)?;
        (checked.elapsed() < KEY_CACHE_TTL).then_some(*agent)
    }

    pub(super) fn insert(&self, key_hash: String, agent: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(key_hash, (agent, Instant::now()));
        }
    }

    pub(super) fn forget(&self, agent: Uuid) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (cached, _)| *cached != agent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_revoked_agents_and_old_entries() {
        let cache = KeyCache::default();
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        cache.insert("a".into(), alice);
        cache.insert("b".into(), bob);
        cache.forget(alice);
        assert_eq!((cache.get("a"), cache.get("b")), (None, Some(bob)));
        if let Ok(mut entries) = cache.entries.lock() {
            entries.insert("old".into(), (bob, Instant::now() - KEY_CACHE_TTL));
        }
        assert_eq!(cache.get("old"), None);
    }
}
