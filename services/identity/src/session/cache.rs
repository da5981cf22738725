//! The whoami cache: `toSession` is the hottest path of every tenant, so a
//! valid session's rendered answer is kept per process (moka) and, when
//! Redis is configured, shared across replicas through the `CacheBus`.
//!
//! Revocation is the hard part. Whoever revokes drops the shared entry,
//! then publishes `session.revoked` with the token digests; every replica
//! (this one included) drops its local entries on receipt, which is well
//! under a second on Redis pub/sub. A lookup that raced the revocation
//! (loaded from the database just before the commit, inserted after the
//! event) is caught by `recently_revoked`: a replica never caches a digest
//! it saw revoked in the last minute.

use chrono::{DateTime, Utc};
use kernel::clock::SharedClock;
use kernel::ports::{BusEvent, CacheBus};
use moka::future::Cache;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

pub const SESSION_REVOKED_TOPIC: &str = "session.revoked";

/// How long a replica trusts a cached answer without asking the database.
/// Revocations are pushed, so this only bounds a missed event.
const LOCAL_TTL: Duration = Duration::from_secs(60);

/// What whoami needs to answer from the cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedWhoami {
    pub session_id: Uuid,
    pub identity_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub aal: String,
    /// The revision whose rules (`session.whoami.required_aal`) this answer
    /// passed; under another revision it is checked again. Nil in entries
    /// cached by an older release, which are then checked again too.
    #[serde(default)]
    pub revision_id: Uuid,
    /// The rendered `session` JSON.
    pub body: String,
}

#[derive(Clone)]
pub struct SessionCache {
    local: Cache<String, Arc<CachedWhoami>>,
    recently_revoked: Cache<String, ()>,
    bus: Arc<dyn CacheBus>,
    clock: SharedClock,
}

fn key(nid: Uuid, token_hash: &str) -> String {
    format!("whoami:{nid}:{token_hash}")
}

impl SessionCache {
    pub fn new(bus: Arc<dyn CacheBus>, clock: SharedClock) -> Self {
        Self {
            local: Cache::builder()
                .max_capacity(200_000)
                .time_to_live(LOCAL_TTL)
                .build(),
            recently_revoked: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(60))
                .build(),
            bus,
            clock,
        }
    }

    /// A cached, still valid answer for this token digest.
    pub async fn get(&self, nid: Uuid, token_hash: &str) -> Option<Arc<CachedWhoami>> {
        let key = key(nid, token_hash);
        let now = self.clock.now();
        if let Some(hit) = self.local.get(&key).await {
            return (hit.expires_at > now).then_some(hit);
        }
        let shared = self.bus.get(&key).await?;
        let hit: CachedWhoami = serde_json::from_slice(&shared).ok()?;
        if hit.expires_at <= now || self.recently_revoked.contains_key(&key) {
            return None;
        }
        let hit = Arc::new(hit);
        self.local.insert(key, hit.clone()).await;
        Some(hit)
    }

    /// Caches an answer just loaded from the database.
    pub async fn put(&self, nid: Uuid, token_hash: &str, entry: CachedWhoami) {
        let key = key(nid, token_hash);
        if self.recently_revoked.contains_key(&key) {
            return;
        }
        let remaining = (entry.expires_at - self.clock.now())
            .to_std()
            .unwrap_or_default()
            .min(LOCAL_TTL);
        if remaining.is_zero() {
            return;
        }
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            self.bus.set(&key, bytes, remaining).await;
        }
        self.local.insert(key, Arc::new(entry)).await;
    }

    /// Drops these sessions everywhere: the shared entry now, this and
    /// every other replica's local entry through the bus.
    pub async fn forget(&self, nid: Uuid, token_hashes: &[String]) {
        if token_hashes.is_empty() {
            return;
        }
        let keys: Vec<String> = token_hashes.iter().map(|h| key(nid, h)).collect();
        for key in &keys {
            self.drop_local(key).await;
            self.bus.delete(key).await;
        }
        // Payloads stay small: a mass revocation goes out in chunks.
        for chunk in keys.chunks(200) {
            self.bus
                .publish(BusEvent {
                    topic: SESSION_REVOKED_TOPIC.to_owned(),
                    payload: chunk.join(","),
                })
                .await;
        }
    }

    async fn drop_local(&self, key: &str) {
        self.recently_revoked.insert(key.to_owned(), ()).await;
        self.local.invalidate(key).await;
    }

    /// Applies revocations announced by any replica, for the life of the process.
    pub fn spawn_revocation_listener(&self) {
        let cache = self.clone();
        let mut events = cache.bus.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.topic == SESSION_REVOKED_TOPIC => {
                        for key in event.payload.split(',') {
                            cache.drop_local(key).await;
                        }
                    }
                    Ok(event) if event.topic == store::cache::RESYNC_TOPIC => {
                        cache.local.invalidate_all();
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "session revocations lagged; dropping the whoami cache"
                        );
                        cache.local.invalidate_all();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}
