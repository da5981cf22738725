//! `/projects/{id}/invites` and `/invites`.

use super::{InviteAnswer, InvitePayload};
use crate::ControlPlane;
use crate::account::Caller;
use actix_web::{HttpResponse, web};
use http::ApiResult;
use uuid::Uuid;

async fn create_invite(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<InvitePayload>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(cp.invites.create(caller, *id, body.into_inner()).await?))
}

async fn list_project_invites(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.invites.list_for_project(caller, *id).await?))
}

async fn cancel_invite(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (project, invite) = path.into_inner();
    cp.invites.cancel(caller, project, invite).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn my_invites(cp: web::Data<ControlPlane>, caller: Caller) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.invites.mine(caller).await?))
}

async fn accept_invite(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<InviteAnswer>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.invites.answer(caller, *id, &body.token, true).await?))
}

async fn decline_invite(
    cp: web::Data<ControlPlane>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: web::Json<InviteAnswer>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(cp.invites.answer(caller, *id, &body.token, false).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/projects/{project_id}/invites")
            .get(list_project_invites)
            .post(create_invite),
    )
    .service(web::resource("/projects/{project_id}/invites/{invite_id}").delete(cancel_invite))
    .service(web::resource("/invites").get(my_invites))
    .service(web::resource("/invites/{invite_id}/accept").post(accept_invite))
    .service(web::resource("/invites/{invite_id}/decline").post(decline_invite));
}
