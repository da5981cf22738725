//! [`crate::PaymentProvider`] over Stripe's API (async-stripe).
// TEMPORARY until the adapter branch lands.
pub struct StripeProvider;
#[async_trait::async_trait]
impl crate::PaymentProvider for StripeProvider {
    async fn create_customer(
        &self,
        _: uuid::Uuid,
        _: Option<&str>,
    ) -> Result<String, crate::ProviderError> {
        unimplemented!()
    }
    async fn create_checkout(
        &self,
        _: &crate::CheckoutRequest,
    ) -> Result<crate::Checkout, crate::ProviderError> {
        unimplemented!()
    }
    async fn subscription(
        &self,
        _: &str,
    ) -> Result<crate::RemoteSubscription, crate::ProviderError> {
        unimplemented!()
    }
    async fn change_price(
        &self,
        _: &crate::RemoteSubscription,
        _: &str,
        _: crate::PriceChange,
    ) -> Result<crate::RemoteSubscription, crate::ProviderError> {
        unimplemented!()
    }
    async fn cancel_at_period_end(
        &self,
        _: &str,
        _: bool,
    ) -> Result<crate::RemoteSubscription, crate::ProviderError> {
        unimplemented!()
    }
}
impl StripeProvider {
    pub fn new(_settings: &crate::BillingSettings) -> Result<Self, String> {
        Err("not built yet".into())
    }
}
