//! [`crate::PaymentProvider`] over Stripe's API (async-stripe).
