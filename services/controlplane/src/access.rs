//! Who may do what: the roles of a project's members, project API keys,
//! and the one table that decides every control-plane action. Services ask
//! [`allows`]; nothing else decides access.

use crate::account::Caller;
use crate::member::store as members;
use crate::project::model::ProjectRow;
use crate::project::store as projects;
use kernel::{Error, Result};
use serde::Serialize;
use store::Database;
use uuid::Uuid;

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Owner,
    Developer,
    /// Read-only: sees the project, its config and quotas, and may read
    /// (never write) the tenant's admin APIs.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Developer => "DEVELOPER",
            Role::Viewer => "VIEWER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OWNER" => Some(Role::Owner),
            "DEVELOPER" => Some(Role::Developer),
            "VIEWER" => Some(Role::Viewer),
            _ => None,
        }
    }

    pub fn parse_request(s: &str) -> Result<Self> {
        Self::parse(s).ok_or_else(|| {
            Error::bad_request(format!(
                "`role` must be one of OWNER, DEVELOPER, VIEWER (got `{s}`)"
            ))
        })
    }
}

/// How a caller reaches a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    Member(Role),
    /// A project API key of this very project.
    ProjectKey,
}

impl Access {
    pub fn describe(self) -> &'static str {
        match self {
            Access::Member(role) => role.as_str(),
            Access::ProjectKey => "a project API key",
        }
    }
}

/// Every action on a project, as named in `GET /projects/{id}/access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `GET /projects/{id}`, its revisions, `/access`.
    GetProject,
    /// `PUT` and `PATCH /projects/{id}` (config).
    UpdateProject,
    /// `DELETE /projects/{id}`.
    PurgeProject,
    ListMembers,
    /// Remove a member or change a member's role.
    ManageMembers,
    ListInvites,
    /// Invite, or cancel an invite.
    ManageInvites,
    /// List, create and revoke project API keys.
    ManageApiKeys,
    ReadQuotas,
    /// Read the tenant's admin APIs (list identities, read tuples).
    ReadTenant,
    /// Write through the tenant's admin APIs.
    WriteTenant,
    /// Buy or change the project's subscription.
    ManageBilling,
    /// List, add, change, verify and remove custom hostnames.
    ManageHostnames,
    /// Read the project's audit log (it names members: not for API keys).
    ReadAuditLog,
    /// `GET /projects/{id}/export`: the whole tenant, password hashes and
    /// second-factor secrets included, so owners only.
    ExportProject,
    /// `POST /projects/{id}/import`: config and tenant data.
    ImportProject,
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::GetProject,
        Action::UpdateProject,
        Action::PurgeProject,
        Action::ListMembers,
        Action::ManageMembers,
        Action::ListInvites,
        Action::ManageInvites,
        Action::ManageApiKeys,
        Action::ReadQuotas,
        Action::ReadTenant,
        Action::WriteTenant,
        Action::ManageBilling,
        Action::ManageHostnames,
        Action::ReadAuditLog,
        Action::ExportProject,
        Action::ImportProject,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Action::GetProject => "get_project",
            Action::UpdateProject => "update_project",
            Action::PurgeProject => "purge_project",
            Action::ListMembers => "list_members",
            Action::ManageMembers => "manage_members",
            Action::ListInvites => "list_invites",
            Action::ManageInvites => "manage_invites",
            Action::ManageApiKeys => "manage_api_keys",
            Action::ReadQuotas => "read_quotas",
            Action::ReadTenant => "read_tenant",
            Action::WriteTenant => "write_tenant",
            Action::ManageBilling => "manage_billing",
            Action::ManageHostnames => "manage_hostnames",
            Action::ReadAuditLog => "read_audit_log",
            Action::ExportProject => "export_project",
            Action::ImportProject => "import_project",
        }
    }
}

/// The permission matrix.
pub fn allows(access: Access, action: Action) -> bool {
    use Action::*;
    use Role::*;
    match access {
        Access::Member(Owner) => true,
        Access::Member(Developer) => !matches!(
            action,
            PurgeProject | ManageMembers | ManageInvites | ManageBilling | ExportProject
        ),
        Access::Member(Viewer) => {
            matches!(action, GetProject | ReadQuotas | ReadTenant | ReadAuditLog)
        }
        Access::ProjectKey => matches!(action, GetProject | ReadQuotas | ReadTenant | WriteTenant),
    }
}

/// `Ok` when `access` allows `action`, else the 403 that says why.
pub fn require(access: Access, action: Action) -> Result<()> {
    if allows(access, action) {
        Ok(())
    } else {
        Err(Error::forbidden(format!(
            "{} may not {} in this project",
            access.describe(),
            action.name().replace('_', " ")
        ))
        .with_id("insufficient_role"))
    }
}

/// 404 for a project the caller may not see: indistinguishable from one
/// that does not exist.
pub fn project_not_found() -> Error {
    Error::not_found("the project does not exist or you do not have access to it")
}

/// A project API key's access to project `id` (`None` when the caller is
/// not a key): its own project only, any other is not found.
fn key_access(caller: Caller, id: Uuid) -> Option<Result<Access>> {
    caller.project_key().map(|project| {
        if project == id {
            Ok(Access::ProjectKey)
        } else {
            Err(project_not_found())
        }
    })
}

/// Finds a project for a caller and decides whether the caller may act on
/// it. Every project-scoped service method starts here.
#[derive(Clone)]
pub struct Gate {
    db: Database,
    /// (account, project) → role, for the tenant admin path, where every
    /// call (a permission check among them) would otherwise cost a query.
    /// A removal or role change drops the entry on every replica
    /// ([`ACCESS_CHANGED_TOPIC`]); the TTL bounds a missed announcement.
    /// Refusals are never cached.
    grants: moka::future::Cache<(Uuid, Uuid), Role>,
}

/// Announced (payload `account:project`) when a member's access changes.
pub const ACCESS_CHANGED_TOPIC: &str = "controlplane.access_changed";

impl Gate {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            grants: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(30))
                .build(),
        }
    }

    /// Drops a cached grant (after a removal or role change).
    pub async fn forget(&self, account: Uuid, project: Uuid) {
        self.grants.invalidate(&(account, project)).await;
    }

    /// Handles an [`ACCESS_CHANGED_TOPIC`] payload.
    pub async fn on_access_changed(&self, payload: &str) {
        let parsed = payload
            .split_once(':')
            .and_then(|(a, p)| Some((a.parse().ok()?, p.parse().ok()?)));
        match parsed {
            Some((account, project)) => self.forget(account, project).await,
            None => self.grants.invalidate_all(),
        }
    }

    /// May `caller` use project `id`'s admin APIs (for writing when
    /// `write`)? Cached; no project row is read.
    pub async fn tenant_admin(&self, caller: Caller, id: Uuid, write: bool) -> Result<()> {
        let action = if write {
            Action::WriteTenant
        } else {
            Action::ReadTenant
        };
        let access = match key_access(caller, id) {
            Some(access) => access?,
            None => {
                let grant = (caller.account_id, id);
                match self.grants.get(&grant).await {
                    Some(role) => Access::Member(role),
                    None => {
                        let role = members::role_of(&self.db.conn, id, caller.account_id)
                            .await?
                            .ok_or_else(project_not_found)?;
                        self.grants.insert(grant, role).await;
                        Access::Member(role)
                    }
                }
            }
        };
        require(access, action)
    }

    /// How `caller` reaches project `id`; 404 when it does not.
    pub async fn access(&self, caller: Caller, id: Uuid) -> Result<(ProjectRow, Access)> {
        let access = match key_access(caller, id) {
            Some(access) => access?,
            None => members::role_of(&self.db.conn, id, caller.account_id)
                .await?
                .map(Access::Member)
                .ok_or_else(project_not_found)?,
        };
        let project = projects::find(&self.db.conn, id)
            .await?
            .ok_or_else(project_not_found)?;
        Ok((project, access))
    }

    /// The project when `caller` may do `action` on it; 404 when the caller
    /// cannot see it, 403 when its role does not allow the action.
    pub async fn project(
        &self,
        caller: Caller,
        id: Uuid,
        action: Action,
    ) -> Result<(ProjectRow, Access)> {
        let (project, access) = self.access(caller, id).await?;
        require(access, action)?;
        Ok((project, access))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_may_do_everything_viewers_only_read() {
        for action in Action::ALL {
            assert!(allows(Access::Member(Role::Owner), action));
        }
        let viewer: Vec<_> = Action::ALL
            .into_iter()
            .filter(|a| allows(Access::Member(Role::Viewer), *a))
            .map(Action::name)
            .collect();
        assert_eq!(
            viewer,
            [
                "get_project",
                "read_quotas",
                "read_tenant",
                "read_audit_log"
            ]
        );
    }

    #[test]
    fn roles_round_trip() {
        for role in [Role::Owner, Role::Developer, Role::Viewer] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::parse_request("ADMIN").is_err());
    }
}
