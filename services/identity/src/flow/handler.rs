//! `/self-service/{login,registration,settings,recovery,verification}` for
//! API clients (`/api`) and browsers (`/browser`), their flows and
//! submissions, and `/self-service/errors`.
//!
//! Browsers get a 303 to the revision's UI URL with `?flow=<id>` (and the
//! anti-CSRF cookie), unless they ask for JSON; API clients get JSON.

use super::browser::{
    api_client, browser_client, clear_session_cookie, see_other, session_cookie, set_csrf_cookie,
    submission as browser_submission, wants_json, with_flow,
};
use super::client::{BROWSER, Client};
use super::login::LoginSuccess;
use super::model::{Flow, FlowKind};
use super::recovery::{NewRecoveryLink, Recovered};
use super::registration::RegistrationSuccess;
use super::service::Submitted;
use crate::engine::IdentityEngine;
use crate::session::handler::required_token;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::query::Query;
use http::tenant::{Tenant, TenantAdmin, admin_gate};
use kernel::tenant::TenantCtx;
use kernel::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct FlowIdQuery {
    id: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct SubmitQuery {
    flow: Option<Uuid>,
    token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct InitQuery {
    /// Go's `ParseBool` forms, as Kratos reads it; empty is false.
    #[serde(default, deserialize_with = "http::query::go_bool")]
    refresh: bool,
    aal: Option<String>,
    return_to: Option<String>,
}

/// A submission as JSON, from a JSON or an HTML-form body (`traits.email=…`
/// becomes `{"traits":{"email":…}}`).
fn parse_body(req: &HttpRequest, body: &[u8]) -> Result<Value, Error> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut root = Map::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            let mut parts = key.split('.').peekable();
            let mut node = &mut root;
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    node.insert(part.to_owned(), Value::String(value.to_string()));
                    break;
                }
                let child = node
                    .entry(part.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                node = match child.as_object_mut() {
                    Some(map) => map,
                    None => break,
                };
            }
        }
        return Ok(Value::Object(root));
    }
    if body.is_empty() && content_type.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if content_type.is_empty() || content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("the request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::bad_request("the request body must be a JSON object"));
        }
        return Ok(value);
    }
    Err(Error::new(ErrorKind::UnsupportedMediaType)
        .with_reason("send `application/json` or `application/x-www-form-urlencoded`"))
}

fn is_browser(flow: &Flow) -> bool {
    flow.flow_type == BROWSER
}

/// The flow back with its messages: 400 JSON, or for a browser form a 303
/// back to the UI, as Kratos does.
fn invalid(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    req: &HttpRequest,
    kind: FlowKind,
    flow: &Flow,
) -> HttpResponse {
    if is_browser(flow) && !wants_json(req) {
        see_other(&with_flow(&engine.ui_url(tenant, kind), flow.id)).finish()
    } else {
        HttpResponse::BadRequest().json(flow)
    }
}

/// A failed submission: an expired browser form starts over (303 to a new
/// flow), anything else is the error itself.
fn failed(
    tenant: &TenantCtx,
    req: &HttpRequest,
    kind: FlowKind,
    err: Error,
) -> ApiResult<HttpResponse> {
    // A method that continues elsewhere (a sign-in provider): browsers go
    // there; JSON clients get the 422 with the URL.
    if err.id.as_deref() == Some("browser_location_change_required")
        && !wants_json(req)
        && let Some(url) = err
            .details
            .as_ref()
            .and_then(|d| d.get("redirect_browser_to"))
            .and_then(Value::as_str)
    {
        return Ok(see_other(url).finish());
    }
    if err.kind == ErrorKind::Gone && !wants_json(req) && is_form_post(req) {
        return Ok(see_other(&format!(
            "{}/self-service/{}/browser",
            tenant.public_url,
            kind.as_str()
        ))
        .finish());
    }
    Err(err.into())
}

fn is_form_post(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `return_to` checked against the allow-list: a refusal is the error JSON
/// for API clients and SPAs, a 303 to the error UI for browsers.
async fn checked_return_to(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    req: &HttpRequest,
    return_to: Option<&str>,
) -> Result<Option<String>, HttpResponse> {
    let Some(return_to) = return_to.filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    match engine.check_return_to(tenant, return_to) {
        Ok(url) => Ok(Some(url)),
        Err(err) => Err(error_response(engine, tenant, req, err).await),
    }
}

/// An error for a browser: JSON when asked for, else stored and shown by
/// the error UI (`?id=`).
pub(crate) async fn error_response(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    req: &HttpRequest,
    err: Error,
) -> HttpResponse {
    if !wants_json(req)
        && let Ok(id) = engine.record_error(tenant, &err).await
    {
        let ui = engine.error_ui_url(tenant);
        let separator = if ui.contains('?') { '&' } else { '?' };
        return see_other(&format!("{ui}{separator}id={id}")).finish();
    }
    actix_web::ResponseError::error_response(&http::error::ApiError(err))
}

async fn start(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    kind: FlowKind,
    client: &Client,
    query: &InitQuery,
) -> kernel::Result<Flow> {
    match kind {
        FlowKind::Login => {
            engine
                .init_login(tenant, client, query.refresh, query.aal.clone())
                .await
        }
        FlowKind::Registration => engine.init_registration(tenant, client).await,
        FlowKind::Settings => engine.init_settings(tenant, client).await,
        FlowKind::Recovery => engine.init_recovery(tenant, client).await,
        FlowKind::Verification => engine.init_verification(tenant, client).await,
    }
}

/// `initialize…FlowWithoutBrowser`.
async fn init_api(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    kind: FlowKind,
    query: InitQuery,
) -> ApiResult<HttpResponse> {
    let client = api_client(&req, &tenant);
    let flow = start(&engine, &tenant, kind, &client, &query).await?;
    Ok(HttpResponse::Ok().json(flow))
}

/// `initialize…FlowForBrowsers`.
async fn init_browser(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    kind: FlowKind,
    query: InitQuery,
) -> ApiResult<HttpResponse> {
    let return_to =
        match checked_return_to(&engine, &tenant, &req, query.return_to.as_deref()).await {
            Ok(url) => url,
            Err(response) => return Ok(response),
        };
    let client = browser_client(&req, &tenant, return_to.clone());
    let json = wants_json(&req);
    match start(&engine, &tenant, kind, &client, &query).await {
        Ok(flow) => {
            let mut response = if json {
                HttpResponse::Ok()
            } else {
                see_other(&with_flow(&engine.ui_url(&tenant, kind), flow.id))
            };
            set_csrf_cookie(&mut response, &tenant, &client);
            Ok(if json {
                response.json(flow)
            } else {
                response.finish()
            })
        }
        // A signed-in browser opening login (or registration, recovery) is
        // sent where it would go after signing in.
        Err(err) if !json && err.id.as_deref() == Some("session_already_available") => {
            let url = engine.after_url(&tenant, FlowKind::Login, None, return_to.as_deref());
            Ok(see_other(&url).finish())
        }
        // A session below the level asked for steps up first, then comes
        // back here.
        Err(err) if !json && err.id.as_deref() == Some("session_aal2_required") => {
            let back = format!(
                "{}/self-service/{}/browser",
                tenant.public_url,
                kind.as_str()
            );
            Ok(see_other(&step_up_url(&tenant, &back)).finish())
        }
        // Settings need a session: a browser without one signs in first.
        Err(err) if !json && kind == FlowKind::Settings && err.kind == ErrorKind::Unauthorized => {
            let back = format!("{}/self-service/settings/browser", tenant.public_url);
            let login = format!(
                "{}/self-service/login/browser?return_to={}",
                tenant.public_url,
                url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
            );
            Ok(see_other(&login).finish())
        }
        Err(err) => Err(err.into()),
    }
}

async fn get_flow(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    kind: FlowKind,
    id: Uuid,
) -> ApiResult<HttpResponse> {
    let flow = match kind {
        FlowKind::Login => engine.get_login_flow(&tenant, id).await?,
        FlowKind::Registration => engine.get_registration_flow(&tenant, id).await?,
        FlowKind::Settings => {
            let token = required_token(&req, &tenant)?;
            engine.get_settings_flow(&tenant, id, &token).await?
        }
        FlowKind::Recovery => engine.get_recovery_flow(&tenant, id).await?,
        FlowKind::Verification => engine.get_verification_flow(&tenant, id).await?,
    };
    Ok(HttpResponse::Ok().json(flow))
}

/// The login flow that brings a browser's session to AAL2, then sends it to
/// `return_to`.
fn step_up_url(tenant: &TenantCtx, return_to: &str) -> String {
    format!(
        "{}/self-service/login/browser?aal=aal2&return_to={}",
        tenant.public_url,
        url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
    )
}

fn flow_id(query: &SubmitQuery) -> Result<Uuid, Error> {
    query
        .flow
        .ok_or_else(|| Error::bad_request("the query parameter `flow` is missing"))
}

pub async fn submit_login(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let submission = browser_submission(&req, &tenant, parse_body(&req, &body)?);
    let outcome = match engine
        .submit_login(&tenant, flow_id(&query)?, &submission)
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return failed(&tenant, &req, FlowKind::Login, err),
    };
    Ok(match outcome {
        Submitted::Done { value, flow } if is_browser(&flow) => {
            if wants_json(&req) {
                let cookie =
                    session_cookie(&tenant, &value.session_token, value.session.expires_at);
                HttpResponse::Ok()
                    .cookie(cookie)
                    .json(json!({ "session": value.session }))
            } else {
                signed_in(&engine, &tenant, &value, &flow)
            }
        }
        Submitted::Done { value, .. } => HttpResponse::Ok().json(value),
        Submitted::Invalid(flow) => invalid(&engine, &tenant, &req, FlowKind::Login, &flow),
    })
}

pub async fn submit_registration(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let submission = browser_submission(&req, &tenant, parse_body(&req, &body)?);
    let outcome = match engine
        .submit_registration(&tenant, flow_id(&query)?, &submission)
        .await
    {
        Ok(outcome) => outcome,
        Err(err) => return failed(&tenant, &req, FlowKind::Registration, err),
    };
    Ok(match outcome {
        Submitted::Done { value, flow } if is_browser(&flow) => {
            if wants_json(&req) {
                let mut response = HttpResponse::Ok();
                if let (Some(session), Some(token)) = (&value.session, &value.session_token) {
                    response.cookie(session_cookie(&tenant, token, session.expires_at));
                }
                response.json(json!({ "identity": value.identity, "session": value.session }))
            } else {
                registered(&engine, &tenant, &value, &flow)
            }
        }
        Submitted::Done { value, .. } => HttpResponse::Ok().json(value),
        Submitted::Invalid(flow) => invalid(&engine, &tenant, &req, FlowKind::Registration, &flow),
    })
}

/// A browser signed in: the session cookie, and on to where the flow was
/// going (or first to the second factor, when signed in below what whoami
/// will ask of this identity).
pub(crate) fn signed_in(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    success: &LoginSuccess,
    flow: &Flow,
) -> HttpResponse {
    let cookie = session_cookie(tenant, &success.session_token, success.session.expires_at);
    let after = engine.after_url(
        tenant,
        FlowKind::Login,
        flow.active.as_deref(),
        flow.return_to.as_deref(),
    );
    let next = if success.step_up_required {
        step_up_url(tenant, &after)
    } else {
        after
    };
    see_other(&next).cookie(cookie).finish()
}

/// A browser registered: the session cookie if one was issued, and on to
/// where the flow was going.
pub(crate) fn registered(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    success: &RegistrationSuccess,
    flow: &Flow,
) -> HttpResponse {
    let mut response = see_other(&engine.after_url(
        tenant,
        FlowKind::Registration,
        flow.active.as_deref(),
        flow.return_to.as_deref(),
    ));
    if let (Some(session), Some(token)) = (&success.session, &success.session_token) {
        response.cookie(session_cookie(tenant, token, session.expires_at));
    }
    response.finish()
}

/// A browser's flow after a change was saved: the settings flow's
/// `return_to`, else the flow's page.
pub(crate) fn shown_after_change(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    kind: FlowKind,
    flow: &Flow,
) -> HttpResponse {
    let url = match (&flow.return_to, kind) {
        (Some(url), FlowKind::Settings) => url.clone(),
        _ => with_flow(&engine.ui_url(tenant, kind), flow.id),
    };
    see_other(&url).finish()
}

/// Settings, recovery and verification answer with the flow itself.
fn flow_answer(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    req: &HttpRequest,
    kind: FlowKind,
    outcome: Submitted<Flow>,
) -> HttpResponse {
    match outcome {
        Submitted::Done { flow, .. } if is_browser(&flow) && !wants_json(req) => {
            shown_after_change(engine, tenant, kind, &flow)
        }
        Submitted::Done { value, .. } => HttpResponse::Ok().json(value),
        Submitted::Invalid(flow) => invalid(engine, tenant, req, kind, &flow),
    }
}

pub async fn submit_settings(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let submission = browser_submission(&req, &tenant, parse_body(&req, &body)?);
    match engine
        .submit_settings(&tenant, flow_id(&query)?, &submission)
        .await
    {
        Ok(outcome) => Ok(flow_answer(
            &engine,
            &tenant,
            &req,
            FlowKind::Settings,
            outcome,
        )),
        Err(err) => failed(&tenant, &req, FlowKind::Settings, err),
    }
}

/// The token of a followed link: the query's (GET), or the body's.
fn link_token(query: &SubmitQuery, body: &Value) -> Option<String> {
    query
        .token
        .clone()
        .or_else(|| body.get("token").and_then(Value::as_str).map(str::to_owned))
}

/// The flow to show after a link was followed.
struct Shown<'a> {
    kind: FlowKind,
    flow: &'a Flow,
    /// The status for clients that asked for JSON.
    json_status: StatusCode,
}

/// Shows a flow to the browser that followed a link: a 303 to the flow's UI
/// page, or the flow as JSON; with the anti-CSRF cookie (the browser may be
/// new to this host) and `cookie` if given.
fn show_flow(
    engine: &IdentityEngine,
    tenant: &TenantCtx,
    req: &HttpRequest,
    client: &Client,
    shown: Shown<'_>,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
) -> HttpResponse {
    let json = wants_json(req);
    let mut response = if json {
        HttpResponse::build(shown.json_status)
    } else {
        see_other(&with_flow(
            &engine.ui_url(tenant, shown.kind),
            shown.flow.id,
        ))
    };
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    set_csrf_cookie(&mut response, tenant, client);
    if json {
        response.json(shown.flow)
    } else {
        response.finish()
    }
}

/// `submitSelfServiceRecoveryFlow`: an email asks for a link; a `token`
/// (the link itself, GET) logs the user in and opens settings.
pub async fn submit_recovery(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = parse_body(&req, &body)?;
    if let Some(token) = link_token(&query, &body) {
        let client = browser_client(&req, &tenant, None);
        return Ok(
            match engine.use_recovery_token(&tenant, &client, &token).await? {
                Recovered::LoggedIn {
                    session_token,
                    session_expires_at,
                    settings,
                } => {
                    let cookie = session_cookie(&tenant, &session_token, session_expires_at);
                    let shown = Shown {
                        kind: FlowKind::Settings,
                        flow: &settings,
                        json_status: StatusCode::OK,
                    };
                    show_flow(&engine, &tenant, &req, &client, shown, Some(cookie))
                }
                // The new flow carries the message (4060006): a flow with
                // its messages is a 400 in the spec (its 410 is the error
                // JSON of an expired flow).
                Recovered::Invalid(flow) => {
                    let shown = Shown {
                        kind: FlowKind::Recovery,
                        flow: &flow,
                        json_status: StatusCode::BAD_REQUEST,
                    };
                    show_flow(&engine, &tenant, &req, &client, shown, None)
                }
            },
        );
    }
    let submission = browser_submission(&req, &tenant, body);
    match engine
        .submit_recovery(&tenant, flow_id(&query)?, &submission)
        .await
    {
        Ok(outcome) => Ok(flow_answer(
            &engine,
            &tenant,
            &req,
            FlowKind::Recovery,
            outcome,
        )),
        Err(err) => failed(&tenant, &req, FlowKind::Recovery, err),
    }
}

/// `submitSelfServiceVerificationFlow`: an email asks for a link; a `token`
/// (the link itself, GET) verifies the address.
pub async fn submit_verification(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = parse_body(&req, &body)?;
    if let Some(token) = link_token(&query, &body) {
        let client = browser_client(&req, &tenant, None);
        let flow = engine
            .use_verification_token(&tenant, &client, query.flow, &token)
            .await?;
        let shown = Shown {
            kind: FlowKind::Verification,
            flow: &flow,
            json_status: StatusCode::OK,
        };
        return Ok(show_flow(&engine, &tenant, &req, &client, shown, None));
    }
    let submission = browser_submission(&req, &tenant, body);
    match engine
        .submit_verification(&tenant, flow_id(&query)?, &submission)
        .await
    {
        Ok(outcome) => Ok(flow_answer(
            &engine,
            &tenant,
            &req,
            FlowKind::Verification,
            outcome,
        )),
        Err(err) => failed(&tenant, &req, FlowKind::Verification, err),
    }
}

#[derive(Debug, Deserialize)]
pub struct ErrorQuery {
    id: String,
}

pub async fn get_self_service_error(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    query: Query<ErrorQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(engine.get_self_service_error(&tenant, &query.id).await?))
}

/// `createSelfServiceLogoutFlowUrlForBrowsers`.
pub async fn logout_url(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    Ok(HttpResponse::Ok().json(engine.logout_url(&tenant, &token).await?))
}

#[derive(Debug, Deserialize)]
pub struct LogoutQuery {
    token: String,
    return_to: Option<String>,
}

/// `submitSelfServiceLogoutFlow`: ends the session of the logout token and
/// removes its cookie.
pub async fn logout(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: Query<LogoutQuery>,
) -> ApiResult<HttpResponse> {
    let return_to =
        match checked_return_to(&engine, &tenant, &req, query.return_to.as_deref()).await {
            Ok(url) => url,
            Err(response) => return Ok(response),
        };
    engine.logout_with_token(&tenant, &query.token).await?;
    let cookie = clear_session_cookie(&tenant);
    if wants_json(&req) {
        return Ok(HttpResponse::NoContent().cookie(cookie).finish());
    }
    let url = return_to.unwrap_or_else(|| engine.after_logout_url(&tenant));
    Ok(see_other(&url).cookie(cookie).finish())
}

pub async fn create_recovery_link(
    engine: web::Data<IdentityEngine>,
    tenant: TenantAdmin,
    body: web::Json<NewRecoveryLink>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(
        engine
            .create_recovery_link(&tenant, body.into_inner())
            .await?,
    ))
}

/// The script WebAuthn forms load (`/.well-known/ory/webauthn.js`).
pub async fn webauthn_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=UTF-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("webauthn.js"))
}

fn routes(cfg: &mut web::ServiceConfig, kind: FlowKind) {
    let name = kind.as_str();
    cfg.service(web::resource(format!("/self-service/{name}/api")).get(
        move |engine, tenant, req, query: Query<InitQuery>| {
            init_api(engine, tenant, req, kind, query.into_inner())
        },
    ))
    .service(web::resource(format!("/self-service/{name}/browser")).get(
        move |engine, tenant, req, query: Query<InitQuery>| {
            init_browser(engine, tenant, req, kind, query.into_inner())
        },
    ))
    .service(web::resource(format!("/self-service/{name}/flows")).get(
        move |engine, tenant, req, query: Query<FlowIdQuery>| {
            get_flow(engine, tenant, req, kind, query.id)
        },
    ));
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    for kind in [
        FlowKind::Login,
        FlowKind::Registration,
        FlowKind::Settings,
        FlowKind::Recovery,
        FlowKind::Verification,
    ] {
        routes(cfg, kind);
    }
    cfg.service(web::resource("/self-service/login").post(submit_login))
        .service(web::resource("/self-service/registration").post(submit_registration))
        .service(web::resource("/self-service/settings").post(submit_settings))
        .service(
            web::resource("/self-service/recovery")
                .get(submit_recovery)
                .post(submit_recovery),
        )
        .service(
            web::resource("/self-service/verification")
                .get(submit_verification)
                .post(submit_verification),
        )
        .service(web::resource("/self-service/errors").get(get_self_service_error))
        .service(web::resource("/self-service/logout/browser").get(logout_url))
        .service(web::resource("/self-service/logout").get(logout))
        .service(web::resource("/.well-known/ory/webauthn.js").get(webauthn_js))
        .service(
            web::resource("/admin/recovery/link")
                .post(create_recovery_link)
                .wrap(from_fn(admin_gate)),
        );
}
