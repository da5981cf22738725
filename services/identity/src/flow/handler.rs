//! `/self-service/{login,registration,settings}` for API clients, and
//! `/self-service/errors`.

use super::model::Flow;
use super::service::Submitted;
use crate::engine::IdentityEngine;
use crate::session::handler::{required_token, session_token};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use http::ApiResult;
use http::tenant::Tenant;
use kernel::Error;
use kernel::tenant::TenantCtx;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Deserialize)]
pub struct FlowIdQuery {
    id: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct SubmitQuery {
    flow: Uuid,
}

#[derive(Debug, Deserialize)]
pub struct LoginInitQuery {
    #[serde(default)]
    refresh: bool,
    aal: Option<String>,
}

fn request_url(tenant: &TenantCtx, req: &HttpRequest) -> String {
    format!("{}{}", tenant.public_url, req.uri())
}

/// A submission as JSON, from a JSON or an HTML-form body (`traits.email=…`
/// becomes `{"traits":{"email":…}}`).
fn submission(req: &HttpRequest, body: &[u8]) -> Result<Value, Error> {
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
    if content_type.is_empty() || content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Error::bad_request(format!("the request body is not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(Error::bad_request("the request body must be a JSON object"));
        }
        return Ok(value);
    }
    Err(Error::new(kernel::ErrorKind::UnsupportedMediaType)
        .with_reason("send `application/json` or `application/x-www-form-urlencoded`"))
}

fn answer<T: serde::Serialize>(outcome: Submitted<T>) -> HttpResponse {
    match outcome {
        Submitted::Done(body) => HttpResponse::Ok().json(body),
        Submitted::Invalid(flow) => HttpResponse::BadRequest().json(flow),
    }
}

fn flow_ok(flow: Flow) -> HttpResponse {
    HttpResponse::Ok().json(flow)
}

pub async fn init_login_api(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: web::Query<LoginInitQuery>,
) -> ApiResult<HttpResponse> {
    let token = session_token(&req, &tenant);
    let query = query.into_inner();
    let flow = engine
        .init_login_api(
            &tenant,
            request_url(&tenant, &req),
            query.refresh,
            query.aal,
            token.as_deref(),
        )
        .await?;
    Ok(flow_ok(flow))
}

pub async fn get_login_flow(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    query: web::Query<FlowIdQuery>,
) -> ApiResult<HttpResponse> {
    Ok(flow_ok(engine.get_login_flow(&tenant, query.id).await?))
}

pub async fn submit_login(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: web::Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = submission(&req, &body)?;
    Ok(answer(
        engine.submit_login(&tenant, query.flow, &body).await?,
    ))
}

pub async fn init_registration_api(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let token = session_token(&req, &tenant);
    let flow = engine
        .init_registration_api(&tenant, request_url(&tenant, &req), token.as_deref())
        .await?;
    Ok(flow_ok(flow))
}

pub async fn get_registration_flow(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    query: web::Query<FlowIdQuery>,
) -> ApiResult<HttpResponse> {
    Ok(flow_ok(
        engine.get_registration_flow(&tenant, query.id).await?,
    ))
}

pub async fn submit_registration(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: web::Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body = submission(&req, &body)?;
    Ok(answer(
        engine
            .submit_registration(&tenant, query.flow, &body)
            .await?,
    ))
}

pub async fn init_settings_api(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    let flow = engine
        .init_settings_api(&tenant, request_url(&tenant, &req), &token)
        .await?;
    Ok(flow_ok(flow))
}

pub async fn get_settings_flow(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: web::Query<FlowIdQuery>,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    Ok(flow_ok(
        engine.get_settings_flow(&tenant, query.id, &token).await?,
    ))
}

pub async fn submit_settings(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    query: web::Query<SubmitQuery>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let token = required_token(&req, &tenant)?;
    let body = submission(&req, &body)?;
    Ok(answer(
        engine
            .submit_settings(&tenant, query.flow, &token, &body)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ErrorQuery {
    id: String,
}

pub async fn get_self_service_error(
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    query: web::Query<ErrorQuery>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(engine.get_self_service_error(&tenant, &query.id).await?))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/self-service/login/api").get(init_login_api))
        .service(web::resource("/self-service/login/flows").get(get_login_flow))
        .service(web::resource("/self-service/login").post(submit_login))
        .service(web::resource("/self-service/registration/api").get(init_registration_api))
        .service(web::resource("/self-service/registration/flows").get(get_registration_flow))
        .service(web::resource("/self-service/registration").post(submit_registration))
        .service(web::resource("/self-service/settings/api").get(init_settings_api))
        .service(web::resource("/self-service/settings/flows").get(get_settings_flow))
        .service(web::resource("/self-service/settings").post(submit_settings))
        .service(web::resource("/self-service/errors").get(get_self_service_error));
}
