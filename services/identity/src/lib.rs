//! The identity engine of every tenant. So far: identity schemas (presets
//! and custom `base64://` schemas) served at `/schemas`.

pub mod schema;

/// Registers the identity engine's tenant routes.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    schema::handler::configure(cfg);
}
