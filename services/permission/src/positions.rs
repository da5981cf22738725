//! What this replica knows of each tenant's write position, so that a check
//! without a snaptoken on PostgreSQL need not ask the database for it: that
//! read is a round trip, which costs far more than a cached answer
//! (docs/benchmarks.md). On a SQLite file the position is read on the
//! calling thread for every check instead (a few microseconds), and this
//! is not used.
//!
//! A position becomes known from this replica's own writes (exact at their
//! commit: writes of one tenant are ordered by its position row), from the
//! other replicas' writes as the bus announces them (Redis, when
//! configured), and from a read of the database once the last exact
//! reading is older than `MAX_AGE`. That read runs beside the checks, not
//! in front of them: they go on with the known position meanwhile (the
//! first check of a tenant waits for its read). So a check without a
//! snaptoken answers from data that misses at most the last `MAX_AGE` (and
//! the time of one read) of another replica's writes, and usually none of
//! them; a check with a snaptoken reads the database first whenever the
//! known position has not reached the token.

use kernel::ports::{BusEvent, CacheBus};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// The bus topic of a committed write: `<nid>:<position>`.
pub const POSITION_TOPIC: &str = "permission.position";

/// How old the last exact reading of a position may be before a check
/// without a snaptoken reads it again.
pub const MAX_AGE: Duration = Duration::from_secs(1);

#[derive(Clone, Copy)]
struct Known {
    position: i64,
    /// When the position was last read exactly (from the database or at a
    /// local commit); announcements from the bus move `position` only.
    exact_at: Instant,
    /// A read of the position is under way (see `stale`).
    refreshing: bool,
}

/// A position this replica knows, and whether its last exact reading is
/// recent (younger than `MAX_AGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownPosition {
    pub position: i64,
    pub recent: bool,
}

#[derive(Clone, Default)]
pub struct KnownPositions {
    known: Arc<RwLock<HashMap<Uuid, Known>>>,
}

impl KnownPositions {
    /// The position, if an exact reading of it is younger than `MAX_AGE`.
    pub fn recent(&self, nid: Uuid) -> Option<i64> {
        self.get(nid).filter(|k| k.recent).map(|k| k.position)
    }

    /// The position as known, however old.
    pub fn get(&self, nid: Uuid) -> Option<KnownPosition> {
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        known.get(&nid).map(|k| KnownPosition {
            position: k.position,
            recent: k.exact_at.elapsed() < MAX_AGE,
        })
    }

    /// Claims the one read of a stale position: true for the first caller
    /// until `exact` or `refresh_failed` ends it, so a busy tenant sends
    /// one read, not one per check.
    pub fn claim_refresh(&self, nid: Uuid) -> bool {
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        match known.get_mut(&nid) {
            Some(entry) if !entry.refreshing => {
                entry.refreshing = true;
                true
            }
            _ => false,
        }
    }

    pub fn refresh_failed(&self, nid: Uuid) {
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = known.get_mut(&nid) {
            entry.refreshing = false;
        }
    }

    /// The position if known to have reached `at_least`, however old.
    pub fn reached(&self, nid: Uuid, at_least: i64) -> Option<i64> {
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        known
            .get(&nid)
            .map(|k| k.position)
            .filter(|p| *p >= at_least)
    }

    /// `position` was read exactly just now (from the database, or by a
    /// commit of this replica).
    pub fn exact(&self, nid: Uuid, position: i64) {
        let now = Instant::now();
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        let entry = known.entry(nid).or_insert(Known {
            position,
            exact_at: now,
            refreshing: false,
        });
        entry.position = entry.position.max(position);
        entry.exact_at = now;
        entry.refreshing = false;
    }

    /// Another replica committed up to `position`.
    fn announced(&self, nid: Uuid, position: i64) {
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = known.get_mut(&nid) {
            entry.position = entry.position.max(position);
        }
        // Unknown tenants stay unknown: their first check reads the database.
    }

    fn forget_all(&self) {
        self.known
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Tells the other replicas of a commit.
    pub async fn announce(bus: &dyn CacheBus, nid: Uuid, position: i64) {
        bus.publish(BusEvent {
            topic: POSITION_TOPIC.to_owned(),
            payload: format!("{nid}:{position}"),
        })
        .await;
    }

    /// Applies the other replicas' announcements for the life of the
    /// process. A lost stretch of the bus forgets everything, so every
    /// tenant's next check reads its position again.
    pub fn spawn_listener(&self, bus: &dyn CacheBus) {
        let this = self.clone();
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.topic == POSITION_TOPIC => {
                        match parse_announcement(&event.payload) {
                            Some((nid, position)) => this.announced(nid, position),
                            None => tracing::warn!("a position announcement that does not parse"),
                        }
                    }
                    Ok(event) if event.topic == store::cache::RESYNC_TOPIC => this.forget_all(),
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => this.forget_all(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}

fn parse_announcement(payload: &str) -> Option<(Uuid, i64)> {
    let (nid, position) = payload.split_once(':')?;
    Some((nid.parse().ok()?, position.parse().ok()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn positions_only_move_forward_and_age() {
        let known = KnownPositions::default();
        let nid = Uuid::new_v4();
        assert_eq!(known.recent(nid), None);
        known.announced(nid, 9);
        assert_eq!(
            known.recent(nid),
            None,
            "an announcement alone is not a reading"
        );
        known.exact(nid, 5);
        assert_eq!(known.recent(nid), Some(5));
        known.exact(nid, 3);
        assert_eq!(known.recent(nid), Some(5), "never backwards");
        known.announced(nid, 8);
        assert_eq!(known.reached(nid, 8), Some(8));
        assert_eq!(known.reached(nid, 9), None);
        assert_eq!(known.recent(Uuid::new_v4()), None, "per tenant");
        assert!(known.claim_refresh(nid), "the first claims the read");
        assert!(!known.claim_refresh(nid), "one read at a time");
        known.refresh_failed(nid);
        assert!(known.claim_refresh(nid), "a failed read can be tried again");
        known.exact(nid, 8);
        assert!(known.claim_refresh(nid), "a reading ends the claim");
        assert!(
            !known.claim_refresh(Uuid::new_v4()),
            "nothing known, nothing to refresh"
        );
        known.forget_all();
        assert_eq!(known.reached(nid, 0), None);
    }

    #[test]
    fn announcements_parse_or_are_ignored() {
        let nid = Uuid::new_v4();
        assert_eq!(parse_announcement(&format!("{nid}:42")), Some((nid, 42)));
        assert_eq!(parse_announcement("nope:42"), None);
        assert_eq!(parse_announcement(&format!("{nid}")), None);
    }
}
