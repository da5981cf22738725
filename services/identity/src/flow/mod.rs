//! Self-service flows for API clients and browsers: login, registration,
//! settings, recovery and verification (logout lives in `session`), with
//! their anti-CSRF checks, hooks and e-mails.

pub mod browser;
pub mod client;
pub mod handler;
pub mod hooks;
pub mod login;
pub mod mail;
pub mod model;
pub mod recovery;
pub mod registration;
pub mod service;
pub mod settings;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod verification;
