//! Verification by link: `selfservice_verification_tokens` holds the digest
//! of each emailed token, tied to the address it verifies and the flow that
//! sent it. Expand-only: nothing older reads or writes it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

const TABLE: &str = "selfservice_verification_tokens";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a(TABLE))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(uuid(a("identity_id")))
                    .col(uuid(a("verifiable_address_id")))
                    .col(uuid_null(a("flow_id")))
                    .col(string(a("token_hash")))
                    .col(boolean(a("used")).default(false))
                    .col(timestamp_with_time_zone(a("expires_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_verification_tokens_address")
                            .from(a(TABLE), a("verifiable_address_id"))
                            .to(a("identity_verifiable_addresses"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_verification_tokens_hash")
                    .table(a(TABLE))
                    .col(a("nid"))
                    .col(a("token_hash"))
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a(TABLE)).to_owned())
            .await
    }
}
