//! `custom_hostnames`.

use super::model::{HostnameRow, status};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, IdenStatic, Iterable, QueryResult};
use store::entity::custom_hostnames::{Column, Entity, Model};
use store::entity::projects;
use store::sql;
use uuid::Uuid;

fn select() -> SelectStatement {
    Query::select()
        // Qualified: the active list joins `projects`, which has columns
        // of the same names.
        .columns(Column::iter().map(|c| (Entity, c)))
        .from(Entity)
        .order_by((Entity, Column::CreatedAt), Order::Asc)
        .order_by((Entity, Column::Id), Order::Asc)
        .to_owned()
}

fn strings(raw: &str, column: Column) -> Result<Vec<String>> {
    serde_json::from_str(raw).map_err(|e| Error::internal(format!("{}: {e}", column.as_str())))
}

fn from_row(row: &QueryResult) -> Result<HostnameRow> {
    let m: Model = sql::model(row)?;
    Ok(HostnameRow {
        cors_allowed_origins: strings(&m.cors_allowed_origins, Column::CorsAllowedOrigins)?,
        verification_errors: strings(&m.verification_errors, Column::VerificationErrors)?,
        id: m.id,
        project_id: m.project_id,
        hostname: m.hostname,
        cookie_domain: m.cookie_domain,
        cors_enabled: m.cors_enabled,
        verification_status: m.verification_status,
        verified_at: m.verified_at,
        checked_at: m.checked_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn json(list: &[String]) -> Value {
    serde_json::to_string(list)
        .unwrap_or_else(|_| "[]".into())
        .into()
}

fn values(row: &HostnameRow) -> Vec<(Column, Value)> {
    vec![
        (Column::ProjectId, row.project_id.into()),
        (Column::Hostname, row.hostname.clone().into()),
        (Column::CookieDomain, row.cookie_domain.clone().into()),
        (Column::CorsEnabled, row.cors_enabled.into()),
        (Column::CorsAllowedOrigins, json(&row.cors_allowed_origins)),
        (
            Column::VerificationStatus,
            row.verification_status.clone().into(),
        ),
        (Column::VerificationErrors, json(&row.verification_errors)),
        (Column::VerifiedAt, row.verified_at.into()),
        (Column::CheckedAt, row.checked_at.into()),
        (Column::CreatedAt, row.created_at.into()),
        (Column::UpdatedAt, row.updated_at.into()),
    ]
}

pub async fn insert<C: ConnectionTrait>(conn: &C, row: &HostnameRow) -> Result<()> {
    let mut columns = vec![(Column::Id, row.id.into())];
    columns.extend(values(row));
    sql::insert(conn, Entity, columns).await
}

pub async fn update<C: ConnectionTrait>(conn: &C, row: &HostnameRow) -> Result<bool> {
    let mut update = Query::update();
    update
        .table(Entity)
        .and_where(Expr::col(Column::Id).eq(row.id))
        .and_where(Expr::col(Column::ProjectId).eq(row.project_id));
    for (name, value) in values(row) {
        update.value(name, value);
    }
    Ok(sql::update(conn, &update).await? == 1)
}

pub async fn delete<C: ConnectionTrait>(conn: &C, project: Uuid, id: Uuid) -> Result<bool> {
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Id).eq(id))
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    Ok(sql::delete(conn, &delete).await? == 1)
}

/// One hostname of one project (another project's id is not found).
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
    id: Uuid,
) -> Result<Option<HostnameRow>> {
    let stmt = select()
        .and_where(Expr::col(Column::Id).eq(id))
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Whoever holds the hostname, any project.
pub async fn find_by_hostname<C: ConnectionTrait>(
    conn: &C,
    hostname: &str,
) -> Result<Option<HostnameRow>> {
    let stmt = select()
        .and_where(Expr::col(Column::Hostname).eq(hostname.to_owned()))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list_for_project<C: ConnectionTrait>(
    conn: &C,
    project: Uuid,
) -> Result<Vec<HostnameRow>> {
    let stmt = select()
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    rows(conn, &stmt).await
}

pub async fn count_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::select()
        .from(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project))
        .to_owned();
    sql::count(conn, stmt).await
}

/// Every hostname (the periodic re-check).
pub async fn list_all<C: ConnectionTrait>(conn: &C) -> Result<Vec<HostnameRow>> {
    rows(conn, &select()).await
}

/// The active hostnames with their project's slug.
pub async fn list_active_with_slug<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(HostnameRow, String)>> {
    let mut stmt = select();
    // The slug follows the hostname's columns, read by its position.
    stmt.column((projects::Entity, projects::Column::Slug))
        .inner_join(
            projects::Entity,
            Expr::col((projects::Entity, projects::Column::Id)).equals((Entity, Column::ProjectId)),
        )
        .and_where(Expr::col((Entity, Column::VerificationStatus)).eq(status::ACTIVE));
    let slug_at = Column::iter().count();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| Ok((from_row(row)?, sql::get_at(row, slug_at)?)))
        .collect()
}

async fn rows<C: ConnectionTrait>(conn: &C, stmt: &SelectStatement) -> Result<Vec<HostnameRow>> {
    sql::select_all(conn, stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Records a check's outcome unless the row changed meanwhile (its
/// `updated_at` is the one the check started from).
pub async fn record_check<C: ConnectionTrait>(
    conn: &C,
    row: &HostnameRow,
    seen_updated_at: DateTime<Utc>,
) -> Result<bool> {
    let update = Query::update()
        .table(Entity)
        .value(Column::VerificationStatus, row.verification_status.clone())
        .value(Column::VerificationErrors, json(&row.verification_errors))
        .value(Column::VerifiedAt, row.verified_at)
        .value(Column::CheckedAt, row.checked_at)
        .value(Column::UpdatedAt, row.updated_at)
        .and_where(Expr::col(Column::Id).eq(row.id))
        .and_where(Expr::col(Column::UpdatedAt).eq(seen_updated_at))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
