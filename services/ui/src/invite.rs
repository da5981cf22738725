//! `/ui/invites/{id}?token=`: the page an invite mail links to, on the
//! console project's host only (`console.ui_url` defaults to its `/ui`).
//! A signed-in account sees the invite and accepts or declines it with a
//! plain form; the answer goes through the control plane's invite service
//! (the same checks as `POST /invites/{id}/accept`), reached through the
//! [`ConsoleInvites`] port that `server` wires, because the UI depends on
//! no domain but the identity engine.

use crate::account::failure;
use crate::flows::see_other;
use crate::query::PageQuery;
use crate::render::Ui;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use http::tenant::Tenant;
use identity::IdentityEngine;
use identity::flow::browser::{browser_client, csrf_cookie, set_csrf_cookie};
use identity::session::handler::session_token;
use kernel::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

/// An invite as its invitee sees it.
#[derive(Debug, Clone, Serialize)]
pub struct InviteCard {
    pub project_name: String,
    pub inviter_email: String,
    pub invitee_email: String,
    /// `pending`, `accepted`, `declined`, `expired`, `cancelled`, `removed`
    /// (as of now).
    pub status: String,
    pub expires_at: DateTime<Utc>,
}

/// What the invite page needs of the control plane. Every call takes the
/// browser's console session and is checked by the control plane exactly
/// as the API's calls are: only the invitee, with the link's token.
#[async_trait]
pub trait ConsoleInvites: Send + Sync + 'static {
    /// The console project's slug: the one host that serves this page.
    fn console_slug(&self) -> &str;
    /// The invite `id`, for the account of `session`, with the link's token.
    async fn preview(&self, session: &str, id: Uuid, token: &str) -> Result<InviteCard>;
    /// Accepts (or declines) the invite, as `POST /invites/{id}/accept`
    /// (`/decline`) does.
    async fn answer(
        &self,
        session: &str,
        id: Uuid,
        token: &str,
        accept: bool,
    ) -> Result<InviteCard>;
}

/// The port as app data (`server` registers it).
pub type InvitesData = web::Data<Arc<dyn ConsoleInvites>>;

fn page_url(tenant: &Tenant, id: &str, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{}/ui/invites/{id}?token={token}", tenant.public_url)
}

fn sign_in(tenant: &Tenant, id: &str, token: &str) -> HttpResponse {
    let back = page_url(tenant, id, token);
    see_other(format!(
        "/ui/login{}",
        PageQuery::return_to_only(Some(&back))
    ))
}

/// The console's invite page exists on the console's host only.
fn console_only(invites: Option<&InvitesData>, tenant: &Tenant) -> Option<Arc<dyn ConsoleInvites>> {
    invites
        .map(|d| d.get_ref().clone())
        .filter(|i| i.console_slug() == tenant.slug)
}

fn not_found() -> Error {
    Error::not_found("there is no such page")
}

/// The account pages of this host, each coming back here.
fn account_links(back: &str) -> Vec<Value> {
    let keep = PageQuery::return_to_only(Some(back));
    vec![
        json!({ "text": "link.sign_up", "href": format!("/ui/registration{keep}") }),
        json!({ "text": "link.sign_in", "href": format!("/ui/login{keep}") }),
        json!({ "text": "link.forgot", "href": format!("/ui/recovery{keep}") }),
        json!({ "text": "link.settings", "href": "/ui/settings" }),
    ]
}

/// What one rendering of the page shows.
#[derive(Default)]
struct Shown {
    card: Option<InviteCard>,
    /// A notice: (`success` or `error`, text).
    notice: Option<(&'static str, String)>,
    /// The accept/decline form's CSRF token (no form without one).
    csrf_token: Option<String>,
    logout_url: Option<String>,
}

/// The page's request: which invite, with which link token.
struct Link<'a> {
    tenant: &'a Tenant,
    id: &'a str,
    token: &'a str,
}

impl Link<'_> {
    fn url(&self) -> String {
        page_url(self.tenant, self.id, self.token)
    }
}

fn render(
    ui: &Ui,
    req: &HttpRequest,
    link: &Link<'_>,
    status: StatusCode,
    shown: Shown,
) -> HttpResponse {
    let page = ui.page_ctx(req, link.tenant);
    let title = page.t.ui("ui.title.invite", &[]);
    let invite = shown.card.as_ref().map(|c| {
        json!({
            "project_name": c.project_name,
            "inviter_email": c.inviter_email,
            "invitee_email": c.invitee_email,
            "status": page.t.ui(&format!("ui.invite.status.{}", c.status), &[]),
            "expires_at": c.expires_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
    });
    let lead = shown.card.as_ref().map(|c| {
        page.t.ui(
            "ui.invite.lead",
            &[("inviter", &c.inviter_email), ("project", &c.project_name)],
        )
    });
    let context = json!({
        "invite": invite,
        "lead": lead,
        "notice": shown.notice.map(|(kind, key)| json!({ "kind": kind, "text": page.t.ui(&key, &[]) })),
        "csrf_token": shown.csrf_token,
        "token": link.token,
        "action": format!("/ui/invites/{}", link.id),
        "logout_url": shown.logout_url,
        "links": account_links(&link.url()),
    });
    ui.render(&page, status, "invite.html", &title, context)
}

/// The notice key and status for an invite that can no longer be
/// answered: the status answering it would get from the API.
fn closed(card: &InviteCard) -> (StatusCode, &'static str) {
    match card.status.as_str() {
        "expired" => (StatusCode::GONE, "ui.invite.expired"),
        "accepted" => (StatusCode::CONFLICT, "ui.invite.already_accepted"),
        _ => (StatusCode::CONFLICT, "ui.invite.used"),
    }
}

/// A refusal by the control plane: an unknown session signs in again; an
/// account other than the invitee's gets a page saying so with a
/// sign-out button; anything else is the error page with its status.
async fn refused(
    ui: &Ui,
    engine: &IdentityEngine,
    req: &HttpRequest,
    link: &Link<'_>,
    session: &str,
    err: Error,
) -> HttpResponse {
    if err.kind == ErrorKind::Unauthorized {
        return sign_in(link.tenant, link.id, link.token);
    }
    if err.id.as_deref() == Some("invite_for_someone_else") {
        let logout_url = engine
            .logout_url(link.tenant, session)
            .await
            .ok()
            .map(|l| format!("/self-service/logout?token={}", l.logout_token));
        let shown = Shown {
            notice: Some(("error", "ui.invite.someone_else".to_owned())),
            logout_url,
            ..Shown::default()
        };
        return render(ui, req, link, StatusCode::FORBIDDEN, shown);
    }
    failure(ui, req, link.tenant, err)
}

/// Adds the anti-CSRF cookie a page's form is checked against when the
/// browser has none yet.
fn with_csrf_cookie(
    mut response: HttpResponse,
    req: &HttpRequest,
    tenant: &Tenant,
    client: &identity::flow::client::Client,
) -> HttpResponse {
    if csrf_cookie(req, tenant).is_none() {
        let mut builder = HttpResponse::build(response.status());
        set_csrf_cookie(&mut builder, tenant, client);
        for cookie in builder.finish().cookies() {
            let _ = response.add_cookie(&cookie);
        }
    }
    response
}

/// `GET /ui/invites/{id}?token=`.
pub async fn show_invite(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    invites: Option<InvitesData>,
    tenant: Tenant,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let Some(invites) = console_only(invites.as_ref(), &tenant) else {
        return failure(&ui, &req, &tenant, not_found());
    };
    let Ok(id) = Uuid::parse_str(&path) else {
        return failure(&ui, &req, &tenant, not_found());
    };
    let token = PageQuery::parse(req.query_string())
        .token
        .unwrap_or_default();
    let link = Link {
        tenant: &tenant,
        id: &path,
        token: &token,
    };
    let Some(session) = session_token(&req, &tenant) else {
        return sign_in(&tenant, &path, &token);
    };
    let card = match invites.preview(&session, id, &token).await {
        Ok(card) => card,
        Err(err) => return refused(&ui, &engine, &req, &link, &session, err).await,
    };
    if card.status != "pending" {
        let (status, notice) = closed(&card);
        let shown = Shown {
            card: Some(card),
            notice: Some(("error", notice.to_owned())),
            ..Shown::default()
        };
        return render(&ui, &req, &link, status, shown);
    }
    let client = browser_client(&req, &tenant, None);
    let csrf = client.browser.as_ref().map(|b| b.csrf_token.clone());
    let shown = Shown {
        card: Some(card),
        csrf_token: csrf,
        ..Shown::default()
    };
    let response = render(&ui, &req, &link, StatusCode::OK, shown);
    with_csrf_cookie(response, &req, &tenant, &client)
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    csrf_token: String,
    #[serde(default)]
    token: String,
    /// `accept` or `decline`.
    action: String,
}

/// `POST /ui/invites/{id}`: a plain form (works without JavaScript); the
/// anti-CSRF cookie must match the form's token.
pub async fn answer_invite(
    ui: web::Data<Ui>,
    engine: web::Data<IdentityEngine>,
    invites: Option<InvitesData>,
    tenant: Tenant,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AnswerForm>,
) -> HttpResponse {
    let Some(invites) = console_only(invites.as_ref(), &tenant) else {
        return failure(&ui, &req, &tenant, not_found());
    };
    let Ok(id) = Uuid::parse_str(&path) else {
        return failure(&ui, &req, &tenant, not_found());
    };
    let link = Link {
        tenant: &tenant,
        id: &path,
        token: &form.token,
    };
    let Some(session) = session_token(&req, &tenant) else {
        return sign_in(&tenant, &path, &form.token);
    };
    if csrf_cookie(&req, &tenant).as_deref() != Some(form.csrf_token.as_str()) {
        let err = identity::flow::client::csrf_violation(
            "The anti-CSRF cookie is missing or does not match the form; reload the page.",
        );
        return failure(&ui, &req, &tenant, err);
    }
    let accept = match form.action.as_str() {
        "accept" => true,
        "decline" => false,
        _ => {
            let err = Error::bad_request("the form's action must be `accept` or `decline`");
            return failure(&ui, &req, &tenant, err);
        }
    };
    match invites.answer(&session, id, &form.token, accept).await {
        Ok(card) => {
            let notice = if accept {
                "ui.invite.accepted"
            } else {
                "ui.invite.declined"
            };
            let shown = Shown {
                card: Some(card),
                notice: Some(("success", notice.to_owned())),
                ..Shown::default()
            };
            render(&ui, &req, &link, StatusCode::OK, shown)
        }
        Err(err) => refused(&ui, &engine, &req, &link, &session, err).await,
    }
}
