//! SQL for flows (stored whole as JSON) and self-service errors.

use super::model::{Flow, FlowKind};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;
use store::entity::{selfservice_errors, selfservice_flows};
use store::sql;
use uuid::Uuid;

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    kind: FlowKind,
    identity_id: Option<Uuid>,
    flow: &Flow,
) -> Result<()> {
    use selfservice_flows::{Column, Entity};
    let body = serde_json::to_string(flow).map_err(Error::internal)?;
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::Id, flow.id.into()),
            (Column::Nid, nid.into()),
            (Column::Kind, kind.as_str().to_owned().into()),
            (Column::IdentityId, identity_id.into()),
            (Column::Body, body.into()),
            (Column::InternalContext, internal_text(flow).into()),
            (Column::ExpiresAt, flow.expires_at.into()),
            (Column::CreatedAt, flow.created_at.into()),
            (Column::UpdatedAt, flow.updated_at.into()),
        ],
    )
    .await
}

/// A flow of this tenant and kind, with the identity it belongs to.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    kind: FlowKind,
    id: Uuid,
) -> Result<Option<(Flow, Option<Uuid>)>> {
    use selfservice_flows::{Column, Entity};
    let stmt = Query::select()
        .columns([Column::Body, Column::IdentityId, Column::InternalContext])
        .from(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Kind).eq(kind.as_str()))
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &stmt).await? else {
        return Ok(None);
    };
    let body: String = sql::get(&row, Column::Body)?;
    let mut flow: Flow =
        serde_json::from_str(&body).map_err(|e| Error::internal(format!("stored flow: {e}")))?;
    let internal: Option<String> = sql::get(&row, Column::InternalContext)?;
    if let Some(internal) = internal {
        flow.internal = serde_json::from_str(&internal)
            .map_err(|e| Error::internal(format!("stored flow context: {e}")))?;
    }
    Ok(Some((flow, sql::get(&row, Column::IdentityId)?)))
}

pub async fn update<C: ConnectionTrait>(conn: &C, nid: Uuid, flow: &Flow) -> Result<()> {
    use selfservice_flows::{Column, Entity};
    let body = serde_json::to_string(flow).map_err(Error::internal)?;
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::Body, body.into()),
            (Column::InternalContext, internal_text(flow).into()),
            (Column::UpdatedAt, flow.updated_at.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(flow.id))
        .to_owned();
    sql::update(conn, &update).await?;
    Ok(())
}

/// The internal context as stored: none when the methods keep nothing.
fn internal_text(flow: &Flow) -> Option<String> {
    if Value::is_null(&flow.internal) {
        None
    } else {
        Some(flow.internal.to_string())
    }
}

pub async fn insert_error<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
    error: &Value,
    now: DateTime<Utc>,
) -> Result<()> {
    use selfservice_errors::{Column, Entity};
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::Id, id.into()),
            (Column::Nid, nid.into()),
            (Column::Error, error.to_string().into()),
            (Column::CreatedAt, now.into()),
        ],
    )
    .await
}

pub async fn find_error<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
) -> Result<Option<(Value, DateTime<Utc>)>> {
    use selfservice_errors::{Column, Entity};
    let stmt = Query::select()
        .columns([Column::Error, Column::CreatedAt])
        .from(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &stmt).await? else {
        return Ok(None);
    };
    let error: String = sql::get(&row, Column::Error)?;
    Ok(Some((
        serde_json::from_str(&error).map_err(Error::internal)?,
        sql::get(&row, Column::CreatedAt)?,
    )))
}
