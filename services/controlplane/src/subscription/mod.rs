//! Subscriptions: what plan each project is on, bought through Stripe
//! Checkout (or set directly by the built-in provider when no Stripe key is
//! configured), mirrored from Stripe's webhooks, and what an unpaid one
//! does to its projects (halted: tenant APIs answer 503).

pub mod handler;
pub mod model;
pub mod service;
pub mod store;
