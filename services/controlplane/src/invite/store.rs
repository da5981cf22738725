//! `project_invites`.

use super::{InviteStatus, InviteView};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use store::sql::{self, col};
use uuid::Uuid;

const INVITES: &str = "project_invites";

fn i(name: &str) -> (Alias, Alias) {
    (col("i"), col(name))
}

/// Invites joined with their owner's e-mail.
fn select() -> SelectStatement {
    let mut stmt = Query::select();
    for column in [
        "id",
        "project_id",
        "owner_id",
        "invitee_email",
        "invitee_id",
        "status",
        "token_hash",
        "expires_at",
        "created_at",
        "updated_at",
    ] {
        stmt.expr_as(Expr::col(i(column)), col(column));
    }
    stmt.expr_as(Expr::col((col("a"), col("email"))), col("owner_email"))
        .from_as(col(INVITES), col("i"))
        .join_as(
            JoinType::InnerJoin,
            col("accounts"),
            col("a"),
            Expr::col((col("a"), col("id"))).equals(i("owner_id")),
        )
        .to_owned()
}

fn from_row(row: &sea_orm::QueryResult) -> Result<(InviteView, String)> {
    let status: String = sql::get(row, "status")?;
    Ok((
        InviteView {
            id: sql::get(row, "id")?,
            project_id: sql::get(row, "project_id")?,
            owner_id: sql::get(row, "owner_id")?,
            owner_email: sql::get(row, "owner_email")?,
            invitee_email: sql::get(row, "invitee_email")?,
            invitee_id: sql::get(row, "invitee_id")?,
            status: InviteStatus::parse(&status)
                .ok_or_else(|| Error::internal(format!("stored invite status `{status}`")))?,
            expires_at: sql::get(row, "expires_at")?,
            created_at: sql::get(row, "created_at")?,
            updated_at: sql::get(row, "updated_at")?,
        },
        sql::get(row, "token_hash")?,
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
        INVITES,
        vec![
            ("id", invite.id.into()),
            ("project_id", invite.project_id.into()),
            ("owner_id", invite.owner_id.into()),
            ("invitee_email", invite.invitee_email.clone().into()),
            ("invitee_id", invite.invitee_id.into()),
            ("status", invite.status.as_str().to_owned().into()),
            ("token_hash", token_hash.to_owned().into()),
            ("expires_at", invite.expires_at.into()),
            ("created_at", invite.created_at.into()),
            ("updated_at", invite.updated_at.into()),
        ],
    )
    .await
}

/// An invite and its token's digest.
pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<(InviteView, String)>> {
    let stmt = select().and_where(Expr::col(i("id")).eq(id)).to_owned();
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
        .and_where(Expr::col(i("project_id")).eq(project))
        .order_by(i("created_at"), Order::Desc)
        .order_by(i("id"), Order::Desc)
        .to_owned();
    all(conn, stmt).await
}

/// The invites sent to an address, newest first.
pub async fn list_for_email<C: ConnectionTrait>(conn: &C, email: &str) -> Result<Vec<InviteView>> {
    let stmt = select()
        .and_where(Expr::col(i("invitee_email")).eq(email))
        .order_by(i("created_at"), Order::Desc)
        .order_by(i("id"), Order::Desc)
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
    stmt.column(col("id"))
        .from(col(INVITES))
        .and_where(Expr::col(col("project_id")).eq(project))
        .and_where(Expr::col(col("status")).eq(InviteStatus::Pending.as_str()))
        .and_where(Expr::col(col("expires_at")).gt(now));
    if let Some(email) = email {
        stmt.and_where(Expr::col(col("invitee_email")).eq(email));
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
    stmt.table(col(INVITES))
        .value(col("status"), to.as_str())
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("status")).eq(from.as_str()));
    if let Some(invitee) = invitee {
        stmt.value(col("invitee_id"), invitee);
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
        .table(col(INVITES))
        .value(col("status"), InviteStatus::Removed.as_str())
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("project_id")).eq(project))
        .and_where(Expr::col(col("invitee_id")).eq(account))
        .and_where(Expr::col(col("status")).eq(InviteStatus::Accepted.as_str()))
        .to_owned();
    sql::update(conn, &stmt).await
}

pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(col(INVITES))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    sql::delete(conn, &stmt).await
}
