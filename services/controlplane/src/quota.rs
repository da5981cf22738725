//! What a project's plan allows: member seats, custom domains, and the
//! request rates of its tenant APIs. Seats and domains live here; the rate
//! figures are `kernel::rate_limit`'s defaults, overridable in settings.

use crate::project::model::ProjectRow;
use crate::subscription::store as subscriptions;
use billing::Plan;
use chrono::{DateTime, Utc};
use kernel::Result;
use sea_orm::ConnectionTrait;
use serde::Serialize;
use uuid::Uuid;

/// The limits of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quotas {
    /// Members plus pending invites.
    pub member_seats: u64,
    /// Custom hostnames.
    pub custom_domains: u64,
}

use kernel::rate_limit::{PlanRateLimits, RateLimits};

/// The free plan: the owner and two collaborators, no custom domain.
pub const FREE: Quotas = Quotas {
    member_seats: 3,
    custom_domains: 0,
};

/// Start-up, monthly or yearly alike (the interval only changes the price).
pub const START_UP: Quotas = Quotas {
    member_seats: 10,
    custom_domains: 1,
};

/// Custom (negotiated) plans.
pub const CUSTOM: Quotas = Quotas {
    member_seats: 50,
    custom_domains: 10,
};

/// The quotas of a plan (`unknown`, a price that is not ours: free).
pub fn for_plan(plan: Plan) -> Quotas {
    match plan {
        Plan::Unknown | Plan::Free => FREE,
        Plan::StartUpMonthly | Plan::StartUpYearly => START_UP,
        Plan::Custom => CUSTOM,
    }
}

/// The request rates of a plan, from the configured figures.
pub fn rate_limits_for(plan: Plan, figures: &PlanRateLimits) -> RateLimits {
    match plan {
        Plan::Unknown | Plan::Free => figures.free,
        Plan::StartUpMonthly | Plan::StartUpYearly => figures.start_up,
        Plan::Custom => figures.custom,
    }
}

/// The plan in force for a project now (none, or a lapsed one: free).
pub async fn plan_of<C: ConnectionTrait>(
    conn: &C,
    project: &ProjectRow,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let Some(id) = project.subscription_id else {
        return Ok(Plan::Free);
    };
    Ok(subscriptions::find(conn, id)
        .await?
        .map_or(Plan::Free, |s| s.effective_plan(now)))
}

/// The quotas in force for a project now.
pub async fn for_project<C: ConnectionTrait>(
    conn: &C,
    project: &ProjectRow,
    now: DateTime<Utc>,
) -> Result<Quotas> {
    Ok(for_plan(plan_of(conn, project, now).await?))
}

/// `QuotaProjectMemberSeats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberSeatsView {
    pub project_id: Uuid,
    pub total_seats: u64,
    pub remaining_seats: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paid_plans_give_more_than_free() {
        assert_eq!(for_plan(Plan::Unknown), FREE);
        assert_eq!(
            for_plan(Plan::StartUpMonthly),
            for_plan(Plan::StartUpYearly)
        );
        for paid in [START_UP, CUSTOM] {
            assert!(paid.member_seats > FREE.member_seats);
            assert!(paid.custom_domains > FREE.custom_domains);
        }
        assert_eq!(FREE.custom_domains, 0);
        let figures = PlanRateLimits::default();
        assert_eq!(rate_limits_for(Plan::Unknown, &figures), figures.free);
        assert_eq!(
            rate_limits_for(Plan::StartUpYearly, &figures),
            figures.start_up
        );
    }
}
