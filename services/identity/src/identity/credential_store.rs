//! SQL for single credentials, as the second-factor methods change them:
//! remove one type, and swap a config only if nobody changed it meanwhile
//! (a one-time code is used once even when two requests race).

use super::store::{CREDENTIALS, IDENTIFIERS, json_text};
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;
use store::sql::{self, col};
use uuid::Uuid;

/// Deletes the identity's credential of `kind` and its identifiers;
/// whether there was one.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    kind: &str,
) -> Result<bool> {
    let identifiers = Query::delete()
        .from_table(col(IDENTIFIERS))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("identity_id")).eq(identity_id))
        .and_where(Expr::col(col("credential_type")).eq(kind))
        .to_owned();
    sql::delete(conn, &identifiers).await?;
    let credentials = Query::delete()
        .from_table(col(CREDENTIALS))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("identity_id")).eq(identity_id))
        .and_where(Expr::col(col("credential_type")).eq(kind))
        .to_owned();
    Ok(sql::delete(conn, &credentials).await? > 0)
}

/// Replaces a credential's config with `new` if it still is `old`;
/// `false` when another request changed it first.
pub async fn swap_config<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    credential_id: Uuid,
    old: &Value,
    new: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let update = Query::update()
        .table(col(CREDENTIALS))
        .values([
            (col("config"), json_text(new).into()),
            (col("updated_at"), now.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(credential_id))
        .and_where(Expr::col(col("config")).eq(json_text(old)))
        .to_owned();
    Ok(sql::update(conn, &update).await? > 0)
}
