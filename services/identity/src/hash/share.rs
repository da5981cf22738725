//! Each project's share of the hashing threads. The threads take jobs in
//! order, so without a share one tenant's flood of logins would queue
//! ahead of everyone else's and every other tenant's sign-up would wait
//! behind it. With one, a project has at most `share` jobs in the pool at
//! once; its further requests wait on their own project's semaphore, and
//! another project's job is queued behind at most `share` jobs of each
//! busy project: its wait is bounded however big the flood.

use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

pub(crate) struct ProjectShares {
    share: usize,
    /// Idle projects' semaphores are dropped after a while (a new one
    /// starts full, which an idle one is).
    semaphores: Cache<Uuid, Arc<Semaphore>>,
}

impl ProjectShares {
    pub(crate) fn new(share: usize) -> Self {
        Self {
            share: share.max(1),
            semaphores: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// Waits for one of `project`'s places in the pool; held until the job
    /// is done.
    pub(crate) async fn enter(&self, project: Uuid) -> Option<OwnedSemaphorePermit> {
        let share = self.share;
        let semaphore = self
            .semaphores
            .get_with(project, async move { Arc::new(Semaphore::new(share)) })
            .await;
        semaphore.acquire_owned().await.ok()
    }
}
