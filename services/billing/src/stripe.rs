//! [`crate::PaymentProvider`] over Stripe's API (async-stripe).

use crate::{
    ACCOUNT_ID_METADATA, BillingSettings, Checkout, CheckoutRequest, PROJECT_ID_METADATA,
    PaymentProvider, PriceChange, ProviderError, RemoteSubscription, SUBSCRIPTION_ID_METADATA,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;
use stripe::{Client, ClientBuilder, StripeError};
use stripe_billing::subscription::{
    RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems,
    UpdateSubscriptionProrationBehavior,
};
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};
use stripe_core::customer::CreateCustomer;
use stripe_shared::CheckoutSessionMode;
use uuid::Uuid;

/// Per-attempt budget of a Stripe call. The async client has none by
/// default, so a hung connection would hold the request (and the buyer)
/// forever; Stripe answers well within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Stripe through async-stripe. Requests go out once (the client's default
/// `RequestStrategy::Once`): every call here is either a read or one the
/// caller repeats safely, so retries are left to the caller.
#[derive(Clone)]
pub struct StripeProvider {
    client: Client,
}

// Hand-written so the client (and the key inside it) never reaches a log
// through `{:?}`.
impl std::fmt::Debug for StripeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeProvider").finish_non_exhaustive()
    }
}

impl StripeProvider {
    /// Builds the client from `billing.*`. The error names the setting and
    /// never contains the key.
    pub fn new(settings: &BillingSettings) -> Result<Self, String> {
        if settings.stripe_secret_key.is_empty() {
            return Err("stripe_secret_key is empty".into());
        }
        let mut builder =
            ClientBuilder::new(settings.stripe_secret_key.as_str()).timeout(REQUEST_TIMEOUT);
        if let Some(url) = &settings.stripe_api_url {
            // async-stripe appends `v1/...` to the base as it is, so a base
            // without a trailing slash would give `http://hostv1/...`.
            let base = if url.ends_with('/') {
                url.clone()
            } else {
                format!("{url}/")
            };
            builder = builder.url(base);
        }
        let client = builder.build().map_err(|e| match e {
            // Its message only says which setting is not a valid header.
            StripeError::ClientError(_) => {
                "stripe_secret_key may only contain visible ASCII characters".to_owned()
            }
            other => format!("stripe_api_url: {other}"),
        })?;
        Ok(Self { client })
    }
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    async fn create_customer(
        &self,
        account_id: Uuid,
        email: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut request = CreateCustomer::new().metadata(HashMap::from([(
            ACCOUNT_ID_METADATA.to_owned(),
            account_id.to_string(),
        )]));
        if let Some(email) = email {
            request = request.email(email);
        }
        let customer = request
            .send(&self.client)
            .await
            .map_err(|e| provider_error("create customer", e))?;
        Ok(customer.id.as_str().to_owned())
    }

    async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, ProviderError> {
        let metadata = HashMap::from([
            (
                SUBSCRIPTION_ID_METADATA.to_owned(),
                request.subscription_id.to_string(),
            ),
            (
                PROJECT_ID_METADATA.to_owned(),
                request.project_id.to_string(),
            ),
        ]);
        let mut line_item = CreateCheckoutSessionLineItems::new();
        line_item.price = Some(request.price_id.clone());
        line_item.quantity = Some(1);
        // The session's metadata only shows on checkout events; the
        // subscription's own copy is what later `customer.subscription.*`
        // events carry, so both are set.
        let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
        subscription_data.metadata = Some(metadata.clone());
        let session = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(request.customer_id.as_str())
            .line_items(vec![line_item])
            .success_url(request.success_url.as_str())
            .cancel_url(request.cancel_url.as_str())
            .client_reference_id(request.subscription_id.to_string())
            .metadata(metadata)
            .subscription_data(subscription_data)
            .send(&self.client)
            .await
            .map_err(|e| provider_error("create checkout session", e))?;
        let url = session.url.ok_or_else(|| {
            ProviderError::Unavailable(format!(
                "Stripe created checkout session {} without a url",
                session.id.as_str()
            ))
        })?;
        Ok(Checkout {
            id: session.id.as_str().to_owned(),
            url,
        })
    }

    async fn subscription(&self, id: &str) -> Result<RemoteSubscription, ProviderError> {
        check_id(id)?;
        let subscription = RetrieveSubscription::new(id)
            .send(&self.client)
            .await
            .map_err(|e| provider_error("read subscription", e))?;
        Ok(remote_subscription(&subscription))
    }

    async fn change_price(
        &self,
        subscription: &RemoteSubscription,
        price_id: &str,
        when: PriceChange,
    ) -> Result<RemoteSubscription, ProviderError> {
        check_id(&subscription.id)?;
        // Without the item id Stripe would add a second item (two prices
        // billed at once) instead of moving the existing one.
        let item_id = subscription.item_id.clone().ok_or_else(|| {
            ProviderError::Refused(format!(
                "subscription {} has no item to change",
                subscription.id
            ))
        })?;
        let mut item = UpdateSubscriptionItems::new();
        item.id = Some(item_id);
        item.price = Some(price_id.to_owned());
        let proration = match when {
            PriceChange::Immediately => UpdateSubscriptionProrationBehavior::CreateProrations,
            PriceChange::WithoutProration => UpdateSubscriptionProrationBehavior::None,
        };
        let updated = UpdateSubscription::new(subscription.id.as_str())
            .items(vec![item])
            .proration_behavior(proration)
            .send(&self.client)
            .await
            .map_err(|e| provider_error("change subscription price", e))?;
        Ok(remote_subscription(&updated))
    }

    async fn cancel_at_period_end(
        &self,
        id: &str,
        cancel: bool,
    ) -> Result<RemoteSubscription, ProviderError> {
        check_id(id)?;
        let updated = UpdateSubscription::new(id)
            .cancel_at_period_end(cancel)
            .send(&self.client)
            .await
            .map_err(|e| provider_error("set cancel_at_period_end", e))?;
        Ok(remote_subscription(&updated))
    }
}

/// The parts of a Stripe subscription we mirror; shared by the API calls
/// and the `customer.subscription.*` webhook events.
pub fn remote_subscription(subscription: &stripe_shared::Subscription) -> RemoteSubscription {
    // Since API version 2025-03-31 the billing period lives on each item,
    // not on the subscription; we sell one price per subscription, so the
    // first item is the one.
    let item = subscription.items.data.first();
    RemoteSubscription {
        id: subscription.id.as_str().to_owned(),
        customer_id: subscription.customer.id().as_str().to_owned(),
        status: subscription.status.as_str().to_owned(),
        item_id: item.map(|item| item.id.as_str().to_owned()),
        price_id: item.map(|item| item.price.id.as_str().to_owned()),
        current_period_end: item.and_then(|item| timestamp(item.current_period_end)),
        cancel_at_period_end: subscription.cancel_at_period_end,
        keyplane_subscription_id: subscription
            .metadata
            .get(SUBSCRIPTION_ID_METADATA)
            .and_then(|id| Uuid::parse_str(id).ok()),
    }
}

/// A Unix timestamp from Stripe; `None` only for values chrono cannot hold.
pub(crate) fn timestamp(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// async-stripe puts ids into the request path without escaping them, so
/// an id with `/`, `?` or `#` would reach another endpoint. Stripe's ids are
/// letters, digits and `_`.
fn check_id(id: &str) -> Result<(), ProviderError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(ProviderError::Refused(format!(
            "{id:?} is not a Stripe subscription id"
        )))
    }
}

/// Sorts a failure: a 4xx means Stripe understood and refused our request
/// (shown to the caller); anything else says nothing about the request.
fn provider_error(action: &str, error: StripeError) -> ProviderError {
    match error {
        StripeError::Stripe(api, status) if (400..500).contains(&status) => {
            let message = api
                .message
                .clone()
                .unwrap_or_else(|| format!("HTTP {status}"));
            tracing::info!(action, status, code = ?api.code, "Stripe refused the request");
            ProviderError::Refused(message)
        }
        StripeError::Stripe(api, status) => {
            let message = api.message.clone().unwrap_or_default();
            tracing::warn!(action, status, %message, "Stripe failed");
            ProviderError::Unavailable(format!("Stripe answered {status}: {message}"))
        }
        // None of these carry the key: the Authorization header is marked
        // sensitive and the messages come from hyper or the deserializer.
        StripeError::Timeout => {
            tracing::warn!(action, "Stripe timed out");
            ProviderError::Unavailable(format!("Stripe did not answer within {REQUEST_TIMEOUT:?}"))
        }
        other => {
            tracing::warn!(action, error = %other, "Stripe unreachable or its answer unreadable");
            ProviderError::Unavailable(other.to_string())
        }
    }
}
