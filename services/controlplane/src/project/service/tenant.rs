//! The tenant side of projects: the reserved console project, and the
//! tenant context a request for a project's host runs in.

use super::{ProjectService, SYSTEM_ACCOUNT, SYSTEM_EMAIL};
use crate::account::Caller;
use crate::account::store as accounts;
use crate::project::model::ProjectRow;
use crate::project::{slug, store as projects};
use crate::revision::{assemble, defaults, store as revisions};
use kernel::tenant::TenantCtx;
use kernel::{Error, ErrorKind, Result};
use std::sync::Arc;
use uuid::Uuid;

impl ProjectService {
    /// Creates the reserved console project (whose identities are the
    /// accounts) unless it exists; returns its id. Safe to run on several
    /// replicas at once.
    pub async fn ensure_console_project(&self, slug: &str) -> Result<Uuid> {
        if !slug::is_valid(slug) {
            return Err(Error::internal(format!(
                "console.project_slug `{slug}` is not a DNS label"
            )));
        }
        if let Some(project) = projects::find_by_slug(&self.db.conn, slug).await? {
            return Ok(project.id);
        }
        if accounts::find_account(&self.db.conn, SYSTEM_ACCOUNT)
            .await?
            .is_none()
        {
            match accounts::insert_account(
                &self.db.conn,
                SYSTEM_ACCOUNT,
                SYSTEM_EMAIL,
                self.clock.now(),
            )
            .await
            {
                Ok(()) => {}
                Err(e) if e.kind == ErrorKind::Conflict => {}
                Err(e) => return Err(e),
            }
        }
        let content = defaults::default_revision("Keyplane console", &self.public_url(slug))?;
        match self
            .insert_project(
                Caller::account(SYSTEM_ACCOUNT),
                slug,
                "Keyplane console",
                &content,
            )
            .await
        {
            Ok(project) => {
                tracing::info!(slug, project_id = %project.id, "created the console project");
                self.announce(slug).await;
                Ok(project.id)
            }
            // Another replica created it first.
            Err(e) if e.kind == ErrorKind::Conflict => projects::find_by_slug(&self.db.conn, slug)
                .await?
                .map(|p| p.id)
                .ok_or(e),
            Err(e) => Err(e),
        }
    }

    /// The tenant context for a slug, assembled from the current revision.
    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<TenantCtx>> {
        if !slug::is_valid(slug) {
            return Ok(None);
        }
        match projects::find_by_slug(&self.db.conn, slug).await? {
            Some(project) => self.tenant_of(project).await,
            None => Ok(None),
        }
    }

    /// The tenant context for a project id (the `nid` of engine rows, e.g.
    /// a queued message whose project's mail settings the courier needs).
    pub async fn tenant_by_id(&self, id: Uuid) -> Result<Option<TenantCtx>> {
        match projects::find(&self.db.conn, id).await? {
            Some(project) => self.tenant_of(project).await,
            None => Ok(None),
        }
    }

    /// Assembles a project's tenant context from its current revision.
    async fn tenant_of(&self, project: ProjectRow) -> Result<Option<TenantCtx>> {
        let Some((_, content)) =
            revisions::find(&self.db.conn, &self.sealing, project.current_revision_id).await?
        else {
            return Ok(None);
        };
        Ok(Some(TenantCtx {
            project_id: project.id,
            public_url: self.public_url(&project.slug),
            cookie_domain: None,
            rate_limits: crate::quota::rate_limits_for(
                crate::quota::plan_of(&self.db.conn, &project, self.clock.now()).await?,
                &self.rate_limits,
            ),
            slug: project.slug,
            name: project.name,
            state: project.state,
            revision_id: project.current_revision_id,
            config: Arc::new(assemble::tenant_config(&content)),
        }))
    }
}

#[async_trait::async_trait]
impl kernel::tenant::TenantDirectory for ProjectService {
    async fn find_by_slug(&self, slug: &str) -> Result<Option<TenantCtx>> {
        self.tenant_by_slug(slug).await
    }

    async fn find_by_id(&self, project_id: Uuid) -> Result<Option<TenantCtx>> {
        self.tenant_by_id(project_id).await
    }
}
