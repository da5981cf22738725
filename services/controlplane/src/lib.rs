//! The control plane: projects and their config revisions, accounts and
//! API tokens.

pub mod account;
pub mod project;
pub mod revision;

use account::service::AccountService;
use async_trait::async_trait;
use kernel::clock::SharedClock;
use kernel::ports::CacheBus;
use kernel::tenant::{TenantCtx, TenantDirectory};
use project::service::ProjectService;
use std::sync::Arc;
use store::Database;

/// The control plane's services, shared by every worker.
#[derive(Clone)]
pub struct ControlPlane {
    pub projects: ProjectService,
    pub accounts: AccountService,
    /// (account, project) pairs recently found to be allowed to administer
    /// the tenant: every tenant admin call (a permission check among them)
    /// would otherwise cost an ownership query. Same TTL as the token cache,
    /// the bound on how long a revoked grant may still work; refusals are
    /// never cached.
    admin_grants: moka::future::Cache<(uuid::Uuid, uuid::Uuid), ()>,
}

impl ControlPlane {
    pub fn new(
        db: Database,
        bus: Arc<dyn CacheBus>,
        clock: SharedClock,
        base_domain: String,
    ) -> Self {
        Self {
            projects: ProjectService::new(db.clone(), bus, clock.clone(), base_domain),
            accounts: AccountService::new(db, clock),
            admin_grants: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(30))
                .build(),
        }
    }

    /// Registers the control-plane API.
    pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
        project::handler::configure(cfg);
    }
}

#[async_trait]
impl kernel::ports::TenantAdminAuth for ControlPlane {
    async fn authorize_tenant_admin(
        &self,
        bearer: &str,
        project_id: uuid::Uuid,
    ) -> kernel::Result<()> {
        let caller = self.accounts.authenticate(bearer).await?;
        let grant = (caller.account_id, project_id);
        if self.admin_grants.contains_key(&grant) {
            return Ok(());
        }
        self.projects.ensure_owned(caller, project_id).await?;
        self.admin_grants.insert(grant, ()).await;
        Ok(())
    }
}

#[async_trait]
impl TenantDirectory for ControlPlane {
    async fn find_by_slug(&self, slug: &str) -> kernel::Result<Option<TenantCtx>> {
        self.projects.tenant_by_slug(slug).await
    }
}
