//! The audit log: one append-only row per change made through the control
//! plane or a tenant's admin APIs. `nid` is the project (null for events of
//! an account alone, and for a purged project's last event, which outlives
//! it in the account's log); `account_id` marks events that belong in an
//! account's own log (`/me/audit-log`). Expand-only.
//!
//! Every admin write pays for its event, so the table is kept to what the
//! reads need: rows keyed by an insertion sequence (on SQLite the rowid
//! itself, no separate key index), one index for a project's log newest
//! first, and a partial one that only account events touch. The event's
//! UUID is its public name, never looked up, so it has no index. The
//! sequence follows time, so the retention sweep deletes from its low end.

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
                    .col(big_pk_auto(a("seq")))
                    .col(uuid(a("id")))
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
        // A project's log, newest first (keyset pages on `seq`).
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_nid_seq")
                    .table(a(TABLE))
                    .col(a("nid"))
                    .col(a("seq"))
                    .to_owned(),
            )
            .await?;
        // An account's own log: partial, so project events never write it
        // (the same statement on SQLite and PostgreSQL).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_audit_events_account_seq ON audit_events (account_id, seq) \
                 WHERE account_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a(TABLE)).to_owned())
            .await
    }
}
