//! Slug → tenant context, cached per process and invalidated by the bus.

use crate::custom::origin_allowed;
use crate::host::{ServedCustomHost, TenantHosts, TenantSlug};
use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use http::ApiError;
use kernel::ports::CacheBus;
use kernel::tenant::{
    CustomHostRoute, LocalTenantCache, PROJECT_CHANGED_TOPIC, ProjectState, TenantCtx,
    TenantDirectory,
};
use kernel::{Error, Result};
use moka::future::Cache;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Caches tenant contexts (and unknown slugs) per process.
#[derive(Clone)]
pub struct TenantResolver {
    directory: Arc<dyn TenantDirectory>,
    hosts: TenantHosts,
    cache: Cache<String, Option<Arc<TenantCtx>>>,
}

impl TenantResolver {
    /// `ttl` bounds staleness if an invalidation is ever missed (e.g. a
    /// Redis outage longer than the resync covers).
    pub fn new(directory: Arc<dyn TenantDirectory>, hosts: TenantHosts, ttl: Duration) -> Self {
        let cache = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(ttl)
            .build();
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
        // Fast path without cloning the key: nearly every request hits.
        if let Some(hit) = self.cache.get(slug).await {
            return Ok(hit);
        }
        let directory = self.directory.clone();
        let key = slug.to_owned();
        self.cache
            .try_get_with(key.clone(), async move {
                directory.find_by_slug(&key).await.map(|t| t.map(Arc::new))
            })
            .await
            .map_err(|e: Arc<Error>| e.as_ref().clone())
    }

    pub async fn invalidate(&self, slug: &str) {
        self.cache.invalidate(slug).await;
    }

    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// Listens on the bus for the life of the process: a changed project
    /// drops its cached context; a resync (after a bus outage) or a lagged
    /// receiver drops them all.
    pub fn spawn_invalidation_listener(
        &self,
        bus: Arc<dyn CacheBus>,
    ) -> tokio::task::JoinHandle<()> {
        let resolver = self.clone();
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.topic == PROJECT_CHANGED_TOPIC => {
                        resolver.invalidate(&event.payload).await
                    }
                    Ok(event) if event.topic == store::cache::RESYNC_TOPIC => {
                        resolver.invalidate_all()
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "tenant invalidations lagged; dropping all cached tenants"
                        );
                        resolver.invalidate_all();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl LocalTenantCache for TenantResolver {
    async fn invalidate(&self, slug: &str) {
        TenantResolver::invalidate(self, slug).await;
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
    let custom = req.extensions_mut().remove::<ServedCustomHost>();
    let tenant = match find_tenant(&req, custom.as_ref()).await {
        Ok(tenant) => tenant,
        Err(err) => {
            return Ok(req
                .into_response(ApiError(err).error_response())
                .map_into_right_body());
        }
    };
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    if let Some(limiter) = req.app_data::<web::Data<crate::limit::RateLimiter>>()
        && let Some(class) = crate::limit::classify(req.method(), req.path())
        && let Err(retry_after) = limiter.check(&tenant, class).await
    {
        let mut response = ApiError(Error::new(kernel::ErrorKind::TooManyRequests).with_reason(
            format!(
                "the project's plan allows {} requests per second of class {}",
                class.limit(&tenant),
                class.name(),
            ),
        ))
        .error_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        return Ok(req.into_response(response).map_into_right_body());
    }
    // The custom hostname, when it has CORS on.
    let cors = custom
        .as_ref()
        .map(|c| c.0.as_ref())
        .filter(|r| r.cors_enabled);
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

async fn find_tenant(
    req: &ServiceRequest,
    custom: Option<&ServedCustomHost>,
) -> Result<Arc<TenantCtx>> {
    let resolver = req
        .app_data::<web::Data<TenantResolver>>()
        .ok_or_else(|| Error::internal("tenant resolver is not configured"))?;
    // The guard parsed the host already; parse again only if it did not run.
    let slug = match req.extensions_mut().remove::<TenantSlug>() {
        Some(TenantSlug(slug)) => slug,
        None => resolver
            .hosts()
            .tenant_slug(req.head())
            .ok_or_else(|| Error::not_found("no project is served at this host"))?,
    };
    let tenant = resolver
        .resolve(&slug)
        .await?
        .ok_or_else(|| Error::not_found(format!("project `{slug}` does not exist")))?;
    if tenant.state == ProjectState::Halted {
        return Err(Error::unavailable(format!("project `{slug}` is halted")));
    }
    Ok(match custom {
        Some(ServedCustomHost(route)) => Arc::new(on_custom_host(&tenant, route)),
        None => tenant,
    })
}

/// The tenant as served on one of its custom hostnames: URLs it builds
/// point there, and its cookies carry the hostname's cookie domain.
fn on_custom_host(tenant: &TenantCtx, route: &CustomHostRoute) -> TenantCtx {
    TenantCtx {
        public_url: format!("https://{}", route.hostname),
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
