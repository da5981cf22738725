//! Per-tenant rate limits: a fixed one-second window per project and API
//! class, counted in the shared cache (Redis when configured, so the limit
//! holds across replicas; in-process otherwise), sized by the project's
//! plan. Over the limit → 429 with `Retry-After`.

use actix_web::http::Method;
use kernel::ports::CacheBus;
use kernel::tenant::TenantCtx;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ory's split of the tenant APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiClass {
    /// Session checks, permission checks and expansions: what every page
    /// view of the customer's app calls.
    PublicHigh,
    /// The rest of the public API (self-service flows, schemas).
    PublicLow,
    /// Admin reads.
    AdminHigh,
    /// Admin writes.
    AdminLow,
}

impl ApiClass {
    pub fn name(self) -> &'static str {
        match self {
            ApiClass::PublicHigh => "public_high",
            ApiClass::PublicLow => "public_low",
            ApiClass::AdminHigh => "admin_high",
            ApiClass::AdminLow => "admin_low",
        }
    }

    /// The requests per second the tenant's plan allows in this class.
    pub fn limit(self, tenant: &TenantCtx) -> u32 {
        let limits = tenant.rate_limits;
        match self {
            ApiClass::PublicHigh => limits.public_high,
            ApiClass::PublicLow => limits.public_low,
            ApiClass::AdminHigh => limits.admin_high,
            ApiClass::AdminLow => limits.admin_low,
        }
    }
}

/// The class of a tenant request; None for what is never limited (health
/// probes, the version).
pub fn classify(method: &Method, path: &str) -> Option<ApiClass> {
    if path.starts_with("/health/") || path == "/version" {
        return None;
    }
    if path.starts_with("/admin/") {
        return Some(if method == Method::GET || method == Method::HEAD {
            ApiClass::AdminHigh
        } else {
            ApiClass::AdminLow
        });
    }
    let hot = path == "/sessions/whoami"
        || path.starts_with("/relation-tuples/check")
        || path == "/relation-tuples/expand";
    Some(if hot {
        ApiClass::PublicHigh
    } else {
        ApiClass::PublicLow
    })
}

#[derive(Clone)]
pub struct RateLimiter {
    counters: Arc<dyn CacheBus>,
}

impl RateLimiter {
    pub fn new(counters: Arc<dyn CacheBus>) -> Self {
        Self { counters }
    }

    /// Counts the request; `Err(seconds)` when it is over the limit, with
    /// how long until the window turns.
    pub async fn check(&self, tenant: &TenantCtx, class: ApiClass) -> Result<(), u64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let window = now.as_secs();
        let key = format!("rl:{}:{}:{window}", tenant.project_id, class.name());
        match self.counters.count_hit(&key, Duration::from_secs(2)).await {
            Some(count) if count > u64::from(class.limit(tenant)) => Err(1),
            // Under the limit, or the counter is unreachable (fail open).
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_into_ory_s_classes() {
        assert_eq!(classify(&Method::GET, "/health/alive"), None);
        assert_eq!(
            classify(&Method::GET, "/sessions/whoami"),
            Some(ApiClass::PublicHigh)
        );
        assert_eq!(
            classify(&Method::POST, "/relation-tuples/check/openapi"),
            Some(ApiClass::PublicHigh)
        );
        assert_eq!(
            classify(&Method::GET, "/self-service/login/api"),
            Some(ApiClass::PublicLow)
        );
        assert_eq!(
            classify(&Method::GET, "/admin/identities"),
            Some(ApiClass::AdminHigh)
        );
        assert_eq!(
            classify(&Method::DELETE, "/admin/identities/x"),
            Some(ApiClass::AdminLow)
        );
    }
}
