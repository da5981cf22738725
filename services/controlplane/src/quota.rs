//! What a project's plan allows. Until billing lands every project is on
//! the free plan; the numbers live here so there is one place to change.

use serde::Serialize;
use uuid::Uuid;

/// The limits of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Members plus pending invites.
    pub member_seats: u64,
}

/// The free plan: the owner and two collaborators.
pub const FREE: Quotas = Quotas { member_seats: 3 };

/// The quotas of a project with this subscription (none: free).
pub fn for_subscription(_subscription: Option<Uuid>) -> Quotas {
    FREE
}

/// `QuotaProjectMemberSeats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberSeatsView {
    pub project_id: Uuid,
    pub total_seats: u64,
    pub remaining_seats: u64,
}
