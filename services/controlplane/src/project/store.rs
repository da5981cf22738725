//! `projects`. Reads that serve a caller go through `access::Gate` first,
//! so a project the caller may not see is indistinguishable from a missing one.

use super::model::ProjectRow;
use chrono::{DateTime, Utc};
use kernel::tenant::ProjectState;
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, Iterable, QueryResult};
use store::entity::project_members;
use store::entity::projects::{Column, Entity, Model};
use store::sql;
use uuid::Uuid;

/// Projects that are fully created (their first revision is committed);
/// every read starts here.
fn select() -> SelectStatement {
    Query::select()
        .columns(Column::iter())
        .from(Entity)
        .and_where(Expr::col(Column::CurrentRevisionId).is_not_null())
        .to_owned()
}

fn from_row(row: &QueryResult) -> Result<ProjectRow> {
    let m: Model = sql::model(row)?;
    Ok(ProjectRow {
        state: ProjectState::parse(&m.state)
            .ok_or_else(|| Error::internal(format!("project state {}", m.state)))?,
        current_revision_id: m
            .current_revision_id
            .ok_or_else(|| Error::internal("project without a revision"))?,
        id: m.id,
        slug: m.slug,
        name: m.name,
        owner_account_id: m.owner_account_id,
        subscription_id: m.subscription_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
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
        Entity,
        vec![
            (Column::Id, id.into()),
            (Column::Slug, slug.to_owned().into()),
            (Column::Name, name.to_owned().into()),
            (
                Column::State,
                ProjectState::Running.as_str().to_owned().into(),
            ),
            (Column::OwnerAccountId, owner.into()),
            (Column::CreatedAt, now.into()),
            (Column::UpdatedAt, now.into()),
        ],
    )
    .await
}

/// The project, whoever may see it (the caller checks access first).
pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<ProjectRow>> {
    let stmt = select().and_where(Expr::col(Column::Id).eq(id)).to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find_by_slug<C: ConnectionTrait>(conn: &C, slug: &str) -> Result<Option<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Column::Slug).eq(slug))
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
        .column(project_members::Column::ProjectId)
        .from(project_members::Entity)
        .and_where(Expr::col(project_members::Column::AccountId).eq(account))
        .to_owned();
    let stmt = select()
        .and_where(Expr::col(Column::Id).in_subquery(memberships))
        .order_by(Column::CreatedAt, Order::Asc)
        .order_by(Column::Id, Order::Asc)
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
        .table(Entity)
        .value(Column::CurrentRevisionId, new_revision)
        .value(Column::Name, name.to_owned())
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id));
    match expected {
        Some(rev) => update.and_where(Expr::col(Column::CurrentRevisionId).eq(rev)),
        None => update.and_where(Expr::col(Column::CurrentRevisionId).is_null()),
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
        .table(Entity)
        .value(Column::State, state.as_str().to_owned())
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    if sql::update(conn, &update).await? == 0 {
        return Ok(None);
    }
    let stmt = select().and_where(Expr::col(Column::Id).eq(id)).to_owned();
    Ok(sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?
        .map(|p| p.slug))
}

pub async fn delete<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<u64> {
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    sql::delete(conn, &delete).await
}

/// Sets `updated_at`: inside a transaction this locks the project's row, so
/// membership changes of one project run one after another (the last owner
/// can not be removed by two owners removing each other at once).
pub async fn touch<C: ConnectionTrait>(conn: &C, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let update = Query::update()
        .table(Entity)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}

/// The projects on a subscription.
pub async fn list_by_subscription<C: ConnectionTrait>(
    conn: &C,
    subscription: Uuid,
) -> Result<Vec<ProjectRow>> {
    let stmt = select()
        .and_where(Expr::col(Column::SubscriptionId).eq(subscription))
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
        .and_where(Expr::col(Column::OwnerAccountId).eq(owner))
        .and_where(Expr::col(Column::SubscriptionId).is_null())
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
        .table(Entity)
        .value(Column::SubscriptionId, subscription)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
