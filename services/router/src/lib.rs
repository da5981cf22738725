//! Host → tenant routing.
//!
//! A request whose host is `<slug>.<base_domain>` (port ignored; the
//! `X-Forwarded-Host` header only from trusted proxies) runs in that
//! project's tenant context; any other host reaches the control plane.
//! Tenant contexts are cached per process and dropped when the bus says the
//! project changed, so every replica uses a new revision within a second.

mod host;
mod resolver;

pub use host::{TenantHostGuard, TenantHosts, TenantSlug};
pub use resolver::{TenantResolver, tenant_context};
