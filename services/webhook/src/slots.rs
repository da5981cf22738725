//! How many Jsonnet workers run at once, and each project's part of them.
//! A worker is a process with `jsonnet_memory_mb` of address space and up
//! to `jsonnet_timeout_ms` of CPU, so the server bounds them all (the
//! global slots); and since those slots are taken in arrival order, a
//! tenant flooding its sign-up with a heavy template would otherwise make
//! every other tenant's hook wait behind its queue, or run out of its
//! deadline there. A project therefore holds at most its share of the
//! slots (`kernel::share`); its further renders wait on its own semaphore.

use kernel::share::ProjectShares;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Workers allowed at once: two per core, so rendering keeps the CPUs busy
/// without starving the server.
pub(crate) fn worker_slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

#[derive(Debug, Clone)]
pub(crate) struct RenderSlots {
    global: Arc<Semaphore>,
    shares: ProjectShares,
}

/// A place to run one worker: the project's and the server's, both given
/// back when dropped.
pub(crate) struct Slot {
    _share: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

impl RenderSlots {
    /// `global` slots in all, at most `per_project` of them (clamped to
    /// 1..=`global`) for one project.
    pub(crate) fn new(global: usize, per_project: usize) -> Self {
        let global = global.max(1);
        Self {
            global: Arc::new(Semaphore::new(global)),
            shares: ProjectShares::new(per_project.clamp(1, global)),
        }
    }

    /// Waits for a place of `project`'s, then for one of the server's.
    /// In that order: a project at its share never holds a server slot
    /// while it waits. None only if a semaphore was closed.
    pub(crate) async fn enter(&self, project: Uuid) -> Option<Slot> {
        let share = self.shares.enter(project).await?;
        let global = Arc::clone(&self.global).acquire_owned().await.ok()?;
        Some(Slot {
            _share: share,
            _global: global,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_millis(50);

    /// The flood of one project fills only its share: another project
    /// still finds a free slot, where without shares it would queue behind
    /// the flood.
    #[tokio::test]
    async fn a_flooding_project_leaves_the_other_slots_free() {
        let slots = RenderSlots::new(4, 2);
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let _a1 = slots.enter(a).await.unwrap();
        let _a2 = slots.enter(a).await.unwrap();
        // A's further renders queue on A's own semaphore, not the server's.
        let queued: Vec<_> = (0..6)
            .map(|_| {
                let slots = slots.clone();
                tokio::spawn(async move { slots.enter(a).await.map(|_slot| ()) })
            })
            .collect();
        tokio::time::sleep(WAIT).await;
        assert_eq!(slots.global.available_permits(), 2);
        let b1 = tokio::time::timeout(WAIT, slots.enter(b)).await.unwrap();
        let _c1 = tokio::time::timeout(WAIT, slots.enter(c)).await.unwrap();
        assert_eq!(slots.global.available_permits(), 0);
        // The server's slots are all out now: the next one waits, and a
        // slot given back is taken.
        assert!(tokio::time::timeout(WAIT, slots.enter(b)).await.is_err());
        drop(b1);
        assert!(tokio::time::timeout(WAIT, slots.enter(b)).await.is_ok());
        for handle in queued {
            handle.abort();
        }
    }

    #[test]
    fn the_share_is_at_least_one_and_at_most_every_slot() {
        assert_eq!(RenderSlots::new(4, 0).shares.share(), 1);
        assert_eq!(RenderSlots::new(4, 2).shares.share(), 2);
        assert_eq!(RenderSlots::new(4, 9).shares.share(), 4);
    }
}
