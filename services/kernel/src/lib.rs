//! Keyplane's kernel: the vocabulary every other crate shares.
//!
//! Nothing here knows about HTTP, SQL or Redis; those live in the crates that
//! depend on this one. The domains (control plane, identity, permission) talk
//! to each other only through the ports defined here.

pub mod clock;
pub mod duration;
pub mod error;
pub mod identity_config;
pub mod json_patch;
pub mod net;
pub mod periodic;
pub mod ports;
pub mod public_url;
pub mod rate_limit;
pub mod request;
pub mod sealed;
pub mod share;
pub mod tenant;
pub mod text;

pub use error::{Error, ErrorKind, Result};
