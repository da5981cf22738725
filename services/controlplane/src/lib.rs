//! The control plane: projects and their config revisions, accounts (the
//! console project's identities), members and roles, invites, and API
//! tokens.

pub mod access;
pub mod account;
pub mod audit_log;
pub mod hostname;
pub mod invite;
pub mod member;
pub mod project;
pub mod quota;
pub mod revision;
pub mod subscription;

use access::{ACCESS_CHANGED_TOPIC, Action, Gate};
use account::service::{AccountService, TOKEN_REVOKED_TOPIC};
use account::{ActiveProject, ApiTokenView, Caller, NewApiToken};
use async_trait::async_trait;
use courier::Courier;
use hostname::service::{HostnameService, HostnameSettings};
use invite::service::{InviteMail, InviteService};
use kernel::clock::SharedClock;
use kernel::ports::CacheBus;
use kernel::public_url::TenantUrls;
use kernel::rate_limit::PlanRateLimits;
use kernel::tenant::TenantDirectory;
use member::service::MemberService;
use project::service::ProjectService;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use store::Database;
use subscription::service::BillingService;
use uuid::Uuid;

/// Process settings of the console: the reserved project whose identities
/// are the accounts, and the UI that invite links open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// The console project's slug: people sign up and log in at
    /// `<project_slug>.<base_domain>`.
    pub project_slug: String,
    /// The console UI; invite links are `{ui_url}/invites/{id}?token=...`.
    /// Unset: the hosted UI on the console project's own host
    /// (`<console tenant URL>/ui`).
    pub ui_url: Option<String>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            project_slug: "console".to_owned(),
            ui_url: None,
        }
    }
}

impl ConsoleSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !project::slug::is_valid(&self.project_slug) {
            return Err(format!(
                "console.project_slug: `{}` is not a DNS label",
                self.project_slug
            ));
        }
        if let Some(ui_url) = &self.ui_url {
            url::Url::parse(ui_url).map_err(|e| format!("console.ui_url: {e}"))?;
        }
        Ok(())
    }

    /// The console UI's base URL, without a trailing slash.
    pub fn ui_url(&self, urls: &TenantUrls) -> String {
        match &self.ui_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("{}/ui", urls.for_slug(&self.project_slug)),
        }
    }
}

/// Where tenants are served, and how much each plan may ask of them.
#[derive(Debug, Clone)]
pub struct Tenancy {
    /// Tenants answer at `<slug>.<base_domain>`.
    pub base_domain: String,
    /// The public base every tenant URL is built on.
    pub urls: TenantUrls,
    /// Request rates per plan (enforced by the router when enabled).
    pub rate_limits: PlanRateLimits,
    /// What a JSON Patch of a project's config may build.
    pub patch_limits: kernel::json_patch::PatchLimits,
    /// The server's encryption keys: project secrets are sealed at rest.
    pub sealing: Arc<kernel::sealed::SecretBox>,
    /// How long audit events are kept.
    pub audit_log: audit_log::AuditLogSettings,
}

/// How subscriptions are paid for: the settings, and Stripe (None: the
/// built-in provider sets plans directly).
pub struct Billing {
    pub settings: billing::BillingSettings,
    pub provider: Option<Arc<dyn billing::PaymentProvider>>,
}

/// What the control plane reaches outside its database.
pub struct Providers {
    /// Invite mail (None: invites are stored but not mailed).
    pub courier: Option<Courier>,
    pub billing: Billing,
    pub hostnames: Hostnames,
    /// This replica's tenant cache (the router's): a project change drops
    /// its context here before the change is answered.
    pub tenant_cache: Arc<dyn kernel::tenant::LocalTenantCache>,
    /// Builds the console project's identities (the people behind accounts)
    /// over the project directory, which exists only inside the control
    /// plane: called once, while the control plane is built.
    pub console: ConsoleFactory,
}

/// See [`Providers::console`].
pub type ConsoleFactory =
    Box<dyn FnOnce(Arc<dyn TenantDirectory>) -> Arc<dyn kernel::ports::ConsoleIdentities> + Send>;

/// Custom hostnames: the settings and how CNAMEs are looked up.
pub struct Hostnames {
    pub settings: HostnameSettings,
    pub lookup: Arc<dyn hostname::dns::CnameLookup>,
}

/// The control plane's services, shared by every worker.
#[derive(Clone)]
pub struct ControlPlane {
    pub projects: ProjectService,
    pub accounts: AccountService,
    pub members: MemberService,
    pub invites: InviteService,
    pub billing: BillingService,
    pub hostnames: HostnameService,
    pub audit_log: audit_log::AuditLogService,
    gate: Gate,
    bus: Arc<dyn CacheBus>,
    console_slug: String,
}

impl ControlPlane {
    pub fn new(
        db: Database,
        bus: Arc<dyn CacheBus>,
        clock: SharedClock,
        tenancy: Tenancy,
        console: &ConsoleSettings,
        providers: Providers,
    ) -> Self {
        let ui_url = console.ui_url(&tenancy.urls);
        let Providers {
            courier,
            billing,
            hostnames,
            tenant_cache,
            console: console_identities,
        } = providers;
        let gate = Gate::new(db.clone());
        let mail = Arc::new(InviteMail {
            ui_url: ui_url.clone(),
            console_slug: console.project_slug.clone(),
        });
        let projects = ProjectService::new(
            db.clone(),
            gate.clone(),
            bus.clone(),
            clock.clone(),
            &tenancy,
            tenant_cache,
        );
        let accounts = AccountService::new(
            db.clone(),
            bus.clone(),
            clock.clone(),
            console_identities(Arc::new(projects.clone())),
        );
        let hostnames = HostnameService::new(
            db.clone(),
            gate.clone(),
            clock.clone(),
            bus.clone(),
            tenancy.base_domain,
            hostnames.lookup,
            &hostnames.settings,
        );
        let billing = BillingService::new(
            db.clone(),
            gate.clone(),
            clock.clone(),
            projects.clone(),
            billing.settings,
            billing.provider,
            ui_url,
        );
        Self {
            audit_log: audit_log::AuditLogService::new(
                db.clone(),
                gate.clone(),
                clock.clone(),
                tenancy.audit_log,
            ),
            projects,
            billing,
            hostnames,
            members: MemberService::new(db.clone(), gate.clone(), clock.clone(), bus.clone()),
            invites: InviteService::new(db, gate.clone(), clock, accounts.clone(), courier, mail),
            accounts,
            gate,
            bus,
            console_slug: console.project_slug.clone(),
        }
    }

    /// Registers the control-plane API.
    pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
        project::handler::configure(cfg);
        member::handler::configure(cfg);
        invite::handler::configure(cfg);
        account::handler::configure(cfg);
        subscription::handler::configure(cfg);
        hostname::handler::configure(cfg);
        audit_log::handler::configure(cfg);
    }

    /// The console project's slug.
    pub fn console_slug(&self) -> &str {
        &self.console_slug
    }

    /// Creates the console project on first start (any replica may).
    pub async fn bootstrap_console(&self) -> kernel::Result<Uuid> {
        self.projects
            .ensure_console_project(&self.console_slug)
            .await
    }

    /// Listens for revocations and access changes announced by any
    /// replica, and runs the billing sweep.
    pub fn spawn_background(&self) {
        self.billing.spawn_sweeper();
        self.hostnames.spawn_checker();
        self.audit_log.spawn_sweeper();
        let mut events = self.bus.subscribe();
        let (accounts, gate) = (self.accounts.clone(), self.gate.clone());
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.topic == TOKEN_REVOKED_TOPIC => {
                        accounts.on_token_revoked(&event.payload).await;
                    }
                    Ok(event) if event.topic == ACCESS_CHANGED_TOPIC => {
                        gate.on_access_changed(&event.payload).await;
                    }
                    Ok(_) => {}
                    // Missed events: forget every grant rather than trust them.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        gate.on_access_changed("").await;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// `PUT /console/active-project`: only a project the caller can see.
    pub async fn set_active_project(
        &self,
        caller: Caller,
        project: Option<Uuid>,
    ) -> kernel::Result<ActiveProject> {
        caller.require_person()?;
        if let Some(project) = project {
            self.gate.access(caller, project).await?;
        }
        self.accounts.set_active_project(caller, project).await
    }

    /// `GET /projects/{id}/tokens`.
    pub async fn list_project_keys(
        &self,
        caller: Caller,
        project: Uuid,
    ) -> kernel::Result<Vec<ApiTokenView>> {
        self.gate
            .project(caller, project, Action::ManageApiKeys)
            .await?;
        self.accounts.list_project_keys(project).await
    }

    /// `POST /projects/{id}/tokens`.
    pub async fn create_project_key(
        &self,
        caller: Caller,
        project: Uuid,
        new: NewApiToken,
    ) -> kernel::Result<ApiTokenView> {
        self.gate
            .project(caller, project, Action::ManageApiKeys)
            .await?;
        self.accounts.create_project_key(caller, project, new).await
    }

    /// `DELETE /projects/{id}/tokens/{token_id}`.
    pub async fn revoke_project_key(
        &self,
        caller: Caller,
        project: Uuid,
        token: Uuid,
    ) -> kernel::Result<()> {
        self.gate
            .project(caller, project, Action::ManageApiKeys)
            .await?;
        self.accounts.revoke_project_key(project, token).await
    }

    /// `DELETE /projects/{id}`; the project's API keys stop working at once.
    pub async fn purge_project(&self, caller: Caller, project: Uuid) -> kernel::Result<()> {
        let keys = self.projects.purge(caller, project).await?;
        self.accounts.forget_tokens(keys).await;
        Ok(())
    }
}

#[async_trait]
impl kernel::ports::TenantAdminAuth for ControlPlane {
    async fn authorize_tenant_admin(
        &self,
        bearer: &str,
        project_id: Uuid,
        write: bool,
    ) -> kernel::Result<()> {
        let caller = self.accounts.authenticate(bearer).await?;
        self.gate.tenant_admin(caller, project_id, write).await
    }
}

#[async_trait]
impl kernel::tenant::CustomHostDirectory for ControlPlane {
    async fn active_custom_hosts(&self) -> kernel::Result<Vec<kernel::tenant::CustomHostRoute>> {
        self.hostnames.active_routes().await
    }
}
