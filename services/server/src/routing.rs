//! What the HTTP server serves: the app data every worker shares, the
//! routes of the tenant hosts and of the control plane, and the table of
//! both as actix registered them (`table`, read by the OpenAPI route-diff
//! test: actix-web's route introspection, so the table is what the router
//! matches, not a list kept beside it).

use crate::app::Services;
use actix_web::{App, HttpResponse, middleware::from_fn, web};
use controlplane::ControlPlane;
use http::health::Readiness;
use http::metrics::Metrics;
use router::{TenantHostGuard, TenantResolver};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Per-worker app data shared by every worker.
pub(crate) struct AppData {
    metrics: web::Data<Metrics>,
    readiness: web::Data<Readiness>,
    control_plane: web::Data<ControlPlane>,
    tenants: web::Data<TenantResolver>,
    identity: web::Data<identity::IdentityEngine>,
    permission: web::Data<permission::PermissionEngine>,
    transfer: web::Data<transfer::TransferService>,
    admin_auth: http::tenant::AdminAuthData,
    /// The console's invite page reaches the control plane through this.
    console_invites: ui::invite::InvitesData,
    /// None when rate limits are not enforced.
    rate_limiter: Option<web::Data<router::RateLimiter>>,
    /// The request context reads the client address through them.
    trusted_proxies: web::Data<http::TrustedProxies>,
}

impl AppData {
    pub(crate) fn new(
        services: &Services,
        admin_auth: Arc<dyn kernel::ports::TenantAdminAuth>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            metrics: web::Data::new(Metrics::new()?),
            readiness: web::Data::new(services.readiness()),
            control_plane: web::Data::new(services.control_plane.clone()),
            tenants: web::Data::new(services.tenants.clone()),
            identity: web::Data::new(services.identity.clone()),
            permission: web::Data::new(services.permission.clone()),
            transfer: web::Data::new(services.transfer.clone()),
            admin_auth: web::Data::new(admin_auth),
            console_invites: web::Data::new(Arc::new(crate::console_invites::ConsoleInviteDesk(
                services.control_plane.clone(),
            )) as Arc<dyn ui::invite::ConsoleInvites>),
            rate_limiter: services
                .settings
                .rate_limit
                .enforced(services.settings.billing.uses_stripe())
                .then(|| web::Data::new(router::RateLimiter::new(services.cache.clone()))),
            trusted_proxies: web::Data::new(http::TrustedProxies(
                services
                    .settings
                    .serve
                    .trusted_proxies
                    .iter()
                    .filter_map(|p| p.parse().ok())
                    .collect(),
            )),
        })
    }
}

/// Routes: tenant hosts first (guarded by host), then the control plane.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, services: &Services, data: &AppData) {
    app_data(cfg, services, data);
    let tenant_guard = TenantHostGuard(data.tenants.hosts().clone());
    cfg.service(
        web::scope("")
            .guard(tenant_guard)
            .wrap(from_fn(router::tenant_context))
            .configure(tenant_routes)
            .default_service(web::to(http::middleware::not_found)),
    )
    .service(web::scope("").configure(control_plane_routes));
}

fn app_data(cfg: &mut web::ServiceConfig, services: &Services, data: &AppData) {
    let limit = services.settings.serve.body_limit_bytes;
    if let Some(limiter) = &data.rate_limiter {
        cfg.app_data(limiter.clone());
    }
    cfg.app_data(http::extract::json_config(limit))
        .app_data(http::extract::payload_config(limit))
        .app_data(http::extract::query_config())
        .app_data(http::extract::path_config())
        .app_data(data.metrics.clone())
        .app_data(data.trusted_proxies.clone())
        .app_data(data.readiness.clone())
        .app_data(data.control_plane.clone())
        .app_data(data.tenants.clone())
        .app_data(data.identity.clone())
        .app_data(data.permission.clone())
        .app_data(data.transfer.clone())
        .app_data(data.admin_auth.clone())
        .app_data(data.console_invites.clone());
}

/// What every tenant host (`<slug>.projects.<base_domain>`, custom
/// hostnames) serves.
fn tenant_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(http::health::configure)
        .configure(http::openapi::configure_tenant)
        .configure(identity::configure)
        .configure(permission::configure)
        .configure(ui::configure);
}

/// What the control-plane host serves (every host that is not a tenant's).
fn control_plane_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(http::health::configure)
        .configure(http::openapi::configure_control_plane)
        .service(web::resource("/metrics/prometheus").get(http::metrics::get_metrics))
        .configure(ControlPlane::configure)
        .configure(transfer::configure);
}

/// Which host serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    Tenant,
    ControlPlane,
}

/// One route: a method on a path pattern (`/projects/{project_id}`) of a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub host: Host,
    pub method: String,
    pub path: String,
}

/// A path with its parameters unnamed (`/projects/{project_id}` →
/// `/projects/{}`): two spellings of one route compare equal.
pub fn path_shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every route each host serves, as actix's router holds them.
pub async fn table() -> anyhow::Result<BTreeSet<Route>> {
    let mut routes = BTreeSet::new();
    for (host, routes_of) in [
        (Host::Tenant, tenant_routes as fn(&mut web::ServiceConfig)),
        (Host::ControlPlane, control_plane_routes),
    ] {
        for (method, path) in introspect(routes_of).await? {
            routes.insert(Route { host, method, path });
        }
    }
    Ok(routes)
}

/// Where the introspection report is read, in the throwaway app only.
const REPORT: &str = "/__keyplane_route_report";

/// The routes `routes_of` registers: an app of them alone, asked for
/// actix's introspection report. Registering needs no app data (handlers
/// look theirs up per request), so none is built.
async fn introspect(
    routes_of: fn(&mut web::ServiceConfig),
) -> anyhow::Result<Vec<(String, String)>> {
    use actix_web::introspection::IntrospectionTree;
    let app = actix_web::test::init_service(
        App::new()
            .service(
                web::resource(REPORT).get(|tree: web::Data<IntrospectionTree>| async move {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(tree.report_as_json())
                }),
            )
            .configure(routes_of),
    )
    .await;
    let request = actix_web::test::TestRequest::get().uri(REPORT).to_request();
    let body = actix_web::test::call_and_read_body(&app, request).await;
    let items: Vec<serde_json::Value> = serde_json::from_slice(&body)?;
    let mut routes = Vec::new();
    for item in items {
        let path = item["full_path"].as_str().unwrap_or_default().to_owned();
        if path == REPORT || item["resource_type"] != "resource" {
            continue;
        }
        for method in item["methods"].as_array().into_iter().flatten() {
            routes.push((method.as_str().unwrap_or_default().to_owned(), path.clone()));
        }
    }
    Ok(routes)
}
