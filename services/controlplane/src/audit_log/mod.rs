//! Reading the audit log (`GET /projects/{id}/audit-log`, `GET
//! /me/audit-log`) and keeping it to its retention. Events are written by
//! the services that make the changes (`store::audit`), never here: there
//! is no API that edits or deletes one.

pub mod handler;

use crate::access::{Action, Gate};
use crate::account::Caller;
use chrono::{DateTime, Utc};
use kernel::clock::SharedClock;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use store::Database;
use store::audit::{self, Cursor, Event, Filter};
use uuid::Uuid;

/// `audit_log` in the server settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditLogSettings {
    /// Events older than this many days are deleted.
    pub retention_days: u32,
    /// How often the retention sweep runs.
    pub sweep_interval_secs: u64,
}

impl Default for AuditLogSettings {
    fn default() -> Self {
        Self {
            retention_days: 90,
            sweep_interval_secs: 3600,
        }
    }
}

impl AuditLogSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=36_500).contains(&self.retention_days) {
            return Err("retention_days must be between 1 and 36500".into());
        }
        if self.sweep_interval_secs == 0 {
            return Err("sweep_interval_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// The query of both logs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    /// An actor's id (account or API key) or name (e-mail or key name).
    pub actor: Option<String>,
    /// Events whose action starts with this (`identity.`, `project.update`).
    pub action: Option<String>,
    /// Events about this target (an id, or a relation tuple).
    pub target: Option<String>,
    /// RFC 3339; events at or after it.
    pub since: Option<DateTime<Utc>>,
    /// RFC 3339; events before it.
    pub until: Option<DateTime<Utc>>,
    /// 1 to 1000; 100 unless given.
    pub page_size: Option<u64>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// One page of a log, newest first.
#[derive(Debug, Serialize)]
pub struct AuditLogPage {
    pub events: Vec<Event>,
    /// Present when there may be older events: pass it as `page_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

const DEFAULT_PAGE: u64 = 100;
const MAX_PAGE: u64 = 1000;
/// Rows deleted per sweep transaction.
const SWEEP_BATCH: u64 = 5_000;

#[derive(Clone)]
pub struct AuditLogService {
    db: Database,
    gate: Gate,
    clock: SharedClock,
    settings: AuditLogSettings,
}

impl AuditLogService {
    pub fn new(db: Database, gate: Gate, clock: SharedClock, settings: AuditLogSettings) -> Self {
        Self {
            db,
            gate,
            clock,
            settings,
        }
    }

    /// `GET /projects/{id}/audit-log`.
    pub async fn project_log(
        &self,
        caller: Caller,
        project: Uuid,
        query: &str,
    ) -> Result<AuditLogPage> {
        self.gate
            .project(caller, project, Action::ReadAuditLog)
            .await?;
        let query = http::query::parse(query)?;
        self.page(
            Filter {
                nid: Some(project),
                ..Filter::default()
            },
            query,
        )
        .await
    }

    /// `GET /me/audit-log`: the caller's own account events (tokens, the
    /// projects it created and purged, its subscriptions).
    pub async fn account_log(&self, caller: Caller, query: &str) -> Result<AuditLogPage> {
        caller.require_person()?;
        let query = http::query::parse(query)?;
        self.page(
            Filter {
                account_id: Some(caller.account_id),
                ..Filter::default()
            },
            query,
        )
        .await
    }

    async fn page(&self, mut filter: Filter, query: AuditLogQuery) -> Result<AuditLogPage> {
        let size = query.page_size.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&size) {
            return Err(Error::bad_request(format!(
                "`page_size` must be between 1 and {MAX_PAGE}"
            )));
        }
        let cursor = query
            .page_token
            .as_deref()
            .map(Cursor::decode)
            .transpose()?;
        filter.actor = query.actor.filter(|a| !a.is_empty());
        filter.action_prefix = query.action.filter(|a| !a.is_empty());
        filter.target = query.target.filter(|t| !t.is_empty());
        filter.since = query.since;
        filter.until = query.until;
        let (events, next) = audit::list(&self.db.conn, &filter, cursor, size).await?;
        Ok(AuditLogPage {
            events,
            next_page_token: next.map(|c| c.encode()),
        })
    }

    /// Deletes the events past retention; how many.
    pub async fn sweep(&self) -> Result<u64> {
        let before =
            self.clock.now() - chrono::Duration::days(i64::from(self.settings.retention_days));
        let mut total = 0;
        loop {
            let txn = self.db.begin_write().await?;
            let deleted = audit::sweep(&txn, before, SWEEP_BATCH).await?;
            txn.commit().await.map_err(store::sql::db_error)?;
            total += deleted;
            if deleted < SWEEP_BATCH {
                return Ok(total);
            }
            // Let other writers in between batches.
            tokio::task::yield_now().await;
        }
    }

    /// Runs [`Self::sweep`] every `sweep_interval_secs`.
    pub fn spawn_sweeper(&self) {
        let this = self.clone();
        let every = std::time::Duration::from_secs(self.settings.sweep_interval_secs.max(1));
        kernel::periodic::spawn_every(every, "audit log sweep", move || {
            let this = this.clone();
            async move {
                let deleted = this.sweep().await?;
                if deleted > 0 {
                    tracing::info!(deleted, "audit log events past retention deleted");
                }
                Ok(())
            }
        });
    }
}
