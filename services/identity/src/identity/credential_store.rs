//! SQL for single credentials, as the second-factor methods change them:
//! remove one type, and swap a config only if nobody changed it meanwhile
//! (a one-time code is used once even when two requests race).

use super::store::json_text;
use kernel::Result;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;
use store::entity::{identity_credential_identifiers as identifiers, identity_credentials};
use store::sql;
use uuid::Uuid;

/// Deletes the identity's credential of `kind` and its identifiers;
/// whether there was one.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    kind: &str,
) -> Result<bool> {
    // Identifiers before the credential they point at.
    let delete_identifiers = {
        use identifiers::{Column, Entity};
        Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Nid).eq(nid))
            .and_where(Expr::col(Column::IdentityId).eq(identity_id))
            .and_where(Expr::col(Column::CredentialType).eq(kind))
            .to_owned()
    };
    sql::delete(conn, &delete_identifiers).await?;
    let delete_credentials = {
        use identity_credentials::{Column, Entity};
        Query::delete()
            .from_table(Entity)
            .and_where(Expr::col(Column::Nid).eq(nid))
            .and_where(Expr::col(Column::IdentityId).eq(identity_id))
            .and_where(Expr::col(Column::CredentialType).eq(kind))
            .to_owned()
    };
    Ok(sql::delete(conn, &delete_credentials).await? > 0)
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
    use identity_credentials::{Column, Entity};
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::Config, json_text(new).into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(credential_id))
        .and_where(Expr::col(Column::Config).eq(json_text(old)))
        .to_owned();
    Ok(sql::update(conn, &update).await? > 0)
}
