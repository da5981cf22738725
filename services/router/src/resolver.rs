//! The tenant of a request: its host's slug, resolved through the cache.

use crate::custom::origin_allowed;
use crate::host::{TenantHosts, TenantSlug};
use crate::tenant_cache::TenantCache;
use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use http::ApiError;
use kernel::tenant::{CustomHostRoute, ProjectState, TenantCtx, TenantDirectory};
use kernel::{Error, Result};
use std::sync::Arc;

/// Slug → tenant context through this process's `TenantCache`: the cache
/// is built first and handed to the control plane too (which invalidates
/// it before answering a change), the resolver after, over the directory.
#[derive(Clone)]
pub struct TenantResolver {
    directory: Arc<dyn TenantDirectory>,
    hosts: TenantHosts,
    cache: TenantCache,
}

impl TenantResolver {
    pub fn new(
        directory: Arc<dyn TenantDirectory>,
        hosts: TenantHosts,
        cache: TenantCache,
    ) -> Self {
        Self {
            directory,
            hosts,
            cache,
        }
    }

    pub fn hosts(&self) -> &TenantHosts {
        &self.hosts
    }

    /// The tenant for a slug; concurrent misses for one slug share one load.
    pub async fn resolve(&self, slug: &str) -> Result<Option<Arc<TenantCtx>>> {
        self.cache.resolve(slug, &self.directory).await
    }

    pub async fn invalidate(&self, slug: &str) {
        self.cache.invalidate(slug).await;
    }

    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }
}

/// Middleware for the tenant scope: attaches the tenant context, or answers
/// 404 (unknown project) / 503 (halted project). Errors are rendered here,
/// inside the request context, so they carry the request id. On a custom
/// hostname with CORS enabled it also answers preflights and adds the CORS
/// headers for allowed origins.
pub async fn tenant_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> std::result::Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let routed = req.extensions_mut().remove::<TenantSlug>();
    let (tenant, custom) = match find_tenant(&req, routed).await {
        Ok(found) => found,
        Err(err) => {
            return Ok(req
                .into_response(ApiError(err).error_response())
                .map_into_right_body());
        }
    };
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    if let Some(limiter) = req.app_data::<web::Data<crate::limit::RateLimiter>>()
        && let Some(bucket) = crate::limit::classify(req.method(), req.path())
        // Boxed for the same reason as the tenant load (a Redis round trip).
        && let Err(throttled) = Box::pin(limiter.check(&tenant, bucket)).await
    {
        let response = throttled_response(&throttled);
        return Ok(req.into_response(response).map_into_right_body());
    }
    // The custom hostname, when it has CORS on.
    let cors = custom.as_deref().filter(|r| r.cors_enabled);
    let cors_origin = cors.and_then(|route| allowed_origin(&req, route));
    if cors.is_some() && is_preflight(&req) {
        // Answered here: no handler serves OPTIONS. A refused origin gets
        // no CORS headers, which browsers read as "no".
        let mut response = actix_web::HttpResponse::NoContent();
        response.insert_header((header::VARY, "Origin"));
        if let Some(origin) = &cors_origin {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    "GET, POST, PUT, PATCH, DELETE",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
            if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                response.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone()));
            }
        }
        return Ok(req.into_response(response.finish()).map_into_right_body());
    }
    req.extensions_mut().insert(tenant);
    let mut res = next.call(req).await?;
    if cors.is_some() {
        let headers = res.headers_mut();
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = cors_origin.and_then(|o| HeaderValue::from_str(&o).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
    Ok(res.map_into_left_body())
}

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The request's `Origin` when the hostname's allow-list has it.
fn allowed_origin(req: &ServiceRequest, route: &CustomHostRoute) -> Option<String> {
    let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?;
    origin_allowed(&route.cors_allowed_origins, origin).then(|| origin.to_owned())
}

/// The tenant of the request's host, as served there, and the custom
/// hostname's route when the host is one.
async fn find_tenant(
    req: &ServiceRequest,
    routed: Option<TenantSlug>,
) -> Result<(Arc<TenantCtx>, Option<Arc<CustomHostRoute>>)> {
    let resolver = req
        .app_data::<web::Data<TenantResolver>>()
        .ok_or_else(|| Error::internal("tenant resolver is not configured"))?;
    // The guard parsed the host already; parse again only if it did not run.
    let TenantSlug { slug, custom } = match routed {
        Some(routed) => routed,
        None => resolver
            .hosts()
            .tenant_of(req.head())
            .map(|(slug, custom)| TenantSlug { slug, custom })
            .ok_or_else(|| Error::not_found("no project is served at this host"))?,
    };
    let tenant = resolver
        .resolve(&slug)
        .await?
        .ok_or_else(|| Error::not_found(format!("project `{slug}` does not exist")))?;
    if tenant.state == ProjectState::Halted {
        return Err(Error::unavailable(format!("project `{slug}` is halted")));
    }
    let served = match &custom {
        Some(route) => Arc::new(on_custom_host(&tenant, route)),
        None => tenant,
    };
    Ok((served, custom))
}

/// 429 in Ory's error shape, naming the bucket and its figures.
fn throttled_response(throttled: &crate::limit::Throttled) -> actix_web::HttpResponse {
    let limit = throttled.limit;
    let mut response = ApiError(
        Error::new(kernel::ErrorKind::TooManyRequests)
            .with_id("rate_limit_exceeded")
            .with_reason(format!(
                "the project's plan allows {} requests per minute with bursts of {} in bucket {}; retry after {} s",
                limit.per_minute,
                limit.burst,
                throttled.bucket.name(),
                throttled.retry_after_secs(),
            )),
    )
    .error_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(throttled.retry_after_secs()),
    );
    response
}

/// The tenant as served on one of its custom hostnames: URLs it builds
/// point there, and its cookies carry the hostname's cookie domain.
fn on_custom_host(tenant: &TenantCtx, route: &CustomHostRoute) -> TenantCtx {
    TenantCtx {
        public_url: kernel::public_url::TenantUrls::for_custom_host(&route.hostname),
        cookie_domain: Some(route.cookie_domain.clone()),
        ..tenant.clone()
    }
}

#[async_trait::async_trait]
impl kernel::ports::TenantByHost for TenantResolver {
    async fn tenant_for_host(&self, host: &str) -> Result<Option<Arc<TenantCtx>>> {
        let host = crate::host::strip_port(host).to_ascii_lowercase();
        match self.hosts.slug_for_host(&host) {
            Some(slug) => self.resolve(&slug).await,
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::tenant::TenantConfig;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A directory whose one project's name the test changes, counting loads;
    /// a load can be held open to race an invalidation.
    #[derive(Default)]
    struct Directory {
        name: Mutex<String>,
        loads: AtomicUsize,
        hold: tokio::sync::Mutex<()>,
    }

    #[async_trait::async_trait]
    impl TenantDirectory for Directory {
        async fn find_by_slug(&self, slug: &str) -> Result<Option<TenantCtx>> {
            let name = self.name.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let _held = self.hold.lock().await;
            self.loads.fetch_add(1, Ordering::SeqCst);
            Ok((slug == "known").then(|| TenantCtx {
                project_id: uuid::Uuid::nil(),
                slug: slug.to_owned(),
                public_url: format!("http://{slug}.projects.localhost"),
                cookie_domain: None,
                rate_limits: kernel::rate_limit::FREE,
                name,
                state: ProjectState::Running,
                revision_id: uuid::Uuid::nil(),
                config: Arc::new(TenantConfig::new(
                    serde_json::Value::Null,
                    Vec::new(),
                    Vec::new(),
                    5,
                )),
            }))
        }

        async fn find_by_id(&self, _: uuid::Uuid) -> Result<Option<TenantCtx>> {
            Ok(None)
        }
    }

    fn resolver(directory: &Arc<Directory>, ttl: Duration) -> TenantResolver {
        TenantResolver::new(
            directory.clone(),
            TenantHosts::new("projects.localhost", Vec::new()),
            TenantCache::new(ttl),
        )
    }

    async fn name_of(resolver: &TenantResolver) -> Option<String> {
        resolver
            .resolve("known")
            .await
            .ok()
            .flatten()
            .map(|t| t.name.clone())
    }

    fn rename(directory: &Directory, name: &str) {
        *directory.name.lock().unwrap_or_else(|e| e.into_inner()) = name.to_owned();
    }

    #[tokio::test]
    async fn hits_are_cached_until_invalidated_or_expired() {
        let directory = Arc::new(Directory::default());
        rename(&directory, "one");
        let cached = resolver(&directory, Duration::from_secs(60));
        assert_eq!(name_of(&cached).await.as_deref(), Some("one"));
        rename(&directory, "two");
        assert_eq!(name_of(&cached).await.as_deref(), Some("one"), "cached");
        assert!(cached.resolve("unknown").await.ok().flatten().is_none());
        assert!(cached.resolve("unknown").await.ok().flatten().is_none());
        assert_eq!(
            directory.loads.load(Ordering::SeqCst),
            2,
            "one load per slug"
        );

        cached.invalidate("known").await;
        assert_eq!(name_of(&cached).await.as_deref(), Some("two"));
        rename(&directory, "three");
        cached.invalidate_all();
        assert_eq!(name_of(&cached).await.as_deref(), Some("three"));

        let expiring = resolver(&directory, Duration::from_millis(50));
        assert_eq!(name_of(&expiring).await.as_deref(), Some("three"));
        rename(&directory, "four");
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(name_of(&expiring).await.as_deref(), Some("four"), "expired");
    }

    #[tokio::test]
    async fn a_load_racing_an_invalidation_is_not_kept() {
        let directory = Arc::new(Directory::default());
        rename(&directory, "old");
        let cached = resolver(&directory, Duration::from_secs(60));
        // The load reads "old", then waits; meanwhile the project changes
        // and the change is announced.
        let held = directory.hold.lock().await;
        let racing = tokio::spawn({
            let cached = cached.clone();
            async move { name_of(&cached).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        rename(&directory, "new");
        cached.invalidate("known").await;
        drop(held);
        assert_eq!(racing.await.ok().flatten().as_deref(), Some("old"));
        assert_eq!(
            name_of(&cached).await.as_deref(),
            Some("new"),
            "the stale load was not kept"
        );
    }
}
