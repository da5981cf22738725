//! The project service: checks who may act, owns the transactions, and
//! announces every committed change on the bus so tenant contexts on every
//! replica are rebuilt.

use super::model::{
    NewProject, ProjectMetadataView, ProjectRow, ProjectServices, ProjectUpdate, ProjectUpdateView,
    ProjectView, ServiceConfig,
};
use super::{slug, store as projects};
use crate::access::{Access, Action, Gate, Role, project_not_found};
use crate::account::Caller;
use crate::account::store as accounts;
use crate::member::store as members;
use crate::revision::{self, RevisionContent, Warning, assemble, defaults, store as revisions};
use kernel::clock::SharedClock;
use kernel::json_patch::PatchLimits;
use kernel::ports::{BusEvent, CacheBus};
use kernel::public_url::TenantUrls;
use kernel::rate_limit::PlanRateLimits;
use kernel::sealed::SecretBox;
use kernel::tenant::{LocalTenantCache, PROJECT_CHANGED_TOPIC, ProjectState};
use kernel::{Error, ErrorKind, Result};
use serde_json::json;
use std::sync::Arc;
use store::audit::{self, Change};
use store::{Database, sql};
use uuid::Uuid;

mod history;
mod patch;
mod promote;
mod tenant;
mod transfer;
pub use history::{RevisionDiff, RevisionView};
pub use promote::{NotCopied, PromoteRequest, PromoteView};
pub use transfer::{ImportedConfig, PortableConfig};

/// How often an unconditional update retries after losing a race.
const MAX_ATTEMPTS: usize = 3;

#[derive(Clone)]
pub struct ProjectService {
    db: Database,
    bus: Arc<dyn CacheBus>,
    clock: SharedClock,
    base_domain: String,
    urls: TenantUrls,
    rate_limits: PlanRateLimits,
    patch_limits: PatchLimits,
    /// Seals the config's secrets at rest (`revision::sealed`).
    sealing: Arc<SecretBox>,
    gate: Gate,
    /// This replica's tenant cache, invalidated before a change is answered.
    local_cache: Arc<dyn LocalTenantCache>,
}

/// The account that owns the console project: a reserved id no token or
/// session can ever resolve to.
pub const SYSTEM_ACCOUNT: Uuid = Uuid::nil();
const SYSTEM_EMAIL: &str = "system@keyplane.invalid";

impl ProjectService {
    pub fn new(
        db: Database,
        gate: Gate,
        bus: Arc<dyn CacheBus>,
        clock: SharedClock,
        tenancy: &crate::Tenancy,
        local_cache: Arc<dyn LocalTenantCache>,
    ) -> Self {
        Self {
            db,
            gate,
            bus,
            clock,
            base_domain: tenancy.base_domain.clone(),
            urls: tenancy.urls.clone(),
            rate_limits: tenancy.rate_limits,
            patch_limits: tenancy.patch_limits,
            sealing: tenancy.sealing.clone(),
            local_cache,
        }
    }

    pub fn host(&self, slug: &str) -> String {
        format!("{slug}.{}", self.base_domain)
    }

    /// The project's public base URL (`serve.public_url` with the slug).
    pub fn public_url(&self, slug: &str) -> String {
        self.urls.for_slug(slug)
    }

    fn view(&self, project: &ProjectRow, content: &RevisionContent) -> ProjectView {
        ProjectView {
            id: project.id,
            name: project.name.clone(),
            slug: project.slug.clone(),
            state: project.state,
            revision_id: project.current_revision_id,
            services: ProjectServices {
                identity: Some(ServiceConfig {
                    config: assemble::identity_config(content),
                }),
                permission: Some(ServiceConfig {
                    config: assemble::permission_config(content),
                }),
            },
        }
    }

    /// `projectMetadata`: `hosts` is the slug host and every active
    /// custom hostname.
    async fn metadata(&self, project: &ProjectRow) -> Result<ProjectMetadataView> {
        let mut hosts = vec![self.host(&project.slug)];
        hosts.extend(
            crate::hostname::store::list_for_project(&self.db.conn, project.id)
                .await?
                .into_iter()
                .filter(crate::hostname::model::HostnameRow::is_active)
                .map(|h| h.hostname),
        );
        Ok(ProjectMetadataView {
            id: project.id,
            name: project.name.clone(),
            slug: project.slug.clone(),
            state: project.state,
            hosts,
            subscription_id: project.subscription_id,
            created_at: project.created_at,
            updated_at: project.updated_at,
        })
    }

    /// A committed change: drop this replica's cached context first (so the
    /// caller's next request sees it), then tell the other replicas.
    pub(crate) async fn announce(&self, slug: &str) {
        self.local_cache.invalidate(slug).await;
        self.bus
            .publish(BusEvent {
                topic: PROJECT_CHANGED_TOPIC.to_owned(),
                payload: slug.to_owned(),
            })
            .await;
    }

    /// The project and its current revision, when `caller` may `action`.
    async fn load(
        &self,
        caller: Caller,
        id: Uuid,
        action: Action,
    ) -> Result<(ProjectRow, RevisionContent, Access)> {
        let (project, access) = self.gate.project(caller, id, action).await?;
        let (_, content) =
            revisions::find(&self.db.conn, &self.sealing, project.current_revision_id)
                .await?
                .ok_or_else(|| {
                    Error::internal(format!(
                        "revision {} is missing",
                        project.current_revision_id
                    ))
                })?;
        Ok((project, content, access))
    }

    /// [`Self::view`] as `access` may see it: secrets only for owners,
    /// sign-in providers' secrets for nobody.
    fn view_for(
        &self,
        project: &ProjectRow,
        content: &RevisionContent,
        access: Access,
    ) -> ProjectView {
        let mut view = self.view(project, content);
        if let Some(identity) = view.services.identity.as_mut() {
            super::secrets::redact_for(&mut identity.config, access == Access::Member(Role::Owner));
        }
        view
    }

    pub async fn create(&self, caller: Caller, new: NewProject) -> Result<ProjectView> {
        caller.require_person()?;
        let name = validate_name(&new.name)?;
        for _ in 0..5 {
            let slug = slug::generate();
            let content = defaults::default_revision(&name, &self.public_url(&slug))?;
            match self.insert_project(caller, &slug, &name, &content).await {
                Ok(project) => {
                    self.announce(&project.slug).await;
                    return Ok(self.view(&project, &content));
                }
                // A slug collision: draw another.
                Err(e) if e.kind == ErrorKind::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::internal("could not find a free project slug"))
    }

    async fn insert_project(
        &self,
        caller: Caller,
        slug: &str,
        name: &str,
        content: &RevisionContent,
    ) -> Result<ProjectRow> {
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let txn = self.db.begin_write().await?;
        projects::insert(&txn, id, slug, name, caller.account_id, now).await?;
        members::insert(&txn, id, caller.account_id, Role::Owner, now).await?;
        let revision = revisions::insert(&txn, &self.sealing, id, content, now).await?;
        if !projects::switch_revision(&txn, id, None, revision, name, now).await? {
            return Err(Error::internal(
                "a new project was changed before it was created",
            ));
        }
        let created = json!({ "slug": slug, "name": name, "revision_id": revision });
        audit::append(
            &txn,
            Change::project(id, "project.create", id)
                .for_account(Some(caller.account_id))
                .diff(None, Some(&created)),
            now,
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        Ok(ProjectRow {
            id,
            slug: slug.to_owned(),
            name: name.to_owned(),
            state: ProjectState::Running,
            owner_account_id: caller.account_id,
            current_revision_id: revision,
            subscription_id: None,
            created_at: now,
            updated_at: now,
        })
    }

    pub async fn list(&self, caller: Caller) -> Result<Vec<ProjectMetadataView>> {
        let rows = match caller.project_key() {
            Some(project) => projects::find(&self.db.conn, project)
                .await?
                .into_iter()
                .collect(),
            None => projects::list_for_member(&self.db.conn, caller.account_id).await?,
        };
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.metadata(row).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, caller: Caller, id: Uuid) -> Result<ProjectView> {
        let (project, content, access) = self.load(caller, id, Action::GetProject).await?;
        Ok(self.view_for(&project, &content, access))
    }

    /// Commits `content` as the project's new revision if the project is
    /// still at `project.current_revision_id`.
    async fn commit_revision(
        &self,
        project: &ProjectRow,
        content: &RevisionContent,
        change: Change,
    ) -> Result<ProjectRow> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        audit::append(&txn, change, now).await?;
        let revision = revisions::insert(&txn, &self.sealing, project.id, content, now).await?;
        let switched = projects::switch_revision(
            &txn,
            project.id,
            Some(project.current_revision_id),
            revision,
            &content.name,
            now,
        )
        .await?;
        if !switched {
            txn.rollback().await.map_err(sql::db_error)?;
            return Err(Error::conflict(format!(
                "the project changed after revision {}; fetch it again and retry",
                project.current_revision_id
            ))
            .with_id("revision_conflict"));
        }
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(&project.slug).await;
        Ok(ProjectRow {
            name: content.name.clone(),
            current_revision_id: revision,
            updated_at: now,
            ..project.clone()
        })
    }

    /// Builds a new revision from the current one with `change`, and commits
    /// it. With `at_revision`, the change applies only to that revision
    /// (409 otherwise); without, a lost race is retried on the newer revision.
    async fn change<F>(
        &self,
        caller: Caller,
        id: Uuid,
        at_revision: Option<Uuid>,
        action: &'static str,
        change: F,
    ) -> Result<ProjectUpdateView>
    where
        F: Fn(RevisionContent, Access) -> Result<(RevisionContent, Vec<Warning>)>,
    {
        let mut last_conflict = None;
        for _ in 0..MAX_ATTEMPTS {
            let (project, current, access) = self.load(caller, id, Action::UpdateProject).await?;
            if let Some(expected) = at_revision
                && expected != project.current_revision_id
            {
                // A revision this project never had (or another project's)
                // is not found; only one it moved on from is a conflict.
                if !revisions::list_ids(&self.db.conn, project.id)
                    .await?
                    .contains(&expected)
                {
                    return Err(Error::not_found(format!(
                        "project {id} has no revision {expected}"
                    )));
                }
                return Err(Error::conflict(format!(
                    "revision {expected} is no longer current (the project is at {})",
                    project.current_revision_id
                ))
                .with_id("revision_conflict"));
            }
            // The audit diff hides every secret, whoever acts: the log is
            // read by developers and viewers too.
            let before = self.marked_document(project.id, &current, false);
            let (content, warnings) = change(current, access)?;
            let after = self.marked_document(project.id, &content, false);
            let event =
                Change::project(project.id, action, project.id).diff(Some(&before), Some(&after));
            match self.commit_revision(&project, &content, event).await {
                Ok(project) => {
                    return Ok(ProjectUpdateView {
                        project: self.view_for(&project, &content, access),
                        warnings,
                    });
                }
                Err(e) if e.kind == ErrorKind::Conflict && at_revision.is_none() => {
                    last_conflict = Some(e)
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_conflict
            .unwrap_or_else(|| Error::conflict("the project is changing too often; retry")))
    }

    /// `PUT /projects/{id}`: replaces each service config the body carries.
    pub async fn update(
        &self,
        caller: Caller,
        id: Uuid,
        update: ProjectUpdate,
    ) -> Result<ProjectUpdateView> {
        self.replace(caller, id, update, "project.update").await
    }

    /// [`Self::update`], recorded as `action`.
    async fn replace(
        &self,
        caller: Caller,
        id: Uuid,
        update: ProjectUpdate,
        action: &'static str,
    ) -> Result<ProjectUpdateView> {
        let name = validate_name(&update.name)?;
        self.change(caller, id, None, action, |mut content, _| {
            content.name = name.clone();
            let mut warnings = Vec::new();
            if let Some(identity) = &update.services.identity {
                let mut config = identity.config.clone();
                super::secrets::restore(&mut config, &assemble::identity_config(&content))?;
                warnings.extend(revision::replace_identity(&mut content, &config)?);
            }
            if let Some(permission) = &update.services.permission {
                warnings.extend(revision::replace_permission(
                    &mut content,
                    &permission.config,
                )?);
            }
            Ok((content, warnings))
        })
        .await
    }

    /// `DELETE /projects/{id}`: the project, its revisions, members,
    /// invites, API keys and all of its tenant data, in one transaction.
    /// Returns the digests of the deleted API keys (for the caller to drop
    /// from every replica's cache).
    pub async fn purge(&self, caller: Caller, id: Uuid) -> Result<Vec<String>> {
        let (project, _) = self.gate.project(caller, id, Action::PurgeProject).await?;
        let txn = self.db.begin_write().await?;
        store::purge_tenant_rows(&txn, project.id).await?;
        let keys = accounts::delete_project_tokens(&txn, project.id).await?;
        crate::invite::store::delete_for_project(&txn, project.id).await?;
        members::delete_for_project(&txn, project.id).await?;
        revisions::delete_for_project(&txn, project.id).await?;
        projects::delete(&txn, project.id).await?;
        // Its own events went with it; this one stays in the log of the
        // account that purged it.
        let purged = json!({ "slug": project.slug, "name": project.name });
        audit::append(
            &txn,
            Change::account(caller.account_id, "project.purge", project.id)
                .diff(Some(&purged), None),
            self.clock.now(),
        )
        .await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(&project.slug).await;
        Ok(keys)
    }

    /// Halts or resumes a project (used by billing; a halted project's
    /// tenant answers 503).
    pub async fn set_state(&self, id: Uuid, state: ProjectState) -> Result<()> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        let slug = projects::set_state(&txn, id, state, now)
            .await?
            .ok_or_else(project_not_found)?;
        let change = Change::project(id, "project.state", id)
            .with_patch(json!([{ "op": "replace", "path": "/state", "value": state.as_str() }]));
        audit::append(&txn, change, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(&slug).await;
        Ok(())
    }
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 {
        return Err(Error::bad_request("`name` must be 1 to 256 characters"));
    }
    Ok(name.to_owned())
}
