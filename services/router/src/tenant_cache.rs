//! Tenant contexts cached per process and invalidated by the bus.

use kernel::ports::CacheBus;
use kernel::tenant::{LocalTenantCache, PROJECT_CHANGED_TOPIC, TenantCtx, TenantDirectory};
use kernel::{Error, Result};
use moka::future::Cache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;

type Resolved = Option<Arc<TenantCtx>>;

/// Caches tenant contexts (and unknown slugs) per process.
///
/// Two levels: `hot`, a plain map read under a shared lock, answers nearly
/// every request (a hit is a hash and a clock read; `moka`'s own hit path,
/// with its read log and housekeeping, was a fifth of what tenant routing
/// cost per request under callgrind); `loads`, a moka cache, makes
/// concurrent misses for one slug share one database load and bounds how
/// many contexts a process keeps.
///
/// Built before the control plane, which is handed it as its
/// `LocalTenantCache`, and before the `TenantResolver` that reads through it.
#[derive(Clone)]
pub struct TenantCache {
    loads: Cache<String, Resolved>,
    hot: Arc<RwLock<HashMap<String, (Resolved, Instant)>>>,
    /// Bumped by every invalidation: a load that started before one must
    /// not put what it read into `hot` afterwards.
    epoch: Arc<AtomicU64>,
    ttl: Duration,
    capacity: usize,
}

impl TenantCache {
    /// `ttl` bounds staleness if an invalidation is ever missed (e.g. a
    /// Redis outage longer than the resync covers).
    pub fn new(ttl: Duration) -> Self {
        const CAPACITY: usize = 100_000;
        let loads = Cache::builder()
            .max_capacity(CAPACITY as u64)
            .time_to_live(ttl)
            .build();
        Self {
            loads,
            hot: Arc::default(),
            epoch: Arc::default(),
            ttl,
            capacity: CAPACITY,
        }
    }

    /// The tenant for a slug, loaded from `directory` on a miss; concurrent
    /// misses for one slug share one load.
    pub async fn resolve(
        &self,
        slug: &str,
        directory: &Arc<dyn TenantDirectory>,
    ) -> Result<Resolved> {
        if let Some(hit) = self.hot_hit(slug) {
            return Ok(hit);
        }
        // Boxed: the load's future (moka's, the directory's) is large, and
        // inlined it would make every request's middleware future as large,
        // allocated and copied on every hit.
        Box::pin(self.load(slug, directory)).await
    }

    async fn load(&self, slug: &str, directory: &Arc<dyn TenantDirectory>) -> Result<Resolved> {
        let epoch = self.epoch.load(Ordering::Acquire);
        let directory = directory.clone();
        let key = slug.to_owned();
        let resolved = self
            .loads
            .try_get_with(key.clone(), async move {
                directory.find_by_slug(&key).await.map(|t| t.map(Arc::new))
            })
            .await
            .map_err(|e: Arc<Error>| e.as_ref().clone())?;
        if !self.remember(slug, &resolved, epoch) {
            // An invalidation came in while this load ran: what it read may
            // be from before the change, so it is used for this request
            // only and not kept in `loads` either.
            self.loads.invalidate(slug).await;
        }
        Ok(resolved)
    }

    fn hot_hit(&self, slug: &str) -> Option<Resolved> {
        let hot = self.hot.read().unwrap_or_else(|e| e.into_inner());
        let (resolved, loaded_at) = hot.get(slug)?;
        (loaded_at.elapsed() < self.ttl).then(|| resolved.clone())
    }

    /// Keeps a load in `hot` unless an invalidation came in since it began
    /// (then false).
    fn remember(&self, slug: &str, resolved: &Resolved, epoch: u64) -> bool {
        let mut hot = self.hot.write().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::Acquire) != epoch {
            return false;
        }
        if hot.len() >= self.capacity {
            // Bounded like `loads`: start over rather than track recency on
            // the hit path; the contexts are reloaded on demand.
            hot.clear();
        }
        hot.insert(slug.to_owned(), (resolved.clone(), Instant::now()));
        true
    }

    pub async fn invalidate(&self, slug: &str) {
        {
            let mut hot = self.hot.write().unwrap_or_else(|e| e.into_inner());
            self.epoch.fetch_add(1, Ordering::AcqRel);
            hot.remove(slug);
        }
        self.loads.invalidate(slug).await;
    }

    pub fn invalidate_all(&self) {
        {
            let mut hot = self.hot.write().unwrap_or_else(|e| e.into_inner());
            self.epoch.fetch_add(1, Ordering::AcqRel);
            hot.clear();
        }
        self.loads.invalidate_all();
    }

    /// Listens on the bus for the life of the process: a changed project
    /// drops its cached context; a resync (after a bus outage) or a lagged
    /// receiver drops them all.
    pub fn spawn_invalidation_listener(
        &self,
        bus: Arc<dyn CacheBus>,
    ) -> tokio::task::JoinHandle<()> {
        let cache = self.clone();
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.topic == PROJECT_CHANGED_TOPIC => {
                        cache.invalidate(&event.payload).await
                    }
                    Ok(event) if event.topic == store::cache::RESYNC_TOPIC => {
                        cache.invalidate_all()
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "tenant invalidations lagged; dropping all cached tenants"
                        );
                        cache.invalidate_all();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl LocalTenantCache for TenantCache {
    async fn invalidate(&self, slug: &str) {
        TenantCache::invalidate(self, slug).await;
    }
}
