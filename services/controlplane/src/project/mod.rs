//! Projects: create, list, get, replace and patch config, purge.

pub mod handler;
pub mod model;
pub mod secrets;
pub mod service;
pub mod slug;
pub mod store;
