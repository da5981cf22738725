//! Ports: what the domains need from infrastructure, as traits. The store
//! crate implements them (in-process, Redis); `server` wires one in.

use async_trait::async_trait;
use std::time::Duration;
use tokio::sync::broadcast;

/// A message on the event bus. `topic` says what changed (e.g.
/// `project.revision`), `payload` which thing (e.g. the project id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    pub topic: String,
    pub payload: String,
}

/// The cache and the event bus, behind one trait because both have the same
/// two implementations (in-process for one replica, Redis for many) and the
/// same failure story: when the backing service is gone, a cache miss and a
/// local-only publish are the safe answers, never an error to the caller.
#[async_trait]
pub trait CacheBus: Send + Sync + 'static {
    /// A cached value, or `None` on a miss or when the cache is unreachable.
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores a value for `ttl`. Failures are logged, not returned: the
    /// database stays the source of truth.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
    async fn delete(&self, key: &str);
    /// Takes one token from the token bucket `key` (refilled at
    /// `limit.per_minute`, holding `limit.burst`; see
    /// [`crate::rate_limit::gcra`]): `Some(Ok(()))` when there was one,
    /// `Some(Err(wait))` with the time until the next, or `None` when the
    /// backend is unreachable (callers fail open: a Redis outage must not
    /// refuse every request). With Redis, replicas share each bucket.
    async fn take_token(
        &self,
        key: &str,
        limit: crate::rate_limit::BucketLimit,
    ) -> Option<Result<(), Duration>>;
    /// Counts one attempt in the back-off counter `key` (see
    /// [`crate::rate_limit::BackOff`]) at `now_ms` on the caller's clock:
    /// `Some(Ok(()))` when it may go ahead (it is counted),
    /// `Some(Err(wait))` when it must wait (it is not), `None` when the
    /// backend is unreachable (callers fail open). Check and count are one
    /// atomic step, so concurrent attempts cannot all slip in under the
    /// limit; with Redis, replicas share each counter.
    async fn take_attempt(
        &self,
        key: &str,
        now_ms: u64,
        policy: crate::rate_limit::BackOff,
    ) -> Option<Result<(), Duration>>;
    /// Takes back one attempt counted in `key` (it turned out not to be a
    /// failure); nothing when there is no counter.
    async fn forgive_attempt(&self, key: &str);
    /// Forgets the back-off counter `key`.
    async fn clear_attempts(&self, key: &str);
    /// Delivers an event to every subscriber of every replica (this one
    /// included), as far as the backend can reach.
    async fn publish(&self, event: BusEvent);
    /// Events published from now on, on this replica and (with Redis) others.
    fn subscribe(&self) -> broadcast::Receiver<BusEvent>;
    /// `Err(reason)` when the backend is configured but unreachable.
    async fn health(&self) -> Result<(), String>;
    /// A short name for logs and readiness output (`memory`, `redis`).
    fn backend(&self) -> &'static str;
}

/// Who may call a tenant's admin APIs (identities, sessions, relation
/// tuples): the control plane knows the accounts, tokens and roles, the
/// engines only ask. Implemented by the control plane, wired by `server`.
#[async_trait]
pub trait TenantAdminAuth: Send + Sync + 'static {
    /// `Ok` when `bearer` may use project `project_id`'s admin APIs, for
    /// writing when `write` (else only reading); 401 for an unknown token,
    /// 404 for a token of someone with no access to it (so the project's
    /// existence is not revealed), 403 for a role that may only read.
    async fn authorize_tenant_admin(
        &self,
        bearer: &str,
        project_id: uuid::Uuid,
        write: bool,
    ) -> crate::Result<()>;
}

/// Finds the tenant a request host names, for transports that do not go
/// through the HTTP router (the gRPC API picks its tenant by `:authority`
/// exactly as HTTP does by `Host`). Implemented by the router.
#[async_trait]
pub trait TenantByHost: Send + Sync + 'static {
    /// `host` may carry a port; `None` when it names no existing project.
    async fn tenant_for_host(
        &self,
        host: &str,
    ) -> crate::Result<Option<std::sync::Arc<crate::tenant::TenantCtx>>>;
}

/// An account as the console project knows it: one of its identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleIdentity {
    pub id: uuid::Uuid,
    pub email: String,
}

/// The accounts of the control plane are the identities of the reserved
/// console project: people sign up and log in through its self-service
/// flows. The control plane asks the identity engine through this port;
/// `server` wires it.
#[async_trait]
pub trait ConsoleIdentities: Send + Sync + 'static {
    /// The identity behind a console session token (or cookie value);
    /// `None` when it is not an active session.
    async fn identity_for_session(&self, token: &str) -> crate::Result<Option<ConsoleIdentity>>;
    /// The console identity with this e-mail address, created (without a
    /// password: its owner can set one through recovery) when missing.
    async fn ensure(&self, email: &str) -> crate::Result<ConsoleIdentity>;
    /// The console project's session cookie name.
    fn session_cookie(&self) -> String;
}
