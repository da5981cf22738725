//! HTTP handlers of the audit log.

use crate::ControlPlane;
use crate::account::Caller;
use actix_web::HttpRequest;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use uuid::Uuid;

/// The query is parsed after the caller's access is checked (a stranger
/// gets 404 whatever it sends), hence the raw string.
pub async fn project_audit_log(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        cp.audit_log
            .project_log(caller, *id, req.query_string())
            .await?,
    ))
}

pub async fn my_audit_log(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.audit_log.account_log(caller, req.query_string()).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/projects/{project_id}/audit-log").get(project_audit_log))
        .service(web::resource("/me/audit-log").get(my_audit_log));
}
