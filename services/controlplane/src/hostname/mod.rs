//! Custom hostnames: a project served at the customer's own domain once
//! its CNAME to `<slug>.<base_domain>` is verified, with its own cookie
//! domain and CORS allow-list.

pub mod dns;
pub mod handler;
pub mod model;
pub mod service;
pub mod store;
pub mod validate;
