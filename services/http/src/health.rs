//! `/health/alive`, `/health/ready` and `/version`, as Ory's services serve
//! them. Readiness asks every registered check; any failure is a 503 with
//! `healthNotReadyStatus.errors`.

use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One dependency readiness depends on (the database, Redis).
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> Result<(), String>;
}

#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl Readiness {
    pub fn with(mut self, check: Arc<dyn ReadinessCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Runs every check concurrently; the names of failed ones with reasons.
    pub async fn errors(&self) -> BTreeMap<String, String> {
        let results = futures_util::future::join_all(
            self.checks
                .iter()
                .map(|c| async move { (c.name(), c.check().await) }),
        )
        .await;
        results
            .into_iter()
            .filter_map(|(name, r)| r.err().map(|e| (name.to_owned(), e)))
            .collect()
    }
}

pub async fn get_alive() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn get_ready(readiness: web::Data<Readiness>) -> HttpResponse {
    let errors = readiness.errors().await;
    if errors.is_empty() {
        HttpResponse::Ok().json(json!({ "status": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({ "errors": errors }))
    }
}

pub async fn get_version() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

/// Registers the three endpoints on a scope or app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Resources (not bare routes) so a wrong method is a 405, not a 404.
    cfg.service(web::resource("/health/alive").get(get_alive))
        .service(web::resource("/health/ready").get(get_ready))
        .service(web::resource("/version").get(get_version));
}
