//! Stripe webhook calls: signature check (HMAC-SHA256 over
//! `<t>.<payload>`, timestamp within 5 minutes of our clock) and the events
//! we act on, in our own types.

use crate::RemoteSubscription;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Why a webhook call was refused (all 400: Stripe retries, a forger gets
/// nothing).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the Stripe-Signature header is missing or malformed")]
    MissingSignature,
    #[error("the Stripe-Signature does not match the payload")]
    BadSignature,
    #[error("the Stripe-Signature timestamp is outside the tolerance")]
    StaleTimestamp,
    #[error("the event could not be read: {0}")]
    BadPayload(String),
}

/// A verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    /// `evt_...`: stored once, so a replay is a no-op.
    pub id: String,
    /// When Stripe created the event: orders the states of a subscription
    /// when events arrive out of order.
    pub created: DateTime<Utc>,
    /// The event's `type`.
    pub event_type: String,
    pub kind: EventKind,
}

/// What an event means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `checkout.session.completed`.
    CheckoutCompleted {
        checkout_id: String,
        /// `client_reference_id` (our subscription id).
        subscription_ref: Option<Uuid>,
        customer_id: Option<String>,
        /// The `sub_...` Stripe created.
        stripe_subscription_id: Option<String>,
    },
    /// `customer.subscription.created` / `customer.subscription.updated`.
    SubscriptionChanged(RemoteSubscription),
    /// `customer.subscription.deleted`.
    SubscriptionDeleted(RemoteSubscription),
    /// `invoice.paid`.
    InvoicePaid {
        stripe_subscription_id: Option<String>,
        /// The latest end of the periods the invoice's lines pay for.
        paid_until: Option<DateTime<Utc>>,
    },
    /// `invoice.payment_failed`.
    InvoicePaymentFailed {
        stripe_subscription_id: Option<String>,
    },
    /// Any other type: acknowledged and recorded, nothing else.
    Ignored,
}

/// Verifies a webhook call and reads its event. `now` is our clock (the
/// signature's timestamp must be within 300 s of it).
pub fn verify_event(
    _payload: &str,
    _signature_header: &str,
    _secret: &str,
    _now: DateTime<Utc>,
) -> Result<StripeEvent, WebhookError> {
    Err(WebhookError::BadPayload("not built yet".into()))
}
