//! `/projects/{id}/members`, `/access` and `/quotas/members`.

use crate::ControlPlane;
use crate::access::Role;
use crate::account::Caller;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use serde::Deserialize;
use uuid::Uuid;

async fn list_members(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.members.list(caller, *id).await?))
}

async fn remove_member(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, member) = path.into_inner();
    cp.members.remove(caller, project, member).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

async fn set_member_role(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<RoleBody>,
) -> ApiResult<HttpResponse> {
    let (project, member) = path.into_inner();
    let role = Role::parse_request(&body.role)?;
    Ok(HttpResponse::Ok().json(cp.members.set_role(caller, project, member, role).await?))
}

async fn project_access(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.members.access(caller, *id).await?))
}

async fn member_seats(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.members.seats(caller, *id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/projects/{project_id}/members").get(list_members))
        .service(
            web::resource("/projects/{project_id}/members/{member_id}")
                .put(set_member_role)
                .delete(remove_member),
        )
        .service(web::resource("/projects/{project_id}/access").get(project_access))
        .service(web::resource("/projects/{project_id}/quotas/members").get(member_seats));
}
