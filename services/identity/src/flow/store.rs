//! SQL for flows (stored whole as JSON) and self-service errors.

use super::model::{Flow, FlowKind};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;
use store::sql::{self, col};
use uuid::Uuid;

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    kind: FlowKind,
    identity_id: Option<Uuid>,
    flow: &Flow,
) -> Result<()> {
    let body = serde_json::to_string(flow).map_err(Error::internal)?;
    sql::insert(
        conn,
        "selfservice_flows",
        vec![
            ("id", flow.id.into()),
            ("nid", nid.into()),
            ("kind", kind.as_str().to_owned().into()),
            ("identity_id", identity_id.into()),
            ("body", body.into()),
            ("internal_context", internal_text(flow).into()),
            ("expires_at", flow.expires_at.into()),
            ("created_at", flow.created_at.into()),
            ("updated_at", flow.updated_at.into()),
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
    let stmt = Query::select()
        .columns([col("body"), col("identity_id"), col("internal_context")])
        .from(col("selfservice_flows"))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("kind")).eq(kind.as_str()))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &stmt).await? else {
        return Ok(None);
    };
    let body: String = sql::get(&row, "body")?;
    let mut flow: Flow =
        serde_json::from_str(&body).map_err(|e| Error::internal(format!("stored flow: {e}")))?;
    let internal: Option<String> = sql::get(&row, "internal_context")?;
    if let Some(internal) = internal {
        flow.internal = serde_json::from_str(&internal)
            .map_err(|e| Error::internal(format!("stored flow context: {e}")))?;
    }
    Ok(Some((flow, sql::get(&row, "identity_id")?)))
}

pub async fn update<C: ConnectionTrait>(conn: &C, nid: Uuid, flow: &Flow) -> Result<()> {
    let body = serde_json::to_string(flow).map_err(Error::internal)?;
    let update = Query::update()
        .table(col("selfservice_flows"))
        .values([
            (col("body"), body.into()),
            (col("internal_context"), internal_text(flow).into()),
            (col("updated_at"), flow.updated_at.into()),
        ])
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(flow.id))
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
    sql::insert(
        conn,
        "selfservice_errors",
        vec![
            ("id", id.into()),
            ("nid", nid.into()),
            ("error", error.to_string().into()),
            ("created_at", now.into()),
        ],
    )
    .await
}

pub async fn find_error<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
) -> Result<Option<(Value, DateTime<Utc>)>> {
    let stmt = Query::select()
        .columns([col("error"), col("created_at")])
        .from(col("selfservice_errors"))
        .and_where(Expr::col(col("nid")).eq(nid))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &stmt).await? else {
        return Ok(None);
    };
    let error: String = sql::get(&row, "error")?;
    Ok(Some((
        serde_json::from_str(&error).map_err(Error::internal)?,
        sql::get(&row, "created_at")?,
    )))
}
