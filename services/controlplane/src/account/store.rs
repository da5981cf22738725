//! `accounts` and `api_tokens`.

use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use store::sql;
use uuid::Uuid;

pub async fn find_account_id_by_email<C: ConnectionTrait>(
    conn: &C,
    email: &str,
) -> Result<Option<Uuid>> {
    let select = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("accounts"))
        .and_where(Expr::col(Alias::new("email")).eq(email))
        .to_owned();
    sql::select_one(conn, &select)
        .await?
        .map(|r| sql::get(&r, "id"))
        .transpose()
}

pub async fn insert_account<C: ConnectionTrait>(
    conn: &C,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
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
    .await?;
    Ok(id)
}

pub async fn insert_token<C: ConnectionTrait>(
    conn: &C,
    account_id: Uuid,
    name: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sql::insert(
        conn,
        "api_tokens",
        vec![
            ("id", id.into()),
            ("account_id", account_id.into()),
            ("name", name.to_owned().into()),
            ("token_hash", token_hash.to_owned().into()),
            ("created_at", now.into()),
        ],
    )
    .await?;
    Ok(id)
}

pub async fn find_account_id_by_token_hash<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
) -> Result<Option<Uuid>> {
    let select = Query::select()
        .column(Alias::new("account_id"))
        .from(Alias::new("api_tokens"))
        .and_where(Expr::col(Alias::new("token_hash")).eq(token_hash))
        .to_owned();
    sql::select_one(conn, &select)
        .await?
        .map(|r| sql::get(&r, "account_id"))
        .transpose()
}
