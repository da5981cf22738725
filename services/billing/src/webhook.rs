//! Stripe webhook calls: signature check (HMAC-SHA256 over
//! `<t>.<payload>`, timestamp within 5 minutes of our clock) and the events
//! we act on, in our own types.

use crate::RemoteSubscription;
use crate::stripe::{remote_subscription, timestamp};
use chrono::{DateTime, Utc};
use stripe_webhook::{Event, EventObject, Webhook};
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

/// The event types we act on. Any other type is [`EventKind::Ignored`],
/// even when async-stripe cannot read its object.
const HANDLED_TYPES: [&str; 6] = [
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
];

/// Verifies a webhook call and reads its event. `now` is our clock (the
/// signature's timestamp must be within 300 s of it).
pub fn verify_event(
    payload: &str,
    signature_header: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<StripeEvent, WebhookError> {
    check_header(signature_header)?;
    // An empty key would make every signature computable by anyone; the
    // settings refuse it, this keeps a misconfiguration from accepting
    // forgeries.
    if secret.is_empty() {
        return Err(WebhookError::BadSignature);
    }
    match Webhook::construct_event_with_timestamp(
        payload,
        signature_header,
        secret,
        now.timestamp(),
    ) {
        Ok(event) => read_event(event),
        Err(stripe_webhook::WebhookError::BadHeader(_)) => Err(WebhookError::MissingSignature),
        // HMAC takes keys of any length, so BadKey cannot happen; were it
        // to, the call is still not authenticated.
        Err(stripe_webhook::WebhookError::BadSignature | stripe_webhook::WebhookError::BadKey) => {
            Err(WebhookError::BadSignature)
        }
        Err(stripe_webhook::WebhookError::BadTimestamp(_)) => Err(WebhookError::StaleTimestamp),
        // Parsing comes after the signature and timestamp checks, so the
        // payload is authentic: Stripe sent something async-stripe cannot
        // read (a newer API version, a type whose object changed shape).
        Err(stripe_webhook::WebhookError::BadParse(message)) => unreadable_event(payload, message),
    }
}

/// Refuses a header that is absent or not `t=<unix>,v1=<hex>[,...]`.
/// async-stripe reports those as a signature mismatch; telling them apart
/// shows a misrouted or stripped call in our logs and answers.
fn check_header(header: &str) -> Result<(), WebhookError> {
    let mut timestamp = false;
    let mut v1 = false;
    for pair in header.split(',') {
        let (key, value) = pair
            .trim()
            .split_once('=')
            .ok_or(WebhookError::MissingSignature)?;
        match key {
            "t" => timestamp = value.parse::<i64>().is_ok(),
            "v1" => v1 |= !value.is_empty(),
            _ => {}
        }
    }
    if timestamp && v1 {
        Ok(())
    } else {
        Err(WebhookError::MissingSignature)
    }
}

/// An authentic event async-stripe could not read: ignored if it is not a
/// type we act on (Stripe sends many, and a 400 would make it retry them
/// for days), refused otherwise, so an event that matters is not dropped.
fn unreadable_event(payload: &str, message: String) -> Result<StripeEvent, WebhookError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        id: String,
        created: i64,
        #[serde(rename = "type")]
        event_type: String,
    }
    let envelope: Envelope = serde_json::from_str(payload)
        .map_err(|e| WebhookError::BadPayload(format!("{message}: {e}")))?;
    if HANDLED_TYPES.contains(&envelope.event_type.as_str()) {
        return Err(WebhookError::BadPayload(format!(
            "{} {}: {message}",
            envelope.event_type, envelope.id
        )));
    }
    tracing::debug!(event = %envelope.id, event_type = %envelope.event_type, %message, "unreadable Stripe event of a type we ignore");
    Ok(StripeEvent {
        id: envelope.id,
        created: created(envelope.created)?,
        event_type: envelope.event_type,
        kind: EventKind::Ignored,
    })
}

fn created(secs: i64) -> Result<DateTime<Utc>, WebhookError> {
    timestamp(secs)
        .ok_or_else(|| WebhookError::BadPayload(format!("created {secs} is out of range")))
}

/// Our view of a parsed event.
fn read_event(event: Event) -> Result<StripeEvent, WebhookError> {
    let kind = match event.data.object {
        EventObject::CheckoutSessionCompleted(session) => EventKind::CheckoutCompleted {
            checkout_id: session.id.as_str().to_owned(),
            subscription_ref: session
                .client_reference_id
                .as_deref()
                .and_then(|id| Uuid::parse_str(id).ok()),
            customer_id: session
                .customer
                .as_ref()
                .map(|customer| customer.id().as_str().to_owned()),
            stripe_subscription_id: session
                .subscription
                .as_ref()
                .map(|subscription| subscription.id().as_str().to_owned()),
        },
        EventObject::CustomerSubscriptionCreated(subscription)
        | EventObject::CustomerSubscriptionUpdated(subscription) => {
            EventKind::SubscriptionChanged(remote_subscription(&subscription))
        }
        EventObject::CustomerSubscriptionDeleted(subscription) => {
            EventKind::SubscriptionDeleted(remote_subscription(&subscription))
        }
        EventObject::InvoicePaid(invoice) => EventKind::InvoicePaid {
            stripe_subscription_id: invoice_subscription(&invoice),
            paid_until: invoice
                .lines
                .data
                .iter()
                .map(|line| line.period.end)
                .max()
                .and_then(timestamp),
        },
        EventObject::InvoicePaymentFailed(invoice) => EventKind::InvoicePaymentFailed {
            stripe_subscription_id: invoice_subscription(&invoice),
        },
        _ => EventKind::Ignored,
    };
    Ok(StripeEvent {
        id: event.id.as_str().to_owned(),
        created: created(event.created)?,
        event_type: event.type_.as_str().to_owned(),
        kind,
    })
}

/// The subscription an invoice bills. Since API version 2025-03-31 it is
/// under `parent.subscription_details`; the old top-level field is read
/// too, for events rendered in an older version.
fn invoice_subscription(invoice: &stripe_shared::Invoice) -> Option<String> {
    invoice
        .parent
        .as_ref()
        .and_then(|parent| parent.subscription_details.as_ref())
        .map(|details| details.subscription.id())
        .or_else(|| invoice.subscription.as_ref().map(|s| s.id()))
        .map(|id| id.as_str().to_owned())
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
