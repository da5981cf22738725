//! In-process cache (moka) and bus (tokio broadcast): the embedded default.

use async_trait::async_trait;
use kernel::ports::{BusEvent, CacheBus};
use kernel::rate_limit::{Attempts, BackOff, BucketLimit, gcra};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Entry {
    value: Arc<Vec<u8>>,
    ttl: Duration,
}

/// A back-off counter, kept for its policy's window after each change.
#[derive(Clone, Copy)]
struct Counter {
    attempts: Attempts,
    ttl: Duration,
}

/// Something that lives for the ttl it was (last) stored with.
trait Ttl {
    fn ttl(&self) -> Duration;
}

impl Ttl for Entry {
    fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl Ttl for Counter {
    fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// Each entry lives for the ttl it was set with.
struct PerEntryTtl;

impl<V: Ttl> Expiry<String, V> for PerEntryTtl {
    fn expire_after_create(&self, _key: &String, value: &V, _at: Instant) -> Option<Duration> {
        Some(value.ttl())
    }
    fn expire_after_update(
        &self,
        _key: &String,
        value: &V,
        _at: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl())
    }
}

pub struct MemoryCacheBus {
    cache: Cache<String, Entry>,
    /// Token buckets (rate limits): each bucket's theoretical arrival
    /// time, in microseconds since `epoch`.
    buckets: Cache<String, Arc<Mutex<u64>>>,
    /// Back-off counters (failed logins).
    attempts: Cache<String, Counter>,
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
        let attempts = Cache::builder()
            .max_capacity(max_entries)
            .expire_after(PerEntryTtl)
            .build();
        let (bus, _) = broadcast::channel(1024);
        Self {
            cache,
            buckets,
            attempts,
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

    async fn take_attempt(
        &self,
        key: &str,
        now_ms: u64,
        policy: BackOff,
    ) -> Option<Result<(), Duration>> {
        let ttl = Duration::from_millis(policy.window_ms);
        let mut outcome = Ok(());
        // Computed under the entry's lock: concurrent attempts on one key
        // are counted one after the other.
        self.attempts
            .entry_by_ref(key)
            .and_compute_with(|stored| {
                let op = match policy.attempt(stored.map(|e| e.into_value().attempts), now_ms) {
                    Ok(attempts) => Op::Put(Counter { attempts, ttl }),
                    Err(wait) => {
                        outcome = Err(Duration::from_millis(wait));
                        Op::Nop
                    }
                };
                std::future::ready(op)
            })
            .await;
        Some(outcome)
    }

    async fn forgive_attempt(&self, key: &str) {
        self.attempts
            .entry_by_ref(key)
            .and_compute_with(|stored| {
                std::future::ready(match stored.map(|e| e.into_value()) {
                    Some(mut counter) if counter.attempts.count > 0 => {
                        counter.attempts.count -= 1;
                        Op::Put(counter)
                    }
                    _ => Op::Nop,
                })
            })
            .await;
    }

    async fn clear_attempts(&self, key: &str) {
        self.attempts.invalidate(key).await;
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
