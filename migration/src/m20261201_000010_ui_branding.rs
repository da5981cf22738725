//! The hosted UI's branding, per revision (`services.identity.config.ui`):
//! product name, logo and favicon URLs, primary colour, theme and default
//! locale, one nullable column each on `project_revisions`. Nullable, so
//! revisions written before this migration read as "no branding" and a
//! replica still on the previous release keeps inserting without them
//! (expand-only). One ALTER per statement, for SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: &[&str] = &[
    "ui_default_locale",
    "ui_favicon_url",
    "ui_logo_url",
    "ui_primary_color",
    "ui_product_name",
    "ui_theme",
];

fn a(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(a("project_revisions"))
                        .add_column(text_null(a(column)))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(a("project_revisions"))
                        .drop_column(a(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
