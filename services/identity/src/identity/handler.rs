//! `/admin/identities`: thin handlers over the identity service.

use super::model::{Exposure, Identity, IdentityReplacement, IdentityView, NewIdentity};
use crate::engine::IdentityEngine;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::{TenantAdmin, admin_gate};
use kernel::tenant::TenantCtx;
use serde::Deserialize;
use uuid::Uuid;

/// `page` (0-based) and `per_page`, as Kratos v0.10 paginates.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

pub const DEFAULT_PER_PAGE: u64 = 250;
pub const MAX_PER_PAGE: u64 = 1000;

impl PageQuery {
    /// `(page, per_page)`, `per_page` clamped as Kratos does; a page whose
    /// offset no database can express is a 400, not an overflow later.
    pub fn resolve(&self) -> Result<(u64, u64), kernel::Error> {
        let page = self.page.unwrap_or(0);
        let per_page = self
            .per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE);
        match page.checked_mul(per_page) {
            Some(offset) if i64::try_from(offset).is_ok() => Ok((page, per_page)),
            _ => Err(kernel::Error::bad_request(format!(
                "query parameter `page`: {page} is out of range (at most {})",
                i64::MAX as u64 / per_page
            ))),
        }
    }
}

/// Adds `Link` (first/next/prev/last) and `X-Total-Count` as Kratos does;
/// `url` is absolute (the tenant's public URL and the path), so a client
/// can follow each link as given.
pub fn paginated(
    url: &str,
    page: u64,
    per_page: u64,
    total: u64,
    body: impl serde::Serialize,
) -> HttpResponse {
    let last = total.saturating_sub(1) / per_page;
    let link = |p: u64, rel: &str| format!("<{url}?page={p}&per_page={per_page}>; rel=\"{rel}\"");
    let mut links = vec![link(0, "first")];
    if page < last {
        links.push(link(page + 1, "next"));
    }
    if page > 0 {
        links.push(link(page.min(last + 1) - 1, "prev"));
    }
    links.push(link(last, "last"));
    HttpResponse::Ok()
        .insert_header(("Link", links.join(",")))
        .insert_header(("X-Total-Count", total.to_string()))
        .json(body)
}

pub(crate) fn admin_view(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    identity: &Identity,
    include: &[String],
) -> IdentityView {
    identity.view(
        &engine.schema_url(tenant, &identity.schema_id),
        Exposure::Admin,
        include,
    )
}

/// `include_credential` may repeat (`?include_credential=oidc&include_credential=...`).
fn include_credentials(req: &HttpRequest) -> Vec<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "include_credential")
        .map(|(_, v)| v.into_owned())
        .collect()
}

pub async fn list_identities(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = query.resolve()?;
    let (list, total) = engine.list_identities(&tenant, page, per_page).await?;
    let views: Vec<_> = list
        .iter()
        .map(|i| admin_view(&engine, &tenant, i, &[]))
        .collect();
    let url = format!("{}/admin/identities", tenant.public_url);
    Ok(paginated(&url, page, per_page, total, views))
}

pub async fn create_identity(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    body: web::Json<NewIdentity>,
) -> ApiResult<HttpResponse> {
    let identity = engine.create_identity(&tenant, body.into_inner()).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("{}/admin/identities/{}", tenant.public_url, identity.id),
        ))
        .json(admin_view(&engine, &tenant, &identity, &[])))
}

pub async fn get_identity(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let identity = engine.get_identity(&tenant, *id).await?;
    let include = include_credentials(&req);
    Ok(HttpResponse::Ok().json(admin_view(&engine, &tenant, &identity, &include)))
}

pub async fn update_identity(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
    body: web::Json<IdentityReplacement>,
) -> ApiResult<HttpResponse> {
    let identity = engine
        .update_identity(&tenant, *id, body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(admin_view(&engine, &tenant, &identity, &[])))
}

pub async fn patch_identity(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
    body: web::Json<json_patch::Patch>,
) -> ApiResult<HttpResponse> {
    let identity = engine
        .patch_identity(&tenant, *id, body.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(admin_view(&engine, &tenant, &identity, &[])))
}

pub async fn delete_identity(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    engine.delete_identity(&tenant, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Keyplane's `DELETE /admin/identities/{id}/credentials/{type}` (as later
/// Kratos versions have it): removes a second factor.
pub async fn delete_credential(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, kind) = path.into_inner();
    engine.delete_second_factor(&tenant, id, &kind).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/identities")
            .get(list_identities)
            .post(create_identity)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/admin/identities/{id}")
            .get(get_identity)
            .put(update_identity)
            .patch(patch_identity)
            .delete(delete_identity)
            .wrap(from_fn(admin_gate)),
    )
    .service(
        web::resource("/admin/identities/{id}/credentials/{type}")
            .delete(delete_credential)
            .wrap(from_fn(admin_gate)),
    );
}
