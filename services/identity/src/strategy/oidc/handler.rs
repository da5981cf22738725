//! `GET /self-service/methods/oidc/callback/{provider}`: where providers
//! send the browser back. Signed in: a 303 to where the flow was going,
//! with the session cookie; otherwise to the flow's page with its message;
//! a state that matches no flow of this browser: the error page.

use super::callback::{CallbackAnswer, CallbackQuery};
use crate::engine::IdentityEngine;
use crate::flow::browser::{csrf_cookie, see_other, session_cookie, wants_json, with_flow};
use crate::flow::handler::error_response;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::Tenant;

pub async fn callback(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    provider: web::Path<String>,
    query: Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let cookie = csrf_cookie(&req, &tenant);
    match engine
        .oidc_callback(&tenant, &provider, &query, cookie.as_deref())
        .await
    {
        Ok(CallbackAnswer::SignedIn {
            session_token,
            expires_at,
            return_to,
        }) => Ok(see_other(&return_to)
            .cookie(session_cookie(&tenant, &session_token, expires_at))
            .finish()),
        Ok(CallbackAnswer::Show { kind, flow_id }) => {
            Ok(see_other(&with_flow(&engine.ui_url(&tenant, kind), flow_id)).finish())
        }
        Err(err) if !wants_json(&req) && err.status() < 500 => {
            Ok(error_response(&engine, &tenant, &req, err).await)
        }
        Err(err) => Err(err.into()),
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/self-service/methods/oidc/callback/{provider}").get(callback));
}
