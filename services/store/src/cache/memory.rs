//! In-process cache (moka) and bus (tokio broadcast): the embedded default.

use async_trait::async_trait;
use kernel::ports::{BusEvent, CacheBus};
use moka::Expiry;
use moka::future::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Entry {
    value: Arc<Vec<u8>>,
    ttl: Duration,
}

/// Each entry lives for the ttl it was set with.
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &Entry, _at: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
    fn expire_after_update(
        &self,
        _key: &String,
        value: &Entry,
        _at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub struct MemoryCacheBus {
    cache: Cache<String, Entry>,
    /// Hit counters (rate limits): keys name their own window, so one
    /// short lifetime fits them all.
    counters: Cache<String, Arc<AtomicU64>>,
    bus: broadcast::Sender<BusEvent>,
}

/// How long an in-process counter lives: longer than any window counted.
const COUNTER_TTL: Duration = Duration::from_secs(10);

impl MemoryCacheBus {
    pub fn new(max_entries: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_entries)
            .expire_after(PerEntryTtl)
            .build();
        let counters = Cache::builder()
            .max_capacity(max_entries)
            .time_to_live(COUNTER_TTL)
            .build();
        let (bus, _) = broadcast::channel(1024);
        Self {
            cache,
            counters,
            bus,
        }
    }
}

impl Default for MemoryCacheBus {
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[async_trait]
impl CacheBus for MemoryCacheBus {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.cache.get(key).await.map(|e| e.value.as_ref().clone())
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let entry = Entry {
            value: Arc::new(value),
            ttl,
        };
        self.cache.insert(key.to_owned(), entry).await;
    }

    async fn delete(&self, key: &str) {
        self.cache.invalidate(key).await;
    }

    async fn count_hit(&self, key: &str, _ttl: Duration) -> Option<u64> {
        let counter = self
            .counters
            .get_with_by_ref(key, async { Arc::new(AtomicU64::new(0)) })
            .await;
        Some(counter.fetch_add(1, Ordering::Relaxed) + 1)
    }

    async fn publish(&self, event: BusEvent) {
        // No subscriber yet is fine: nothing is cached that could go stale.
        let _ = self.bus.send(event);
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.bus.subscribe()
    }

    async fn health(&self) -> Result<(), String> {
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
