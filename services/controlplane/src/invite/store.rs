//! `project_invites`.

use super::{InviteStatus, InviteView};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, Iterable, QueryResult};
use store::entity::accounts;
use store::entity::project_invites::{Column, Entity, Model};
use store::sql;
use uuid::Uuid;

/// Invites joined with their owner's e-mail, which follows the invite's
/// columns (read by its position).
fn select() -> SelectStatement {
    Query::select()
        .columns(Column::iter().map(|c| (Entity, c)))
        .column((accounts::Entity, accounts::Column::Email))
        .from(Entity)
        .inner_join(
            accounts::Entity,
            Expr::col((accounts::Entity, accounts::Column::Id)).equals((Entity, Column::OwnerId)),
        )
        .to_owned()
}

fn from_row(row: &QueryResult) -> Result<(InviteView, String)> {
    let m: Model = sql::model(row)?;
    let owner_email = sql::get_at(row, Column::iter().count())?;
    Ok((
        InviteView {
            status: InviteStatus::parse(&m.status)
                .ok_or_else(|| Error::internal(format!("stored invite status `{}`", m.status)))?,
            id: m.id,
            project_id: m.project_id,
            owner_id: m.owner_id,
            owner_email,
            invitee_email: m.invitee_email,
            invitee_id: m.invitee_id,
            expires_at: m.expires_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        },
        m.token_hash,
    ))
}

async fn all<C: ConnectionTrait>(conn: &C, stmt: SelectStatement) -> Result<Vec<InviteView>> {
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| from_row(row).map(|(view, _)| view))
        .collect()
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    invite: &InviteView,
    token_hash: &str,
) -> Result<()> {
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::Id, invite.id.into()),
            (Column::ProjectId, invite.project_id.into()),
            (Column::OwnerId, invite.owner_id.into()),
            (Column::InviteeEmail, invite.invitee_email.clone().into()),
            (Column::InviteeId, invite.invitee_id.into()),
            (Column::Status, invite.status.as_str().to_owned().into()),
            (Column::TokenHash, token_hash.to_owned().into()),
            (Column::ExpiresAt, invite.expires_at.into()),
            (Column::CreatedAt, invite.created_at.into()),
            (Column::UpdatedAt, invite.updated_at.into()),
        ],
    )
    .await
}

/// An invite and its token's digest.
pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<(InviteView, String)>> {
    let stmt = select()
        .and_where(Expr::col((Entity, Column::Id)).eq(id))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// A project's invites, newest first.
pub async fn list_for_project<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
) -> Result<Vec<InviteView>> {
    let stmt = select()
        .and_where(Expr::col((Entity, Column::ProjectId)).eq(project))
        .order_by((Entity, Column::CreatedAt), Order::Desc)
        .order_by((Entity, Column::Id), Order::Desc)
        .to_owned();
    all(conn, stmt).await
}

/// The invites sent to an address, newest first.
pub async fn list_for_email<C: ConnectionTrait>(conn: &C, email: &str) -> Result<Vec<InviteView>> {
    let stmt = select()
        .and_where(Expr::col((Entity, Column::InviteeEmail)).eq(email))
        .order_by((Entity, Column::CreatedAt), Order::Desc)
        .order_by((Entity, Column::Id), Order::Desc)
        .to_owned();
    all(conn, stmt).await
}

/// Pending invites of a project that have not expired at `now`, optionally
/// only those to one address.
pub async fn count_open<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut stmt = Query::select();
    stmt.column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .and_where(Expr::col(Column::Status).eq(InviteStatus::Pending.as_str()))
        .and_where(Expr::col(Column::ExpiresAt).gt(now));
    if let Some(email) = email {
        stmt.and_where(Expr::col(Column::InviteeEmail).eq(email));
    }
    sql::count(conn, stmt.to_owned()).await
}

/// Moves an invite from `from` to `to`; false when it is no longer in
/// `from` (someone answered it first: the link is single use).
pub async fn transition<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    from: InviteStatus,
    to: InviteStatus,
    invitee: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut stmt = Query::update();
    stmt.table(Entity)
        .value(Column::Status, to.as_str())
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id))
        .and_where(Expr::col(Column::Status).eq(from.as_str()));
    if let Some(invitee) = invitee {
        stmt.value(Column::InviteeId, invitee);
    }
    Ok(sql::update(conn, &stmt).await? == 1)
}

/// A removed member's accepted invites become `removed`.
pub async fn mark_removed<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    account: Uuid,
    now: DateTime<Utc>,
) -> Result<u64> {
    let stmt = Query::update()
        .table(Entity)
        .value(Column::Status, InviteStatus::Removed.as_str())
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .and_where(Expr::col(Column::InviteeId).eq(account))
        .and_where(Expr::col(Column::Status).eq(InviteStatus::Accepted.as_str()))
        .to_owned();
    sql::update(conn, &stmt).await
}

pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    sql::delete(conn, &stmt).await
}
