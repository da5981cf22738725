//! `billing_customers`, `subscriptions` and `stripe_events`.

use super::model::SubscriptionRow;
use billing::Plan;
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, QueryResult};
use store::sql::{self, col};
use uuid::Uuid;

const SUBSCRIPTIONS: &str = "subscriptions";
const COLUMNS: [&str; 16] = [
    "id",
    "owner_account_id",
    "customer_id",
    "stripe_subscription_id",
    "stripe_item_id",
    "status",
    "current_plan",
    "requested_plan",
    "plan_changes_to",
    "plan_changes_at",
    "payed_until",
    "ongoing_stripe_checkout_id",
    "provision_project_id",
    "stripe_state_at",
    "created_at",
    "updated_at",
];

fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(col))
        .from(col(SUBSCRIPTIONS))
        .to_owned()
}

fn plan(row: &QueryResult, column: &'static str) -> Result<Option<Plan>> {
    sql::get::<Option<String>>(row, column)?
        .map(|s| Plan::parse(&s).ok_or_else(|| Error::internal(format!("{column} {s}"))))
        .transpose()
}

fn from_row(row: &QueryResult) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: sql::get(row, "id")?,
        owner_account_id: sql::get(row, "owner_account_id")?,
        customer_id: sql::get(row, "customer_id")?,
        stripe_subscription_id: sql::get(row, "stripe_subscription_id")?,
        stripe_item_id: sql::get(row, "stripe_item_id")?,
        status: sql::get(row, "status")?,
        current_plan: plan(row, "current_plan")?
            .ok_or_else(|| Error::internal("subscription without a plan"))?,
        requested_plan: plan(row, "requested_plan")?,
        plan_changes_to: plan(row, "plan_changes_to")?,
        plan_changes_at: sql::get(row, "plan_changes_at")?,
        payed_until: sql::get(row, "payed_until")?,
        ongoing_stripe_checkout_id: sql::get(row, "ongoing_stripe_checkout_id")?,
        provision_project_id: sql::get(row, "provision_project_id")?,
        stripe_state_at: sql::get(row, "stripe_state_at")?,
        created_at: sql::get(row, "created_at")?,
        updated_at: sql::get(row, "updated_at")?,
    })
}

/// Every column but the id, as stored.
fn values(row: &SubscriptionRow) -> Vec<(&'static str, Value)> {
    vec![
        ("owner_account_id", row.owner_account_id.into()),
        ("customer_id", row.customer_id.clone().into()),
        (
            "stripe_subscription_id",
            row.stripe_subscription_id.clone().into(),
        ),
        ("stripe_item_id", row.stripe_item_id.clone().into()),
        ("status", row.status.clone().into()),
        ("current_plan", row.current_plan.as_str().to_owned().into()),
        (
            "requested_plan",
            row.requested_plan.map(|p| p.as_str().to_owned()).into(),
        ),
        (
            "plan_changes_to",
            row.plan_changes_to.map(|p| p.as_str().to_owned()).into(),
        ),
        ("plan_changes_at", row.plan_changes_at.into()),
        ("payed_until", row.payed_until.into()),
        (
            "ongoing_stripe_checkout_id",
            row.ongoing_stripe_checkout_id.clone().into(),
        ),
        ("provision_project_id", row.provision_project_id.into()),
        ("stripe_state_at", row.stripe_state_at.into()),
        ("created_at", row.created_at.into()),
        ("updated_at", row.updated_at.into()),
    ]
}

pub async fn insert<C: ConnectionTrait>(conn: &C, row: &SubscriptionRow) -> Result<()> {
    let mut columns = vec![("id", row.id.into())];
    columns.extend(values(row));
    sql::insert(conn, SUBSCRIPTIONS, columns).await
}

/// Writes every column of the row back.
pub async fn update<C: ConnectionTrait>(conn: &C, row: &SubscriptionRow) -> Result<()> {
    let mut update = Query::update();
    update
        .table(col(SUBSCRIPTIONS))
        .and_where(Expr::col(col("id")).eq(row.id));
    for (name, value) in values(row) {
        update.value(col(name), value);
    }
    sql::update(conn, &update).await?;
    Ok(())
}

async fn find_where<C: ConnectionTrait>(
    conn: &C,
    column: &str,
    value: impl Into<Value>,
) -> Result<Option<SubscriptionRow>> {
    let stmt = select()
        .and_where(Expr::col(col(column)).eq(value.into()))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<SubscriptionRow>> {
    find_where(conn, "id", id).await
}

pub async fn find_by_stripe_id<C: ConnectionTrait>(
    conn: &C,
    stripe_id: &str,
) -> Result<Option<SubscriptionRow>> {
    find_where(conn, "stripe_subscription_id", stripe_id.to_owned()).await
}

pub async fn find_by_checkout_id<C: ConnectionTrait>(
    conn: &C,
    checkout_id: &str,
) -> Result<Option<SubscriptionRow>> {
    find_where(conn, "ongoing_stripe_checkout_id", checkout_id.to_owned()).await
}

/// Subscriptions the sweep may have to act on: a plan change that fell
/// due, or a deleted one whose projects may have to be halted.
pub async fn list_sweepable<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
) -> Result<Vec<SubscriptionRow>> {
    let stmt = select()
        .cond_where(
            Expr::col(col("plan_changes_at"))
                .lte(now)
                .or(Expr::col(col("status")).eq(super::model::status::CANCELED)),
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
        .from_table(col(SUBSCRIPTIONS))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    sql::delete(conn, &delete).await?;
    Ok(())
}

/// The account's payment-provider customer id.
pub async fn find_customer<C: ConnectionTrait>(conn: &C, account: Uuid) -> Result<Option<String>> {
    let stmt = Query::select()
        .column(col("customer_id"))
        .from(col("billing_customers"))
        .and_where(Expr::col(col("account_id")).eq(account))
        .to_owned();
    sql::select_one(conn, &stmt)
        .await?
        .map(|row| sql::get(&row, "customer_id"))
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
        "billing_customers",
        vec![
            ("account_id", account.into()),
            ("customer_id", customer_id.to_owned().into()),
            ("created_at", now.into()),
        ],
        "account_id",
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
        "stripe_events",
        vec![
            ("id", id.to_owned().into()),
            ("event_type", event_type.to_owned().into()),
            ("received_at", now.into()),
        ],
        "id",
    )
    .await?;
    Ok(inserted == 1)
}

/// Takes the row's write lock for the rest of the transaction (an UPDATE
/// of `updated_at`); false when the row does not exist.
pub async fn lock<C: ConnectionTrait>(conn: &C, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
    let update = Query::update()
        .table(col(SUBSCRIPTIONS))
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    Ok(sql::update(conn, &update).await? == 1)
}
