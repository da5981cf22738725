//! `project_members`.

use super::MemberView;
use crate::access::Role;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, Order, Query};
use store::sql::{self, col};
use uuid::Uuid;

const MEMBERS: &str = "project_members";

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
        MEMBERS,
        vec![
            ("project_id", project.into()),
            ("account_id", account.into()),
            ("role", role.as_str().to_owned().into()),
            ("created_at", now.into()),
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
        .column(col("role"))
        .from(col(MEMBERS))
        .and_where(Expr::col(col("project_id")).eq(project))
        .and_where(Expr::col(col("account_id")).eq(account))
        .to_owned();
    match sql::select_one(conn, &stmt).await? {
        Some(row) => Ok(Some(parse_role(&sql::get::<String>(&row, "role")?)?)),
        None => Ok(None),
    }
}

/// The members of a project with their accounts, oldest first.
pub async fn list<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<Vec<MemberView>> {
    let stmt = Query::select()
        .expr_as(Expr::col((col("a"), col("id"))), col("id"))
        .expr_as(Expr::col((col("a"), col("email"))), col("email"))
        .expr_as(Expr::col((col("a"), col("name"))), col("name"))
        .expr_as(Expr::col((col("m"), col("role"))), col("role"))
        .from_as(col(MEMBERS), col("m"))
        .join_as(
            JoinType::InnerJoin,
            col("accounts"),
            col("a"),
            Expr::col((col("a"), col("id"))).equals((col("m"), col("account_id"))),
        )
        .and_where(Expr::col((col("m"), col("project_id"))).eq(project))
        .order_by((col("m"), col("created_at")), Order::Asc)
        .order_by((col("a"), col("id")), Order::Asc)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| {
            Ok(MemberView {
                id: sql::get(row, "id")?,
                email: sql::get(row, "email")?,
                name: sql::get(row, "name")?,
                role: parse_role(&sql::get::<String>(row, "role")?)?,
            })
        })
        .collect()
}

pub async fn count<C: ConnectionTrait>(conn: &C, project: Uuid, role: Option<Role>) -> Result<u64> {
    let mut stmt = Query::select();
    stmt.from(col(MEMBERS))
        .column(col("account_id"))
        .and_where(Expr::col(col("project_id")).eq(project));
    if let Some(role) = role {
        stmt.and_where(Expr::col(col("role")).eq(role.as_str()));
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
        .table(col(MEMBERS))
        .value(col("role"), role.as_str())
        .and_where(Expr::col(col("project_id")).eq(project))
        .and_where(Expr::col(col("account_id")).eq(account))
        .to_owned();
    Ok(sql::update(conn, &stmt).await? == 1)
}

pub async fn delete<C: ConnectionTrait>(conn: &C, project: Uuid, account: Uuid) -> Result<bool> {
    let stmt = Query::delete()
        .from_table(col(MEMBERS))
        .and_where(Expr::col(col("project_id")).eq(project))
        .and_where(Expr::col(col("account_id")).eq(account))
        .to_owned();
    Ok(sql::delete(conn, &stmt).await? == 1)
}

pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::delete()
        .from_table(col(MEMBERS))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    sql::delete(conn, &stmt).await
}
