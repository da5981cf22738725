//! `/ui/{login,registration,settings,recovery,verification}`: each page
//! takes `?flow=<id>`, reads the flow in-process with the browser's
//! cookies, and renders its nodes. Without a flow (or with one that is
//! unknown, expired or not this browser's) it starts a new one through the
//! identity engine's `/self-service/<flow>/browser`, keeping `return_to`,
//! `refresh` and `aal`.
//!
//! The forms post straight to the identity engine (the flow's
//! `ui.action`), so the CSRF token is the flow's own node and every check
//! and redirect is the engine's.

use crate::query::PageQuery;
use crate::render::Ui;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use http::tenant::Tenant;
use identity::IdentityEngine;
use identity::flow::model::{Flow, FlowKind};
use identity::session::handler::session_token;
use kernel::ErrorKind;
use serde_json::json;

/// A relative redirect: the browser stays on the host it used (slug host
/// or custom hostname, whatever the port).
pub fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header(("Location", location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// `/self-service/<kind>/browser` with the parameters a new flow keeps.
fn start_flow(kind: FlowKind, query: &PageQuery) -> HttpResponse {
    see_other(format!(
        "/self-service/{}/browser{}",
        kind.as_str(),
        query.flow_parameters()
    ))
}

async fn load(
    engine: &IdentityEngine,
    tenant: &Tenant,
    req: &HttpRequest,
    kind: FlowKind,
    id: uuid::Uuid,
) -> kernel::Result<Flow> {
    match kind {
        FlowKind::Login => engine.get_login_flow(tenant, id).await,
        FlowKind::Registration => engine.get_registration_flow(tenant, id).await,
        FlowKind::Settings => {
            let token = session_token(req, tenant).ok_or_else(|| {
                kernel::Error::new(ErrorKind::Unauthorized).with_reason("no session")
            })?;
            engine.get_settings_flow(tenant, id, &token).await
        }
        FlowKind::Recovery => engine.get_recovery_flow(tenant, id).await,
        FlowKind::Verification => engine.get_verification_flow(tenant, id).await,
    }
}

/// A flow that cannot be shown to this browser is started again; any
/// other failure is a server error shown as such.
fn restarts(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::NotFound | ErrorKind::Gone | ErrorKind::Forbidden | ErrorKind::Unauthorized
    )
}

fn title_key(kind: FlowKind, flow: &Flow) -> &'static str {
    match kind {
        FlowKind::Login if flow.refresh == Some(true) => "ui.title.login_refresh",
        FlowKind::Login => "ui.title.login",
        FlowKind::Registration => "ui.title.registration",
        FlowKind::Settings => "ui.title.settings",
        FlowKind::Recovery => "ui.title.recovery",
        FlowKind::Verification => "ui.title.verification",
    }
}

/// The links under a form, each carrying the flow's `return_to` so the
/// person ends where they were going whichever way they take.
fn links(kind: FlowKind, flow: &Flow) -> Vec<serde_json::Value> {
    let keep = PageQuery::return_to_only(flow.return_to.as_deref());
    let link = |prompt: Option<&str>, text: &str, page: &str| json!({ "prompt": prompt, "text": text, "href": format!("/ui/{page}{keep}") });
    match kind {
        FlowKind::Login => vec![
            link(Some("prompt.no_account"), "link.sign_up", "registration"),
            link(None, "link.forgot", "recovery"),
        ],
        FlowKind::Registration => vec![link(Some("prompt.have_account"), "link.sign_in", "login")],
        // A verified address is done: the way on is home (which asks to
        // sign in when needed).
        FlowKind::Verification if flow.state.as_deref() == Some("passed_challenge") => {
            vec![link(None, "link.welcome", "welcome")]
        }
        FlowKind::Recovery | FlowKind::Verification => {
            vec![link(None, "link.back_to_sign_in", "login")]
        }
        FlowKind::Settings => vec![
            link(None, "link.welcome", "welcome"),
            link(None, "link.sessions", "sessions"),
        ],
    }
}

pub async fn show_flow(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    tenant: Tenant,
    req: HttpRequest,
    kind: FlowKind,
) -> HttpResponse {
    let query = PageQuery::parse(req.query_string());
    let Some(id) = query.flow else {
        return start_flow(kind, &query);
    };
    if kind == FlowKind::Settings && session_token(&req, &tenant).is_none() {
        return start_flow(kind, &query);
    }
    let flow = match load(&engine, &tenant, &req, kind, id).await {
        Ok(flow) => flow,
        Err(err) if restarts(err.kind) => return start_flow(kind, &query),
        Err(err) => return crate::account::failure(&ui, &req, &tenant, err),
    };
    let page = ui.page_ctx(&req, &tenant);
    let form = crate::view::form_view(&page.t, &flow.ui);
    let title = page.t.ui(title_key(kind, &flow), &[]);
    let context = json!({
        "kind": kind.as_str(),
        "form": form,
        "links": links(kind, &flow),
        "state": flow.state,
    });
    ui.render(&page, StatusCode::OK, "flow.html", &title, context)
}
