//! The change feed over HTTP (`GET /relation-tuples/changes`, long-poll)
//! and gRPC (`LookupService.WatchChanges`, a server stream), and its
//! retention. Changes are rows (`changes`), so the feed survives restarts
//! and every replica serves the same one: a waiting reader polls the
//! database, and sees a write made on any replica within one poll.

use crate::changes::{self, Change, Operation, Snaptoken};
use crate::engine::{PermissionEngine, page_size};
use crate::model::RelationTuple;
use crate::namespace::Namespaces;
use chrono::{DateTime, Utc};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How often a waiting reader looks for new changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The longest a long-poll may wait (`wait`, seconds).
pub const MAX_WAIT_SECS: i64 = 60;

/// The permission engine's server settings (`permission` in the config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PermissionSettings {
    pub changes: FeedSettings,
}

/// Retention of the change feed (`permission.changes` in the server
/// config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedSettings {
    /// Changes older than this are deleted; a feed resumed from before
    /// them answers 410.
    pub retention_hours: u32,
    pub sweep_interval_secs: u64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            retention_hours: 24 * 7,
            sweep_interval_secs: 3600,
        }
    }
}

impl FeedSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=24 * 3650).contains(&self.retention_hours) {
            return Err("retention_hours must be from 1 to 87600 (ten years)".into());
        }
        if self.sweep_interval_secs == 0 {
            return Err("sweep_interval_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// One change as the feed shows it.
#[derive(Debug, Serialize)]
pub struct ChangeView {
    pub operation: Operation,
    pub relation_tuple: RelationTuple,
    /// The position right after this change: resume here to see what
    /// follows it.
    pub snaptoken: String,
    pub time: DateTime<Utc>,
}

/// A page of the feed: the changes after `since`, oldest first, and where
/// to resume (the last change's token, or `since` when there was none).
/// A full page means more may follow at once.
#[derive(Debug, Serialize)]
pub struct ChangesPage {
    pub changes: Vec<ChangeView>,
    pub snaptoken: String,
    /// `snaptoken`, decoded (for the gRPC stream's next read).
    #[serde(skip)]
    pub resume: Snaptoken,
}

/// What a feed request asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeedRequest {
    pub since: Option<Snaptoken>,
    pub page_size: Option<i64>,
    /// Seconds to wait for a change when there is none yet.
    pub wait: Option<i64>,
}

impl PermissionEngine {
    /// The changes of the tenant after `since` (absent: from the oldest
    /// kept), waiting up to `wait` seconds for one when there is none.
    pub async fn changes(&self, tenant: &TenantCtx, request: FeedRequest) -> Result<ChangesPage> {
        let size = page_size(request.page_size)?;
        let wait = match request.wait {
            None => 0,
            Some(w) if (0..=MAX_WAIT_SECS).contains(&w) => w,
            Some(_) => {
                return Err(Error::bad_request(format!(
                    "wait must be from 0 to {MAX_WAIT_SECS} seconds"
                )));
            }
        };
        let nid = tenant.project_id;
        let (position, pruned_through) = changes::positions(&self.db.conn, nid).await?;
        let after = match request.since {
            None => pruned_through,
            Some(token) if token.0 < pruned_through => {
                return Err(Error::gone(
                    "the snaptoken is older than the change feed keeps (permission.changes.retention_hours): read the tuples afresh and follow the feed from a new token",
                ));
            }
            Some(token) if token.0 > position => {
                return Err(Error::bad_request(
                    "the snaptoken is ahead of this project's writes: it was issued for another project",
                ));
            }
            Some(token) => token.0,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.unsigned_abs());
        loop {
            let found = changes::since(&self.db.conn, nid, after, size).await?;
            if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(page(tenant, after, found));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Deletes the changes past retention; how many.
    pub async fn prune_changes(&self, settings: &FeedSettings) -> Result<u64> {
        let before =
            self.clock.now() - chrono::Duration::hours(i64::from(settings.retention_hours));
        let txn = self.db.begin_write().await?;
        let deleted = changes::prune(&txn, before).await?;
        txn.commit().await.map_err(store::sql::db_error)?;
        Ok(deleted)
    }

    /// The engine's work for the life of the process: the feed's retention
    /// sweep ([`Self::prune_changes`] every `sweep_interval_secs`), and
    /// hearing the other replicas' commits.
    pub fn spawn_background(&self, settings: FeedSettings) {
        if let Some(bus) = &self.bus {
            self.positions.spawn_listener(bus.as_ref());
        }
        let this = self.clone();
        let every = Duration::from_secs(settings.sweep_interval_secs.max(1));
        kernel::periodic::spawn_every(every, "change feed retention", move || {
            let this = this.clone();
            let settings = settings.clone();
            async move {
                let deleted = this.prune_changes(&settings).await?;
                if deleted > 0 {
                    tracing::info!(deleted, "relation tuple changes past retention deleted");
                }
                Ok(())
            }
        });
    }
}

/// The page of `found` changes read after position `after`. A change in a
/// namespace since removed from the config cannot be named: it is left
/// out, and the token still moves past it.
fn page(tenant: &TenantCtx, after: i64, found: Vec<Change>) -> ChangesPage {
    let namespaces = Namespaces(&tenant.config.namespaces);
    let last = found.last().map_or(after, |c| c.position);
    ChangesPage {
        changes: found
            .into_iter()
            .filter_map(|change| {
                Some(ChangeView {
                    operation: change.operation,
                    relation_tuple: namespaces.named(&change.tuple)?,
                    snaptoken: Snaptoken(change.position).encode(),
                    time: change.at,
                })
            })
            .collect(),
        snaptoken: Snaptoken(last).encode(),
        resume: Snaptoken(last),
    }
}
