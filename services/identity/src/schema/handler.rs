//! `GET /schemas` (`identitySchemas`: `[{id, schema}]`) and
//! `GET /schemas/{id}` (the raw JSON Schema), for the request's tenant.

use crate::identity::handler::PageQuery;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::Tenant;
use kernel::Error;
use serde_json::json;

pub async fn list_identity_schemas(
    tenant: Tenant,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = query.resolve()?;
    // Within i64 (checked by `resolve`), so within usize on 64-bit targets.
    let (page, per_page) = (
        usize::try_from(page).unwrap_or(usize::MAX),
        usize::try_from(per_page).unwrap_or(usize::MAX),
    );
    let mut out = Vec::new();
    for schema in tenant
        .config
        .identity_schemas
        .iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
    {
        out.push(json!({ "id": schema.id, "schema": super::resolve(&schema.url)? }));
    }
    Ok(HttpResponse::Ok().json(out))
}

pub async fn get_identity_schema(tenant: Tenant, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let schema = tenant
        .config
        .identity_schemas
        .iter()
        .find(|s| s.id == *id)
        .ok_or_else(|| Error::not_found(format!("identity schema `{id}` does not exist")))?;
    Ok(HttpResponse::Ok().json(super::resolve(&schema.url)?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/schemas").get(list_identity_schemas))
        .service(web::resource("/schemas/{id}").get(get_identity_schema));
}
