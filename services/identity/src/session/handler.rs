//! `/sessions/*`, `/admin/identities/{id}/sessions`, `/admin/sessions/{id}/extend`
//! and API logout.

use crate::engine::IdentityEngine;
use crate::identity::handler::{PageQuery, paginated};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::{Tenant, TenantAdmin, admin_gate, bearer_token};
use kernel::Error;
use kernel::tenant::TenantCtx;
use serde::Deserialize;
use uuid::Uuid;

/// The session cookie of a tenant: one name per project, so two projects
/// opened in one browser never overwrite each other's session.
pub fn session_cookie_name(tenant: &TenantCtx) -> String {
    session_cookie_name_for_slug(&tenant.slug)
}

/// The session cookie name of the project with this slug.
pub fn session_cookie_name_for_slug(slug: &str) -> String {
    format!("ory_session_{}", slug.replace('-', ""))
}

/// The session token of a request: `X-Session-Token`, then
/// `Authorization: Bearer`, then the project's session cookie.
pub fn session_token(req: &HttpRequest, tenant: &TenantCtx) -> Option<String> {
    if let Some(token) = req
        .headers()
        .get("X-Session-Token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        return Some(token.to_owned());
    }
    if let Some(token) = bearer_token(req) {
        return Some(token.to_owned());
    }
    req.cookie(&session_cookie_name(tenant))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

pub(crate) fn required_token(req: &HttpRequest, tenant: &TenantCtx) -> Result<String, Error> {
    session_token(req, tenant).ok_or_else(crate::session::service::no_active_session)
}

pub async fn to_session(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    let answer = engine.whoami(&tenant, &token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "X-Kratos-Authenticated-Identity-Id",
            answer.identity_id.to_string(),
        ))
        .content_type("application/json")
        .body(answer.body))
}

pub async fn list_sessions(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    let (page, per_page) = query.resolve()?;
    let (list, total) = engine
        .list_my_sessions(&tenant, &token, page, per_page)
        .await?;
    let url = format!("{}/sessions", tenant.public_url);
    Ok(paginated(&url, page, per_page, total, list))
}

pub async fn revoke_sessions(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    Ok(HttpResponse::Ok().json(engine.revoke_my_other_sessions(&tenant, &token).await?))
}

pub async fn revoke_session(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    engine.revoke_my_session(&tenant, &token, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
pub struct AdminSessionsQuery {
    page: Option<u64>,
    per_page: Option<u64>,
    #[serde(default, deserialize_with = "http::query::go_bool_opt")]
    active: Option<bool>,
}

pub async fn admin_list_identity_sessions(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
    query: Query<AdminSessionsQuery>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let (list, total) = engine
        .admin_list_sessions(&tenant, *id, query.active, page, per_page)
        .await?;
    Ok(paginated(
        &format!("{}/admin/identities/{id}/sessions", tenant.public_url),
        page,
        per_page,
        total,
        list,
    ))
}

pub async fn admin_delete_identity_sessions(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    engine.admin_delete_sessions(&tenant, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn admin_extend_session(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(engine.admin_extend_session(&tenant, *id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    session_token: String,
}

pub async fn logout_without_browser(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    body: web::Json<LogoutBody>,
) -> ApiResult<HttpResponse> {
    engine.logout_token(&tenant, &body.session_token).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/sessions/whoami").get(to_session))
        .service(
            web::resource("/sessions")
                .get(list_sessions)
                .delete(revoke_sessions),
        )
        .service(web::resource("/sessions/{id}").delete(revoke_session))
        .service(
            web::resource("/admin/identities/{id}/sessions")
                .get(admin_list_identity_sessions)
                .delete(admin_delete_identity_sessions)
                .wrap(from_fn(admin_gate)),
        )
        .service(
            web::resource("/admin/sessions/{id}/extend")
                .patch(admin_extend_session)
                .wrap(from_fn(admin_gate)),
        )
        .service(web::resource("/self-service/logout/api").delete(logout_without_browser));
}
