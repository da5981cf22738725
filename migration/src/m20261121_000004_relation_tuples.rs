//! The permission engine's one table. A tuple is stored normalized: the
//! namespace as its configured id, the subject as either `subject_id` or the
//! three `subject_set_*` columns. `tuple_key` is a digest of the whole tuple,
//! unique per `nid`, so inserts are idempotent (`ON CONFLICT DO NOTHING`)
//! and an exact lookup or delete is one index probe. `userset_key` is the
//! digest of `namespace:object#relation`, so a walk asks for a whole level
//! of usersets with one `IN` list on one index. `seq` orders tuples by
//! insertion: list pages are keyed on it, which keeps them stable while
//! other tuples are written or deleted.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

const TABLE: &str = "relation_tuples";

fn index(name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(a(TABLE));
    for column in columns {
        index.col(a(column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a(TABLE))
                    .col(big_pk_auto(a("seq")))
                    .col(uuid(a("nid")))
                    .col(string_len(a("tuple_key"), 64))
                    .col(string_len(a("userset_key"), 64))
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
        // Idempotent inserts and exact lookups.
        manager
            .create_index(index(
                "idx_relation_tuples_key",
                &["nid", "tuple_key"],
                true,
            ))
            .await?;
        // Check and expand: the tuples of a level's usersets, narrowed to
        // the subject sets (`subject_id IS NULL`) when only those are needed.
        manager
            .create_index(index(
                "idx_relation_tuples_userset",
                &["nid", "userset_key", "subject_id"],
                false,
            ))
            .await?;
        // Lists by namespace, object and relation.
        manager
            .create_index(index(
                "idx_relation_tuples_object",
                &["nid", "namespace_id", "object", "relation"],
                false,
            ))
            .await?;
        // Lists by subject ("what may this user do?").
        manager
            .create_index(index(
                "idx_relation_tuples_subject",
                &["nid", "subject_id", "namespace_id"],
                false,
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a(TABLE)).to_owned())
            .await
    }
}
