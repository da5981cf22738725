//! actix-web glue shared by the control plane and the tenant engines: the
//! Ory error JSON, the request-context middleware (request id, tracing span,
//! metrics, JSON for every error), body limits, and the health endpoints.

pub mod client_ip;
pub mod error;
pub mod extract;
pub mod health;
pub mod input;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod query;
pub mod tenant;

pub use error::{ApiError, ApiResult};
pub use middleware::{RequestId, TrustedProxies, current_request_id};
