//! The identity engine of every tenant (Ory Kratos v0.10 compatible):
//! identity schemas, identities (admin API), password hashing and policy,
//! self-service flows for API clients and browsers (login, registration,
//! settings, recovery, verification, logout) with hooks and e-mail, and
//! sessions with a cached whoami. Every row is scoped by the project id.

pub mod engine;
pub mod flow;
pub mod hash;
pub mod identity;
pub mod policy;
pub mod schema;
pub mod session;
pub mod strategy;

pub use engine::{IdentityEngine, IdentitySettings};

/// Registers the identity engine's tenant routes.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(actix_web::web::resource("/").get(tenant_home));
    schema::handler::configure(cfg);
    identity::handler::configure(cfg);
    session::handler::configure(cfg);
    flow::handler::configure(cfg);
    strategy::oidc::handler::configure(cfg);
}

/// The tenant's root (the fallback return URL, and the base of the link
/// method): browsers go on to the hosted UI's home page.
async fn tenant_home(tenant: http::tenant::Tenant) -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{}/ui/welcome", tenant.public_url),
        ))
        .finish()
}
