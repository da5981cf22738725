//! The store contract suite: every tenant-scoped store, called directly on
//! the backend the run chose (`TEST_DATABASE`: SQLite in the first pass of
//! `make test`, PostgreSQL in the second), with Kratos's "different network
//! sees nothing" case. Two projects share one database; project A holds
//! rows in each table the case names; every read, list, update and delete
//! of the store is then called with project B's id and A's ids, tokens or
//! identifiers, and must find nothing and change nothing: A's rows, read
//! column by column before and after, are identical. The same calls made
//! as A then do find and change them, so a probe that can never succeed
//! would fail the case.
//!
//! `the_suite_covers_every_tenant_table` holds the cases' tables to the
//! schema: a table with an `nid` column that no case fills fails it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod control_plane;
mod courier_audit;
mod flows;
mod identities;
mod permissions;
mod sessions;

use chrono::{DateTime, SubsecRound, Utc};
use std::collections::{BTreeMap, BTreeSet};
use store::entity::{accounts, projects};
use store::sea_orm::sea_query::{Asterisk, DynIden, Expr, ExprTrait, IntoIden, Query};
use store::sea_orm::{ConnectionTrait, EntityName, EntityTrait, FromQueryResult, JsonValue, Set};
use uuid::Uuid;

/// One database with two projects (and their owners' accounts).
pub struct Tenants {
    pub db: store::Database,
    pub a: Uuid,
    pub b: Uuid,
}

impl Tenants {
    pub async fn new() -> Self {
        let db = keyplane_tests::fresh_database(keyplane_tests::database_kind_from_env()).await;
        let a = project(&db, "tenant-a").await;
        let b = project(&db, "tenant-b").await;
        Self { db, a, b }
    }

    pub fn conn(&self) -> &store::sea_orm::DatabaseConnection {
        &self.db.conn
    }
}

/// Now, to the microsecond (what PostgreSQL keeps), so rows compare equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// An account, written through its entity.
pub async fn account(db: &store::Database, email: &str) -> Uuid {
    let (id, now) = (Uuid::now_v7(), now());
    accounts::Entity::insert(accounts::ActiveModel {
        id: Set(id),
        email: Set(email.to_owned()),
        name: Set(email.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        active_project_id: Set(None),
    })
    .exec(&db.conn)
    .await
    .unwrap();
    id
}

/// A project and its owner, written through their entities.
async fn project(db: &store::Database, slug: &str) -> Uuid {
    let owner = account(db, &format!("{slug}@example.com")).await;
    let (id, now) = (Uuid::now_v7(), now());
    projects::Entity::insert(projects::ActiveModel {
        id: Set(id),
        slug: Set(slug.to_owned()),
        name: Set(slug.to_owned()),
        state: Set("running".to_owned()),
        owner_account_id: Set(owner),
        current_revision_id: Set(None),
        subscription_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&db.conn)
    .await
    .unwrap();
    id
}

/// A scoped table: its name and the column holding the project id.
pub struct Scoped {
    pub table: DynIden,
    pub scope: DynIden,
}

pub fn scoped<E: EntityTrait>(scope: E::Column) -> Scoped {
    Scoped {
        table: E::default().into_iden(),
        scope: scope.into_iden(),
    }
}

/// Every row of `project` in each table, each row rendered whole (all its
/// columns) and sorted: what "changes nothing" is checked against.
pub async fn snapshot(
    t: &Tenants,
    tables: &[Scoped],
    project: Uuid,
) -> BTreeMap<String, Vec<String>> {
    let backend = t.conn().get_database_backend();
    let mut rows_by_table = BTreeMap::new();
    for Scoped { table, scope } in tables {
        let select = Query::select()
            .column(Asterisk)
            .from(table.clone())
            .and_where(Expr::col(scope.clone()).eq(project))
            .to_owned();
        let mut rows: Vec<String> = t
            .conn()
            .query_all_raw(backend.build(&select))
            .await
            .unwrap()
            .iter()
            .map(|row| JsonValue::from_query_result(row, "").unwrap().to_string())
            .collect();
        rows.sort();
        rows_by_table.insert(table.to_string(), rows);
    }
    rows_by_table
}

/// The tenant tables (scoped by `nid`) a case names.
pub fn nid_tables(names: &[&str]) -> Vec<Scoped> {
    store::tenant_tables()
        .into_iter()
        .filter(|t| names.contains(&t.table.to_string().as_str()))
        .map(|t| Scoped {
            table: t.table,
            scope: t.nid,
        })
        .collect()
}

/// Runs a case's probes as project B between two snapshots of project A's
/// rows: they must be identical, and A must hold a row in every table the
/// case names (or the case proves nothing about that table).
pub async fn unchanged_by<F>(t: &Tenants, tables: &[Scoped], probes: F)
where
    F: AsyncFnOnce(),
{
    let before = snapshot(t, tables, t.a).await;
    let empty: Vec<_> = before.iter().filter(|(_, r)| r.is_empty()).collect();
    assert!(
        empty.is_empty(),
        "the case left tables without a row of A: {empty:?}"
    );
    let b_before = snapshot(t, tables, t.b).await;
    probes().await;
    assert_eq!(
        snapshot(t, tables, t.a).await,
        before,
        "B's calls changed A's rows"
    );
    assert_eq!(
        snapshot(t, tables, t.b).await,
        b_before,
        "B's calls wrote rows"
    );
}

/// The tenant tables each case fills, by entity.
fn covered() -> BTreeSet<&'static str> {
    [
        identities::tables(),
        sessions::tables(),
        flows::tables(),
        permissions::tables(),
        courier_audit::tables(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn the_suite_covers_every_tenant_table() {
    let covered = covered();
    let missing: Vec<String> = store::tenant_table_names()
        .into_iter()
        .filter(|t| !covered.contains(t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "no store contract case fills {missing:?}"
    );
}

/// `E`'s table name, for the cases' table lists.
pub fn name<E: EntityName + Default>() -> &'static str {
    E::default().table_name()
}
