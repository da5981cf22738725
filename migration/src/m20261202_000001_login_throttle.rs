//! The per-project switch of failed-login throttling
//! (`selfservice.flows.login.throttle.enabled`, a Keyplane key in the
//! Kratos document): one nullable boolean column on `project_revisions`.
//! Null (every revision written before this migration) reads as "on", the
//! default, and a replica still on the previous release keeps inserting
//! without it (expand-only).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMN: &str = "kratos_selfservice_flows_login_throttle_enabled";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("project_revisions"))
                    .add_column(boolean_null(Alias::new(COLUMN)))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("project_revisions"))
                    .drop_column(Alias::new(COLUMN))
                    .to_owned(),
            )
            .await
    }
}
