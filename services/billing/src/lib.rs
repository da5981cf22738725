//! Billing: the plans, the payment provider (Stripe through
//! `async-stripe`), and verification of Stripe's webhook calls.
//!
//! The control plane owns subscriptions and what they do to projects; this
//! crate only talks to Stripe and turns what Stripe sends into
//! [`StripeEvent`]s, so nothing else depends on Stripe's types.

// The test fixtures are whole Stripe objects in `json!`, deeper than the
// default limit.
#![cfg_attr(test, recursion_limit = "256")]

pub mod plan;
pub mod settings;
pub mod stripe;
pub mod webhook;

pub use plan::Plan;
pub use settings::{BillingSettings, PlanPrices};
pub use webhook::{EventKind, StripeEvent, WebhookError, verify_event};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Metadata key under which our subscription id travels on Stripe's
/// Checkout session and subscription objects.
pub const SUBSCRIPTION_ID_METADATA: &str = "keyplane_subscription_id";
/// Metadata key under which the project to provision travels.
pub const PROJECT_ID_METADATA: &str = "keyplane_project_id";
/// Metadata key under which our account id travels on the customer.
pub const ACCOUNT_ID_METADATA: &str = "keyplane_account_id";

/// A payment provider call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Stripe answered with a 4xx: our request was wrong for it (an unknown
    /// price, a subscription it does not know). Shown to the caller.
    #[error("payment provider refused the request: {0}")]
    Refused(String),
    /// Stripe could not be reached or failed (5xx, timeout, bad answer).
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
}

/// What a Checkout session is created for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    pub customer_id: String,
    pub price_id: String,
    /// Where Stripe sends the buyer after paying.
    pub success_url: String,
    /// Where Stripe sends the buyer who gives up.
    pub cancel_url: String,
    /// Our subscription row; sent as `client_reference_id` and as
    /// [`SUBSCRIPTION_ID_METADATA`] on the session and on the subscription
    /// Stripe creates, so every later event finds the row.
    pub subscription_id: Uuid,
    /// The project the subscription is bought for ([`PROJECT_ID_METADATA`]).
    pub project_id: Uuid,
}

/// A created Checkout session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub id: String,
    pub url: String,
}

/// The parts of a Stripe subscription object we mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSubscription {
    /// `sub_...`
    pub id: String,
    /// `cus_...`
    pub customer_id: String,
    /// Stripe's status string (`active`, `past_due`, `unpaid`, `canceled`,
    /// `incomplete`, `incomplete_expired`, `trialing`, `paused`).
    pub status: String,
    /// The subscription's (first) item: its id, needed to change the price.
    pub item_id: Option<String>,
    /// The price of that item.
    pub price_id: Option<String>,
    /// End of the period paid for (the item's `current_period_end`).
    pub current_period_end: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    /// [`SUBSCRIPTION_ID_METADATA`] when the subscription came from our
    /// Checkout session.
    pub keyplane_subscription_id: Option<Uuid>,
}

/// When a price change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceChange {
    /// Now, charging the prorated difference (an upgrade).
    Immediately,
    /// Without proration: used when a downgrade falls due at the end of the
    /// period already paid for.
    WithoutProration,
}

/// The payment provider. The built-in (no Stripe key) mode has no provider
/// at all: the control plane then sets plans directly.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Creates a customer for an account.
    async fn create_customer(
        &self,
        account_id: Uuid,
        email: Option<&str>,
    ) -> Result<String, ProviderError>;

    /// Creates a Checkout session in subscription mode for one price.
    async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, ProviderError>;

    /// Reads a subscription.
    async fn subscription(&self, id: &str) -> Result<RemoteSubscription, ProviderError>;

    /// Moves the subscription's item to another price.
    async fn change_price(
        &self,
        subscription: &RemoteSubscription,
        price_id: &str,
        when: PriceChange,
    ) -> Result<RemoteSubscription, ProviderError>;

    /// Sets or clears `cancel_at_period_end` (a move down to free).
    async fn cancel_at_period_end(
        &self,
        id: &str,
        cancel: bool,
    ) -> Result<RemoteSubscription, ProviderError>;
}
