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

pub async fn get_project_revision(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, revision) = path.into_inner();
    Ok(HttpResponse::Ok().json(cp.projects.revision(caller, id, revision).await?))
}

#[derive(Debug, serde::Deserialize)]
pub struct DiffQuery {
    from: Uuid,
    to: Option<Uuid>,
}

pub async fn diff_project_revisions(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: http::query::Query<DiffQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        cp.projects
            .revision_diff(caller, *id, query.from, query.to)
            .await?,
    ))
}

pub async fn restore_project_revision(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, revision) = path.into_inner();
    Ok(HttpResponse::Ok().json(cp.projects.restore_revision(caller, id, revision).await?))
}

pub async fn promote_project(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<super::service::PromoteRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.projects.promote(caller, *id, body.into_inner()).await?))
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
    // Before `{revision_id}`, which would otherwise take `diff`.
    .service(web::resource("/projects/{project_id}/revisions/diff").get(diff_project_revisions))
    .service(
        web::resource("/projects/{project_id}/revisions/{revision_id}").get(get_project_revision),
    )
    .service(
        web::resource("/projects/{project_id}/revisions/{revision_id}/restore")
            .post(restore_project_revision),
    )
    .service(web::resource("/projects/{project_id}/promote").post(promote_project))
    .service(
        web::resource("/projects/{project_id}/revision/{revision_id}")
            .patch(patch_project_with_revision),
    );
}
