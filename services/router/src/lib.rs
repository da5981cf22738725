//! Host → tenant routing.
//!
//! A request whose host is `<slug>.<base_domain>` (port ignored; the
//! `X-Forwarded-Host` header only from trusted proxies) runs in that
//! project's tenant context, and so does a request for an active custom
//! hostname (with that hostname's cookie domain and CORS allow-list); any
//! other host reaches the control plane.
//! Tenant contexts are cached per process and dropped when the bus says the
//! project changed, so every replica uses a new revision within a second.

mod custom;
mod host;
mod limit;
mod resolver;
mod tenant_cache;

pub use custom::{CustomHosts, origin_allowed};
pub use host::{TenantHostGuard, TenantHosts, TenantSlug};
pub use limit::{RateLimitSettings, RateLimiter, Throttled, classify};
pub use resolver::{TenantResolver, tenant_context};
pub use tenant_cache::TenantCache;
