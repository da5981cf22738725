//! What the audit log needs to know about the request being served, kept
//! in a task-local for the length of the request: its id, the client's
//! address (through `serve.trusted_proxies`), and who the caller proved to
//! be. The HTTP middleware and the gRPC service open the scope; whoever
//! authenticates a caller names it here. Stores appending an audit event
//! read it in the same task, so no handler threads it through by hand.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A person signed in to the console (session or personal token).
    Account { id: Uuid, email: String },
    /// A project API key (or personal access token): its id and name, and
    /// the account that created it.
    ApiKey {
        id: Uuid,
        name: String,
        account_id: Uuid,
    },
    /// Keyplane itself: the billing sweep, Stripe's web hooks, the CLI.
    System,
}

impl Actor {
    /// `account`, `api_key` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Account { .. } => "account",
            Actor::ApiKey { .. } => "api_key",
            Actor::System => "system",
        }
    }

    /// The account or key id; none for the system.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Actor::Account { id, .. } | Actor::ApiKey { id, .. } => Some(*id),
            Actor::System => None,
        }
    }

    /// The e-mail address, the key's name, or `system`.
    pub fn name(&self) -> &str {
        match self {
            Actor::Account { email, .. } => email,
            Actor::ApiKey { name, .. } => name,
            Actor::System => "system",
        }
    }

    /// The account acting, directly or through one of its keys.
    pub fn account_id(&self) -> Option<Uuid> {
        match self {
            Actor::Account { id, .. } => Some(*id),
            Actor::ApiKey { account_id, .. } => Some(*account_id),
            Actor::System => None,
        }
    }
}

/// The request being served.
#[derive(Debug, Default)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
    actor: Mutex<Option<Actor>>,
}

impl RequestContext {
    pub fn new(request_id: String, client_ip: Option<IpAddr>) -> Arc<Self> {
        Arc::new(Self {
            request_id,
            client_ip,
            actor: Mutex::new(None),
        })
    }
}

tokio::task_local! {
    static REQUEST: Arc<RequestContext>;
}

/// Whether a caller's request id may be kept: short and printable, so it
/// cannot inject into logs or headers.
pub fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Runs `fut` as the request `context`.
pub async fn scope<F: std::future::Future>(context: Arc<RequestContext>, fut: F) -> F::Output {
    REQUEST.scope(context, fut).await
}

/// The request served on this task, if any.
pub fn current() -> Option<Arc<RequestContext>> {
    REQUEST.try_with(Arc::clone).ok()
}

/// The id of the request served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|r| r.request_id.clone()).ok()
}

/// Records who the caller of this request proved to be (no-op outside a
/// request: the CLI and background jobs act as the system).
pub fn identify(actor: Actor) {
    let _ = REQUEST.try_with(|r| {
        if let Ok(mut slot) = r.actor.lock() {
            *slot = Some(actor);
        }
    });
}

/// Who is acting on this task: the authenticated caller, else the system
/// (an unauthenticated request that changes something is Stripe's web
/// hook or a sweep).
pub fn current_actor() -> Actor {
    REQUEST
        .try_with(|r| r.actor.lock().ok().and_then(|a| a.clone()))
        .ok()
        .flatten()
        .unwrap_or(Actor::System)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_actor_is_the_one_identified_in_this_request() {
        assert_eq!(current_actor(), Actor::System);
        let id = Uuid::new_v4();
        let context = RequestContext::new("req-1".into(), None);
        let seen = scope(context, async {
            identify(Actor::Account {
                id,
                email: "a@example.com".into(),
            });
            (current_actor(), current_request_id())
        })
        .await;
        assert_eq!(seen.0.id(), Some(id));
        assert_eq!(seen.1.as_deref(), Some("req-1"));
        assert_eq!(current_actor(), Actor::System);
    }
}
