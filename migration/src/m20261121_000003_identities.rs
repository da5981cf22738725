//! The identity engine's tables. Every row carries `nid` (the project id),
//! and every unique key starts with it, so two tenants may hold the same
//! identifier and no lookup can cross tenants by accident. JSON documents
//! (traits, metadata, credential config, flows) are stored as text: the
//! engine reads them whole and never queries inside them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// Child tables first: `down` drops in this order, and purge deletes in it.
const TABLES: &[&str] = &[
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

fn cascade_to(table: &str, column: &str, parent: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(a(table), a(column))
        .to(a(parent), a("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn index(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(a(table));
    for column in columns {
        index.col(a(column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a("identities"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(string(a("schema_id")))
                    .col(text(a("traits")))
                    .col(string(a("state")))
                    .col(timestamp_with_time_zone_null(a("state_changed_at")))
                    .col(text_null(a("metadata_public")))
                    .col(text_null(a("metadata_admin")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(&mut cascade_to("identities", "nid", "projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_identities_nid_created",
                "identities",
                &["nid", "created_at", "id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("identity_credentials"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(uuid(a("identity_id")))
                    .col(string(a("credential_type")))
                    .col(text(a("config")))
                    .col(integer(a("version")).default(0))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(&mut cascade_to(
                        "identity_credentials",
                        "identity_id",
                        "identities",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_identity_credentials_type",
                "identity_credentials",
                &["nid", "identity_id", "credential_type"],
                true,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("identity_credential_identifiers"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(uuid(a("identity_id")))
                    .col(uuid(a("identity_credential_id")))
                    .col(string(a("credential_type")))
                    .col(string(a("identifier")))
                    .foreign_key(&mut cascade_to(
                        "identity_credential_identifiers",
                        "identity_credential_id",
                        "identity_credentials",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_credential_identifiers_unique",
                "identity_credential_identifiers",
                &["nid", "credential_type", "identifier"],
                true,
            ))
            .await?;

        for (table, extra) in [
            ("identity_verifiable_addresses", true),
            ("identity_recovery_addresses", false),
        ] {
            let mut create = Table::create();
            create
                .table(a(table))
                .col(uuid(a("id")).primary_key())
                .col(uuid(a("nid")))
                .col(uuid(a("identity_id")))
                .col(string(a("via")))
                .col(string(a("value")));
            if extra {
                create
                    .col(boolean(a("verified")).default(false))
                    .col(timestamp_with_time_zone_null(a("verified_at")))
                    .col(string(a("status")));
            }
            create
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut cascade_to(table, "identity_id", "identities"));
            manager.create_table(create.to_owned()).await?;
            manager
                .create_index(index(
                    &format!("idx_{table}_unique"),
                    table,
                    &["nid", "via", "value"],
                    true,
                ))
                .await?;
            manager
                .create_index(index(
                    &format!("idx_{table}_identity"),
                    table,
                    &["nid", "identity_id"],
                    false,
                ))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(a("sessions"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(uuid(a("identity_id")))
                    .col(string(a("token_hash")))
                    .col(boolean(a("active")))
                    .col(string(a("aal")))
                    .col(text(a("authentication_methods")))
                    .col(timestamp_with_time_zone(a("issued_at")))
                    .col(timestamp_with_time_zone(a("authenticated_at")))
                    .col(timestamp_with_time_zone(a("expires_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(&mut cascade_to("sessions", "identity_id", "identities"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_sessions_token",
                "sessions",
                &["nid", "token_hash"],
                true,
            ))
            .await?;
        manager
            .create_index(index(
                "idx_sessions_identity",
                "sessions",
                &["nid", "identity_id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("selfservice_flows"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(string(a("kind")))
                    .col(uuid_null(a("identity_id")))
                    .col(text(a("body")))
                    .col(timestamp_with_time_zone(a("expires_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(&mut cascade_to("selfservice_flows", "nid", "projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_selfservice_flows_nid",
                "selfservice_flows",
                &["nid", "id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("selfservice_errors"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(text(a("error")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(&mut cascade_to("selfservice_errors", "nid", "projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_selfservice_errors_nid",
                "selfservice_errors",
                &["nid", "id"],
                false,
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("selfservice_recovery_tokens"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(uuid(a("identity_id")))
                    .col(uuid_null(a("flow_id")))
                    .col(string(a("token_hash")))
                    .col(boolean(a("used")).default(false))
                    .col(timestamp_with_time_zone(a("expires_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(&mut cascade_to(
                        "selfservice_recovery_tokens",
                        "identity_id",
                        "identities",
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_recovery_tokens_hash",
                "selfservice_recovery_tokens",
                &["nid", "token_hash"],
                true,
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .drop_table(Table::drop().table(a(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
