//! Slug → tenant context, cached per process and invalidated by the bus.

use crate::host::{TenantHosts, TenantSlug};
use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use http::ApiError;
use kernel::ports::CacheBus;
use kernel::tenant::{
    LocalTenantCache, PROJECT_CHANGED_TOPIC, ProjectState, TenantCtx, TenantDirectory,
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
/// inside the request context, so they carry the request id.
pub async fn tenant_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> std::result::Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match find_tenant(&req).await {
        Ok(tenant) => {
            tracing::Span::current().record("tenant", tenant.slug.as_str());
            req.extensions_mut().insert(tenant);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(err) => Ok(req
            .into_response(ApiError(err).error_response())
            .map_into_right_body()),
    }
}

async fn find_tenant(req: &ServiceRequest) -> Result<Arc<TenantCtx>> {
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
    Ok(tenant)
}

#[async_trait::async_trait]
impl kernel::ports::TenantByHost for TenantResolver {
    async fn tenant_for_host(&self, host: &str) -> Result<Option<Arc<TenantCtx>>> {
        let host = crate::host::strip_port(host).to_ascii_lowercase();
        match self.hosts.slug_of(&host) {
            Some(slug) => self.resolve(slug).await,
            None => Ok(None),
        }
    }
}
