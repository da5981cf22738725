//! `GET /schemas` (`identitySchemas`: `[{id, schema}]`) and
//! `GET /schemas/{id}` (the raw JSON Schema), for the request's tenant.

use actix_web::{HttpResponse, web};
use http::ApiResult;
use http::tenant::Tenant;
use kernel::Error;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub struct Pagination {
    page: Option<usize>,
    per_page: Option<usize>,
}

pub async fn list_identity_schemas(
    tenant: Tenant,
    query: web::Query<Pagination>,
) -> ApiResult<HttpResponse> {
    let per_page = query.per_page.unwrap_or(250).clamp(1, 1000);
    let page = query.page.unwrap_or(0);
    let mut out = Vec::new();
    for schema in tenant
        .config
        .identity_schemas
        .iter()
        .skip(page * per_page)
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
