//! Who may do what in the control plane, and the mail outbox.
//!
//! - `project_members`: one row per (project, account) with its role. The
//!   creator of every existing project becomes its `OWNER` (backfilled), so
//!   version N (which reads `projects.owner_account_id`) and N+1 (which reads
//!   members) agree during a rolling update; the column stays.
//! - `api_tokens` gains `project_id` (a project API key when set, else a
//!   personal access token) and an optional `expires_at`.
//! - `accounts` gains `active_project_id` (`/console/active-project`).
//! - `project_invites`: the single-use link's token is stored as a digest.
//! - `courier_messages`: the outbox every e-mail goes through, scoped by
//!   `nid` like every engine table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

fn index(name: &str, table: &str, columns: &[&str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(a(table));
    for column in columns {
        index.col(a(column));
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a("project_members"))
                    .col(uuid(a("project_id")))
                    .col(uuid(a("account_id")))
                    .col(string_len(a("role"), 16))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .primary_key(Index::create().col(a("project_id")).col(a("account_id")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_project_members_project")
                            .from(a("project_members"), a("project_id"))
                            .to(a("projects"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_project_members_account")
                            .from(a("project_members"), a("account_id"))
                            .to(a("accounts"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_project_members_account",
                "project_members",
                &["account_id"],
            ))
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO project_members (project_id, account_id, role, created_at) \
                 SELECT id, owner_account_id, 'OWNER', created_at FROM projects",
            )
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table(a("api_tokens"))
                    .add_column(uuid_null(a("project_id")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a("api_tokens"))
                    .add_column(timestamp_with_time_zone_null(a("expires_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_api_tokens_project",
                "api_tokens",
                &["project_id"],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a("accounts"))
                    .add_column(uuid_null(a("active_project_id")))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("project_invites"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("project_id")))
                    .col(uuid(a("owner_id")))
                    .col(string(a("invitee_email")))
                    .col(uuid_null(a("invitee_id")))
                    .col(string_len(a("status"), 16))
                    .col(string_len_uniq(a("token_hash"), 64))
                    .col(timestamp_with_time_zone(a("expires_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_project_invites_project")
                            .from(a("project_invites"), a("project_id"))
                            .to(a("projects"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_project_invites_project",
                "project_invites",
                &["project_id", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_project_invites_invitee",
                "project_invites",
                &["invitee_email"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(a("courier_messages"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("nid")))
                    .col(string_len(a("template_type"), 64))
                    .col(text(a("recipient")))
                    .col(text(a("subject")))
                    .col(text(a("body")))
                    .col(string_len(a("status"), 16))
                    .col(integer(a("send_count")).default(0))
                    .col(timestamp_with_time_zone(a("next_attempt_at")))
                    .col(text_null(a("last_error")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .to_owned(),
            )
            .await?;
        // The worker's scan: queued messages due now, oldest first.
        manager
            .create_index(index(
                "idx_courier_messages_due",
                "courier_messages",
                &["status", "next_attempt_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_courier_messages_nid",
                "courier_messages",
                &["nid", "created_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a("courier_messages")).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(a("project_invites")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a("accounts"))
                    .drop_column(a("active_project_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_api_tokens_project")
                    .table(a("api_tokens"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a("api_tokens"))
                    .drop_column(a("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a("api_tokens"))
                    .drop_column(a("project_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(a("project_members")).to_owned())
            .await
    }
}
