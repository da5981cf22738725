//! `relation_tuple_changes`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relation_tuple_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub nid: Uuid,
    pub position: i64,
    pub operation: String,
    pub namespace_id: i64,
    pub object: String,
    pub relation: String,
    pub subject_id: Option<String>,
    pub subject_set_namespace_id: Option<i64>,
    pub subject_set_object: Option<String>,
    pub subject_set_relation: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
