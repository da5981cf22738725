//! Custom hostnames: a project served at a customer's own domain once its
//! CNAME to `<slug>.<base_domain>` is verified. The hostname is unique
//! across all projects. Expand-only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

const TABLE: &str = "custom_hostnames";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a(TABLE))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("project_id")))
                    .col(string_uniq(a("hostname")))
                    .col(string(a("cookie_domain")))
                    .col(boolean(a("cors_enabled")).default(false))
                    .col(text(a("cors_allowed_origins")))
                    .col(string(a("verification_status")))
                    .col(text(a("verification_errors")))
                    .col(timestamp_with_time_zone_null(a("verified_at")))
                    .col(timestamp_with_time_zone_null(a("checked_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_custom_hostnames_project")
                            .from(a(TABLE), a("project_id"))
                            .to(a("projects"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_custom_hostnames_project")
                    .table(a(TABLE))
                    .col(a("project_id"))
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
