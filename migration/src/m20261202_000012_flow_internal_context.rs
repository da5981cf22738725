//! Flows get an internal context: what a login method keeps between the
//! requests of one flow and never shows (a TOTP secret sealed until its
//! first code is confirmed, WebAuthn ceremony state). Nullable, so
//! replicas on the previous release keep inserting flows (expand-only).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "selfservice_flows";
const COLUMN: &str = "internal_context";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(TABLE))
                    .add_column(text_null(Alias::new(COLUMN)))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new(TABLE))
                    .drop_column(Alias::new(COLUMN))
                    .to_owned(),
            )
            .await
    }
}
