//! `projects`. Reads that serve a caller go through `access::Gate` first,
//! so a project the caller may not see is indistinguishable from a missing one.

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

/// The project, whoever may see it (the caller checks access first).
pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("id")).eq(id))
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

/// The projects `account` is a member of.
pub async fn list_for_member<C: ConnectionTrait>(
    conn: &C,
    account: Uuid,
) -> Result<Vec<ProjectRow>> {
    let memberships = Query::select()
        .column(Alias::new("project_id"))
        .from(Alias::new("project_members"))
        .and_where(Expr::col(Alias::new("account_id")).eq(account))
        .to_owned();
    let stmt = select()
        .and_where(Expr::col(Alias::new("id")).in_subquery(memberships))
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

/// Sets `updated_at`: inside a transaction this locks the project's row, so
/// membership changes of one project run one after another (the last owner
/// can not be removed by two owners removing each other at once).
pub async fn touch<C: ConnectionTrait>(conn: &C, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let update = Query::update()
        .table(Alias::new(PROJECTS))
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}

/// The projects on a subscription.
pub async fn list_by_subscription<C: ConnectionTrait>(
    conn: &C,
    subscription: Uuid,
) -> Result<Vec<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("subscription_id")).eq(subscription))
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The projects an account owns that are on no subscription (free).
pub async fn list_owned_without_subscription<C: ConnectionTrait>(
    conn: &C,
    owner: Uuid,
) -> Result<Vec<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Alias::new("owner_account_id")).eq(owner))
        .and_where(Expr::col(Alias::new("subscription_id")).is_null())
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Puts a project on a subscription; false when the project is gone.
pub async fn set_subscription<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    subscription: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    let update = Query::update()
        .table(Alias::new(PROJECTS))
        .value(Alias::new("subscription_id"), subscription)
        .value(Alias::new("updated_at"), now)
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
