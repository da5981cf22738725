//! Each project's share of a pool of expensive work (password hashing,
//! Jsonnet rendering). A pool taken in arrival order lets one tenant's
//! flood queue ahead of everyone else, so every other tenant's sign-up
//! waits behind it. With a share, a project has at most `share` jobs in the
//! pool at once; its further jobs wait on their own project's semaphore,
//! and another project's job is queued behind at most `share` jobs of each
//! busy project: its wait is bounded however big the flood.

use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// The per-project semaphores of one pool. Cheap to clone (the clones
/// share the semaphores).
#[derive(Clone)]
pub struct ProjectShares {
    share: usize,
    /// Idle projects' semaphores are dropped after a while (a new one
    /// starts full, which an idle one is). Jobs are far shorter than the
    /// idle time, so a semaphore with permits out is never idle that long.
    semaphores: Cache<Uuid, Arc<Semaphore>>,
}

impl std::fmt::Debug for ProjectShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectShares")
            .field("share", &self.share)
            .finish_non_exhaustive()
    }
}

impl ProjectShares {
    /// Shares of `share` places each (at least one).
    pub fn new(share: usize) -> Self {
        Self {
            share: share.max(1),
            semaphores: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// How many places each project has.
    pub fn share(&self) -> usize {
        self.share
    }

    /// `project`'s semaphore (a new one starts with every place free).
    async fn semaphore(&self, project: Uuid) -> Arc<Semaphore> {
        let share = self.share;
        self.semaphores
            .get_with(project, async move { Arc::new(Semaphore::new(share)) })
            .await
    }

    /// One of `project`'s places if one is free now, without waiting.
    pub async fn try_enter(&self, project: Uuid) -> Option<OwnedSemaphorePermit> {
        self.semaphore(project).await.try_acquire_owned().ok()
    }

    /// Waits for one of `project`'s places; held until the job is done.
    /// None only if the semaphore was closed, which nothing here does.
    pub async fn enter(&self, project: Uuid) -> Option<OwnedSemaphorePermit> {
        self.semaphore(project).await.acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_full_share_holds_back_only_its_own_project() {
        let shares = ProjectShares::new(2);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let first = shares.enter(a).await.unwrap();
        let _second = shares.enter(a).await.unwrap();
        let wait = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(wait, shares.enter(a)).await.is_err(),
            "a third job of a full share waits"
        );
        assert!(
            tokio::time::timeout(wait, shares.enter(b)).await.is_ok(),
            "another project's job does not"
        );
        drop(first);
        assert!(
            tokio::time::timeout(wait, shares.enter(a)).await.is_ok(),
            "a place freed is taken"
        );
    }

    #[test]
    fn a_share_is_at_least_one() {
        assert_eq!(ProjectShares::new(0).share(), 1);
        assert_eq!(ProjectShares::new(3).share(), 3);
    }
}
