//! `project_revision_third_party_providers`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_revision_third_party_providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_revision_id: Uuid,
    pub position: i32,
    pub provider_id: String,
    pub provider: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub issuer_url: Option<String>,
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub mapper_url: Option<String>,
    pub scope: Option<String>,
    pub requested_claims: Option<String>,
    pub label: Option<String>,
    pub azure_tenant: Option<String>,
    pub apple_team_id: Option<String>,
    pub apple_private_key_id: Option<String>,
    pub apple_private_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
