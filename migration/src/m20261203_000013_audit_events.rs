//! The audit log: one append-only row per change made through the control
//! plane or a tenant's admin APIs. `nid` is the project (null for events of
//! an account alone, and for a purged project's last event, which outlives
//! it in the account's log); `account_id` marks events that belong in an
//! account's own log (`/me/audit-log`). Expand-only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

const TABLE: &str = "audit_events";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a(TABLE))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid_null(a("nid")))
                    .col(uuid_null(a("account_id")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(string(a("actor_type")))
                    .col(uuid_null(a("actor_id")))
                    .col(string(a("actor_name")))
                    .col(uuid_null(a("actor_account_id")))
                    .col(string_null(a("request_id")))
                    .col(string_null(a("client_ip")))
                    .col(string(a("action")))
                    .col(string(a("target")))
                    .col(text(a("diff")))
                    .to_owned(),
            )
            .await?;
        // Newest first per project and per account (keyset pages), and by
        // age alone for the retention sweep.
        for (name, columns) in [
            (
                "idx_audit_events_nid_time",
                &["nid", "created_at", "id"][..],
            ),
            (
                "idx_audit_events_account_time",
                &["account_id", "created_at", "id"][..],
            ),
            ("idx_audit_events_time", &["created_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(a(TABLE));
            for column in columns {
                index.col(a(column));
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a(TABLE)).to_owned())
            .await
    }
}
