//! Wiring: connect the database and cache/bus, build the actix app, serve.

use crate::routing::{self, AppData};
use crate::settings::Settings;
use actix_web::{App, HttpServer, middleware::from_fn, web};
use async_trait::async_trait;
use controlplane::ControlPlane;
use http::health::{Readiness, ReadinessCheck};
use kernel::clock::{SharedClock, SystemClock};
use kernel::ports::CacheBus;
use router::{TenantHosts, TenantResolver};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use store::Database;
use store::cache::{MemoryCacheBus, RedisCacheBus, RedisOptions};

/// Everything a request handler may need, built once per process.
#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub cache: Arc<dyn CacheBus>,
    pub control_plane: ControlPlane,
    pub tenants: TenantResolver,
    pub identity: identity::IdentityEngine,
    pub permission: permission::PermissionEngine,
    /// The outbox worker (tests and `keyplane encryption rotate` reach it).
    pub courier: courier::Courier,
    /// Tenant export and import.
    pub transfer: transfer::TransferService,
}

struct DatabaseCheck(Database);

#[async_trait]
impl ReadinessCheck for DatabaseCheck {
    fn name(&self) -> &'static str {
        "database"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

struct CacheCheck(Arc<dyn CacheBus>);

#[async_trait]
impl ReadinessCheck for CacheCheck {
    fn name(&self) -> &'static str {
        "redis"
    }
    async fn check(&self) -> Result<(), String> {
        self.0.health().await
    }
}

impl Services {
    /// Connects the database (migrating it unless opted out) and the cache.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        Self::connect_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Self::connect`] with the clock every service reads (tests move a
    /// manual one to the end of a billing period).
    pub async fn connect_with_clock(
        settings: Settings,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let (url, pool) = (&settings.database.url, settings.database.max_connections);
        let db = if settings.database.migrate_on_start {
            store::connect_migrated(url, pool).await?
        } else {
            store::connect(url, pool).await?
        };
        let cache: Arc<dyn CacheBus> = match &settings.redis.url {
            Some(url) => {
                let mut opts = RedisOptions::new(url.clone());
                if let Some(prefix) = &settings.redis.prefix {
                    opts.prefix = prefix.clone();
                }
                RedisCacheBus::connect(opts).map_err(|e| anyhow::anyhow!("redis.url: {e}"))?
            }
            None => Arc::new(MemoryCacheBus::default()),
        };
        tracing::info!(
            database = ?db.kind,
            cache = cache.backend(),
            "storage connected"
        );
        let sealing = settings.encryption.secret_box(&settings.database.url)?;
        let courier = courier::Courier::from_settings(
            db.clone(),
            clock.clone(),
            settings.courier.clone(),
            sealing.clone(),
        )?;
        let identity = identity::IdentityEngine::new(
            db.clone(),
            cache.clone(),
            clock.clone(),
            &settings.identity,
            webhook::WebHooks::new(&settings.webhook)?,
        )?
        .with_courier(courier.clone())
        .with_patch_limits(settings.json_patch);
        identity.spawn_background();
        let mut permission = permission::PermissionEngine::new(db.clone(), clock.clone());
        if cache.backend() == "redis" {
            permission = permission.with_shared_cache(cache.clone());
        }
        permission.spawn_background(settings.permission.changes.clone());
        let provider: Option<Arc<dyn billing::PaymentProvider>> = if settings.billing.uses_stripe()
        {
            Some(Arc::new(
                billing::stripe::StripeProvider::new(&settings.billing)
                    .map_err(|e| anyhow::anyhow!("billing: {e}"))?,
            ))
        } else {
            None
        };
        tracing::info!(
            provider = if provider.is_some() {
                "stripe"
            } else {
                "built-in"
            },
            "billing"
        );
        // Built first: the control plane invalidates it, the resolver reads
        // through it.
        let tenant_cache = router::TenantCache::new(TENANT_CACHE_TTL);
        let control_plane = ControlPlane::new(
            db.clone(),
            cache.clone(),
            clock.clone(),
            controlplane::Tenancy {
                base_domain: settings.base_domain.clone(),
                urls: settings.tenant_urls(),
                rate_limits: settings.rate_limit.plans,
                patch_limits: settings.json_patch,
                sealing,
                audit_log: settings.audit_log.clone(),
            },
            &settings.console,
            controlplane::Providers {
                courier: Some(courier.clone()),
                billing: controlplane::Billing {
                    settings: settings.billing.clone(),
                    provider,
                },
                hostnames: controlplane::Hostnames {
                    settings: settings.hostnames.clone(),
                    lookup: Arc::new(
                        controlplane::hostname::dns::HickoryCnameLookup::new(
                            &settings.hostnames.dns,
                        )
                        .map_err(|e| anyhow::anyhow!("hostnames.dns: {e}"))?,
                    ),
                },
                tenant_cache: Arc::new(tenant_cache.clone()),
                console: {
                    let tenants = tenant_cache.clone();
                    let identity = identity.clone();
                    let slug = settings.console.project_slug.clone();
                    Box::new(move |directory| {
                        Arc::new(crate::console::ConsoleAccounts {
                            tenants,
                            directory,
                            identity,
                            slug,
                        })
                    })
                },
            },
        );
        control_plane.spawn_background();
        // Routes need the control plane, which needs the courier: the worker
        // starts with them, so no pass runs without its projects' settings.
        courier.spawn_worker(Arc::new(crate::mail_routes::ProjectMailRoutes(Arc::new(
            control_plane.projects.clone(),
        ))));
        let proxies = settings
            .serve
            .trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        let custom_hosts = router::CustomHosts::new(Arc::new(control_plane.clone()));
        custom_hosts.reload().await?;
        custom_hosts.spawn_reloader(cache.clone());
        let tenants = TenantResolver::new(
            Arc::new(control_plane.projects.clone()),
            TenantHosts::new(&settings.base_domain, proxies).with_custom_hosts(custom_hosts),
            tenant_cache.clone(),
        );
        tenant_cache.spawn_invalidation_listener(cache.clone());
        control_plane.bootstrap_console().await?;
        let transfer = transfer::TransferService::new(
            db.clone(),
            control_plane.projects.clone(),
            identity.clone(),
            permission.clone(),
            clock,
        );
        Ok(Self {
            settings: Arc::new(settings),
            db,
            cache,
            control_plane,
            tenants,
            identity,
            permission,
            courier,
            transfer,
        })
    }

    pub(crate) fn readiness(&self) -> Readiness {
        let mut readiness = Readiness::default().with(Arc::new(DatabaseCheck(self.db.clone())));
        if self.settings.redis.url.is_some() {
            readiness = readiness.with(Arc::new(CacheCheck(self.cache.clone())));
        }
        readiness
    }
}

/// Upper bound on how long a replica may use a stale tenant context if it
/// missed an invalidation; normally the bus invalidates within a second.
const TENANT_CACHE_TTL: Duration = Duration::from_secs(60);

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where the gRPC API listens.
    pub grpc_addr: SocketAddr,
    grpc_stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub handle: actix_web::dev::ServerHandle,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub services: Services,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful stop: in-flight requests finish first.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        let _ = (&mut self.task).await;
        self.stop_grpc();
    }

    /// Stops the gRPC API (after the HTTP server drained, on shutdown).
    pub fn stop_grpc(&mut self) {
        if let Some(stop) = self.grpc_stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `serve.host:serve.port` and starts serving. `handle_signals` is
/// false for in-process tests, true for the binary (SIGTERM/SIGINT drain
/// in-flight requests, then exit).
pub async fn start(services: Services, handle_signals: bool) -> anyhow::Result<RunningServer> {
    let serve = &services.settings.serve;
    let listener = bind(&serve.host, serve.port)?;
    start_on(listener, services, handle_signals).await
}

/// The HTTP listener, bound before the services are connected when the
/// port is picked by the system (`serve.port` 0): tenant URLs carry the
/// port, so it must be known first.
pub fn bind(host: &str, port: u16) -> anyhow::Result<TcpListener> {
    TcpListener::bind((host, port))
        .map_err(|e| anyhow::anyhow!("serve.port: cannot bind {host}:{port}: {e}"))
}

/// Starts serving on a listener bound already.
pub async fn start_on(
    listener: TcpListener,
    services: Services,
    handle_signals: bool,
) -> anyhow::Result<RunningServer> {
    let serve = services.settings.serve.clone();
    let addr = listener.local_addr()?;
    let admin_auth: Arc<dyn kernel::ports::TenantAdminAuth> =
        Arc::new(services.control_plane.clone());
    let (grpc_stop, grpc_stopped) = tokio::sync::oneshot::channel::<()>();
    let (grpc_addr, _grpc_task) = permission::grpc::GrpcApi::new(
        services.permission.clone(),
        Arc::new(services.tenants.clone()),
        admin_auth.clone(),
    )
    .spawn((serve.host.as_str(), serve.grpc_port), async move {
        let _ = grpc_stopped.await;
    })
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "serve.grpc_port: cannot bind {}:{}: {e}",
            serve.host,
            serve.grpc_port
        )
    })?;
    let data = Arc::new(AppData::new(&services, admin_auth)?);
    let app_services = services.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(http::middleware::request_context))
            .configure(|cfg| routing::configure(cfg, &app_services, &data))
            .default_service(web::to(http::middleware::not_found))
    })
    .shutdown_timeout(serve.shutdown_timeout_secs)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?;
    if serve.workers > 0 {
        server = server.workers(serve.workers);
    }
    if !handle_signals {
        server = server.disable_signals();
    }
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    tracing::info!(%addr, "keyplane is serving");
    Ok(RunningServer {
        addr,
        grpc_addr,
        grpc_stop: Some(grpc_stop),
        handle,
        task,
        services,
    })
}
