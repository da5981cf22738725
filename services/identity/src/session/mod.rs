//! Sessions: issued by the flows, checked by whoami (cached), revoked by
//! users and admins.

pub mod cache;
pub mod handler;
pub mod logout;
pub mod model;
pub mod service;
pub mod store;
