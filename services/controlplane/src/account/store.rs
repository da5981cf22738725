//! `accounts` and `api_tokens`.

use super::AccountView;
use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use store::sql::{self, col};
use uuid::Uuid;

pub async fn find_account_id_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<Uuid>> {
    let select = Query::select()
        .column(col("id"))
        .from(col("accounts"))
        .and_where(Expr::col(col("email")).eq(email))
        .to_owned();
    sql::select_one(conn, &select)
        .await?
        .map(|r| sql::get(&r, "id"))
        .transpose()
}

/// The account and its active project.
pub async fn find_account<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<(AccountView, Option<Uuid>)>> {
    let select = Query::select()
        .columns(["id", "email", "name", "active_project_id"].map(col))
        .from(col("accounts"))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    match sql::select_one(conn, &select).await? {
        Some(row) => Ok(Some((
            AccountView {
                id: sql::get(&row, "id")?,
                email: sql::get(&row, "email")?,
                name: sql::get(&row, "name")?,
            },
            sql::get(&row, "active_project_id")?,
        ))),
        None => Ok(None),
    }
}

/// Inserts an account; `id` is the console identity's id.
pub async fn insert_account<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sql::insert(
        conn,
        "accounts",
        vec![
            ("id", id.into()),
            ("email", email.to_owned().into()),
            ("name", String::new().into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await
}

pub async fn set_active_project<C: ConnectionTrait>(
    conn: &C,
    account: Uuid,
    project: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    let stmt = Query::update()
        .table(col("accounts"))
        .value(col("active_project_id"), project)
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(account))
        .to_owned();
    sql::update(conn, &stmt).await?;
    Ok(())
}

/// A stored token, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub project_id: Option<Uuid>,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: [&str; 6] = [
    "id",
    "account_id",
    "project_id",
    "name",
    "created_at",
    "expires_at",
];

fn token_from_row(row: &sea_orm::QueryResult) -> Result<TokenRow> {
    Ok(TokenRow {
        id: sql::get(row, "id")?,
        account_id: sql::get(row, "account_id")?,
        project_id: sql::get(row, "project_id")?,
        name: sql::get(row, "name")?,
        created_at: sql::get(row, "created_at")?,
        expires_at: sql::get(row, "expires_at")?,
    })
}

pub async fn insert_token<C: ConnectionTrait>(
    conn: &C,
    token: &TokenRow,
    token_hash: &str,
) -> Result<()> {
    sql::insert(
        conn,
        "api_tokens",
        vec![
            ("id", token.id.into()),
            ("account_id", token.account_id.into()),
            ("project_id", token.project_id.into()),
            ("name", token.name.clone().into()),
            ("token_hash", token_hash.to_owned().into()),
            ("created_at", token.created_at.into()),
            ("expires_at", token.expires_at.into()),
        ],
    )
    .await
}

pub async fn find_token_by_hash<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
) -> Result<Option<TokenRow>> {
    let select = Query::select()
        .columns(TOKEN_COLUMNS.map(col))
        .from(col("api_tokens"))
        .and_where(Expr::col(col("token_hash")).eq(token_hash))
        .to_owned();
    sql::select_one(conn, &select)
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
}

/// The API keys of a project, oldest first.
pub async fn list_project_tokens<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
) -> Result<Vec<TokenRow>> {
    let select = Query::select()
        .columns(TOKEN_COLUMNS.map(col))
        .from(col("api_tokens"))
        .and_where(Expr::col(col("project_id")).eq(project))
        .order_by(col("created_at"), Order::Asc)
        .order_by(col("id"), Order::Asc)
        .to_owned();
    sql::select_all(conn, &select)
        .await?
        .iter()
        .map(token_from_row)
        .collect()
}

/// Deletes a project's API key; returns its digest (to drop it from every
/// replica's cache), or None when the project has no such key.
pub async fn delete_project_token<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    token: Uuid,
) -> Result<Option<String>> {
    let select = Query::select()
        .column(col("token_hash"))
        .from(col("api_tokens"))
        .and_where(Expr::col(col("id")).eq(token))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    let Some(row) = sql::select_one(conn, &select).await? else {
        return Ok(None);
    };
    let hash: String = sql::get(&row, "token_hash")?;
    let delete = Query::delete()
        .from_table(col("api_tokens"))
        .and_where(Expr::col(col("id")).eq(token))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    Ok((sql::delete(conn, &delete).await? == 1).then_some(hash))
}

/// Deletes every key of a project (purge); returns their digests.
pub async fn delete_project_tokens<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
) -> Result<Vec<String>> {
    let select = Query::select()
        .column(col("token_hash"))
        .from(col("api_tokens"))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    let hashes = sql::select_all(conn, &select)
        .await?
        .iter()
        .map(|r| sql::get(r, "token_hash"))
        .collect::<Result<Vec<String>>>()?;
    let delete = Query::delete()
        .from_table(col("api_tokens"))
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(hashes)
}
