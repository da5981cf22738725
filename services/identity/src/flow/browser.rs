//! The HTTP side of browser flows: the anti-CSRF and session cookies, the
//! JSON-or-redirect choice, and turning requests into the engine's
//! [`Client`] and [`Submission`].

use super::client::{Browser, Client, RequestInfo, Submission};
use crate::session::handler::{session_cookie_name, session_token};
use crate::session::service::new_token;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::{DateTime, Utc};
use kernel::tenant::TenantCtx;
use serde_json::Value;
use std::collections::BTreeMap;

/// Headers a web hook never sees: credentials of the user.
const SECRET_HEADERS: &[&str] = &["cookie", "authorization", "x-session-token", "x-csrf-token"];

/// Whether the client wants JSON back rather than a redirect: an SPA or a
/// native app sends `Accept: application/json` (or posts JSON).
pub fn wants_json(req: &HttpRequest) -> bool {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    header(ACCEPT).contains("application/json")
        || header(CONTENT_TYPE).starts_with("application/json")
}

/// The anti-CSRF cookie of a tenant (one per project, like the session's).
pub fn csrf_cookie_name(tenant: &TenantCtx) -> String {
    format!("csrf_token_{}", tenant.slug.replace('-', ""))
}

pub fn csrf_cookie(req: &HttpRequest, tenant: &TenantCtx) -> Option<String> {
    req.cookie(&csrf_cookie_name(tenant))
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() >= 32)
}

/// On a custom hostname the cookies carry its `cookie_domain`, so the
/// customer's other hosts under it see the session; on the slug host they
/// stay host-only.
fn scope_to_tenant(mut cookie: Cookie<'static>, tenant: &TenantCtx) -> Cookie<'static> {
    if let Some(domain) = &tenant.cookie_domain {
        cookie.set_domain(domain.clone());
    }
    cookie
}

fn secure(tenant: &TenantCtx) -> bool {
    tenant.public_url.starts_with("https://")
}

fn same_site(configured: Option<&str>) -> SameSite {
    match configured {
        Some("Strict") => SameSite::Strict,
        Some("None") => SameSite::None,
        _ => SameSite::Lax,
    }
}

/// The request facts a web hook may see.
pub fn request_info(req: &HttpRequest, tenant: &TenantCtx) -> RequestInfo {
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in req.headers() {
        let name = name.as_str().to_ascii_lowercase();
        if SECRET_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.entry(name).or_default().push(value.to_owned());
        }
    }
    RequestInfo {
        url: format!("{}{}", tenant.public_url, req.uri()),
        method: req.method().to_string(),
        headers,
        client_ip: http::client_ip::ClientIp::of(req),
    }
}

/// An API client (no cookies are used to start its flows).
pub fn api_client(req: &HttpRequest, tenant: &TenantCtx) -> Client {
    Client {
        request: request_info(req, tenant),
        browser: None,
        session_token: session_token(req, tenant),
    }
}

/// A browser: its anti-CSRF token (the cookie's, or a new one to set) and
/// the already checked `return_to`.
pub fn browser_client(req: &HttpRequest, tenant: &TenantCtx, return_to: Option<String>) -> Client {
    Client {
        request: request_info(req, tenant),
        browser: Some(Browser {
            csrf_token: csrf_cookie(req, tenant).unwrap_or_else(new_token),
            return_to,
        }),
        session_token: session_token(req, tenant),
    }
}

pub fn submission(req: &HttpRequest, tenant: &TenantCtx, body: Value) -> Submission {
    Submission {
        body,
        request: request_info(req, tenant),
        csrf_cookie: csrf_cookie(req, tenant),
        csrf_header: req
            .headers()
            .get("X-CSRF-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        session_token: session_token(req, tenant),
        from_form: req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded")),
    }
}

/// Sets (or refreshes) the browser's anti-CSRF cookie on `response`.
pub fn set_csrf_cookie(response: &mut HttpResponseBuilder, tenant: &TenantCtx, client: &Client) {
    if let Some(browser) = &client.browser {
        response.cookie(scope_to_tenant(
            Cookie::build(csrf_cookie_name(tenant), browser.csrf_token.clone())
                .path("/")
                .http_only(true)
                .secure(secure(tenant))
                .same_site(same_site(
                    tenant.config.identity_config.cookies_same_site.as_deref(),
                ))
                .max_age(CookieDuration::days(365))
                .finish(),
            tenant,
        ));
    }
}

/// The session cookie: host-only on the project's host (a custom
/// hostname's `cookie_domain` there), SameSite and
/// persistence from the revision (`session.cookie.*`).
pub fn session_cookie(
    tenant: &TenantCtx,
    token: &str,
    expires_at: DateTime<Utc>,
) -> Cookie<'static> {
    let persistent = tenant.config.identity_config.session.cookie_persistent;
    let mut cookie = Cookie::build(session_cookie_name(tenant), token.to_owned())
        .path("/")
        .http_only(true)
        .secure(secure(tenant))
        .same_site(same_site(
            tenant
                .config
                .identity_config
                .session
                .cookie_same_site
                .as_deref(),
        ))
        .finish();
    if persistent {
        let seconds = (expires_at - Utc::now()).num_seconds().max(0);
        cookie.set_max_age(CookieDuration::seconds(seconds));
    }
    scope_to_tenant(cookie, tenant)
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(tenant: &TenantCtx) -> Cookie<'static> {
    let mut cookie = Cookie::build(session_cookie_name(tenant), "")
        .path("/")
        .http_only(true)
        .secure(secure(tenant))
        .finish();
    cookie.make_removal();
    scope_to_tenant(cookie, tenant)
}

/// A 303 to `url`.
pub fn see_other(url: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, url.to_owned()));
    response
}

/// `url` with `?flow=<id>` (or `&flow=` when it has a query already).
pub fn with_flow(url: &str, id: impl std::fmt::Display) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}flow={id}")
}
