//! The login methods, one module each, behind one seam (as Kratos'
//! `selfservice/flow/*/strategy.go`): a method puts its nodes on the flows
//! it takes part in, and on a submission naming it either authenticates,
//! registers or changes settings, or puts its messages on the flow. The
//! flow services (`flow::login`, `flow::registration`, `flow::settings`)
//! loop over the enabled methods and own everything around them: the
//! anti-CSRF check, hooks, sessions and the answer to browsers and API
//! clients.
//!
//! Adding a method: a module here implementing [`Strategy`] for the roles
//! it has, and one line in [`ALL`].

pub mod link;
pub mod lookup_secret;
pub mod oidc;
pub mod password;
pub mod profile;
pub mod qr;
pub mod totp;
pub mod webauthn;

use crate::engine::IdentityEngine;
use crate::flow::client::Submission;
use crate::flow::model::{Flow, UiNode};
use crate::identity::Identity;
use crate::session::model::Session;
use async_trait::async_trait;
use kernel::Result;
use kernel::identity_config::{Aal, IdentityConfig};
use kernel::tenant::TenantCtx;
use serde_json::Value;
use uuid::Uuid;

/// Every method, in the order their nodes appear on a form.
pub const ALL: &[&dyn Strategy] = &[
    &link::Link,
    &profile::Profile,
    &password::Password,
    &totp::Totp,
    &lookup_secret::LookupSecret,
    &webauthn::WebAuthn,
    &oidc::Oidc,
];

/// The methods the tenant's config turns on.
pub fn enabled(config: &IdentityConfig) -> impl Iterator<Item = &'static dyn Strategy> + '_ {
    ALL.iter().copied().filter(|s| s.enabled(config))
}

/// The enabled method called `id`.
pub fn find(config: &IdentityConfig, id: &str) -> Option<&'static dyn Strategy> {
    enabled(config).find(|s| s.id() == id)
}

/// What a method sees of the flow it populates or judges.
pub struct Context<'a> {
    pub engine: &'a IdentityEngine,
    pub tenant: &'a TenantCtx,
    pub submission: Option<&'a Submission>,
}

impl Context<'_> {
    pub fn config(&self) -> &IdentityConfig {
        &self.tenant.config.identity_config
    }

    /// The submission's body (empty when populating).
    pub fn body(&self) -> &Value {
        static EMPTY: Value = Value::Null;
        self.submission.map_or(&EMPTY, |s| &s.body)
    }
}

/// Who a login flow is for: nobody yet (a first sign-in), or the identity
/// of the current session (a refresh, or a step up to AAL2).
#[derive(Clone, Copy)]
pub struct LoginTarget<'a> {
    pub aal: Aal,
    pub refresh: bool,
    pub identity: Option<&'a Identity>,
}

/// A login a method vouches for.
pub struct Authenticated {
    pub identity: Identity,
    /// The address or name typed in, for `require_verified_address`.
    pub identifier: Option<String>,
}

/// What a method made of a submission.
pub enum Outcome<T> {
    Done(T),
    /// The flow carries the method's messages (a 400 for API clients).
    Invalid,
    /// Nothing saved; the form is built anew (the method keeps state in the
    /// flow, e.g. codes to confirm) and shown again.
    Continue,
    /// Nothing saved; the method changed the form itself and it is shown
    /// again as it is.
    Shown,
    /// The browser goes on elsewhere (a sign-in provider): a 303 for
    /// browsers, 422 `browser_location_change_required` for API clients.
    Redirect(String),
}

/// The settings a method is asked to change, and for whom.
pub struct SettingsTarget<'a> {
    pub session: &'a Session,
    pub identity: &'a Identity,
}

/// A login method. Every role has a default that takes no part in it.
#[async_trait]
pub trait Strategy: Send + Sync {
    /// The `method` value and node group (`password`, `totp`, ...).
    fn id(&self) -> &'static str;

    fn enabled(&self, config: &IdentityConfig) -> bool;

    /// The level a login with this method reaches, if it logs in at all:
    /// AAL1 for a first factor, AAL2 for a second.
    fn login_aal(&self, _config: &IdentityConfig) -> Option<Aal> {
        None
    }

    /// Whether `identity` has a credential this method can log in with.
    fn has_credential(&self, _identity: &Identity) -> bool {
        false
    }

    /// How many ways to sign in without another factor `identity` has
    /// with this method (a password, each linked provider, each passkey).
    fn first_factors(&self, _config: &IdentityConfig, _identity: &Identity) -> usize {
        0
    }

    /// Adds the login nodes for `target` (only called when the method's
    /// `login_aal` is the one asked for).
    fn populate_login(
        &self,
        _ctx: &Context<'_>,
        _target: LoginTarget<'_>,
        _flow: &mut Flow,
    ) -> Result<()> {
        Ok(())
    }

    /// Judges a login submission naming this method.
    async fn login(
        &self,
        _ctx: &Context<'_>,
        _target: LoginTarget<'_>,
        _flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        Ok(None)
    }

    fn populate_registration(&self, _ctx: &Context<'_>, _flow: &mut Flow) -> Result<()> {
        Ok(())
    }

    /// Judges a registration submission: the identity to create.
    async fn register(
        &self,
        _ctx: &Context<'_>,
        _flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        Ok(None)
    }

    /// Adds the settings nodes for `identity` (may keep state in the
    /// flow's internal context, e.g. a TOTP secret not yet confirmed).
    fn populate_settings(
        &self,
        _ctx: &Context<'_>,
        _identity: &Identity,
        _flow: &mut Flow,
    ) -> Result<()> {
        Ok(())
    }

    /// Judges a settings submission: the identity as changed.
    async fn settings(
        &self,
        _ctx: &Context<'_>,
        _target: SettingsTarget<'_>,
        _flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        Ok(None)
    }
}

/// The sealing context of an identity's `kind` credential secrets (TOTP
/// seed, WebAuthn records): a sealed value moved to another identity or
/// project does not open there.
pub fn credential_sealing_context(kind: &str, project_id: Uuid, identity_id: Uuid) -> String {
    format!("identity_credentials.{kind}@{project_id}/{identity_id}")
}

/// The project's `secrets.cipher` as a box, which second factors and the
/// secrets a flow keeps for a method are sealed with: the first key seals,
/// every key opens.
pub(crate) fn cipher(tenant: &TenantCtx) -> Result<&kernel::sealed::SecretBox> {
    tenant
        .config
        .identity_config
        .cipher
        .as_deref()
        .ok_or_else(|| {
            kernel::Error::bad_request(
                "This project has no usable `secrets.cipher` (at least 32 characters), which second factors are sealed with.",
            )
        })
}

/// How many ways to sign in without another factor `identity` has with
/// the enabled methods (Kratos' `CountActiveFirstFactorCredentials`): a
/// key, a link or a password is removed only while this stays above one.
pub fn first_factors(config: &IdentityConfig, identity: &Identity) -> usize {
    enabled(config)
        .map(|s| s.first_factors(config, identity))
        .sum()
}

/// The strategies that give a second factor and that `identity` has set up.
pub fn second_factors<'a>(
    config: &'a IdentityConfig,
    identity: &'a Identity,
) -> impl Iterator<Item = &'static dyn Strategy> + 'a {
    enabled(config)
        .filter(move |s| s.login_aal(config) == Some(Aal::Aal2) && s.has_credential(identity))
}

/// The highest level `identity` can reach with the enabled methods.
pub fn highest_available(config: &IdentityConfig, identity: &Identity) -> Aal {
    if second_factors(config, identity).next().is_some() {
        Aal::Aal2
    } else {
        Aal::Aal1
    }
}

/// A boolean field of a submission: JSON `true` or a form's `"true"`.
pub fn flag(body: &Value, name: &str) -> bool {
    match body.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// The method a submission names: its `method`, or `webauthn` for the
/// form Kratos' `webauthn.js` submits itself (no button, so no `method`).
pub fn method_of(body: &Value) -> Option<&str> {
    let named = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    named("method").or_else(|| {
        webauthn::ANSWER_FIELDS
            .iter()
            .any(|f| named(f).is_some())
            .then_some(webauthn::WEBAUTHN)
    })
}

/// Replaces `credential`'s config with `new` only if no other request
/// changed it since it was read (one-time codes, key counters): whether
/// this request won. Of two racing uses of one code, one wins.
pub(crate) async fn swap_credential(
    ctx: &Context<'_>,
    credential: &crate::identity::model::Credential,
    new: &Value,
) -> Result<bool> {
    crate::identity::credential_store::swap_config(
        &ctx.engine.db.conn,
        ctx.tenant.project_id,
        credential.id,
        &credential.config,
        new,
        ctx.engine.clock.now(),
    )
    .await
}

/// The node that confirms a method's form (`method=<id>`).
pub fn submit(group: &str, label: crate::flow::model::UiText) -> UiNode {
    crate::flow::service::method_button(group, group, label)
}

impl IdentityEngine {
    /// Removes a second factor of an identity (an admin resetting a lost
    /// authenticator): `totp`, `lookup_secret` or `webauthn`. 404 when the
    /// identity or that credential does not exist in this project.
    pub async fn delete_second_factor(
        &self,
        tenant: &TenantCtx,
        identity_id: uuid::Uuid,
        kind: &str,
    ) -> Result<()> {
        if !matches!(kind, "totp" | "lookup_secret" | "webauthn") {
            return Err(kernel::Error::bad_request(format!(
                "credentials of type `{kind}` cannot be deleted here: only second factors (totp, lookup_secret, webauthn)"
            )));
        }
        let txn = self.db.begin_write().await?;
        let deleted =
            crate::identity::credential_store::delete(&txn, tenant.project_id, identity_id, kind)
                .await?;
        if !deleted {
            return Err(kernel::Error::not_found(format!(
                "The identity has no `{kind}` credential, or does not exist."
            )));
        }
        let change = store::audit::Change::project(
            tenant.project_id,
            "identity.credential.delete",
            identity_id,
        )
        .with_patch(
            serde_json::json!([{ "op": "remove", "path": format!("/credentials/{kind}") }]),
        );
        store::audit::append(&txn, change, self.clock.now()).await?;
        txn.commit().await.map_err(store::sql::db_error)?;
        self.forget_identity_sessions(tenant, identity_id).await
    }
}
