//! HTTP handlers for projects: extract, call one service method, respond.

use super::model::{NewProject, ProjectUpdate};
use crate::ControlPlane;
use crate::account::Caller;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use serde_json::Value;
use uuid::Uuid;

pub async fn list_projects(cp: web::Data<ControlPlane>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.projects.list(caller).await?))
}

pub async fn create_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    body: web::Json<NewProject>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(cp.projects.create(caller, body.into_inner()).await?))
}

pub async fn get_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.projects.get(caller, *id).await?))
}

pub async fn update_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<ProjectUpdate>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.projects.update(caller, *id, body.into_inner()).await?))
}

pub async fn patch_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        cp.projects
            .patch(caller, *id, body.into_inner(), None)
            .await?,
    ))
}

pub async fn patch_project_with_revision(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<Value>,
) -> ApiResult<HttpResponse> {
    let (id, revision) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        cp.projects
            .patch(caller, id, body.into_inner(), Some(revision))
            .await?,
    ))
}

pub async fn purge_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    cp.purge_project(caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn list_project_revisions(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.projects.revisions(caller, *id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/projects")
            .get(list_projects)
            .post(create_project),
    )
    .service(
        web::resource("/projects/{project_id}")
            .get(get_project)
            .put(update_project)
            .patch(patch_project)
            .delete(purge_project),
    )
    .service(web::resource("/projects/{project_id}/revisions").get(list_project_revisions))
    .service(
        web::resource("/projects/{project_id}/revision/{revision_id}")
            .patch(patch_project_with_revision),
    );
}
