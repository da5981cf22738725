//! `courier_messages.html_body`: the HTML alternative of a message, sent as
//! `multipart/alternative` next to the plain text. Nullable, so rows queued
//! before this migration (plain text only) stay valid and a replica still on
//! the previous release can keep inserting without it (expand-only).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(a("courier_messages"))
                    .add_column(text_null(a("html_body")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(a("courier_messages"))
                    .drop_column(a("html_body"))
                    .to_owned(),
            )
            .await
    }
}
