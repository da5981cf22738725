//! Billing: `billing_customers` (an account's Stripe customer),
//! `subscriptions` (what a project is on, mirrored from Stripe or set by
//! the built-in provider) and `stripe_events` (each webhook event id once,
//! so a replay is a no-op). Expand-only: `projects.subscription_id`
//! already exists and nothing older reads these tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(name: &str) -> Alias {
    Alias::new(name)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(a("billing_customers"))
                    .col(uuid(a("account_id")).primary_key())
                    .col(string_uniq(a("customer_id")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_billing_customers_account")
                            .from(a("billing_customers"), a("account_id"))
                            .to(a("accounts"), a("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(a("subscriptions"))
                    .col(uuid(a("id")).primary_key())
                    .col(uuid(a("owner_account_id")))
                    .col(string(a("customer_id")))
                    .col(string_null(a("stripe_subscription_id")).unique_key())
                    .col(string_null(a("stripe_item_id")))
                    .col(string(a("status")))
                    .col(string(a("current_plan")))
                    .col(string_null(a("requested_plan")))
                    .col(string_null(a("plan_changes_to")))
                    .col(timestamp_with_time_zone_null(a("plan_changes_at")))
                    .col(timestamp_with_time_zone(a("payed_until")))
                    .col(string_null(a("ongoing_stripe_checkout_id")))
                    .col(uuid_null(a("provision_project_id")))
                    .col(timestamp_with_time_zone_null(a("stripe_state_at")))
                    .col(timestamp_with_time_zone(a("created_at")))
                    .col(timestamp_with_time_zone(a("updated_at")))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriptions_owner")
                            .from(a("subscriptions"), a("owner_account_id"))
                            .to(a("accounts"), a("id"))
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_subscriptions_owner")
                    .table(a("subscriptions"))
                    .col(a("owner_account_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_projects_subscription")
                    .table(a("projects"))
                    .col(a("subscription_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(a("stripe_events"))
                    .col(string(a("id")).primary_key())
                    .col(string(a("event_type")))
                    .col(timestamp_with_time_zone(a("received_at")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(a("stripe_events")).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_projects_subscription")
                    .table(a("projects"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(a("subscriptions")).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(a("billing_customers")).to_owned())
            .await
    }
}
