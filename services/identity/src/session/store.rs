//! SQL for sessions. Tokens are stored as SHA-256 digests only; every query
//! filters on the tenant's `nid`.

use super::model::{AuthenticationMethod, Session};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, IdenStatic, Iterable, QueryResult};
use store::entity::sessions::{Column, Entity, Model};
use store::sql;
use uuid::Uuid;

fn select(nid: Uuid) -> SelectStatement {
    Query::select()
        .columns(Column::iter())
        .from(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .to_owned()
}

fn from_row(row: &QueryResult) -> Result<Session> {
    let m: Model = sql::model(row)?;
    Ok(Session {
        authentication_methods: serde_json::from_str::<Vec<AuthenticationMethod>>(
            &m.authentication_methods,
        )
        .map_err(|e| {
            let column = Column::AuthenticationMethods.as_str();
            Error::internal(format!("stored {column}: {e}"))
        })?,
        id: m.id,
        identity_id: m.identity_id,
        active: m.active,
        aal: m.aal,
        issued_at: m.issued_at,
        authenticated_at: m.authenticated_at,
        expires_at: m.expires_at,
    })
}

pub async fn insert<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    session: &Session,
    token_hash: &str,
) -> Result<()> {
    let methods =
        serde_json::to_string(&session.authentication_methods).map_err(Error::internal)?;
    sql::insert(
        conn,
        Entity,
        vec![
            (Column::Id, session.id.into()),
            (Column::Nid, nid.into()),
            (Column::IdentityId, session.identity_id.into()),
            (Column::TokenHash, token_hash.to_owned().into()),
            (Column::Active, session.active.into()),
            (Column::Aal, session.aal.clone().into()),
            (Column::AuthenticationMethods, methods.into()),
            (Column::IssuedAt, session.issued_at.into()),
            (Column::AuthenticatedAt, session.authenticated_at.into()),
            (Column::ExpiresAt, session.expires_at.into()),
            (Column::CreatedAt, session.issued_at.into()),
            (Column::UpdatedAt, session.issued_at.into()),
        ],
    )
    .await
}

pub async fn find_by_token_hash<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    token_hash: &str,
) -> Result<Option<Session>> {
    let stmt = select(nid)
        .and_where(Expr::col(Column::TokenHash).eq(token_hash))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find<C: ConnectionTrait>(conn: &C, nid: Uuid, id: Uuid) -> Result<Option<Session>> {
    let stmt = select(nid)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Which sessions of an identity a query means.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionFilter {
    /// Only active (`Some(true)`) or only inactive (`Some(false)`) ones.
    pub active: Option<bool>,
    /// Leave this session out (the caller's own).
    pub except: Option<Uuid>,
}

fn filtered(
    mut stmt: SelectStatement,
    identity_id: Uuid,
    filter: SessionFilter,
) -> SelectStatement {
    stmt.and_where(Expr::col(Column::IdentityId).eq(identity_id));
    if let Some(active) = filter.active {
        stmt.and_where(Expr::col(Column::Active).eq(active));
    }
    if let Some(except) = filter.except {
        stmt.and_where(Expr::col(Column::Id).ne(except));
    }
    stmt
}

pub async fn list_for_identity<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    filter: SessionFilter,
    offset: u64,
    limit: u64,
) -> Result<Vec<Session>> {
    let stmt = filtered(select(nid), identity_id, filter)
        .order_by(Column::IssuedAt, Order::Desc)
        .order_by(Column::Id, Order::Asc)
        .offset(offset)
        .limit(limit)
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn count_for_identity<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    filter: SessionFilter,
) -> Result<u64> {
    sql::count(conn, filtered(select(nid), identity_id, filter)).await
}

/// Token digests of the sessions a revocation will hit, so caches can drop
/// exactly those.
pub async fn token_hashes<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    filter: SessionFilter,
    only: Option<Uuid>,
) -> Result<Vec<String>> {
    let mut stmt = filtered(
        Query::select()
            .column(Column::TokenHash)
            .from(Entity)
            .and_where(Expr::col(Column::Nid).eq(nid))
            .to_owned(),
        identity_id,
        filter,
    );
    if let Some(id) = only {
        stmt.and_where(Expr::col(Column::Id).eq(id));
    }
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(|r| sql::get(r, Column::TokenHash))
        .collect()
}

/// Marks sessions inactive; returns how many were active.
pub async fn deactivate<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
    except: Option<Uuid>,
    only: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut update = Query::update();
    update
        .table(Entity)
        .values([
            (Column::Active, false.into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::IdentityId).eq(identity_id))
        .and_where(Expr::col(Column::Active).eq(true));
    if let Some(except) = except {
        update.and_where(Expr::col(Column::Id).ne(except));
    }
    if let Some(only) = only {
        update.and_where(Expr::col(Column::Id).eq(only));
    }
    sql::update(conn, &update).await
}

/// Deletes every session of an identity; returns how many.
pub async fn delete_for_identity<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
) -> Result<u64> {
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::IdentityId).eq(identity_id))
        .to_owned();
    sql::delete(conn, &delete).await
}

pub async fn set_expiry<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    id: Uuid,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::ExpiresAt, expires_at.into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? > 0)
}

/// All token digests of an identity (before deleting it).
pub async fn all_token_hashes<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    identity_id: Uuid,
) -> Result<Vec<String>> {
    token_hashes(conn, nid, identity_id, SessionFilter::default(), None).await
}

/// Records a completed authentication on an existing session (a refresh
/// or a step up): its level, methods and when it was authenticated.
pub async fn set_authentication<C: ConnectionTrait>(
    conn: &C,
    nid: Uuid,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<bool> {
    let methods =
        serde_json::to_string(&session.authentication_methods).map_err(Error::internal)?;
    let update = Query::update()
        .table(Entity)
        .values([
            (Column::Aal, session.aal.clone().into()),
            (Column::AuthenticationMethods, methods.into()),
            (Column::AuthenticatedAt, session.authenticated_at.into()),
            (Column::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Column::Nid).eq(nid))
        .and_where(Expr::col(Column::Id).eq(session.id))
        .and_where(Expr::col(Column::Active).eq(true))
        .to_owned();
    Ok(sql::update(conn, &update).await? > 0)
}
