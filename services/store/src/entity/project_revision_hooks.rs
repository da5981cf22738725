//! `project_revision_hooks`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_revision_hooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_revision_id: Uuid,
    pub position: i32,
    pub config_key: String,
    pub hook: String,
    pub web_hook_config_url: Option<String>,
    pub web_hook_config_method: Option<String>,
    pub web_hook_config_body: Option<String>,
    pub web_hook_config_response_ignore: Option<bool>,
    pub web_hook_config_auth_type: Option<String>,
    pub web_hook_config_auth_api_key_name: Option<String>,
    pub web_hook_config_auth_api_key_value: Option<String>,
    pub web_hook_config_auth_api_key_in: Option<String>,
    pub web_hook_config_auth_basic_auth_user: Option<String>,
    pub web_hook_config_auth_basic_auth_password: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
