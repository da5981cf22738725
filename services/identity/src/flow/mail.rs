//! The recovery and verification e-mails: rendered from the revision's
//! courier templates (Go template syntax, Kratos' variables) or Kratos'
//! defaults, and queued in the courier outbox inside the caller's
//! transaction, so a mail exists exactly when the token it carries does.

use crate::engine::IdentityEngine;
use base64::Engine as _;
use courier::OutgoingMail;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use sea_orm::ConnectionTrait;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Which message: the flow and whether the address is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTemplate {
    RecoveryValid,
    RecoveryInvalid,
    VerificationValid,
    VerificationInvalid,
}

impl MailTemplate {
    /// The config path segment (`recovery/valid`) and the outbox type.
    fn key(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MailTemplate::RecoveryValid => ("recovery", "valid", "recovery_valid"),
            MailTemplate::RecoveryInvalid => ("recovery", "invalid", "recovery_invalid"),
            MailTemplate::VerificationValid => ("verification", "valid", "verification_valid"),
            MailTemplate::VerificationInvalid => {
                ("verification", "invalid", "verification_invalid")
            }
        }
    }

    /// Kratos' built-in templates: (subject, plaintext, html).
    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            MailTemplate::RecoveryValid => (
                "Recover access to your account",
                "Hi,\n\nplease recover access to your account by clicking the following link:\n\n{{ .RecoveryURL }}\n",
                "Hi,<br><br>please recover access to your account by clicking the following link:<br><br><a href=\"{{ .RecoveryURL }}\">{{ .RecoveryURL }}</a>",
            ),
            MailTemplate::RecoveryInvalid => (
                "Account access attempted",
                "Hi,\n\nyou (or someone else) entered this email address when trying to recover access to an account.\n\nHowever, this email address is not on our database of registered users and therefore the attempt has failed.\n\nIf this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n",
                "Hi,<br><br>you (or someone else) entered this email address when trying to recover access to an account.<br><br>However, this email address is not on our database of registered users and therefore the attempt has failed.<br><br>If this was you, check if you signed up using a different address.<br><br>If this was not you, please ignore this email.",
            ),
            MailTemplate::VerificationValid => (
                "Please verify your email address",
                "Hi, please verify your account by clicking the following link:\n\n{{ .VerificationURL }}\n",
                "Hi, please verify your account by clicking the following link:<br><br><a href=\"{{ .VerificationURL }}\">{{ .VerificationURL }}</a>",
            ),
            MailTemplate::VerificationInvalid => (
                "Someone tried to verify this email address",
                "Hi,\n\nsomeone asked to verify this email address, but we were unable to find an account for this address.\n\nIf this was you, check if you signed up using a different address.\n\nIf this was not you, please ignore this email.\n",
                "Hi,<br><br>someone asked to verify this email address, but we were unable to find an account for this address.<br><br>If this was you, check if you signed up using a different address.<br><br>If this was not you, please ignore this email.",
            ),
        }
    }
}

/// A template from the revision: `base64://…` is decoded, anything else is
/// the template itself. `file://` and remote URLs are refused (a tenant must
/// not read the server's files or make it fetch), so the default is used.
fn configured_template(value: &str) -> Option<String> {
    if let Some(encoded) = value.strip_prefix("base64://") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded.trim()))
            .ok()?;
        return String::from_utf8(bytes).ok();
    }
    if value.starts_with("file://") || value.starts_with("http://") || value.starts_with("https://")
    {
        tracing::warn!(
            "a courier template URL was ignored: only base64:// or inline templates are read"
        );
        return None;
    }
    Some(value.to_owned())
}

fn to_template_value(value: &Value, escape_html: bool) -> gtmpl::Value {
    match value {
        Value::Null => gtmpl::Value::Nil,
        Value::Bool(b) => gtmpl::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => gtmpl::Value::from(i),
            (_, Some(u), _) => gtmpl::Value::from(u),
            (_, _, Some(f)) => gtmpl::Value::from(f),
            _ => gtmpl::Value::Nil,
        },
        Value::String(s) if escape_html => gtmpl::Value::String(html_escape(s)),
        Value::String(s) => gtmpl::Value::String(s.clone()),
        Value::Array(items) => gtmpl::Value::Array(
            items
                .iter()
                .map(|v| to_template_value(v, escape_html))
                .collect(),
        ),
        Value::Object(map) => gtmpl::Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v, escape_html)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// What Go's html/template would do to text in an HTML body.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Whether a tenant's template is safe to hand to `gtmpl`: its parser
/// spins forever on an action left open before the end (`{{ .To `), and
/// self-invoking `define`/`template`/`block` overflow the stack, which
/// aborts the process. So every `{{` must close before the next one opens,
/// and those three keywords are refused.
fn safe_template(template: &str) -> bool {
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return false;
        };
        let action = &after[..close];
        if action.contains("{{") {
            return false;
        }
        let refused = action
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|word| matches!(word, "define" | "template" | "block"));
        if refused {
            return false;
        }
        rest = &after[close + 2..];
    }
    true
}

/// Renders `template` with `model`; a broken tenant template falls back to
/// `fallback` (the mail still goes out) and is logged for the operator.
fn render(template: &str, fallback: &str, model: &Value, escape_html: bool) -> String {
    let context = to_template_value(model, escape_html);
    if !safe_template(template) {
        tracing::warn!(
            "a courier template was refused (unclosed action or template recursion); using the default"
        );
        return gtmpl::template(fallback, context).unwrap_or_default();
    }
    match gtmpl::template(template, context.clone()) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!(%error, "a courier template failed to render; using the default");
            gtmpl::template(fallback, context).unwrap_or_default()
        }
    }
}

/// The rendered message: (subject, plaintext, html).
pub fn render_mail(
    tenant: &TenantCtx,
    template: MailTemplate,
    model: &Value,
) -> (String, String, String) {
    let (flow, validity, _) = template.key();
    let (subject, plaintext, html) = template.defaults();
    let configured = |part: &str| {
        tenant
            .config
            .identity_config
            .mail_template(flow, validity, part)
            .and_then(configured_template)
    };
    let pick = |part: &str, default: &str, escape: bool| {
        let chosen = configured(part).unwrap_or_else(|| default.to_owned());
        render(&chosen, default, model, escape)
    };
    (
        pick("subject", subject, false).trim().to_owned(),
        pick("body.plaintext", plaintext, false),
        pick("body.html", html, true),
    )
}

/// The template model: `To`, and the URL and `Identity` of valid messages.
pub fn model(to: &str, url: Option<(&str, &str)>, identity: Option<Value>) -> Value {
    let mut model = Map::new();
    model.insert("To".into(), Value::String(to.to_owned()));
    if let Some((name, url)) = url {
        model.insert(name.into(), Value::String(url.to_owned()));
    }
    if let Some(identity) = identity {
        model.insert("Identity".into(), identity);
    }
    Value::Object(model)
}

impl IdentityEngine {
    /// Queues `template` to `to` inside `conn`'s transaction; call
    /// [`IdentityEngine::wake_courier`] after the commit.
    pub(crate) async fn queue_mail<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &TenantCtx,
        template: MailTemplate,
        to: &str,
        model: &Value,
        secrets: &[&str],
    ) -> Result<()> {
        let (subject, body, html) = render_mail(tenant, template, model);
        let courier = self
            .courier
            .as_ref()
            .ok_or_else(|| Error::internal("mail cannot be queued: no courier is wired"))?;
        courier
            .enqueue(
                conn,
                &OutgoingMail {
                    nid: tenant.project_id,
                    template_type: template.key().2.to_owned(),
                    recipient: to.to_owned(),
                    subject,
                    body,
                    html_body: Some(html),
                    secrets: secrets.iter().map(|s| (*s).to_owned()).collect(),
                },
            )
            .await?;
        Ok(())
    }

    /// Tells the courier worker new mail is queued.
    pub(crate) fn wake_courier(&self) {
        if let Some(courier) = &self.courier {
            courier.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kratos_variables_render_and_html_is_escaped() {
        let model = model(
            "a@example.com",
            Some(("RecoveryURL", "https://x/r?flow=1&token=2")),
            Some(json!({"traits": {"email": "a@example.com", "name": "<b>Al</b>"}})),
        );
        let text = render(
            "{{ .To }} {{ .RecoveryURL }} {{ .Identity.traits.name }}",
            "",
            &model,
            false,
        );
        assert_eq!(text, "a@example.com https://x/r?flow=1&token=2 <b>Al</b>");
        let html = render("{{ .Identity.traits.name }}", "", &model, true);
        assert_eq!(html, "&lt;b&gt;Al&lt;/b&gt;");
    }

    #[test]
    fn a_broken_template_falls_back_to_the_default() {
        let model = model("a@example.com", None, None);
        assert_eq!(
            render("{{ .To ", "to {{ .To }}", &model, false),
            "to a@example.com"
        );
    }

    #[test]
    fn templates_come_inline_or_as_base64_but_never_from_files() {
        assert_eq!(
            configured_template("Hi {{ .To }}").as_deref(),
            Some("Hi {{ .To }}")
        );
        let encoded = base64::engine::general_purpose::STANDARD.encode("Hello {{ .To }}");
        assert_eq!(
            configured_template(&format!("base64://{encoded}")).as_deref(),
            Some("Hello {{ .To }}")
        );
        assert_eq!(configured_template("file:///etc/passwd"), None);
        assert_eq!(configured_template("https://example.com/t"), None);
    }
}
