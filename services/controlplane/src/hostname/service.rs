//! Custom hostname CRUD, CNAME verification (on demand and periodically),
//! the plan's custom-domain quota, and the active routes the router serves.

use super::dns::{CnameAnswer, CnameLookup, DnsSettings};
use super::model::{CustomDomainsQuotaView, HostnameBody, HostnameRow, HostnameView, status};
use super::store as hostnames;
use super::validate;
use crate::access::{Action, Gate};
use crate::account::Caller;
use crate::project::store as projects;
use crate::quota;
use chrono::{DateTime, Utc};
use kernel::clock::SharedClock;
use kernel::ports::{BusEvent, CacheBus};
use kernel::tenant::{CUSTOM_HOSTS_CHANGED_TOPIC, CustomHostRoute};
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::audit::{self, Change};
use store::{Database, sql};
use uuid::Uuid;

/// `hostnames.*` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostnameSettings {
    /// Where CNAMEs are looked up.
    pub dns: DnsSettings,
    /// How often every hostname's CNAME is checked again.
    pub verify_interval_secs: u64,
}

impl Default for HostnameSettings {
    fn default() -> Self {
        Self {
            dns: DnsSettings::default(),
            verify_interval_secs: 300,
        }
    }
}

impl HostnameSettings {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.verify_interval_secs == 0 {
            return Err("verify_interval_secs must be at least 1".into());
        }
        if !(100..=60_000).contains(&self.dns.timeout_ms) {
            return Err("dns.timeout_ms must be between 100 and 60000".into());
        }
        for server in &self.dns.nameservers {
            if server.parse::<std::net::SocketAddr>().is_err() {
                return Err(format!("dns.nameservers: `{server}` is not ip:port"));
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct HostnameService {
    db: Database,
    gate: Gate,
    clock: SharedClock,
    bus: Arc<dyn CacheBus>,
    base_domain: String,
    lookup: Arc<dyn CnameLookup>,
    verify_interval: std::time::Duration,
}

fn not_found() -> Error {
    Error::not_found("the custom hostname does not exist in this project")
}

fn hostname_taken(hostname: &str) -> Error {
    Error::conflict(format!("the hostname `{hostname}` is already in use"))
}

/// Names the hostname when the unique index refused a write (two claims
/// at the same moment; the check before it saw none).
fn taken_on_conflict(hostname: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |err| {
        if err.status() == 409 {
            hostname_taken(hostname)
        } else {
            err
        }
    }
}

impl HostnameService {
    pub fn new(
        db: Database,
        gate: Gate,
        clock: SharedClock,
        bus: Arc<dyn CacheBus>,
        base_domain: String,
        lookup: Arc<dyn CnameLookup>,
        settings: &HostnameSettings,
    ) -> Self {
        Self {
            db,
            gate,
            clock,
            bus,
            base_domain: base_domain.to_ascii_lowercase(),
            lookup,
            verify_interval: std::time::Duration::from_secs(settings.verify_interval_secs.max(1)),
        }
    }

    /// Now, as the database keeps it.
    fn now(&self) -> DateTime<Utc> {
        sql::now_as_stored(self.clock.as_ref())
    }

    /// The CNAME target a project's hostnames must have.
    fn expected_target(&self, slug: &str) -> String {
        format!("{slug}.{}", self.base_domain)
    }

    /// Tells every replica (this one included) to reload its host map.
    async fn announce(&self) {
        self.bus
            .publish(BusEvent {
                topic: CUSTOM_HOSTS_CHANGED_TOPIC.to_owned(),
                payload: String::new(),
            })
            .await;
    }

    /// `GET /projects/{id}/hostnames`.
    pub async fn list(&self, caller: Caller, project: Uuid) -> Result<Vec<HostnameView>> {
        self.gate
            .project(caller, project, Action::ManageHostnames)
            .await?;
        Ok(hostnames::list_for_project(&self.db.conn, project)
            .await?
            .iter()
            .map(HostnameRow::view)
            .collect())
    }

    /// A hostname nobody holds yet (409 naming it otherwise).
    async fn ensure_free(&self, hostname: &str) -> Result<()> {
        if hostnames::find_by_hostname(&self.db.conn, hostname)
            .await?
            .is_some()
        {
            return Err(hostname_taken(hostname));
        }
        Ok(())
    }

    /// `POST /projects/{id}/hostnames`.
    pub async fn create(
        &self,
        caller: Caller,
        project: Uuid,
        body: HostnameBody,
    ) -> Result<HostnameView> {
        let (project_row, _) = self
            .gate
            .project(caller, project, Action::ManageHostnames)
            .await?;
        let hostname = validate::hostname(
            body.hostname
                .as_deref()
                .ok_or_else(|| Error::bad_request("hostname: is required"))?,
            &self.base_domain,
        )?;
        let cookie_domain = validate::cookie_domain(body.cookie_domain.as_deref(), &hostname)?;
        let cors_allowed_origins =
            validate::cors_origins(body.cors_allowed_origins.as_deref().unwrap_or_default())?;
        self.ensure_free(&hostname).await?;
        let now = self.now();
        let row = HostnameRow {
            id: Uuid::now_v7(),
            project_id: project,
            hostname,
            cookie_domain,
            cors_enabled: body.cors_enabled.unwrap_or(false),
            cors_allowed_origins,
            verification_status: status::PENDING.to_owned(),
            verification_errors: Vec::new(),
            verified_at: None,
            checked_at: None,
            created_at: now,
            updated_at: now,
        };
        let txn = self.db.begin_write().await?;
        // The project row's lock serializes counting with other creations.
        projects::touch(&txn, project, now).await?;
        let available = quota::for_project(&txn, &project_row, now)
            .await?
            .custom_domains;
        let used = hostnames::count_for_project(&txn, project).await?;
        if used >= available {
            return Err(Error::quota_exceeded(if available == 0 {
                "the project's plan includes no custom domains; upgrade the plan to add one"
                    .to_owned()
            } else {
                format!(
                    "all {available} custom domains of the project's plan are in use; remove one or upgrade the plan"
                )
            }));
        }
        // Two projects claiming one hostname at once: the unique index
        // lets one through.
        hostnames::insert(&txn, &row)
            .await
            .map_err(taken_on_conflict(&row.hostname))?;
        audit::append(
            &txn,
            Change::project(project, "hostname.create", row.id).diff(None, Some(&audited(&row))),
            now,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(row.view())
    }

    /// `PUT /projects/{id}/hostnames/{hostname_id}`: a new hostname starts
    /// verification again.
    pub async fn update(
        &self,
        caller: Caller,
        project: Uuid,
        id: Uuid,
        body: HostnameBody,
    ) -> Result<HostnameView> {
        self.gate
            .project(caller, project, Action::ManageHostnames)
            .await?;
        let mut row = hostnames::find(&self.db.conn, project, id)
            .await?
            .ok_or_else(not_found)?;
        let before = audited(&row);
        let was_active = row.is_active();
        if let Some(raw) = body.hostname.as_deref() {
            let hostname = validate::hostname(raw, &self.base_domain)?;
            if hostname != row.hostname {
                self.ensure_free(&hostname).await?;
                // The old cookie domain stays if it still covers the host.
                if body.cookie_domain.is_none() {
                    row.cookie_domain =
                        validate::cookie_domain(Some(&row.cookie_domain), &hostname)
                            .unwrap_or_else(|_| hostname.clone());
                }
                row.hostname = hostname;
                row.verification_status = status::PENDING.to_owned();
                row.verification_errors = Vec::new();
                row.verified_at = None;
            }
        }
        if body.cookie_domain.is_some() {
            row.cookie_domain =
                validate::cookie_domain(body.cookie_domain.as_deref(), &row.hostname)?;
        }
        if let Some(origins) = &body.cors_allowed_origins {
            row.cors_allowed_origins = validate::cors_origins(origins)?;
        }
        if let Some(enabled) = body.cors_enabled {
            row.cors_enabled = enabled;
        }
        row.updated_at = self.now();
        let txn = self.db.begin_write().await?;
        let updated = hostnames::update(&txn, &row)
            .await
            .map_err(taken_on_conflict(&row.hostname))?;
        if !updated {
            return Err(not_found());
        }
        audit::append(
            &txn,
            Change::project(project, "hostname.update", id)
                .diff(Some(&before), Some(&audited(&row))),
            row.updated_at,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        if was_active {
            self.announce().await;
        }
        Ok(row.view())
    }

    /// `DELETE /projects/{id}/hostnames/{hostname_id}`.
    pub async fn delete(&self, caller: Caller, project: Uuid, id: Uuid) -> Result<()> {
        self.gate
            .project(caller, project, Action::ManageHostnames)
            .await?;
        let row = hostnames::find(&self.db.conn, project, id)
            .await?
            .ok_or_else(not_found)?;
        let txn = self.db.begin_write().await?;
        if !hostnames::delete(&txn, project, id).await? {
            return Err(not_found());
        }
        audit::append(
            &txn,
            Change::project(project, "hostname.delete", id).diff(Some(&audited(&row)), None),
            self.now(),
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        if row.is_active() {
            self.announce().await;
        }
        Ok(())
    }

    /// `POST /projects/{id}/hostnames/{hostname_id}/verify`.
    pub async fn verify(&self, caller: Caller, project: Uuid, id: Uuid) -> Result<HostnameView> {
        let (project_row, _) = self
            .gate
            .project(caller, project, Action::ManageHostnames)
            .await?;
        let row = hostnames::find(&self.db.conn, project, id)
            .await?
            .ok_or_else(not_found)?;
        let checked = self.check(row, &project_row.slug).await?;
        Ok(checked.view())
    }

    /// Looks the CNAME up and records the outcome. A failed look-up (DNS
    /// unreachable) keeps the status: an outage of ours must not take a
    /// customer's host down.
    async fn check(&self, mut row: HostnameRow, slug: &str) -> Result<HostnameRow> {
        let before = audited(&row);
        let expected = self.expected_target(slug);
        let seen = row.updated_at;
        let was_active = row.is_active();
        let now = self.now();
        match self.lookup.cname(&row.hostname).await {
            Ok(CnameAnswer::Target(target)) if target == expected => {
                row.verification_status = status::ACTIVE.to_owned();
                row.verification_errors = Vec::new();
                row.verified_at = Some(now);
            }
            Ok(CnameAnswer::Target(target)) => {
                row.verification_status = status::FAILED.to_owned();
                row.verification_errors = vec![format!(
                    "the CNAME record of {} points to {target}, expected {expected}",
                    row.hostname
                )];
            }
            Ok(CnameAnswer::NoRecord) => {
                // Never verified: still waiting for the record. Verified
                // before: it disappeared.
                row.verification_status = if row.verified_at.is_some() {
                    status::FAILED
                } else {
                    status::PENDING
                }
                .to_owned();
                row.verification_errors = vec![format!(
                    "no CNAME record found for {}; add one pointing to {expected}",
                    row.hostname
                )];
            }
            Err(reason) => {
                tracing::warn!(hostname = %row.hostname, %reason, "CNAME look-up failed");
                row.verification_errors = vec![format!("the DNS look-up failed: {reason}")];
            }
        }
        row.checked_at = Some(now);
        row.updated_at = now;
        // Edited meanwhile (e.g. a new hostname): this outcome is stale.
        let txn = self.db.begin_write().await?;
        if !hostnames::record_check(&txn, &row, seen).await? {
            drop(txn);
            return hostnames::find(&self.db.conn, row.project_id, row.id)
                .await?
                .ok_or_else(not_found);
        }
        // Only a change of status is a change worth a line in the log; the
        // periodic re-checks that find all well are not.
        let after = audited(&row);
        if before["verification_status"] != after["verification_status"] {
            let change = Change::project(row.project_id, "hostname.verify", row.id)
                .diff(Some(&before), Some(&after));
            audit::append(&txn, change, now).await?;
        }
        txn.commit().await.map_err(sql::db_error)?;
        if was_active != row.is_active() {
            tracing::info!(
                hostname = %row.hostname,
                status = %row.verification_status,
                "custom hostname status changed"
            );
            self.announce().await;
        }
        Ok(row)
    }

    /// Checks every hostname once.
    pub async fn check_all(&self) -> Result<usize> {
        let mut checked = 0;
        for row in hostnames::list_all(&self.db.conn).await? {
            let Some(project) = projects::find(&self.db.conn, row.project_id).await? else {
                continue;
            };
            let host = row.hostname.clone();
            match self.check(row, &project.slug).await {
                Ok(_) => checked += 1,
                Err(err) => tracing::warn!(hostname = %host, error = %err, "hostname check failed"),
            }
        }
        Ok(checked)
    }

    /// Re-checks every hostname every `verify_interval_secs`.
    pub fn spawn_checker(&self) {
        let this = self.clone();
        kernel::periodic::spawn_every(self.verify_interval, "hostname checks", move || {
            let this = this.clone();
            async move { this.check_all().await.map(drop) }
        });
    }

    /// `GET /projects/{id}/quotas/custom-domains`.
    pub async fn quota(&self, caller: Caller, project: Uuid) -> Result<CustomDomainsQuotaView> {
        let (row, _) = self
            .gate
            .project(caller, project, Action::ReadQuotas)
            .await?;
        let available = quota::for_project(&self.db.conn, &row, self.now())
            .await?
            .custom_domains;
        let used = hostnames::count_for_project(&self.db.conn, project).await?;
        Ok(CustomDomainsQuotaView {
            available_domains: available,
            used_domains: used,
            can_use: used < available,
        })
    }

    /// The active hostnames, as the router serves them.
    pub async fn active_routes(&self) -> Result<Vec<CustomHostRoute>> {
        Ok(hostnames::list_active_with_slug(&self.db.conn)
            .await?
            .into_iter()
            .map(|(row, slug)| CustomHostRoute {
                hostname: row.hostname,
                slug,
                cookie_domain: row.cookie_domain,
                cors_enabled: row.cors_enabled,
                cors_allowed_origins: row.cors_allowed_origins,
            })
            .collect())
    }
}

/// A hostname as its audit events record it.
fn audited(row: &HostnameRow) -> serde_json::Value {
    serde_json::json!({
        "hostname": row.hostname,
        "cookie_domain": row.cookie_domain,
        "cors_enabled": row.cors_enabled,
        "cors_allowed_origins": row.cors_allowed_origins,
        "verification_status": row.verification_status,
    })
}
