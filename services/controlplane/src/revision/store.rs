//! `project_revisions` and its child tables. Revisions are immutable: they
//! are inserted whole and never updated; they go away only with their project.

use super::keys::{IDENTITY_KEYS, Key, Kind, key_by_column};
use super::model::RevisionContent;
use super::rows::{Child, hook_row, namespace_row, parse_json, provider_row, schema_row};
use super::sealed::{self, Sealer};
use chrono::{DateTime, Utc};
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, Value};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryResult,
};
use serde_json::Value as Json;
use store::entity::project_revision_hooks as hooks;
use store::entity::project_revision_identity_schemas as schemas;
use store::entity::project_revision_keto_namespaces as namespaces;
use store::entity::project_revision_third_party_providers as providers;
use store::entity::project_revisions::{Column, Entity};
use store::sql;
use uuid::Uuid;

/// A stored revision: its identity and when it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionMeta {
    pub id: Uuid,
    pub project_id: Uuid,
    pub created_at: DateTime<Utc>,
}

fn json_text(value: &Json) -> Value {
    Value::from(value.to_string())
}

fn scalar_value(kind: Kind, value: &Json) -> Result<Value> {
    Ok(match kind {
        Kind::Bool => Value::from(
            value
                .as_bool()
                .ok_or_else(|| Error::internal("bool column"))?,
        ),
        Kind::Int => Value::from(
            value
                .as_i64()
                .ok_or_else(|| Error::internal("int column"))?,
        ),
        Kind::StrList | Kind::Object => json_text(value),
        Kind::Str | Kind::Url | Kind::Duration | Kind::OneOf(_) => Value::from(
            value
                .as_str()
                .ok_or_else(|| Error::internal("text column"))?
                .to_owned(),
        ),
    })
}

/// A secret scalar as the text that is sealed: a list as its JSON.
fn scalar_text(kind: Kind, value: &Json) -> Result<String> {
    match kind {
        Kind::StrList | Kind::Object => Ok(value.to_string()),
        _ => value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::internal("text column")),
    }
}

/// Inserts a revision and its children, secrets sealed with `sbox`'s
/// current key; returns its id (a UUIDv7, so ids sort by creation).
pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    project_id: Uuid,
    content: &RevisionContent,
    now: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let mut columns: Vec<(Column, Value)> = vec![
        (Column::Id, id.into()),
        (Column::ProjectId, project_id.into()),
        (Column::Name, content.name.clone().into()),
        (Column::KetoReadMaxDepth, content.keto_read_max_depth.into()),
        (
            Column::KetoBatchCheckMaxSize,
            content.keto_batch_check_max_size.into(),
        ),
        (Column::CreatedAt, now.into()),
        (Column::UpdatedAt, now.into()),
    ];
    let sealer = Sealer { sbox, project_id };
    for key in IDENTITY_KEYS {
        if let Some(value) = content.scalars.get(key.column_name()) {
            let value = if sealed::is_sealed_scalar(key.column) {
                Value::from(sealer.seal(key.column, &scalar_text(key.kind, value)?))
            } else {
                scalar_value(key.kind, value)?
            };
            columns.push((key.column, value));
        }
    }
    sql::insert(conn, Entity, columns).await?;

    let child = Child { revision: id, now };
    for (i, hook) in content.hooks.iter().enumerate() {
        insert_child(conn, child.hook(i, &sealer.seal_hook(hook))).await?;
    }
    for (i, schema) in content.identity_schemas.iter().enumerate() {
        insert_child(conn, child.schema(i, schema)).await?;
    }
    for (i, provider) in content.oidc_providers.iter().enumerate() {
        insert_child(conn, child.provider(i, &sealer.seal_provider(provider))).await?;
    }
    for (i, namespace) in content.keto_namespaces.iter().enumerate() {
        insert_child(conn, child.namespace(i, namespace)).await?;
    }
    Ok(id)
}

/// Inserts a child row with every column of its model.
async fn insert_child<C: ConnectionTrait, M: ModelTrait>(conn: &C, row: M) -> Result<()> {
    let columns = <M::Entity as EntityTrait>::Column::iter()
        .map(|column| (column, row.get(column)))
        .collect();
    sql::insert(conn, M::Entity::default(), columns).await
}

/// A revision's child rows, in order: `revision` and `position` are the
/// child table's columns that hold its revision and its place in the list.
async fn children<C: ConnectionTrait, E: EntityTrait>(
    conn: &C,
    table: E,
    revision: E::Column,
    position: E::Column,
    revision_id: Uuid,
) -> Result<Vec<E::Model>> {
    let select = Query::select()
        .columns(E::Column::iter())
        .from(table)
        .and_where(Expr::col(revision).eq(revision_id))
        .order_by(position, Order::Asc)
        .to_owned();
    sql::select_all(conn, &select)
        .await?
        .iter()
        .map(sql::model)
        .collect()
}

/// Loads a revision's content and metadata, if it exists, its secrets
/// opened with `sbox`.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    sbox: &SecretBox,
    revision_id: Uuid,
) -> Result<Option<(RevisionMeta, RevisionContent)>> {
    let select = Query::select()
        .columns(Column::iter())
        .from(Entity)
        .and_where(Expr::col(Column::Id).eq(revision_id))
        .to_owned();
    let Some(row) = sql::select_one(conn, &select).await? else {
        return Ok(None);
    };
    let meta = RevisionMeta {
        id: sql::get(&row, Column::Id)?,
        project_id: sql::get(&row, Column::ProjectId)?,
        created_at: sql::get(&row, Column::CreatedAt)?,
    };
    let mut content = RevisionContent {
        name: sql::get(&row, Column::Name)?,
        keto_read_max_depth: sql::get(&row, Column::KetoReadMaxDepth)?,
        keto_batch_check_max_size: sql::get(&row, Column::KetoBatchCheckMaxSize)?,
        ..RevisionContent::default()
    };
    let sealer = Sealer {
        sbox,
        project_id: meta.project_id,
    };
    // Scalars are read by position (the entity's column order, as
    // selected): several column names are longer than PostgreSQL's 63-byte
    // identifier limit (see `sql::get_at`).
    for (at, column) in Column::iter().enumerate() {
        let Some(key) = key_by_column(column.as_str()) else {
            continue;
        };
        if let Some(value) = scalar(&row, at, key, &sealer)? {
            content.scalars.insert(key.column_name().to_owned(), value);
        }
    }

    for row in children(
        conn,
        hooks::Entity,
        hooks::Column::ProjectRevisionId,
        hooks::Column::Position,
        revision_id,
    )
    .await?
    {
        let mut hook = hook_row(row);
        sealer.open_hook(&mut hook)?;
        content.hooks.push(hook);
    }
    for row in children(
        conn,
        schemas::Entity,
        schemas::Column::ProjectRevisionId,
        schemas::Column::Position,
        revision_id,
    )
    .await?
    {
        content.identity_schemas.push(schema_row(row));
    }
    for row in children(
        conn,
        providers::Entity,
        providers::Column::ProjectRevisionId,
        providers::Column::Position,
        revision_id,
    )
    .await?
    {
        let mut provider = provider_row(row)?;
        sealer.open_provider(&mut provider)?;
        content.oidc_providers.push(provider);
    }
    for row in children(
        conn,
        namespaces::Entity,
        namespaces::Column::ProjectRevisionId,
        namespaces::Column::Position,
        revision_id,
    )
    .await?
    {
        content.keto_namespaces.push(namespace_row(row));
    }
    Ok(Some((meta, content)))
}

/// The scalar of `key` at position `at` of `row`, opened if it is sealed;
/// None when it is not set.
fn scalar(row: &QueryResult, at: usize, key: &Key, sealer: &Sealer) -> Result<Option<Json>> {
    if sealed::is_sealed_scalar(key.column) {
        let Some(stored) = sql::get_at::<Option<String>>(row, at)? else {
            return Ok(None);
        };
        let text = sealer.open(key.column, &stored)?;
        return match key.kind {
            Kind::StrList | Kind::Object => parse_json(Some(text), key.column),
            _ => Ok(Some(Json::from(text))),
        };
    }
    Ok(match key.kind {
        Kind::Bool => sql::get_at::<Option<bool>>(row, at)?.map(Json::from),
        Kind::Int => sql::get_at::<Option<i64>>(row, at)?.map(Json::from),
        Kind::StrList | Kind::Object => parse_json(sql::get_at(row, at)?, key.column)?,
        Kind::Str | Kind::Url | Kind::Duration | Kind::OneOf(_) => {
            sql::get_at::<Option<String>>(row, at)?.map(Json::from)
        }
    })
}

/// A project's revision ids, newest first.
pub async fn list_ids<C: ConnectionTrait>(conn: &C, project_id: Uuid) -> Result<Vec<Uuid>> {
    let select = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project_id))
        .order_by(Column::CreatedAt, Order::Desc)
        .order_by(Column::Id, Order::Desc)
        .to_owned();
    sql::select_all(conn, &select)
        .await?
        .iter()
        .map(|r| sql::get(r, Column::Id))
        .collect()
}

/// Removes every revision of a project with its children. Children are
/// deleted explicitly rather than trusting ON DELETE CASCADE, which SQLite
/// enforces only with foreign keys switched on.
pub async fn delete_for_project<C: ConnectionTrait>(conn: &C, project_id: Uuid) -> Result<()> {
    let revision_ids = Query::select()
        .column(Column::Id)
        .from(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project_id))
        .to_owned();
    // Each child table with its column that holds the revision.
    for (table, revision) in [
        hooks::Column::ProjectRevisionId.as_column_ref(),
        schemas::Column::ProjectRevisionId.as_column_ref(),
        providers::Column::ProjectRevisionId.as_column_ref(),
        namespaces::Column::ProjectRevisionId.as_column_ref(),
    ] {
        let delete = Query::delete()
            .from_table(table)
            .and_where(Expr::col(revision).in_subquery(revision_ids.clone()))
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::ProjectId).eq(project_id))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(())
}
