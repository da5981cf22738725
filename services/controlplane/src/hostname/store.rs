//! `custom_hostnames`.

use super::model::{HostnameRow, status};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, QueryResult};
use store::sql::{self, col};
use uuid::Uuid;

const TABLE: &str = "custom_hostnames";
const COLUMNS: [&str; 12] = [
    "id",
    "project_id",
    "hostname",
    "cookie_domain",
    "cors_enabled",
    "cors_allowed_origins",
    "verification_status",
    "verification_errors",
    "verified_at",
    "checked_at",
    "created_at",
    "updated_at",
];

fn select() -> SelectStatement {
    Query::select()
        // Qualified: the active list joins `projects`, which has columns
        // of the same names.
        .columns(COLUMNS.map(|c| (col(TABLE), col(c))))
        .from(col(TABLE))
        .order_by((col(TABLE), col("created_at")), Order::Asc)
        .order_by((col(TABLE), col("id")), Order::Asc)
        .to_owned()
}

fn strings(row: &QueryResult, column: &str) -> Result<Vec<String>> {
    let raw: String = sql::get(row, column)?;
    serde_json::from_str(&raw).map_err(|e| Error::internal(format!("{column}: {e}")))
}

fn from_row(row: &QueryResult) -> Result<HostnameRow> {
    Ok(HostnameRow {
        id: sql::get(row, "id")?,
        project_id: sql::get(row, "project_id")?,
        hostname: sql::get(row, "hostname")?,
        cookie_domain: sql::get(row, "cookie_domain")?,
        cors_enabled: sql::get(row, "cors_enabled")?,
        cors_allowed_origins: strings(row, "cors_allowed_origins")?,
        verification_status: sql::get(row, "verification_status")?,
        verification_errors: strings(row, "verification_errors")?,
        verified_at: sql::get(row, "verified_at")?,
        checked_at: sql::get(row, "checked_at")?,
        created_at: sql::get(row, "created_at")?,
        updated_at: sql::get(row, "updated_at")?,
    })
}

fn json(list: &[String]) -> Value {
    serde_json::to_string(list)
        .unwrap_or_else(|_| "[]".into())
        .into()
}

fn values(row: &HostnameRow) -> Vec<(&'static str, Value)> {
    vec![
        ("project_id", row.project_id.into()),
        ("hostname", row.hostname.clone().into()),
        ("cookie_domain", row.cookie_domain.clone().into()),
        ("cors_enabled", row.cors_enabled.into()),
        ("cors_allowed_origins", json(&row.cors_allowed_origins)),
        (
            "verification_status",
            row.verification_status.clone().into(),
        ),
        ("verification_errors", json(&row.verification_errors)),
        ("verified_at", row.verified_at.into()),
        ("checked_at", row.checked_at.into()),
        ("created_at", row.created_at.into()),
        ("updated_at", row.updated_at.into()),
    ]
}

pub async fn insert<C: ConnectionTrait>(conn: &C, row: &HostnameRow) -> Result<()> {
    let mut columns = vec![("id", row.id.into())];
    columns.extend(values(row));
    sql::insert(conn, TABLE, columns).await
}

pub async fn update<C: ConnectionTrait>(conn: &C, row: &HostnameRow) -> Result<bool> {
    let mut update = Query::update();
    update
        .table(col(TABLE))
        .and_where(Expr::col(col("id")).eq(row.id))
        .and_where(Expr::col(col("project_id")).eq(row.project_id));
    for (name, value) in values(row) {
        update.value(col(name), value);
    }
    Ok(sql::update(conn, &update).await? == 1)
}

pub async fn delete<C: ConnectionTrait>(conn: &C, project: Uuid, id: Uuid) -> Result<bool> {
    let delete = Query::delete()
        .from_table(col(TABLE))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("project_id")).eq(project))
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
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("project_id")).eq(project))
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
        .and_where(Expr::col(col("hostname")).eq(hostname.to_owned()))
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
        .and_where(Expr::col(col("project_id")).eq(project))
        .to_owned();
    rows(conn, &stmt).await
}

pub async fn count_for_project<C: ConnectionTrait>(conn: &C, project: Uuid) -> Result<u64> {
    let stmt = Query::select()
        .from(col(TABLE))
        .and_where(Expr::col(col("project_id")).eq(project))
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
    stmt.expr_as(
        Expr::col((col("projects"), col("slug"))),
        col("project_slug"),
    )
    .inner_join(
        col("projects"),
        Expr::col((col("projects"), col("id"))).equals((col(TABLE), col("project_id"))),
    )
    .and_where(Expr::col((col(TABLE), col("verification_status"))).eq(status::ACTIVE));
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|row| Ok((from_row(row)?, sql::get(row, "project_slug")?)))
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
        .table(col(TABLE))
        .value(col("verification_status"), row.verification_status.clone())
        .value(col("verification_errors"), json(&row.verification_errors))
        .value(col("verified_at"), row.verified_at)
        .value(col("checked_at"), row.checked_at)
        .value(col("updated_at"), row.updated_at)
        .and_where(Expr::col(col("id")).eq(row.id))
        .and_where(Expr::col(col("updated_at")).eq(seen_updated_at))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
