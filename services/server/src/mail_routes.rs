//! The courier's per-project routes, read from each project's current
//! revision (`courier.smtp.*` in its identity config) through the tenant
//! directory: the courier cannot depend on the control plane, which depends
//! on it.

use async_trait::async_trait;
use courier::{MailRoute, MailRoutes};
use kernel::tenant::TenantDirectory;
use std::sync::Arc;
use uuid::Uuid;

pub struct ProjectMailRoutes(pub Arc<dyn TenantDirectory>);

#[async_trait]
impl MailRoutes for ProjectMailRoutes {
    async fn route(&self, nid: Uuid) -> kernel::Result<Option<MailRoute>> {
        Ok(self
            .0
            .find_by_id(nid)
            .await?
            .map(|tenant| MailRoute::from_identity_config(&tenant.config.identity)))
    }
}
