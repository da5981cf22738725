//! Self-service flows for API clients: login, registration, settings (and
//! API logout in `session`). Browser flows build on the same services.

pub mod handler;
pub mod login;
pub mod model;
pub mod registration;
pub mod service;
pub mod settings;
pub mod store;
