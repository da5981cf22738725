//! One sea-orm entity per table: the only place outside the migrations
//! that names a table or a column. Stores build statements from these
//! `Entity`/`Column` identifiers and read rows into their `Model`s, so a
//! renamed column fails to compile; `tests/tests/entities.rs` holds every
//! entity to the migrated schema on SQLite and PostgreSQL.

use sea_orm::{ColumnTrait, ColumnType, EntityTrait, IdenStatic, Iterable};

/// One entity's table as the code sees it: the schema test compares this
/// with the migrated database.
pub struct EntityTable {
    pub name: &'static str,
    /// Each column's name, type and nullability, in declaration order.
    pub columns: Vec<(String, ColumnType, bool)>,
}

fn table<E: EntityTrait>() -> EntityTable {
    EntityTable {
        name: E::default().table_name(),
        columns: E::Column::iter()
            .map(|column| {
                let def = column.def();
                (
                    column.as_str().to_owned(),
                    def.get_column_type().clone(),
                    def.is_null(),
                )
            })
            .collect(),
    }
}

/// An entity whose rows belong to one tenant, and its `nid` column: what
/// the purge and every tenant-scoped filter key on.
pub trait TenantEntity: EntityTrait {
    const NID: Self::Column;
}

macro_rules! tenant_entities {
    ($($table:ident),* $(,)?) => {$(
        impl TenantEntity for $table::Entity {
            const NID: $table::Column = $table::Column::Nid;
        }
    )*};
}

tenant_entities![
    audit_events,
    courier_messages,
    identities,
    identity_credential_identifiers,
    identity_credentials,
    identity_recovery_addresses,
    identity_verifiable_addresses,
    relation_tuple_changes,
    relation_tuple_positions,
    relation_tuples,
    selfservice_errors,
    selfservice_flows,
    selfservice_recovery_tokens,
    selfservice_verification_tokens,
    sessions,
];

macro_rules! entities {
    ($($table:ident),* $(,)?) => {
        $(pub mod $table;)*

        /// Every entity, one per table of the schema.
        pub fn all() -> Vec<EntityTable> {
            vec![$(table::<$table::Entity>()),*]
        }
    };
}

entities![
    accounts,
    api_tokens,
    audit_events,
    billing_customers,
    courier_messages,
    custom_hostnames,
    identities,
    identity_credential_identifiers,
    identity_credentials,
    identity_recovery_addresses,
    identity_verifiable_addresses,
    project_invites,
    project_members,
    project_revision_hooks,
    project_revision_identity_schemas,
    project_revision_keto_namespaces,
    project_revision_third_party_providers,
    project_revisions,
    projects,
    relation_tuple_changes,
    relation_tuple_positions,
    relation_tuples,
    selfservice_errors,
    selfservice_flows,
    selfservice_recovery_tokens,
    selfservice_verification_tokens,
    sessions,
    stripe_events,
    subscriptions,
];
