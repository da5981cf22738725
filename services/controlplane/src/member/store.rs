//! `project_members`.

use super::MemberView;
use crate::access::Role;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use store::entity::accounts;
use store::entity::project_members::{Column, Entity};
use store::sql;
use uuid::Uuid;

fn parse_role(raw: &str) -> Result<Role> {
    Role::parse(raw).ok_or_else(|| Error::internal(format!("stored role `{raw}`")))
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    account: Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<()> {
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::ProjectId, project.into()),
            (Column::AccountId, account.into()),
            (Column::Role, role.as_str().to_owned().into()),
            (Column::CreatedAt, now.into()),
        ],
    )
    .await
}

/// The role of `account` in `project`, if it is a member.
pub async fn role_of<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    account: Uuid,
) -> Result<Option<Role>> {
    let stmt = Query::select()
        .column(Column::Role)
        .from(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .and_where(Expr::col(Column::AccountId).eq(account))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some(parse_role(&sql::get::<String>(&row, Column::Role)?)?)),
        None => Ok(None),
    }
}

/// The members of a project with their accounts, oldest first.
pub async fn list<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<Vec<MemberView>> {
    let stmt = Query::select()
        .column((accounts::Entity, accounts::Column::Id))
        .column((accounts::Entity, accounts::Column::Email))
        .column((accounts::Entity, accounts::Column::Name))
        .column((Entity, Column::Role))
        .from(Entity)
        .inner_join(
            accounts::Entity,
            Expr::col((accounts::Entity, accounts::Column::Id)).equals((Entity, Column::AccountId)),
        )
        .and_where(Expr::col((Entity, Column::ProjectId)).eq(project))
        .order_by((Entity, Column::CreatedAt), Order::Asc)
        .order_by((accounts::Entity, accounts::Column::Id), Order::Asc)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| {
            Ok(MemberView {
                id: sql::get(row, accounts::Column::Id)?,
                email: sql::get(row, accounts::Column::Email)?,
                name: sql::get(row, accounts::Column::Name)?,
                role: parse_role(&sql::get::<String>(row, Column::Role)?)?,
            })
        })
        .collect()
}

pub async fn count<C: ConnectionTrait>(conn: &C, project: Uuid, role: Option<Role>) -> Result<u64> {
    let mut stmt = Query::select();
    stmt.from(Entity)
        .column(Column::AccountId)
        .and_where(Expr::col(Column::ProjectId).eq(project));
    if let Some(role) = role {
        stmt.and_where(Expr::col(Column::Role).eq(role.as_str()));
    }
    sql::count(conn, stmt.to_owned()).await
}

pub async fn set_role<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    account: Uuid,
    role: Role,
) -> Result<bool> {
    let stmt = Query::update()
        .table(Entity)
        .value(Column::Role, role.as_str())
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .and_where(Expr::col(Column::AccountId).eq(account))
        .to_owned();
    Ok(sql::update(conn, &stmt).await? == 1)
}

pub async fn delete<C: ConnectionTrait>(conn: &C, project: Uuid, account: Uuid) -> Result<bool> {
    let stmt = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .and_where(Expr::col(Column::AccountId).eq(account))
        .to_owned();
    Ok(sql::delete(conn, &stmt).await? == 1)
}

pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    sql::delete(conn, &stmt).await
}
