//! Storage: the database connection and migrations, the sea-orm entities,
//! and the cache/bus implementations. Stores are the only code that touches
//! sea-orm.

pub mod audit;
pub mod cache;
pub mod db;
pub mod sql;
pub mod sqlite_reads;

pub use db::{
    Database, DatabaseKind, connect, connect_migrated, migrate_down, migrate_status, migrate_up,
};
pub use sea_orm;

/// Every engine table that holds tenant rows (scoped by `nid`). Purging a
/// project deletes its rows from each, in the purge transaction. Engine
/// migrations add their tables here.
pub const TENANT_TABLES: &[&str] = &[
    // Children before parents, so foreign keys hold at every step.
    "audit_events",
    "relation_tuple_changes",
    "relation_tuple_positions",
    "relation_tuples",
    "courier_messages",
    "selfservice_verification_tokens",
    "selfservice_recovery_tokens",
    "selfservice_errors",
    "selfservice_flows",
    "sessions",
    "identity_recovery_addresses",
    "identity_verifiable_addresses",
    "identity_credential_identifiers",
    "identity_credentials",
    "identities",
];

/// Deletes every row of tenant `nid` from the `TENANT_TABLES`; run inside
/// the purge transaction.
pub async fn purge_tenant_rows<C: sea_orm::ConnectionTrait>(
    conn: &C,
    nid: uuid::Uuid,
) -> kernel::Result<()> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    for table in TENANT_TABLES {
        let delete = Query::delete()
            .from_table(Alias::new(*table))
            .and_where(Expr::col(Alias::new("nid")).eq(nid))
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    Ok(())
}
