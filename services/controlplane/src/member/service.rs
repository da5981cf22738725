//! Listing and removing members, changing roles, and what a caller may do.

use super::MemberView;
use super::store as members;
use crate::access::{ACCESS_CHANGED_TOPIC, Action, Gate, Role};
use crate::account::Caller;
use crate::invite::store as invites;
use crate::project::store as projects;
use crate::quota::{self, MemberSeatsView};
use chrono::{DateTime, Utc};
use kernel::clock::SharedClock;
use kernel::ports::{BusEvent, CacheBus};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use store::audit::{self, Change};
use store::{Database, sql};
use uuid::Uuid;

#[derive(Clone)]
pub struct MemberService {
    db: Database,
    gate: Gate,
    clock: SharedClock,
    bus: Arc<dyn CacheBus>,
}

/// Seats in use: members plus pending invites that have not expired.
pub async fn seats_in_use<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(members::count(conn, project, None).await?
        + invites::count_open(conn, project, None, now).await?)
}

impl MemberService {
    pub fn new(db: Database, gate: Gate, clock: SharedClock, bus: Arc<dyn CacheBus>) -> Self {
        Self {
            db,
            gate,
            clock,
            bus,
        }
    }

    /// `GET /projects/{id}/members`.
    pub async fn list(&self, caller: Caller, project: Uuid) -> Result<Vec<MemberView>> {
        self.gate
            .project(caller, project, Action::ListMembers)
            .await?;
        members::list(&self.db.conn, project).await
    }

    /// Drops cached grants here and on every other replica.
    async fn announce(&self, account: Uuid, project: Uuid) {
        self.gate.forget(account, project).await;
        self.bus
            .publish(BusEvent {
                topic: ACCESS_CHANGED_TOPIC.to_owned(),
                payload: format!("{account}:{project}"),
            })
            .await;
    }

    /// Changes a member's role or removes it (`None`), keeping one owner.
    async fn change(&self, project: Uuid, member: Uuid, role: Option<Role>) -> Result<()> {
        let now = self.clock.now();
        let txn = self.db.begin_write().await?;
        projects::touch(&txn, project, now).await?;
        let current = members::role_of(&txn, project, member)
            .await?
            .ok_or_else(|| Error::not_found("the project has no member with this id"))?;
        if current == Role::Owner
            && role != Some(Role::Owner)
            && members::count(&txn, project, Some(Role::Owner)).await? <= 1
        {
            return Err(Error::bad_request(
                "this is the project's last owner; make another member an owner first",
            )
            .with_id("last_owner"));
        }
        let before = json!({ "role": current.as_str() });
        let change = match role {
            Some(role) => {
                members::set_role(&txn, project, member, role).await?;
                Change::project(project, "member.update", member)
                    .diff(Some(&before), Some(&json!({ "role": role.as_str() })))
            }
            None => {
                members::delete(&txn, project, member).await?;
                invites::mark_removed(&txn, project, member, now).await?;
                Change::project(project, "member.delete", member).diff(Some(&before), None)
            }
        };
        audit::append(&txn, change, now).await?;
        txn.commit().await.map_err(sql::db_error)?;
        self.announce(member, project).await;
        Ok(())
    }

    /// `DELETE /projects/{id}/members/{member_id}`: the member's accepted
    /// invite becomes `removed`; the last owner stays.
    pub async fn remove(&self, caller: Caller, project: Uuid, member: Uuid) -> Result<()> {
        self.gate
            .project(caller, project, Action::ManageMembers)
            .await?;
        self.change(project, member, None).await
    }

    /// `PUT /projects/{id}/members/{member_id}` `{"role"}`.
    pub async fn set_role(
        &self,
        caller: Caller,
        project: Uuid,
        member: Uuid,
        role: Role,
    ) -> Result<Vec<MemberView>> {
        self.gate
            .project(caller, project, Action::ManageMembers)
            .await?;
        self.change(project, member, Some(role)).await?;
        members::list(&self.db.conn, project).await
    }

    /// `GET /projects/{id}/access`: every action and whether the caller may.
    pub async fn access(&self, caller: Caller, project: Uuid) -> Result<BTreeMap<String, bool>> {
        let (_, access) = self.gate.access(caller, project).await?;
        Ok(Action::ALL
            .into_iter()
            .map(|action| {
                (
                    action.name().to_owned(),
                    crate::access::allows(access, action),
                )
            })
            .collect())
    }

    /// `GET /projects/{id}/quotas/members`.
    pub async fn seats(&self, caller: Caller, project: Uuid) -> Result<MemberSeatsView> {
        let (row, _) = self
            .gate
            .project(caller, project, Action::ReadQuotas)
            .await?;
        let total = quota::for_project(&self.db.conn, &row, self.clock.now())
            .await?
            .member_seats;
        let used = seats_in_use(&self.db.conn, project, self.clock.now()).await?;
        Ok(MemberSeatsView {
            project_id: project,
            total_seats: total,
            remaining_seats: total.saturating_sub(used),
        })
    }
}
