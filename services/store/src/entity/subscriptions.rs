//! `subscriptions`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub owner_account_id: Uuid,
    pub customer_id: String,
    pub stripe_subscription_id: Option<String>,
    pub stripe_item_id: Option<String>,
    pub status: String,
    pub current_plan: String,
    pub requested_plan: Option<String>,
    pub plan_changes_to: Option<String>,
    pub plan_changes_at: Option<DateTimeUtc>,
    pub payed_until: DateTimeUtc,
    pub ongoing_stripe_checkout_id: Option<String>,
    pub provision_project_id: Option<Uuid>,
    pub stripe_state_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
