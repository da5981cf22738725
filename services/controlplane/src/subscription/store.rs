//! `billing_customers`, `subscriptions` and `stripe_events`.

use super::model::SubscriptionRow;
use billing::Plan;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, IdenStatic, Iterable, QueryResult};
use store::entity::subscriptions::{Column, Entity, Model};
use store::entity::{billing_customers, stripe_events};
use store::sql;
use uuid::Uuid;

fn select() -> SelectStatement {
    Query::select()
        .columns(Column::iter())
        .from(Entity)
        .to_owned()
}

fn plan(stored: &str, column: Column) -> Result<Plan> {
    Plan::parse(stored).ok_or_else(|| Error::internal(format!("{} {stored}", column.as_str())))
}

fn plan_opt(stored: Option<&str>, column: Column) -> Result<Option<Plan>> {
    stored.map(|s| plan(s, column)).transpose()
}

fn from_row(row: &QueryResult) -> Result<SubscriptionRow> {
    let m: Model = sql::model(row)?;
    Ok(SubscriptionRow {
        current_plan: plan(&m.current_plan, Column::CurrentPlan)?,
        requested_plan: plan_opt(m.requested_plan.as_deref(), Column::RequestedPlan)?,
        plan_changes_to: plan_opt(m.plan_changes_to.as_deref(), Column::PlanChangesTo)?,
        id: m.id,
        owner_account_id: m.owner_account_id,
        customer_id: m.customer_id,
        stripe_subscription_id: m.stripe_subscription_id,
        stripe_item_id: m.stripe_item_id,
        status: m.status,
        plan_changes_at: m.plan_changes_at,
        payed_until: m.payed_until,
        ongoing_stripe_checkout_id: m.ongoing_stripe_checkout_id,
        provision_project_id: m.provision_project_id,
        stripe_state_at: m.stripe_state_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Every column but the id, as stored.
fn values(row: &SubscriptionRow) -> Vec<(Column, Value)> {
    vec![
        (Column::OwnerAccountId, row.owner_account_id.into()),
        (Column::CustomerId, row.customer_id.clone().into()),
        (
            Column::StripeSubscriptionId,
            row.stripe_subscription_id.clone().into(),
        ),
        (Column::StripeItemId, row.stripe_item_id.clone().into()),
        (Column::Status, row.status.clone().into()),
        (
            Column::CurrentPlan,
            row.current_plan.as_str().to_owned().into(),
        ),
        (
            Column::RequestedPlan,
            row.requested_plan.map(|p| p.as_str().to_owned()).into(),
        ),
        (
            Column::PlanChangesTo,
            row.plan_changes_to.map(|p| p.as_str().to_owned()).into(),
        ),
        (Column::PlanChangesAt, row.plan_changes_at.into()),
        (Column::PayedUntil, row.payed_until.into()),
        (
            Column::OngoingStripeCheckoutId,
            row.ongoing_stripe_checkout_id.clone().into(),
        ),
        (Column::ProvisionProjectId, row.provision_project_id.into()),
        (Column::StripeStateAt, row.stripe_state_at.into()),
        (Column::CreatedAt, row.created_at.into()),
        (Column::UpdatedAt, row.updated_at.into()),
    ]
}

pub async fn insert<C: ConnectionTrait>(conn: &C, row: &SubscriptionRow) -> Result<()> {
    let mut columns = vec![(Column::Id, row.id.into())];
    columns.extend(values(row));
    sql::insert(conn, Entity, columns).await
}

/// Writes every column of the row back.
pub async fn update<C: ConnectionTrait>(conn: &C, row: &SubscriptionRow) -> Result<()> {
    let mut update = Query::update();
    update
        .table(Entity)
        .and_where(Expr::col(Column::Id).eq(row.id));
    for (name, value) in values(row) {
        update.value(name, value);
    }
    sql::update(conn, &update).await?;
    Ok(())
}

async fn find_where<C: ConnectionTrait>(
    conn: &C,
    column: Column,
    value: impl Into<Value>,
) -> Result<Option<SubscriptionRow>> {
    let stmt = select()
        .and_where(Expr::col(column).eq(value.into()))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<SubscriptionRow>> {
    find_where(conn, Column::Id, id).await
}

pub async fn find_by_stripe_id<C: ConnectionTrait>(
    conn: &C,
    stripe_id: &str,
) -> Result<Option<SubscriptionRow>> {
    find_where(conn, Column::StripeSubscriptionId, stripe_id.to_owned()).await
}

pub async fn find_by_checkout_id<C: ConnectionTrait>(
    conn: &C,
    checkout_id: &str,
) -> Result<Option<SubscriptionRow>> {
    find_where(
        conn,
        Column::OngoingStripeCheckoutId,
        checkout_id.to_owned(),
    )
    .await
}

/// Subscriptions the sweep may have to act on: a plan change that fell
/// due, or a deleted one whose projects may have to be halted.
pub async fn list_sweepable<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<Vec<SubscriptionRow>> {
    let stmt = select()
        .cond_where(
            Expr::col(Column::PlanChangesAt)
                .lte(now)
                .or(Expr::col(Column::Status).eq(super::model::status::CANCELED)),
        )
        .to_owned();
    sql::select_all(conn, &stmt)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn delete<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<()> {
    let delete = Query::delete()
        .from_table(Entity)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(())
}

/// The account's payment-provider customer id.
pub async fn find_customer<C: ConnectionTrait>(conn: &C, account: Uuid) -> Result<Option<String>> {
    let stmt = Query::select()
        .column(billing_customers::Column::CustomerId)
        .from(billing_customers::Entity)
        .and_where(Expr::col(billing_customers::Column::AccountId).eq(account))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .map(|row| sql::get(&row, billing_customers::Column::CustomerId))
        .transpose()
}

/// Records the account's customer unless one was recorded meanwhile;
/// returns the one that is recorded.
pub async fn insert_customer<C: ConnectionTrait>(
    conn: &C,
    account: Uuid,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    sql::insert_or_ignore(
        conn,
        billing_customers::Entity,
        vec![
            (billing_customers::Column::AccountId, account.into()),
            (
                billing_customers::Column::CustomerId,
                customer_id.to_owned().into(),
            ),
            (billing_customers::Column::CreatedAt, now.into()),
        ],
        billing_customers::Column::AccountId,
    )
    .await?;
    find_customer(conn, account)
        .await?
        .ok_or_else(|| Error::internal("customer vanished after insert"))
}

/// Records a webhook event id; false when it was already recorded (a
/// replay).
pub async fn record_event<C: ConnectionTrait>(
    conn: &C,
    id: &str,
    event_type: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sql::insert_or_ignore(
        conn,
        stripe_events::Entity,
        vec![
            (stripe_events::Column::Id, id.to_owned().into()),
            (
                stripe_events::Column::EventType,
                event_type.to_owned().into(),
            ),
            (stripe_events::Column::ReceivedAt, now.into()),
        ],
        stripe_events::Column::Id,
    )
    .await?;
    Ok(inserted == 1)
}

/// Takes the row's write lock for the rest of the transaction (an UPDATE
/// of `updated_at`); false when the row does not exist.
pub async fn lock<C: ConnectionTrait>(conn: &C, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let update = Query::update()
        .table(Entity)
        .value(Column::UpdatedAt, now)
        .and_where(Expr::col(Column::Id).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
