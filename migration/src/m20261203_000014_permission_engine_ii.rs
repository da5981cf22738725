//! Permission engine II, expand-only (replicas on the previous release keep
//! working):
//!
//! - a project's `limit.max_batch_check_size` (NULL: Keto's default);
//! - an index for walking tuples backwards from a subject set (list
//!   objects: "which sets is this set a member of?"); the subject-id
//!   direction already has `idx_relation_tuples_subject`;
//! - the change feed: `relation_tuple_changes`, one row per tuple inserted
//!   or deleted, numbered per tenant by `position` in commit order, and
//!   `relation_tuple_positions`, each tenant's last position (the row a
//!   write locks to take the next numbers, so positions are handed out in
//!   the order writes commit) and how far retention has pruned its feed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

const REVISIONS: &str = "project_revisions";
const BATCH_COLUMN: &str = "keto_batch_check_max_size";
const TUPLES: &str = "relation_tuples";
const SUBJECT_SET_INDEX: &str = "idx_relation_tuples_subject_set";
const CHANGES: &str = "relation_tuple_changes";
const POSITIONS: &str = "relation_tuple_positions";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(a(REVISIONS))
                    .add_column(big_integer_null(a(BATCH_COLUMN)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(SUBJECT_SET_INDEX)
                    .table(a(TUPLES))
                    .col(a("nid"))
                    .col(a("subject_set_object"))
                    .col(a("subject_set_relation"))
                    .col(a("subject_set_namespace_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(a(CHANGES))
                    .col(big_pk_auto(a("seq")))
                    .col(uuid(a("nid")))
                    .col(big_integer(a("position")))
                    .col(string_len(a("operation"), 16))
                    .col(big_integer(a("namespace_id")))
                    .col(text(a("object")))
                    .col(text(a("relation")))
                    .col(text_null(a("subject_id")))
                    .col(big_integer_null(a("subject_set_namespace_id")))
                    .col(text_null(a("subject_set_object")))
                    .col(text_null(a("subject_set_relation")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .to_owned(),
            )
            .await?;
        // The feed of one tenant from a position on, and retention.
        manager
            .create_index(
                Index::create()
                    .name("idx_relation_tuple_changes_position")
                    .table(a(CHANGES))
                    .col(a("nid"))
                    .col(a("position"))
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(a(POSITIONS))
                    .col(uuid(a("nid")).primary_key())
                    .col(big_integer(a("position")))
                    .col(big_integer(a("pruned_through")).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [POSITIONS, CHANGES] {
            manager
                .drop_table(Table::drop().table(a(table)).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(SUBJECT_SET_INDEX)
                    .table(a(TUPLES))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(a(REVISIONS))
                    .drop_column(a(BATCH_COLUMN))
                    .to_owned(),
            )
            .await
    }
}
