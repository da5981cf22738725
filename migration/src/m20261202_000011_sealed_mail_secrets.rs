//! Queued mail keeps its tokens sealed in `courier_messages.sealed_secrets`
//! (the text holds `[redacted:N]` in their place) and drops them once the
//! message is sent or abandoned. Mail sent before this migration kept its
//! links in plain text in `body`/`html_body`; those bodies cannot be
//! redacted after the fact (the tokens are not known, only their hashes),
//! so they are replaced by a note. Mail still queued is left to be sent.
//! The down migration drops the column; removed bodies stay removed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const REMOVED: &str = "[removed: sent before Keyplane redacted tokens in stored mail]";

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
                    .add_column(text_null(a("sealed_secrets")))
                    .to_owned(),
            )
            .await?;
        let forget_sent_bodies = Query::update()
            .table(a("courier_messages"))
            .value(a("body"), REMOVED)
            .value(a("html_body"), Option::<String>::None)
            .and_where(Expr::col(a("status")).is_in(["sent", "abandoned"]))
            .to_owned();
        manager.exec_stmt(forget_sent_bodies).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(a("courier_messages"))
                    .drop_column(a("sealed_secrets"))
                    .to_owned(),
            )
            .await
    }
}
