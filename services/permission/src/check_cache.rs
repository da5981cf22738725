//! The check results cache. An answer is stored under the tenant's write
//! position at the time it was computed, with the tuple and the depth:
//! `check:<nid>:<position>:<depth>:<tuple digest>`. Every write that
//! changes tuples moves the position (see `changes`), so a check after it
//! looks under a new key and can never be answered from before it: writes
//! invalidate by moving on, nothing is deleted, and a key's value never
//! changes, so any replica may keep any entry it has seen.
//!
//! A check therefore costs one read of the position (a primary-key lookup,
//! on the calling thread on SQLite) and, when the answer is cached, nothing
//! more: no walk, however deep or wide. With Redis configured, entries are
//! shared by every replica (a miss here asks Redis before walking); each
//! replica also keeps the entries it used in memory.

use kernel::ports::CacheBus;
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How long an entry is kept. Entries of old positions are never asked for
/// again, so this only bounds memory.
const TTL: Duration = Duration::from_secs(300);
const LOCAL_CAPACITY: u64 = 200_000;

#[derive(Clone)]
pub struct CheckCache {
    local: Cache<String, bool>,
    shared: Option<Arc<dyn CacheBus>>,
}

impl Default for CheckCache {
    fn default() -> Self {
        Self {
            local: Cache::builder()
                .max_capacity(LOCAL_CAPACITY)
                .time_to_live(TTL)
                .build(),
            shared: None,
        }
    }
}

/// The cache key of one check.
pub fn key(nid: Uuid, position: i64, depth: u32, tuple_key: &str) -> String {
    format!("check:{nid}:{position}:{depth}:{tuple_key}")
}

impl CheckCache {
    /// Entries shared across replicas through `bus` (Redis).
    pub fn shared(bus: Arc<dyn CacheBus>) -> Self {
        Self {
            shared: Some(bus),
            ..Self::default()
        }
    }

    pub async fn get(&self, key: &str) -> Option<bool> {
        if let Some(hit) = self.local.get(key).await {
            return Some(hit);
        }
        let bytes = self.shared.as_ref()?.get(key).await?;
        let allowed = match bytes.as_slice() {
            b"1" => true,
            b"0" => false,
            _ => return None,
        };
        self.local.insert(key.to_owned(), allowed).await;
        Some(allowed)
    }

    pub async fn put(&self, key: String, allowed: bool) {
        if let Some(bus) = &self.shared {
            let value = if allowed {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            };
            bus.set(&key, value, TTL).await;
        }
        self.local.insert(key, allowed).await;
    }
}
