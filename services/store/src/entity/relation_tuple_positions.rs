//! `relation_tuple_positions`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relation_tuple_positions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub nid: Uuid,
    pub position: i64,
    pub pruned_through: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
