//! Rendering: the compiled-in templates (HTML auto-escaped), the page
//! chrome every page shares (language, branding, texts), and the security
//! headers of every page.

use crate::branding::Branding;
use crate::i18n::{Catalogues, Translator, choose_language};
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::Engine as _;
use kernel::tenant::TenantCtx;
use minijinja::Environment;
use minijinja::value::{Serde, Value as TemplateValue};
use rand::RngCore;
use serde_json::{Map, Value, json};

/// The templates, by name; `.html` names are auto-escaped.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("nodes.html", include_str!("../templates/nodes.html")),
    ("flow.html", include_str!("../templates/flow.html")),
    ("welcome.html", include_str!("../templates/welcome.html")),
    ("sessions.html", include_str!("../templates/sessions.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("invite.html", include_str!("../templates/invite.html")),
];

/// Built once per worker: the template environment and the catalogues.
pub struct Ui {
    templates: Environment<'static>,
    pub catalogues: Catalogues,
}

impl Default for Ui {
    fn default() -> Self {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            // A template that does not parse is a build mistake, caught by
            // the unit test below; the page using it then answers 500.
            if let Err(err) = templates.add_template(name, source) {
                tracing::error!(template = name, error = %err, "a UI template does not parse");
            }
        }
        Self {
            templates,
            catalogues: Catalogues::default(),
        }
    }
}

/// What one request's page is rendered in: its language and the project's
/// branding.
pub struct PageCtx<'a> {
    pub t: Translator<'a>,
    pub branding: Branding,
    nonce: String,
    tenant_urls: Vec<String>,
}

impl Ui {
    pub fn page_ctx(&self, req: &HttpRequest, tenant: &TenantCtx) -> PageCtx<'_> {
        let branding = Branding::of(tenant);
        let accept = req
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let language = choose_language(accept, branding.default_locale.as_deref());
        let mut nonce = [0u8; 18];
        rand::rng().fill_bytes(&mut nonce);
        PageCtx {
            t: self.catalogues.translator(language),
            branding,
            nonce: base64::engine::general_purpose::STANDARD.encode(nonce),
            tenant_urls: form_targets(tenant),
        }
    }

    /// Renders `template` with `context` (an object) plus the chrome, as a
    /// response with `status` and the security headers.
    pub fn render(
        &self,
        page: &PageCtx<'_>,
        status: StatusCode,
        template: &str,
        title: &str,
        context: Value,
    ) -> HttpResponse {
        let mut context = match context {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        context.insert("title".into(), json!(title));
        context.insert("lang".into(), json!(page.t.language));
        context.insert("nonce".into(), json!(page.nonce));
        context.insert("brand".into(), json!(page.branding));
        context.insert("t".into(), Value::Object(page.t.ui_texts()));
        let html = self
            .templates
            .get_template(template)
            .and_then(|tpl| tpl.render(TemplateValue::from(Serde(&Value::Object(context)))));
        match html {
            Ok(html) => {
                let mut response = HttpResponse::build(status);
                secure_headers(&mut response, &page.nonce, &page.tenant_urls);
                response
                    .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
                    .body(html)
            }
            Err(err) => {
                tracing::error!(template, error = %err, "a UI page failed to render");
                HttpResponse::InternalServerError()
                    .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
                    .body("The page could not be rendered.")
            }
        }
    }
}

/// Origins a form of this UI may be sent to or redirected to afterwards:
/// the project's own URL and every URL its self-service config names (UI
/// pages and return URLs), because `form-action` also governs the
/// redirect that follows a submission.
fn form_targets(tenant: &TenantCtx) -> Vec<String> {
    let mut origins = vec![tenant.public_url.clone()];
    fn collect(value: &Value, key: &str, origins: &mut Vec<String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| collect(v, k, origins)),
            Value::Array(items) => items.iter().for_each(|v| collect(v, key, origins)),
            Value::String(s) if key.ends_with("url") || key.ends_with("urls") => {
                origins.push(s.clone())
            }
            _ => {}
        }
    }
    if let Some(selfservice) = tenant.config.identity.get("selfservice") {
        collect(selfservice, "", &mut origins);
    }
    let mut out: Vec<String> = origins
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The headers every UI page carries: a strict CSP (scripts only with this
/// response's nonce, no framing), no referrer, no caching of pages that
/// hold CSRF tokens and personal data.
fn secure_headers(response: &mut HttpResponseBuilder, nonce: &str, form_targets: &[String]) {
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' https: data:; connect-src 'self'; form-action 'self' {}; \
         frame-ancestors 'none'; base-uri 'none'",
        form_targets.join(" ")
    );
    response
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((CACHE_CONTROL, "no-store"));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
