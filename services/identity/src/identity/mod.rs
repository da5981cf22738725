//! Identities: model, SQL, the admin service and its handlers.

pub mod bulk_store;
pub mod credential_store;
pub mod handler;
pub mod model;
pub mod portable;
mod records;
pub mod service;
pub mod store;
mod tables;

pub use model::{Exposure, Identity, IdentityState, IdentityView};
