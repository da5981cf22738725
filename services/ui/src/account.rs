//! The pages of a signed-in person and the error page: `/ui/welcome` (who
//! am I, sign out), `/ui/sessions` (list, revoke others) and `/ui/error`.

use crate::flows::see_other;
use crate::query::PageQuery;
use crate::render::Ui;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use http::tenant::Tenant;
use identity::IdentityEngine;
use identity::flow::browser::{browser_client, csrf_cookie, set_csrf_cookie};
use identity::session::handler::session_token;
use identity::session::model::SessionView;
use kernel::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{Value, json};

/// A failure the person cannot fix by starting over: the error page with
/// the public message (the cause is logged by the error type, never shown).
pub fn failure(ui: &Ui, req: &HttpRequest, tenant: &Tenant, err: Error) -> HttpResponse {
    if err.kind == ErrorKind::Internal {
        tracing::error!(error = ?err, "a UI page failed");
    }
    let page = ui.page_ctx(req, tenant);
    let status =
        StatusCode::from_u16(err.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = page.t.ui("ui.title.error", &[]);
    let error = json!({
        "code": status.as_u16(),
        "id": err.id,
        "message": err.message,
        "reason": err.reason,
    });
    ui.render(
        &page,
        status,
        "error.html",
        &title,
        json!({ "error": error }),
    )
}

/// The session token of the browser, or a redirect to sign in (coming back
/// to `page` afterwards).
fn signed_in(req: &HttpRequest, tenant: &Tenant, page: &str) -> Result<String, Box<HttpResponse>> {
    session_token(req, tenant).ok_or_else(|| {
        let back = format!("{}/ui/{page}", tenant.public_url);
        Box::new(see_other(format!(
            "/ui/login{}",
            PageQuery::return_to_only(Some(&back))
        )))
    })
}

/// The session of `token` as the whoami answer shows it; None when it is
/// not (or no longer) valid.
async fn current_session(engine: &IdentityEngine, tenant: &Tenant, token: &str) -> Option<Value> {
    let answer = engine.whoami(tenant, token).await.ok()?;
    serde_json::from_str(&answer.body).ok()
}

/// Trait paths and values for display (`name.first: Ada`).
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, child, out);
            }
        }
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        Value::Null => {}
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// How a person is named on the page: their email, else the first text
/// trait, else the identity id.
fn display_name(identity: &Value) -> String {
    let traits = &identity["traits"];
    if let Some(email) = traits.get("email").and_then(Value::as_str) {
        return email.to_owned();
    }
    let mut fields = Vec::new();
    flatten("", traits, &mut fields);
    fields
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or_else(|| identity["id"].as_str().unwrap_or_default().to_owned())
}

pub async fn welcome(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> HttpResponse {
    let token = match signed_in(&req, &tenant, "welcome") {
        Ok(token) => token,
        Err(redirect) => return *redirect,
    };
    let Some(session) = current_session(&engine, &tenant, &token).await else {
        return see_other("/ui/login".to_owned());
    };
    let logout = match engine.logout_url(&tenant, &token).await {
        Ok(logout) => logout,
        Err(err) => return failure(&ui, &req, &tenant, err),
    };
    let page = ui.page_ctx(&req, &tenant);
    let identity = &session["identity"];
    let mut traits = Vec::new();
    flatten("", &identity["traits"], &mut traits);
    let name = display_name(identity);
    let context = json!({
        "greeting": page.t.ui("ui.welcome.signed_in_as", &[("name", &name)]),
        "traits": traits,
        "addresses": identity["verifiable_addresses"],
        "logout_url": format!("/self-service/logout?token={}", logout.logout_token),
    });
    let title = page.t.ui("ui.title.welcome", &[]);
    ui.render(&page, StatusCode::OK, "welcome.html", &title, context)
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn session_row(session: &SessionView) -> Value {
    let methods: Vec<&str> = session
        .authentication_methods
        .iter()
        .map(|m| m.method.as_str())
        .collect();
    json!({
        "id": session.id,
        "authenticated_at": when(session.authenticated_at),
        "expires_at": when(session.expires_at),
        "methods": methods.join(", "),
    })
}

pub async fn sessions(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> HttpResponse {
    let token = match signed_in(&req, &tenant, "sessions") {
        Ok(token) => token,
        Err(redirect) => return *redirect,
    };
    let Some(current) = current_session(&engine, &tenant, &token).await else {
        return see_other("/ui/login".to_owned());
    };
    // A person with hundreds of sessions sees the newest hundred; "sign
    // out all others" still ends every one.
    let others = match engine.list_my_sessions(&tenant, &token, 0, 100).await {
        Ok((list, _total)) => list,
        Err(err) => return failure(&ui, &req, &tenant, err),
    };
    let page = ui.page_ctx(&req, &tenant);
    // The revoke forms carry the anti-CSRF cookie's token (double submit);
    // a browser without the cookie gets one with this page.
    let client = browser_client(&req, &tenant, None);
    let csrf = client
        .browser
        .as_ref()
        .map(|b| b.csrf_token.clone())
        .unwrap_or_default();
    let query = PageQuery::parse(req.query_string());
    let notice = query.revoked.map(|which| {
        page.t.ui(
            if which == "all" {
                "ui.sessions.revoked_all"
            } else {
                "ui.sessions.revoked"
            },
            &[],
        )
    });
    let parsed: Option<DateTime<Utc>> = current["authenticated_at"]
        .as_str()
        .and_then(|s| s.parse().ok());
    let expires: Option<DateTime<Utc>> =
        current["expires_at"].as_str().and_then(|s| s.parse().ok());
    let current_methods: Vec<&str> = current["authentication_methods"]
        .as_array()
        .map(|list| list.iter().filter_map(|m| m["method"].as_str()).collect())
        .unwrap_or_default();
    let context = json!({
        "current": {
            "id": current["id"],
            "authenticated_at": parsed.map(when),
            "expires_at": expires.map(when),
            "methods": current_methods.join(", "),
        },
        "others": others.iter().map(session_row).collect::<Vec<_>>(),
        "csrf_token": csrf,
        "notice": notice,
    });
    let title = page.t.ui("ui.title.sessions", &[]);
    let mut response = ui.render(&page, StatusCode::OK, "sessions.html", &title, context);
    if csrf_cookie(&req, &tenant).is_none() {
        let mut builder = HttpResponse::build(response.status());
        set_csrf_cookie(&mut builder, &tenant, &client);
        for cookie in builder.finish().cookies() {
            let _ = response.add_cookie(&cookie);
        }
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    csrf_token: String,
    /// One session, or none for "all other sessions".
    session_id: Option<uuid::Uuid>,
}

/// `POST /ui/sessions/revoke`: a plain form, so it works without
/// JavaScript; the anti-CSRF cookie must match the form's token.
pub async fn revoke(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    form: web::Form<RevokeForm>,
) -> HttpResponse {
    let token = match signed_in(&req, &tenant, "sessions") {
        Ok(token) => token,
        Err(redirect) => return *redirect,
    };
    if csrf_cookie(&req, &tenant).as_deref() != Some(form.csrf_token.as_str()) {
        let err = identity::flow::client::csrf_violation(
            "The anti-CSRF cookie is missing or does not match the form; reload the page.",
        );
        return failure(&ui, &req, &tenant, err);
    }
    let outcome = match form.session_id {
        Some(id) => engine
            .revoke_my_session(&tenant, &token, id)
            .await
            .map(|_| "one"),
        None => engine
            .revoke_my_other_sessions(&tenant, &token)
            .await
            .map(|_| "all"),
    };
    match outcome {
        Ok(which) => see_other(format!("/ui/sessions?revoked={which}")),
        Err(err) => failure(&ui, &req, &tenant, err),
    }
}

/// `/ui/error?id=`: the error the identity engine stored for a browser.
pub async fn error_page(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
) -> HttpResponse {
    let page = ui.page_ctx(&req, &tenant);
    let title = page.t.ui("ui.title.error", &[]);
    let query = PageQuery::parse(req.query_string());
    let stored = match &query.id {
        Some(id) => engine.get_self_service_error(&tenant, id).await.ok(),
        None => None,
    };
    let (status, error) = match stored {
        Some(stored) => (StatusCode::OK, stored["error"].clone()),
        None => (
            StatusCode::NOT_FOUND,
            json!({ "message": page.t.ui("ui.error.unknown", &[]) }),
        ),
    };
    ui.render(
        &page,
        status,
        "error.html",
        &title,
        json!({ "error": error }),
    )
}
