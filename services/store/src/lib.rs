//! Storage: the database connection and migrations, the sea-orm entities,
//! and the cache/bus implementations. Stores are the only code that touches
//! sea-orm.

pub mod audit;
pub mod cache;
pub mod db;
pub mod entity;
pub mod sql;
pub mod sqlite_reads;

pub use db::{
    Database, DatabaseKind, connect, connect_migrated, migrate_down, migrate_status, migrate_up,
};
pub use sea_orm;
use sea_orm::sea_query::{DynIden, IntoIden};

/// A tenant table: its name and its `nid` column.
pub struct TenantTable {
    pub table: DynIden,
    pub nid: DynIden,
}

fn tenant_table<E: entity::TenantEntity>() -> TenantTable {
    TenantTable {
        table: E::default().into_iden(),
        nid: E::NID.into_iden(),
    }
}

/// Every engine table that holds tenant rows (scoped by `nid`). Purging a
/// project deletes its rows from each, in the purge transaction; a test
/// holds this list to the migrated schema's tables with an `nid` column.
pub fn tenant_tables() -> Vec<TenantTable> {
    use entity::*;
    vec![
        // Children before parents, so foreign keys hold at every step.
        tenant_table::<audit_events::Entity>(),
        tenant_table::<relation_tuple_changes::Entity>(),
        tenant_table::<relation_tuple_positions::Entity>(),
        tenant_table::<relation_tuples::Entity>(),
        tenant_table::<courier_messages::Entity>(),
        tenant_table::<selfservice_verification_tokens::Entity>(),
        tenant_table::<selfservice_recovery_tokens::Entity>(),
        tenant_table::<selfservice_errors::Entity>(),
        tenant_table::<selfservice_flows::Entity>(),
        tenant_table::<sessions::Entity>(),
        tenant_table::<identity_recovery_addresses::Entity>(),
        tenant_table::<identity_verifiable_addresses::Entity>(),
        tenant_table::<identity_credential_identifiers::Entity>(),
        tenant_table::<identity_credentials::Entity>(),
        tenant_table::<identities::Entity>(),
    ]
}

/// The names of [`tenant_tables`], in purge order.
pub fn tenant_table_names() -> Vec<String> {
    tenant_tables()
        .into_iter()
        .map(|t| t.table.to_string())
        .collect()
}

/// Deletes every row of tenant `nid` from the [`tenant_tables`]; run inside
/// the purge transaction.
pub async fn purge_tenant_rows<C: sea_orm::ConnectionTrait>(
    conn: &C,
    nid: uuid::Uuid,
) -> kernel::Result<()> {
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    for TenantTable { table, nid: column } in tenant_tables() {
        let delete = Query::delete()
            .from_table(table)
            .and_where(Expr::col(column).eq(nid))
            .to_owned();
        sql::delete(conn, &delete).await?;
    }
    Ok(())
}
