//! `projects`. Every query that serves a caller filters on the owner, so a
//! project of another account is indistinguishable from a missing one.

use super::model::ProjectRow;
use chrono::{DateTime, Utc};
use kernel::tenant::ProjectState;
use kernel::{Error, Result};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use store::sql;
use uuid::Uuid;

const PROJECTS: &str = "projects";
const COLUMNS: [&str; 9] = [
    "id",
    "slug",
    "name",
    "state",
    "owner_account_id",
    "current_revision_id",
    "subscription_id",
    "created_at",
    "updated_at",
];

/// Projects that are fully created (their first revision is committed);
/// every read starts here.
fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(Alias::new))
        .from(Alias::new(PROJECTS))
        .and_where(Expr::col(Alias::new("current_revision_id")).is_not_null())
        .to_owned()
}

fn from_row(row: &QueryResult) -> Result<ProjectRow> {
    let state: String = sql::get(row, "state")?;
    Ok(ProjectRow {
        id: sql::get(row, "id")?,
        slug: sql::get(row, "slug")?,
        name: sql::get(row, "name")?,
        state: ProjectState::parse(&state)
            .ok_or_else(|| Error::internal(format!("project state {state}")))?,
        owner_account_id: sql::get(row, "owner_account_id")?,
        current_revision_id: sql::get::<Option<Uuid>>(row, "current_revision_id")?
            .ok_or_else(|| Error::internal("project without a revision"))?,
        subscription_id: sql::get(row, "subscription_id")?,
        created_at: sql::get(row, "created_at")?,
        updated_at: sql::get(row, "updated_at")?,
    })
}

/// Inserts a project without a revision yet (the revision references it).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    slug: &str,
    name: &str,
    owner: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sql::insert(
        conn,
        PROJECTS,
        vec![
            ("id", id.into()),
            ("slug", slug.to_owned().into()),
            ("name", name.to_owned().into()),
            ("state", ProjectState::Running.as_str().to_owned().into()),
            ("owner_account_id", owner.into()),
            ("created_at", now.into()),
            ("updated_at", now.into()),
        ],
    )
    .await
}

/// The project if `owner` owns it.
pub async fn find_owned<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    owner: Uuid,
) -> Result<Option<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .and_where(Expr::col(Alias::new("owner_account_id")).eq(owner))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find_by_slug<C: ConnectionTrait>(conn: &C, slug: &str) -> Result<Option<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("slug")).eq(slug))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn list_owned<C: ConnectionTrait>(conn: &C, owner: Uuid) -> Result<Vec<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("owner_account_id")).eq(owner))
        .order_by(Alias::new("created_at"), Order::Asc)
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Moves the project to `new_revision` only if its current revision is
/// still `expected` (None: the project has none yet). Returns false when
/// someone else moved it first: the optimistic lock that prevents lost updates.
pub async fn switch_revision<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    expected: Option<Uuid>,
    new_revision: Uuid,
    name: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let mut update = Query::update();
    update
        .table(Alias::new(PROJECTS))
        .value(Alias::new("current_revision_id"), new_revision)
        .value(Alias::new("name"), name.to_owned())
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new("id")).eq(id));
    match expected {
        Some(rev) => update.and_where(Expr::col(Alias::new("current_revision_id")).eq(rev)),
        None => update.and_where(Expr::col(Alias::new("current_revision_id")).is_null()),
    };
    Ok(sql::update(conn, &update).await? == 1)
}

/// Sets a project's state; returns its slug, or None when it does not exist.
pub async fn set_state<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    state: ProjectState,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let update = Query::update()
        .table(Alias::new(PROJECTS))
        .value(Alias::new("state"), state.as_str().to_owned())
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    if sql::update(conn, &update).await? == 0 {
        return Ok(None);
    }
    let stmt = select()
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    Ok(sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .map(|p| p.slug))
}

pub async fn delete<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<u64> {
    let delete = Query::delete()
        .from_table(Alias::new(PROJECTS))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    sql::delete(conn, &delete).await
}
