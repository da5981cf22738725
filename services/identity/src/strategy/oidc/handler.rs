//! `/self-service/methods/oidc/callback/{provider}`: where providers send
//! the browser back. Signed in or registered: a 303 to where the flow was
//! going, with the session cookie; a provider linked: the settings page;
//! otherwise the flow's page with its message; a state that matches no
//! flow of this browser: the error page.

use super::callback::{CallbackAnswer, CallbackQuery};
use crate::engine::IdentityEngine;
use crate::flow::browser::{see_other, submission, wants_json, with_flow};
use crate::flow::handler::{error_response, registered, shown_after_change, signed_in};
use crate::flow::model::FlowKind;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::Tenant;
use serde_json::json;

pub async fn callback(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    provider: web::Path<String>,
    query: Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let submission = submission(&req, &tenant, json!({}));
    match engine
        .oidc_callback(&tenant, &provider, &query, &submission)
        .await
    {
        Ok(CallbackAnswer::SignedIn { success, flow }) => {
            Ok(signed_in(&engine, &tenant, &success, &flow))
        }
        Ok(CallbackAnswer::Registered { success, flow }) => {
            Ok(registered(&engine, &tenant, &success, &flow))
        }
        Ok(CallbackAnswer::Linked(flow)) => Ok(shown_after_change(
            &engine,
            &tenant,
            FlowKind::Settings,
            &flow,
        )),
        Ok(CallbackAnswer::Show { kind, flow_id }) => {
            Ok(see_other(&with_flow(&engine.ui_url(&tenant, kind), flow_id)).finish())
        }
        Err(err) if !wants_json(&req) && err.status() < 500 => {
            Ok(error_response(&engine, &tenant, &req, err).await)
        }
        Err(err) => Err(err.into()),
    }
}

/// Providers that answer with a form post (Apple's `form_post`): the same
/// answer as a GET, after a 303 to it. A cross-site POST carries no
/// `SameSite=Lax` cookies, the top-level GET that follows does, so the
/// flow's browser binding and the session can be checked.
pub async fn callback_post(
    tenant: Tenant,
    provider: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    // Every field as it came (`state`, `code`, `iss`, `error`, Apple's
    // `user`, ...): the GET reads what it knows.
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    see_other(&format!(
        "{}/self-service/methods/oidc/callback/{}?{query}",
        tenant.public_url,
        url::form_urlencoded::byte_serialize(provider.as_bytes()).collect::<String>()
    ))
    .finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/self-service/methods/oidc/callback/{provider}")
            .get(callback)
            .post(callback_post),
    );
}
