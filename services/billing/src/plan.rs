//! The plans a subscription can be on (the spec's `NullPlan`).

use serde::{Deserialize, Serialize};

/// A plan. `unknown` only appears when a Stripe price is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    Unknown,
    Free,
    StartUpMonthly,
    StartUpYearly,
    Custom,
}

impl Plan {
    pub const ALL: [Plan; 5] = [
        Plan::Unknown,
        Plan::Free,
        Plan::StartUpMonthly,
        Plan::StartUpYearly,
        Plan::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Unknown => "unknown",
            Plan::Free => "free",
            Plan::StartUpMonthly => "start_up_monthly",
            Plan::StartUpYearly => "start_up_yearly",
            Plan::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Plan> {
        Plan::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Orders plans by what they give, then by how long they commit to:
    /// moving up takes effect at once, moving down at the period's end.
    pub fn rank(self) -> u8 {
        match self {
            Plan::Unknown | Plan::Free => 0,
            Plan::StartUpMonthly => 1,
            Plan::StartUpYearly => 2,
            Plan::Custom => 3,
        }
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(plan));
            assert_eq!(
                serde_json::to_value(plan).ok(),
                Some(serde_json::Value::String(plan.as_str().to_owned()))
            );
        }
        assert_eq!(Plan::parse("enterprise"), None);
        assert!(Plan::StartUpYearly.rank() > Plan::StartUpMonthly.rank());
    }
}
