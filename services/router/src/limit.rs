//! Per-tenant rate limits: one token bucket per project and Ory bucket
//! (`kratos-public-high`, ...), sized by the project's plan, kept in the
//! shared cache (Redis when configured, so the limit holds across
//! replicas; in-process otherwise). Empty bucket → 429 with `Retry-After`.
//! Off unless the operator turns it on or bills with Stripe (see
//! `docs/billing.md`).

use actix_web::http::Method;
use kernel::ports::CacheBus;
use kernel::rate_limit::{Bucket, BucketLimit, PlanRateLimits};
use kernel::tenant::TenantCtx;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The `rate_limit` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Enforce the plans' figures. Unset: on exactly when billing runs on
    /// Stripe (a hosted cloud selling plans), off for a self-hosted or
    /// development setup, where a limit only gets in the developer's way.
    pub enabled: Option<bool>,
    /// Each plan's figure per bucket; any one may be overridden.
    pub plans: PlanRateLimits,
}

impl RateLimitSettings {
    /// Whether limits are enforced, given whether billing uses Stripe.
    pub fn enforced(&self, paid_billing: bool) -> bool {
        self.enabled.unwrap_or(paid_billing)
    }
}

/// The bucket a tenant request counts against; None for what is never
/// limited (health probes, the version).
pub fn classify(method: &Method, path: &str) -> Option<Bucket> {
    if path.starts_with("/health/") || path == "/version" {
        return None;
    }
    let read = method == Method::GET || method == Method::HEAD;
    Some(if path.starts_with("/admin/relation-tuples") {
        Bucket::KetoAdminHigh
    } else if path.starts_with("/admin/") {
        if read {
            Bucket::KratosAdminHigh
        } else {
            Bucket::KratosAdminLow
        }
    } else if path == "/sessions/whoami" {
        Bucket::KratosPublicHigh
    } else if path == "/relation-tuples"
        || path == "/relation-tuples/changes"
        || path.starts_with("/relation-tuples/list-")
    {
        // Lists, the feed, and the lookups that walk a graph to answer one.
        Bucket::KetoPublicLow
    } else if path.starts_with("/relation-tuples/") {
        Bucket::KetoPublicHigh
    } else {
        Bucket::KratosPublicLow
    })
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub bucket: Bucket,
    pub limit: BucketLimit,
    /// Until the bucket has a token again.
    pub retry_after: Duration,
}

impl Throttled {
    /// `Retry-After` in whole seconds, rounded up (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let whole = self.retry_after.as_secs();
        let partial = u64::from(self.retry_after.subsec_nanos() > 0);
        (whole + partial).max(1)
    }
}

#[derive(Clone)]
pub struct RateLimiter {
    buckets: Arc<dyn CacheBus>,
}

impl RateLimiter {
    pub fn new(buckets: Arc<dyn CacheBus>) -> Self {
        Self { buckets }
    }

    /// Takes a token from the tenant's bucket.
    pub async fn check(&self, tenant: &TenantCtx, bucket: Bucket) -> Result<(), Throttled> {
        let limit = tenant.rate_limits.of(bucket);
        let key = format!("rl:{}:{}", tenant.project_id, bucket.name());
        match self.buckets.take_token(&key, limit).await {
            Some(Err(retry_after)) => Err(Throttled {
                bucket,
                limit,
                retry_after,
            }),
            // A token, or the store is unreachable (fail open).
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_into_ory_s_buckets() {
        let cases = [
            (Method::GET, "/health/alive", None),
            (Method::GET, "/version", None),
            (
                Method::GET,
                "/sessions/whoami",
                Some(Bucket::KratosPublicHigh),
            ),
            (
                Method::GET,
                "/self-service/login/api",
                Some(Bucket::KratosPublicLow),
            ),
            (Method::GET, "/ui/login", Some(Bucket::KratosPublicLow)),
            (
                Method::GET,
                "/admin/identities",
                Some(Bucket::KratosAdminHigh),
            ),
            (
                Method::DELETE,
                "/admin/identities/x",
                Some(Bucket::KratosAdminLow),
            ),
            (
                Method::POST,
                "/relation-tuples/check/openapi",
                Some(Bucket::KetoPublicHigh),
            ),
            (
                Method::GET,
                "/relation-tuples/expand",
                Some(Bucket::KetoPublicHigh),
            ),
            (Method::GET, "/relation-tuples", Some(Bucket::KetoPublicLow)),
            (
                Method::GET,
                "/relation-tuples/list-objects",
                Some(Bucket::KetoPublicLow),
            ),
            (
                Method::POST,
                "/relation-tuples/batch/check",
                Some(Bucket::KetoPublicHigh),
            ),
            (
                Method::PUT,
                "/admin/relation-tuples",
                Some(Bucket::KetoAdminHigh),
            ),
        ];
        for (method, path, bucket) in cases {
            assert_eq!(classify(&method, path), bucket, "{method} {path}");
        }
    }

    #[test]
    fn limits_are_on_only_when_asked_or_billing_on_stripe() {
        let unset = RateLimitSettings::default();
        assert!(!unset.enforced(false));
        assert!(unset.enforced(true));
        let off = RateLimitSettings {
            enabled: Some(false),
            ..RateLimitSettings::default()
        };
        assert!(!off.enforced(true));
        let on = RateLimitSettings {
            enabled: Some(true),
            ..RateLimitSettings::default()
        };
        assert!(on.enforced(false));
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let at = |retry_after| Throttled {
            bucket: Bucket::KratosPublicLow,
            limit: BucketLimit::new(60, 1),
            retry_after,
        };
        assert_eq!(at(Duration::from_millis(1)).retry_after_secs(), 1);
        assert_eq!(at(Duration::from_millis(1000)).retry_after_secs(), 1);
        assert_eq!(at(Duration::from_millis(1001)).retry_after_secs(), 2);
        assert_eq!(at(Duration::ZERO).retry_after_secs(), 1);
    }
}
