//! What a project's plan allows: member seats, custom domains, and the
//! request rates of its tenant APIs. The numbers live here so there is one
//! place to change them.

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
    pub rate_limits: RateLimits,
}

pub use kernel::tenant::RateLimits;

/// The free plan: the owner and two collaborators, no custom domain.
pub const FREE: Quotas = Quotas {
    member_seats: 3,
    custom_domains: 0,
    rate_limits: RateLimits {
        public_high: 20,
        public_low: 5,
        admin_high: 10,
        admin_low: 2,
    },
};

/// Start-up, monthly or yearly alike (the interval only changes the price).
pub const START_UP: Quotas = Quotas {
    member_seats: 10,
    custom_domains: 1,
    rate_limits: RateLimits {
        public_high: 100,
        public_low: 20,
        admin_high: 50,
        admin_low: 10,
    },
};

/// Custom (negotiated) plans.
pub const CUSTOM: Quotas = Quotas {
    member_seats: 50,
    custom_domains: 10,
    rate_limits: RateLimits {
        public_high: 500,
        public_low: 100,
        admin_high: 250,
        admin_low: 50,
    },
};

/// The quotas of a plan (`unknown`, a price that is not ours: free).
pub fn for_plan(plan: Plan) -> Quotas {
    match plan {
        Plan::Unknown | Plan::Free => FREE,
        Plan::StartUpMonthly | Plan::StartUpYearly => START_UP,
        Plan::Custom => CUSTOM,
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
            assert!(paid.rate_limits.public_high > FREE.rate_limits.public_high);
        }
        assert_eq!(FREE.custom_domains, 0);
    }
}
