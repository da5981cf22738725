//! In-process cache (moka) and bus (tokio broadcast): the embedded default.

use async_trait::async_trait;
use kernel::ports::{BusEvent, CacheBus};
use kernel::rate_limit::{BucketLimit, gcra};
use moka::Expiry;
use moka::future::Cache;
use std::sync::Arc;
use std::sync::Mutex;
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
    /// Token buckets (rate limits): each bucket's theoretical arrival
    /// time, in microseconds since `epoch`.
    buckets: Cache<String, Arc<Mutex<u64>>>,
    epoch: Instant,
    bus: broadcast::Sender<BusEvent>,
}

/// A bucket untouched this long is dropped; it comes back full, which it
/// would be by then anyway unless a plan refills slower than burst/hour.
const BUCKET_IDLE: Duration = Duration::from_secs(3600);

impl MemoryCacheBus {
    pub fn new(max_entries: u64) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_entries)
            .expire_after(PerEntryTtl)
            .build();
        let buckets = Cache::builder()
            .max_capacity(max_entries)
            .time_to_idle(BUCKET_IDLE)
            .build();
        let (bus, _) = broadcast::channel(1024);
        Self {
            cache,
            buckets,
            epoch: Instant::now(),
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

    async fn take_token(&self, key: &str, limit: BucketLimit) -> Option<Result<(), Duration>> {
        // A fresh bucket starts full: tat 0 is "long ago".
        let bucket = self
            .buckets
            .get_with_by_ref(key, async { Arc::new(Mutex::new(0)) })
            .await;
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut tat = bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(match gcra(Some(*tat), now, limit) {
            Ok(new_tat) => {
                *tat = new_tat;
                Ok(())
            }
            Err(wait) => Err(Duration::from_micros(wait)),
        })
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
