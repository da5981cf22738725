//! `/me`, `/console/active-project` and `/projects/{id}/tokens`.

use super::{ActiveProject, Caller, NewApiToken};
use crate::ControlPlane;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use uuid::Uuid;

async fn me(cp: web::Data<ControlPlane>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.accounts.me(caller).await?))
}

async fn get_active_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.accounts.active_project(caller).await?))
}

async fn set_active_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    body: web::Json<ActiveProject>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.set_active_project(caller, body.project_id).await?))
}

async fn list_tokens(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.list_project_keys(caller, *id).await?))
}

async fn create_token(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<NewApiToken>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(
        cp.create_project_key(caller, *id, body.into_inner())
            .await?,
    ))
}

async fn revoke_token(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, token) = path.into_inner();
    cp.revoke_project_key(caller, project, token).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/me").get(me))
        .service(
            web::resource("/console/active-project")
                .get(get_active_project)
                .put(set_active_project),
        )
        .service(
            web::resource("/projects/{project_id}/tokens")
                .get(list_tokens)
                .post(create_token),
        )
        .service(web::resource("/projects/{project_id}/tokens/{token_id}").delete(revoke_token));
}
