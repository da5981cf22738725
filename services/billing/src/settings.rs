//! `billing.*` settings.

use crate::Plan;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct BillingSettings {
    /// Stripe secret API key (`sk_...`). Empty: no Stripe; the built-in
    /// provider sets plans directly (`POST /subscriptions/mock`).
    pub stripe_secret_key: String,
    /// Signing secret of the webhook endpoint (`whsec_...`); required with
    /// a secret key.
    pub stripe_webhook_secret: String,
    /// Stripe's API base URL; set only to reach Stripe through a proxy (or
    /// a local fake in tests).
    pub stripe_api_url: Option<String>,
    /// The Stripe price of each paid plan.
    pub prices: PlanPrices,
    /// How long projects keep running after their subscription was deleted
    /// and its paid period ended.
    pub grace_period_secs: u64,
    /// How often due downgrades and expired grace periods are applied.
    pub sweep_interval_secs: u64,
}

/// Stripe price ids (`price_...`) of the paid plans; an empty one cannot
/// be bought through Checkout.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct PlanPrices {
    pub start_up_monthly: String,
    pub start_up_yearly: String,
    pub custom: String,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            stripe_secret_key: String::new(),
            stripe_webhook_secret: String::new(),
            stripe_api_url: None,
            prices: PlanPrices::default(),
            grace_period_secs: 7 * 24 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

impl BillingSettings {
    /// Whether Stripe is configured (else the built-in provider runs).
    pub fn uses_stripe(&self) -> bool {
        !self.stripe_secret_key.is_empty()
    }

    /// Checks the values; the message names the key (relative to the
    /// section).
    pub fn validate(&self) -> Result<(), String> {
        if self.uses_stripe() && self.stripe_webhook_secret.is_empty() {
            return Err(
                "stripe_webhook_secret is required with stripe_secret_key (webhooks could not be verified)"
                    .into(),
            );
        }
        if let Some(url) = &self.stripe_api_url {
            let parsed = url::Url::parse(url).map_err(|e| format!("stripe_api_url: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err("stripe_api_url must be an http(s) URL".into());
            }
        }
        if self.sweep_interval_secs == 0 {
            return Err("sweep_interval_secs must be at least 1".into());
        }
        Ok(())
    }

    /// The price of a plan, if it can be bought.
    pub fn price_of(&self, plan: Plan) -> Option<&str> {
        let price = match plan {
            Plan::StartUpMonthly => &self.prices.start_up_monthly,
            Plan::StartUpYearly => &self.prices.start_up_yearly,
            Plan::Custom => &self.prices.custom,
            Plan::Free | Plan::Unknown => return None,
        };
        (!price.is_empty()).then_some(price.as_str())
    }

    /// The plan a Stripe price stands for (`unknown` if none).
    pub fn plan_of_price(&self, price: &str) -> Plan {
        [Plan::StartUpMonthly, Plan::StartUpYearly, Plan::Custom]
            .into_iter()
            .find(|plan| self.price_of(*plan) == Some(price))
            .unwrap_or(Plan::Unknown)
    }

    /// Reads `plan_or_price` (a plan name or one of our price ids).
    pub fn resolve(&self, plan_or_price: &str) -> Option<Plan> {
        match Plan::parse(plan_or_price) {
            Some(Plan::Unknown) => None,
            Some(plan) => Some(plan),
            None => Some(self.plan_of_price(plan_or_price)).filter(|p| *p != Plan::Unknown),
        }
    }
}
