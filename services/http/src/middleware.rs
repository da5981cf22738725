//! The request-context middleware, wrapped around every app:
//!
//! - keeps an incoming `X-Request-Id` (when it is a sane token) or makes one,
//!   echoes it, and opens the request context (`kernel::request`: the id
//!   for error bodies, the client address and the caller for the audit log);
//! - opens a `tracing` span per request;
//! - records Prometheus request counts and latency per route pattern;
//! - turns any error response that is not JSON (actix's own 404/405/413
//!   pages, an empty 405 from a resource) into Ory's error JSON, so no
//!   client ever sees an HTML or empty error.

use crate::error::{ApiError, kind_for_status};
use crate::metrics::Metrics;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError, web};
use kernel::Error;
use std::time::Instant;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub use kernel::request::current_request_id;

/// `serve.trusted_proxies`, as app data: the client address the request
/// context records is read through them.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<std::net::IpAddr>);

/// The request id, also stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a caller's id only if it is short and printable, so it cannot
/// inject into logs or headers.
fn accept_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    kernel::request::is_sane_request_id(s).then(|| s.to_owned())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(accept_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let trusted = req.app_data::<web::Data<TrustedProxies>>();
    let client_ip = crate::client_ip::client_ip(
        req.peer_addr().map(|a| a.ip()),
        req.headers(),
        trusted.map(|t| t.0.as_slice()).unwrap_or_default(),
    );
    let context = kernel::request::RequestContext::new(request_id.clone(), client_ip);
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
        host = tracing::field::Empty,
        tenant = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    if let Some(host) = req.headers().get("host").and_then(|h| h.to_str().ok()) {
        span.record("host", host);
    }

    let span_for_body = span.clone();
    let fut = async move {
        // Never clone the request before this call: actix needs to be its
        // only owner to record the matched route.
        let mut req = req;
        let finding = match crate::input::guard(&mut req) {
            Ok(finding) => finding,
            Err(err) => {
                let res = ApiError(err).error_response();
                return Ok(req.into_response(res).map_into_right_body());
            }
        };
        let res = next.call(req).await?;
        let status = res.status();
        // A NUL in the body failed its read: whichever extractor read it,
        // the answer is the guard's 400 naming the field.
        if (status.is_client_error() || status.is_server_error())
            && let Some(err) = finding.and_then(|f| f.take())
        {
            let (req, _) = res.into_parts();
            let res = ApiError(err).error_response();
            return Ok(ServiceResponse::new(req, res).map_into_right_body());
        }
        // Errors rendered on purpose (Ory JSON, or a hosted UI page) stay;
        // bare statuses from actix or a middleware become Ory JSON.
        let rendered = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
        if (status.is_client_error() || status.is_server_error()) && !rendered {
            let (req, _) = res.into_parts();
            Ok(ServiceResponse::new(req, json_error_response(status)).map_into_right_body())
        } else {
            Ok(res.map_into_left_body())
        }
    };
    let result: Result<ServiceResponse<EitherBody<_>>, actix_web::Error> =
        kernel::request::scope(context, fut)
            .instrument(span_for_body)
            .await;
    let mut res = result?;

    let status = res.status();
    span.record("status", status.as_u16());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    if let Some(metrics) = metrics {
        // The route pattern (not the raw path) keeps label cardinality bounded.
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        metrics.observe(
            res.request().method().as_str(),
            &route,
            status.as_u16(),
            started.elapsed(),
        );
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request served"
        );
    });
    Ok(res)
}

/// Ory's error JSON for a bare status raised by actix or a middleware.
fn json_error_response(status: StatusCode) -> HttpResponse {
    let mut res = ApiError(Error::new(kind_for_status(status))).error_response();
    *res.status_mut() = status;
    res
}

/// The app-level fallback for unknown routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError(Error::not_found(
        "no route matches this method and path",
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sanitized() {
        let ok = HeaderValue::from_static("abc-123_X.y:z");
        assert_eq!(accept_request_id(&ok).as_deref(), Some("abc-123_X.y:z"));
        let bad = HeaderValue::from_static("abc def");
        assert!(accept_request_id(&bad).is_none());
        let long = HeaderValue::from_str(&"a".repeat(200)).ok();
        assert!(long.and_then(|v| accept_request_id(&v)).is_none());
    }
}
