//! Subscription rows, the rules over them, and the JSON views (spec:
//! `subscription`, `CreateSubscriptionPayload`, `UpdateSubscriptionPayload`,
//! `provisionMockSubscriptionPayload`, `stripeCustomerResponse`).

use billing::Plan;
use chrono::{DateTime, Duration, Utc};
use kernel::tenant::ProjectState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Stripe's subscription statuses we act on (the spec's
/// `SubscriptionStatus` is Stripe's string as it is).
pub mod status {
    pub const ACTIVE: &str = "active";
    pub const TRIALING: &str = "trialing";
    pub const PAST_DUE: &str = "past_due";
    pub const UNPAID: &str = "unpaid";
    pub const CANCELED: &str = "canceled";
    pub const INCOMPLETE: &str = "incomplete";
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub owner_account_id: Uuid,
    /// `cus_...`, or `local_...` under the built-in provider.
    pub customer_id: String,
    pub stripe_subscription_id: Option<String>,
    /// The Stripe subscription item whose price is the plan.
    pub stripe_item_id: Option<String>,
    pub status: String,
    pub current_plan: Plan,
    /// The plan being bought in an unfinished Checkout.
    pub requested_plan: Option<Plan>,
    /// A downgrade waiting for the end of the paid period.
    pub plan_changes_to: Option<Plan>,
    pub plan_changes_at: Option<DateTime<Utc>>,
    pub payed_until: DateTime<Utc>,
    pub ongoing_stripe_checkout_id: Option<String>,
    /// The project the Checkout was started for; attached once paid.
    pub provision_project_id: Option<Uuid>,
    /// When Stripe created the newest state applied to this row: an event
    /// older than it arrived out of order and changes nothing.
    pub stripe_state_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl SubscriptionRow {
    /// A new subscription of `owner`, not paid for yet: `incomplete`, on
    /// free, nothing linked at Stripe.
    pub fn new(owner_account_id: Uuid, customer_id: String, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            owner_account_id,
            customer_id,
            stripe_subscription_id: None,
            stripe_item_id: None,
            status: status::INCOMPLETE.to_owned(),
            current_plan: Plan::Free,
            requested_plan: None,
            plan_changes_to: None,
            plan_changes_at: None,
            payed_until: now,
            ongoing_stripe_checkout_id: None,
            provision_project_id: None,
            stripe_state_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The built-in provider's purchase: `plan` applies now, paid for one
    /// period from `now`, nothing pending.
    pub fn activate_builtin(&mut self, plan: Plan, now: DateTime<Utc>) {
        self.status = status::ACTIVE.to_owned();
        self.current_plan = plan;
        self.requested_plan = None;
        self.plan_changes_to = None;
        self.plan_changes_at = None;
        self.payed_until = now + builtin_period(plan);
    }

    /// Whether the subscription is in good standing (Stripe still retries
    /// a `past_due` one, so its projects keep their plan meanwhile).
    pub fn is_in_good_standing(&self) -> bool {
        matches!(
            self.status.as_str(),
            status::ACTIVE | status::TRIALING | status::PAST_DUE
        )
    }

    /// The plan whose quotas apply now.
    pub fn effective_plan(&self, now: DateTime<Utc>) -> Plan {
        let plan = if self.is_in_good_standing()
            || (self.status == status::CANCELED && now <= self.payed_until)
        {
            self.current_plan
        } else {
            Plan::Free
        };
        // A Stripe price that is not one of ours gives nothing more than free.
        if plan == Plan::Unknown {
            Plan::Free
        } else {
            plan
        }
    }

    /// What the subscription's projects should be: halted when it is
    /// `unpaid`, or deleted (not by a move down to free) and past its grace
    /// period; running otherwise.
    pub fn project_state(&self, now: DateTime<Utc>, grace: Duration) -> ProjectState {
        let lapsed = match self.status.as_str() {
            status::UNPAID => true,
            status::CANCELED => self.current_plan != Plan::Free && now > self.payed_until + grace,
            _ => false,
        };
        if lapsed {
            ProjectState::Halted
        } else {
            ProjectState::Running
        }
    }

    pub fn view(&self) -> SubscriptionView {
        SubscriptionView {
            id: self.id,
            customer_id: self.customer_id.clone(),
            status: self.status.clone(),
            payed_until: self.payed_until,
            current_plan: self.current_plan,
            // The spec's `plan_changes_to` is required and the published
            // SDK cannot read null: with nothing scheduled it is the
            // current plan, and `plan_changes_at` is absent.
            plan_changes_to: self.plan_changes_to.unwrap_or(self.current_plan),
            plan_changes_at: self.plan_changes_at,
            ongoing_stripe_checkout_id: self.ongoing_stripe_checkout_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// How long a built-in (no Stripe) subscription is paid for.
fn builtin_period(plan: Plan) -> Duration {
    match plan {
        Plan::StartUpYearly => Duration::days(365),
        _ => Duration::days(30),
    }
}

/// `subscription`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SubscriptionView {
    pub id: Uuid,
    pub customer_id: String,
    pub status: String,
    pub payed_until: DateTime<Utc>,
    pub current_plan: Plan,
    pub plan_changes_to: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_changes_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ongoing_stripe_checkout_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /subscriptions`' answer: the subscription and the Checkout page
/// to send the buyer to (the `return_to` URL under the built-in provider,
/// which needs no payment step).
#[derive(Debug, Clone, Serialize)]
pub struct CheckoutView {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub checkout_url: String,
}

/// `CreateSubscriptionPayload`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    pub plan_or_price: String,
    pub provision_first_project: Uuid,
    #[serde(default)]
    pub return_to: Option<String>,
}

/// `UpdateSubscriptionPayload`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscription {
    pub plan_or_price: String,
    #[serde(default)]
    pub return_to: Option<String>,
}

/// `provisionMockSubscriptionPayload`, plus the project to put on the plan
/// (without it: every project the identity owns that has no subscription).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionMockSubscription {
    pub plan_or_price: String,
    pub identity_id: Uuid,
    #[serde(default)]
    pub project_id: Option<Uuid>,
}

/// `stripeCustomerResponse`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StripeCustomerView {
    pub id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str, plan: Plan, payed_until: DateTime<Utc>) -> SubscriptionRow {
        let mut row = SubscriptionRow::new(Uuid::nil(), "cus_1".into(), payed_until);
        row.status = status.into();
        row.current_plan = plan;
        row
    }

    #[test]
    fn plans_apply_only_while_paid_for() {
        let now = Utc::now();
        let later = now + Duration::days(3);
        let grace = Duration::days(7);
        let active = row(status::ACTIVE, Plan::StartUpMonthly, later);
        assert_eq!(active.effective_plan(now), Plan::StartUpMonthly);
        assert_eq!(active.project_state(now, grace), ProjectState::Running);

        let past_due = row(status::PAST_DUE, Plan::StartUpMonthly, now);
        assert_eq!(past_due.effective_plan(now), Plan::StartUpMonthly);
        assert_eq!(past_due.project_state(now, grace), ProjectState::Running);

        let unpaid = row(status::UNPAID, Plan::StartUpMonthly, later);
        assert_eq!(unpaid.effective_plan(now), Plan::Free);
        assert_eq!(unpaid.project_state(now, grace), ProjectState::Halted);

        let incomplete = row(status::INCOMPLETE, Plan::Free, now);
        assert_eq!(incomplete.effective_plan(now), Plan::Free);
        assert_eq!(incomplete.project_state(now, grace), ProjectState::Running);
    }

    #[test]
    fn a_deleted_subscription_halts_after_its_grace_period_unless_moved_to_free() {
        let now = Utc::now();
        let grace = Duration::days(7);
        let canceled = row(
            status::CANCELED,
            Plan::StartUpYearly,
            now - Duration::days(1),
        );
        assert_eq!(canceled.effective_plan(now), Plan::Free);
        assert_eq!(canceled.project_state(now, grace), ProjectState::Running);
        let lapsed = row(
            status::CANCELED,
            Plan::StartUpYearly,
            now - Duration::days(8),
        );
        assert_eq!(lapsed.project_state(now, grace), ProjectState::Halted);
        let moved_to_free = row(status::CANCELED, Plan::Free, now - Duration::days(30));
        assert_eq!(
            moved_to_free.project_state(now, grace),
            ProjectState::Running
        );
    }

    #[test]
    fn the_view_never_has_a_null_plan_change() {
        let now = Utc::now();
        let mut sub = row(status::ACTIVE, Plan::StartUpYearly, now);
        let json = serde_json::to_value(sub.view()).unwrap_or_default();
        assert_eq!(json["plan_changes_to"], "start_up_yearly");
        assert!(json.get("plan_changes_at").is_none());
        sub.plan_changes_to = Some(Plan::StartUpMonthly);
        sub.plan_changes_at = Some(now);
        let json = serde_json::to_value(sub.view()).unwrap_or_default();
        assert_eq!(json["plan_changes_to"], "start_up_monthly");
        assert!(json["plan_changes_at"].is_string());
    }
}
