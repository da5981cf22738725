//! The object index of relation tuples gains `subject_id` as its last
//! column: `(nid, namespace_id, object, relation, subject_id)`.
//!
//! The recursive check (`permission::cte`) follows a userset's subject sets
//! (`subject_id IS NULL`) and looks for one subject id in it; with the
//! subject in the index both are seeks, so a userset with 10,000 direct
//! members costs a check through it microseconds, not a scan of the 10,000
//! (docs/benchmarks.md). Its prefix serves every query of the old index, so
//! the new one is built first and the old one dropped after: replicas on
//! the previous release keep their plans.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TUPLES: &str = "relation_tuples";
const OLD: &str = "idx_relation_tuples_object";
const NEW: &str = "idx_relation_tuples_object_subject";

fn object_index(name: &str, with_subject: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(name)
        .table(Alias::new(TUPLES))
        .col(Alias::new("nid"))
        .col(Alias::new("namespace_id"))
        .col(Alias::new("object"))
        .col(Alias::new("relation"));
    if with_subject {
        index.col(Alias::new("subject_id"));
    }
    index.to_owned()
}

fn drop_index(name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table(Alias::new(TUPLES))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(object_index(NEW, true)).await?;
        manager.drop_index(drop_index(OLD)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(object_index(OLD, false)).await?;
        manager.drop_index(drop_index(NEW)).await
    }
}
