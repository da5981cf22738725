//! Who starts or submits a flow, as the engine sees it: an API client or a
//! browser (with its anti-CSRF token and where to send it afterwards), plus
//! the request facts web hooks receive. Built by the HTTP handlers.

use super::model::{Flow, FlowKind};
use super::service::{config, flow_config};
use crate::engine::IdentityEngine;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub const API: &str = "api";
pub const BROWSER: &str = "browser";

/// The request a flow was started or submitted with.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The full URL on the tenant's public host.
    pub url: String,
    pub method: String,
    /// Request headers, lower-case names; secrets (cookies, authorization)
    /// are left out before they could reach a web hook.
    pub headers: BTreeMap<String, Vec<String>>,
    /// The client's address (behind trusted proxies, the one they name);
    /// failed logins are counted per address.
    pub client_ip: Option<std::net::IpAddr>,
}

/// The browser side of a flow.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The anti-CSRF token of the browser's cookie (new or existing).
    pub csrf_token: String,
    /// Where to send the browser after the flow, already checked.
    pub return_to: Option<String>,
}

/// Who starts a flow.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub request: RequestInfo,
    /// `None` for API clients.
    pub browser: Option<Browser>,
    /// The session token or cookie the request carried, if any.
    pub session_token: Option<String>,
}

/// A submission of a flow's form.
#[derive(Debug, Clone)]
pub struct Submission {
    pub body: Value,
    pub request: RequestInfo,
    /// The anti-CSRF cookie the request carried, if any.
    pub csrf_cookie: Option<String>,
    /// `X-CSRF-Token`, which SPAs may send instead of the `csrf_token` field.
    pub csrf_header: Option<String>,
    pub session_token: Option<String>,
    /// Sent as an HTML form: every value is a string, typed by the
    /// identity schema before validation (as Kratos' form decoder does).
    pub from_form: bool,
}

impl Submission {
    pub fn api(body: Value) -> Self {
        Self {
            body,
            request: RequestInfo::default(),
            csrf_cookie: None,
            csrf_header: None,
            session_token: None,
            from_form: false,
        }
    }

    /// The submitted `traits`, typed by `schema` when they came from a form.
    pub fn traits(&self, schema: &crate::schema::CompiledSchema) -> Option<Value> {
        let mut traits = self.body.get("traits").cloned()?;
        if self.from_form {
            schema.type_form_traits(&mut traits);
        }
        Some(traits)
    }
}

/// Kratos' `security_csrf_violation` 403.
pub fn csrf_violation(hint: &str) -> Error {
    Error::forbidden("Please retry the flow and optionally clear your cookies. The request was rejected to protect you from Cross-Site-Request-Forgery (CSRF) which could cause account takeover, leaking personal information, and other serious security issues.")
        .with_id("security_csrf_violation")
        .with_message("the request was rejected to protect you from Cross-Site-Request-Forgery")
        .with_details(json!({
            "docs": "https://www.ory.sh/kratos/docs/debug/csrf",
            "hint": hint,
            "reject_reason": "The HTTP Cookie Header was set and a CSRF token was sent but they do not match. We recommend deleting all cookies for this domain and retrying the flow.",
        }))
}

/// The anti-CSRF token a browser flow was issued with (its hidden node).
pub fn flow_csrf_token(flow: &Flow) -> Option<&str> {
    flow.ui
        .nodes
        .iter()
        .find(|n| n.name() == "csrf_token")
        .and_then(|n| n.attributes.get("value"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
}

/// A browser flow is submitted with the token of its cookie, in the body or
/// the `X-CSRF-Token` header; API flows carry no cookie and are not checked.
pub fn check_csrf(flow: &Flow, submission: &Submission) -> Result<()> {
    if flow.flow_type != BROWSER {
        return Ok(());
    }
    let Some(expected) = flow_csrf_token(flow) else {
        return Err(csrf_violation("The flow has no anti-CSRF token."));
    };
    let Some(cookie) = submission.csrf_cookie.as_deref() else {
        return Err(csrf_violation(
            "No anti-CSRF cookie was found in the request. Is the request sent from the same domain, with cookies?",
        ));
    };
    let sent = submission
        .body
        .get("csrf_token")
        .and_then(Value::as_str)
        .or(submission.csrf_header.as_deref());
    let Some(sent) = sent.filter(|t| !t.is_empty()) else {
        return Err(csrf_violation(
            "The anti-CSRF cookie was found but the CSRF token was not included in the HTTP request body (csrf_token) nor in the HTTP Header (X-CSRF-Token).",
        ));
    };
    if !constant_time_eq(cookie, expected) || !constant_time_eq(sent, expected) {
        return Err(csrf_violation(
            "The anti-CSRF cookie and the CSRF token of the request do not match.",
        ));
    }
    Ok(())
}

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl IdentityEngine {
    /// A flow of `kind` for `client`: a browser flow carries the client's
    /// anti-CSRF token in its `csrf_token` node and its checked `return_to`.
    pub(crate) fn flow_for(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        client: &Client,
        nodes: Vec<super::model::UiNode>,
    ) -> Flow {
        let mut flow = self.new_flow(tenant, kind, client.request.url.clone(), nodes);
        if let Some(browser) = &client.browser {
            flow.flow_type = BROWSER.to_owned();
            flow.return_to = browser.return_to.clone();
            flow.ui
                .set_value("csrf_token", Value::String(browser.csrf_token.clone()));
        }
        flow
    }

    /// Where a browser goes after `kind` completed with `method`: the flow's
    /// `return_to`, else the method's, the flow's, then the global default.
    pub fn after_url(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        method: Option<&str>,
        return_to: Option<&str>,
    ) -> String {
        if let Some(url) = return_to {
            return url.to_owned();
        }
        flow_config(tenant, kind)
            .after
            .return_url_for(method)
            .or(config(tenant).default_browser_return_url.as_deref())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}/", tenant.public_url))
    }

    /// The UI URL of `kind` (where browsers are sent with `?flow=`).
    pub fn ui_url(&self, tenant: &TenantCtx, kind: FlowKind) -> String {
        flow_config(tenant, kind)
            .ui_url
            .clone()
            .unwrap_or_else(|| format!("{}/ui/{}", tenant.public_url, kind.as_str()))
    }

    /// The error UI URL (browsers are sent there with `?id=`).
    pub fn error_ui_url(&self, tenant: &TenantCtx) -> String {
        config(tenant)
            .error_ui_url
            .clone()
            .unwrap_or_else(|| format!("{}/ui/error", tenant.public_url))
    }

    /// Checks `return_to` against `selfservice.allowed_return_urls` (plus the
    /// tenant's own host): same scheme and host (a `*.` host allows every
    /// subdomain), and the allowed path as a prefix.
    pub fn check_return_to(&self, tenant: &TenantCtx, return_to: &str) -> Result<String> {
        let refused = || {
            Error::bad_request(format!(
                "Requested return_to URL \"{return_to}\" is not allowed."
            ))
            .with_id("self_service_flow_return_to_forbidden")
        };
        let base = url::Url::parse(&tenant.public_url).map_err(Error::internal)?;
        let target = base.join(return_to).map_err(|_| refused())?;
        let mut allowed = config(tenant).allowed_return_urls.clone();
        allowed.push(tenant.public_url.clone());
        if allowed.iter().any(|a| return_url_matches(a, &target)) {
            Ok(target.to_string())
        } else {
            Err(refused())
        }
    }
}

/// Whether `target` is under the allowed URL `allowed`.
fn return_url_matches(allowed: &str, target: &url::Url) -> bool {
    // `*` is not a valid host character for the URL parser: swap it for a
    // marker label, then compare by suffix.
    let wildcard = allowed.contains("://*.");
    let parsed = match url::Url::parse(&allowed.replacen("://*.", "://wildcard-marker.", 1)) {
        Ok(url) => url,
        Err(_) => return false,
    };
    if parsed.scheme() != target.scheme()
        || parsed.port_or_known_default() != target.port_or_known_default()
    {
        return false;
    }
    let (Some(host), Some(target_host)) = (parsed.host_str(), target.host_str()) else {
        return false;
    };
    let host_ok = if wildcard {
        let parent = host.trim_start_matches("wildcard-marker.");
        target_host.ends_with(&format!(".{parent}"))
    } else {
        host.eq_ignore_ascii_case(target_host)
    };
    let prefix = parsed.path().trim_end_matches('/');
    host_ok
        && (target.path() == prefix
            || target.path().starts_with(&format!("{prefix}/"))
            || prefix.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(allowed: &str, target: &str) -> bool {
        return_url_matches(
            allowed,
            &url::Url::parse(target).unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn return_urls_match_host_scheme_port_and_path_prefix() {
        assert!(matches(
            "https://app.example.com",
            "https://app.example.com/dashboard"
        ));
        assert!(matches(
            "https://app.example.com/",
            "https://app.example.com/"
        ));
        assert!(!matches(
            "https://app.example.com",
            "http://app.example.com/"
        ));
        assert!(!matches("https://app.example.com", "https://evil.com/"));
        assert!(!matches(
            "https://app.example.com",
            "https://app.example.com.evil.com/"
        ));
        assert!(!matches(
            "https://app.example.com:8443",
            "https://app.example.com/"
        ));
        assert!(matches(
            "https://app.example.com/app",
            "https://app.example.com/app/x"
        ));
        assert!(!matches(
            "https://app.example.com/app",
            "https://app.example.com/apple"
        ));
        assert!(!matches(
            "https://app.example.com/app",
            "https://app.example.com/other"
        ));
    }

    #[test]
    fn wildcard_hosts_allow_subdomains_only() {
        assert!(matches("https://*.example.com", "https://a.example.com/x"));
        assert!(matches("https://*.example.com", "https://a.b.example.com/"));
        assert!(!matches("https://*.example.com", "https://example.com/"));
        assert!(!matches("https://*.example.com", "https://aexample.com/"));
    }
}
