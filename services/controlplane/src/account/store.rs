//! `accounts` and `api_tokens`.

use super::AccountView;
use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use store::entity::accounts::{Column, Entity};
use store::entity::api_tokens;
use store::sql;
use uuid::Uuid;

pub async fn find_account_id_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<Uuid>> {
    let select = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::Email).eq(email))
        .to_owned();
    sql::select_one(conn, &select)
        .await?
        .map(|r| sql::get(&r, Column::Id))
        .transpose()
}

/// The account and its active project.
pub async fn find_account<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> Result<Option<(AccountView, Option<Uuid>)>> {
    let select = Query::select()
        .columns([
            Column::Id,
            Column::Email,
            Column::Name,
            Column::ActiveProjectId,
        ])
        .from(Entity)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    match sql::select_one(conn, &select).await? {
        Some(row) => Ok(Some((
            AccountView {
                id: sql::get(&row, Column::Id)?,
                email: sql::get(&row, Column::Email)?,
                name: sql::get(&row, Column::Name)?,
            },
            sql::get(&row, Column::ActiveProjectId)?,
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
        Entity,
        vec![
            (Column::Id, id.into()),
            (Column::Email, email.to_owned().into()),
            (Column::Name, String::new().into()),
            (Column::CreatedAt, now.into()),
            (Column::UpdatedAt, now.into()),
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
        .table(Entity)
        .value(Column::ActiveProjectId, project)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(account))
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

/// A token's columns but its digest (and when it was last used).
const TOKEN_COLUMNS: [api_tokens::Column; 6] = [
    api_tokens::Column::Id,
    api_tokens::Column::AccountId,
    api_tokens::Column::ProjectId,
    api_tokens::Column::Name,
    api_tokens::Column::CreatedAt,
    api_tokens::Column::ExpiresAt,
];

fn token_from_row(row: &sea_orm::QueryResult) -> Result<TokenRow> {
    Ok(TokenRow {
        id: sql::get(row, api_tokens::Column::Id)?,
        account_id: sql::get(row, api_tokens::Column::AccountId)?,
        project_id: sql::get(row, api_tokens::Column::ProjectId)?,
        name: sql::get(row, api_tokens::Column::Name)?,
        created_at: sql::get(row, api_tokens::Column::CreatedAt)?,
        expires_at: sql::get(row, api_tokens::Column::ExpiresAt)?,
    })
}

pub async fn insert_token<C: ConnectionTrait>(
    conn: &C,
    token: &TokenRow,
    token_hash: &str,
) -> Result<()> {
    sql::insert(
        conn,
        api_tokens::Entity,
        vec![
            (api_tokens::Column::Id, token.id.into()),
            (api_tokens::Column::AccountId, token.account_id.into()),
            (api_tokens::Column::ProjectId, token.project_id.into()),
            (api_tokens::Column::Name, token.name.clone().into()),
            (api_tokens::Column::TokenHash, token_hash.to_owned().into()),
            (api_tokens::Column::CreatedAt, token.created_at.into()),
            (api_tokens::Column::ExpiresAt, token.expires_at.into()),
        ],
    )
    .await
}

pub async fn find_token_by_hash<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
) -> Result<Option<TokenRow>> {
    let select = Query::select()
        .columns(TOKEN_COLUMNS)
        .from(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::TokenHash).eq(token_hash))
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
        .columns(TOKEN_COLUMNS)
        .from(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::ProjectId).eq(project))
        .order_by(api_tokens::Column::CreatedAt, Order::Asc)
        .order_by(api_tokens::Column::Id, Order::Asc)
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
        .column(api_tokens::Column::TokenHash)
        .from(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::Id).eq(token))
        .and_where(Expr::col(api_tokens::Column::ProjectId).eq(project))
        .to_owned();
    let Some(row) = sql::select_one(conn, &select).await? else {
        return Ok(None);
    };
    let hash: String = sql::get(&row, api_tokens::Column::TokenHash)?;
    let delete = Query::delete()
        .from_table(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::Id).eq(token))
        .and_where(Expr::col(api_tokens::Column::ProjectId).eq(project))
        .to_owned();
    Ok((sql::delete(conn, &delete).await? == 1).then_some(hash))
}

/// Deletes every key of a project (purge); returns their digests.
pub async fn delete_project_tokens<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
) -> Result<Vec<String>> {
    let select = Query::select()
        .column(api_tokens::Column::TokenHash)
        .from(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::ProjectId).eq(project))
        .to_owned();
    let hashes = sql::select_all(conn, &select)
        .await?
        .iter()
        .map(|r| sql::get(r, api_tokens::Column::TokenHash))
        .collect::<Result<Vec<String>>>()?;
    let delete = Query::delete()
        .from_table(api_tokens::Entity)
        .and_where(Expr::col(api_tokens::Column::ProjectId).eq(project))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(hashes)
}
