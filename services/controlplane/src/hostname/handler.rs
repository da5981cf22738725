//! `/projects/{id}/hostnames` and `/projects/{id}/quotas/custom-domains`.

use super::model::HostnameBody;
use crate::ControlPlane;
use crate::account::Caller;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use uuid::Uuid;

async fn list_hostnames(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.hostnames.list(caller, *id).await?))
}

async fn create_hostname(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<HostnameBody>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(cp.hostnames.create(caller, *id, body.into_inner()).await?))
}

async fn update_hostname(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: web::Json<HostnameBody>,
) -> ApiResult<HttpResponse> {
    let (project, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(
        cp.hostnames
            .update(caller, project, id, body.into_inner())
            .await?,
    ))
}

async fn delete_hostname(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, id) = path.into_inner();
    cp.hostnames.delete(caller, project, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn verify_hostname(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, id) = path.into_inner();
    Ok(HttpResponse::Ok().json(cp.hostnames.verify(caller, project, id).await?))
}

async fn custom_domains_quota(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.hostnames.quota(caller, *id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/projects/{project_id}/hostnames")
            .get(list_hostnames)
            .post(create_hostname),
    )
    .service(
        web::resource("/projects/{project_id}/hostnames/{hostname_id}")
            .put(update_hostname)
            .delete(delete_hostname),
    )
    .service(
        web::resource("/projects/{project_id}/hostnames/{hostname_id}/verify")
            .post(verify_hostname),
    )
    .service(
        web::resource("/projects/{project_id}/quotas/custom-domains").get(custom_domains_quota),
    );
}
