//! The revision's hooks around each flow. `before` hooks run when a flow
//! starts; `after` hooks when it completes, taken from the method's list
//! (`after.password.hooks`) or, when that is empty, the flow's
//! (`after.hooks`), as Kratos does.
//!
//! `session`, `revoke_active_sessions` and `require_verified_address` are
//! steps of the flows themselves. A `web_hook` that may fail the flow
//! (`response.ignore` false) runs *before* anything is written, so a
//! refusal leaves no half-made identity or session; an ignored one runs in
//! the background after the commit.

use super::client::RequestInfo;
use super::model::{Flow, FlowKind, UiText, text};
use super::service::flow_config;
use crate::engine::IdentityEngine;
use crate::identity::Identity;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::Value;
use webhook::WebHookContext;

pub const SESSION: &str = "session";
pub const REVOKE_ACTIVE_SESSIONS: &str = "revoke_active_sessions";
pub const REQUIRE_VERIFIED_ADDRESS: &str = "require_verified_address";
pub const WEB_HOOK: &str = "web_hook";

/// The hooks of one point of a flow.
#[derive(Debug, Clone, Default)]
pub struct Hooks(Vec<Value>);

impl Hooks {
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|h| hook_name(h) == Some(name))
    }

    /// Whether any `web_hook` is configured here (the only hook that needs
    /// more than the flow itself).
    pub fn calls_out(&self) -> bool {
        self.has(WEB_HOOK)
    }

    fn web_hooks(&self, blocking: bool) -> impl Iterator<Item = &Value> {
        self.0
            .iter()
            .filter(|h| hook_name(h) == Some(WEB_HOOK))
            .filter_map(|h| h.get("config"))
            .filter(move |config| {
                let ignored = config
                    .get("response")
                    .and_then(|r| r.get("ignore"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                ignored != blocking
            })
    }
}

fn hook_name(hook: &Value) -> Option<&str> {
    hook.get("hook").and_then(Value::as_str)
}

/// What a web hook of a flow is told about the request. The JSON the
/// template sees is built only when a web hook runs, so flows without one
/// (the usual login) pay nothing for it.
pub struct HookEvent<'a> {
    pub tenant: &'a TenantCtx,
    pub flow: &'a Flow,
    pub identity: Option<&'a Identity>,
    pub request: &'a RequestInfo,
}

impl HookEvent<'_> {
    fn context(&self, engine: &IdentityEngine) -> WebHookContext {
        WebHookContext {
            flow: serde_json::to_value(self.flow).unwrap_or(Value::Null),
            identity: self
                .identity
                .and_then(|i| engine.public_identity(self.tenant, i).ok()),
            request_headers: self.request.headers.clone(),
            request_method: self.request.method.clone(),
            request_url: self.request.url.clone(),
        }
    }
}

impl IdentityEngine {
    pub(crate) fn before_hooks(&self, tenant: &TenantCtx, kind: FlowKind) -> Hooks {
        Hooks(flow_config(tenant, kind).before_hooks.clone())
    }

    pub(crate) fn after_hooks(&self, tenant: &TenantCtx, kind: FlowKind, method: &str) -> Hooks {
        Hooks(flow_config(tenant, kind).after.hooks_for(method).to_vec())
    }

    /// The `before` hooks of a flow being started: a failing blocking web
    /// hook refuses to start it.
    pub(crate) async fn run_before_hooks(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        flow: &Flow,
        request: &RequestInfo,
    ) -> Result<()> {
        let hooks = self.before_hooks(tenant, kind);
        let event = HookEvent {
            tenant,
            flow,
            identity: None,
            request,
        };
        self.run_blocking_web_hooks(&hooks, &event)
            .await
            .map_err(|message| {
                Error::bad_request(message.text).with_id("self_service_flow_hook_failed")
            })?;
        self.fire_ignored_web_hooks(&hooks, &event).await;
        Ok(())
    }

    /// Runs the blocking web hooks around `identity`'s step of `flow`; a
    /// refusal is put on the flow as its message and saved. Whether the
    /// flow was refused.
    pub(crate) async fn refused_by_web_hooks(
        &self,
        tenant: &TenantCtx,
        flow: &mut Flow,
        hooks: &Hooks,
        identity: &Identity,
        request: &RequestInfo,
    ) -> Result<bool> {
        let event = HookEvent {
            tenant,
            flow,
            identity: Some(identity),
            request,
        };
        let Err(message) = self.run_blocking_web_hooks(hooks, &event).await else {
            return Ok(false);
        };
        flow.ui.messages.push(message);
        self.save_flow(tenant, flow).await?;
        Ok(true)
    }

    /// Runs the web hooks that may fail the flow, in order; the first
    /// failure is the UI message the flow is answered with.
    pub(crate) async fn run_blocking_web_hooks(
        &self,
        hooks: &Hooks,
        event: &HookEvent<'_>,
    ) -> Result<(), UiText> {
        let mut ctx = None;
        for config in hooks.web_hooks(true) {
            let ctx = ctx.get_or_insert_with(|| event.context(self));
            if let Err(failure) = self
                .webhooks
                .run(event.tenant.project_id, config, ctx)
                .await
            {
                tracing::info!(%failure, "a web hook failed the flow");
                return Err(UiText::error(
                    text::HOOK_FAILED,
                    format!("The request could not be completed: {failure}"),
                    None,
                ));
            }
        }
        Ok(())
    }

    /// Starts the web hooks whose answer is ignored (they run in the
    /// background; call after the flow's commit).
    pub(crate) async fn fire_ignored_web_hooks(&self, hooks: &Hooks, event: &HookEvent<'_>) {
        let mut ctx = None;
        for config in hooks.web_hooks(false) {
            let ctx = ctx.get_or_insert_with(|| event.context(self));
            if let Err(failure) = self
                .webhooks
                .run(event.tenant.project_id, config, ctx)
                .await
            {
                tracing::info!(%failure, "an ignored web hook could not be started");
            }
        }
    }
}
