//! The WebAuthn method (security keys, passkeys), as Kratos v0.10's: keys
//! are added and removed in settings; with `passwordless` off a key is a
//! second factor (AAL2), with it on a first factor: login in two steps
//! (the identifier, then the key's assertion) and registration with traits
//! and a key, no password. Every challenge is answered once; the verifier
//! records are stored sealed with the project's `secrets.cipher`
//! (`credentials.rs`).

mod ceremony;
mod credentials;
mod enroll;
mod login;
mod settings;

use crate::flow::model::{Flow, UiText};
use crate::identity::Identity;
use crate::identity::model::Credential;
use async_trait::async_trait;
use ceremony::text;
use credentials::{StoredKey, WebAuthnConfig};
use kernel::Result;
use kernel::identity_config::{Aal, IdentityConfig};
use kernel::tenant::TenantCtx;
use serde_json::json;
use uuid::Uuid;

use super::{Authenticated, Context, LoginTarget, Outcome, SettingsTarget, Strategy};

pub struct WebAuthn;

pub const WEBAUTHN: &str = "webauthn";

/// The fields only this method's forms submit: Kratos' script submits the
/// form itself, without a `method` button.
pub const ANSWER_FIELDS: &[&str] = &["webauthn_login", "webauthn_register", "webauthn_remove"];

/// The sealing context of an identity's keys: a record moved to another
/// identity or project does not open there.
fn credential_context(tenant: &TenantCtx, identity_id: Uuid) -> String {
    super::credential_sealing_context(WEBAUTHN, tenant.project_id, identity_id)
}

fn passwordless(config: &IdentityConfig) -> bool {
    config.methods.webauthn.passwordless
}

/// The identity's `webauthn` credential and its keys.
fn stored(identity: &Identity) -> Option<(&Credential, WebAuthnConfig)> {
    let credential = identity.credential(WEBAUTHN)?;
    let config = WebAuthnConfig::parse(&credential.config).ok()?;
    Some((credential, config))
}

/// The keys that log in as a first factor (`passwordless`) or a second.
fn keys(identity: &Identity, passwordless: bool) -> Vec<StoredKey> {
    stored(identity)
        .map(|(_, config)| config.credentials)
        .unwrap_or_default()
        .into_iter()
        .filter(|k| k.is_passwordless == passwordless)
        .collect()
}

fn error(id: u64, message: impl Into<String>) -> UiText {
    UiText::error(id, message, None)
}

fn wrong_answer() -> UiText {
    error(
        text::WRONG,
        "The provided authentication code is invalid, please try again.",
    )
}

fn remove_label(key: &StoredKey) -> UiText {
    let name = if key.display_name.is_empty() {
        "unnamed"
    } else {
        key.display_name.as_str()
    };
    UiText {
        id: text::REMOVE_KEY,
        text: format!("Remove security key \"{name}\""),
        kind: "info".to_owned(),
        context: Some(json!({ "display_name": name, "added_at": key.added_at })),
    }
}

#[async_trait]
impl Strategy for WebAuthn {
    fn id(&self) -> &'static str {
        WEBAUTHN
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.webauthn.enabled
    }

    fn login_aal(&self, config: &IdentityConfig) -> Option<Aal> {
        Some(if passwordless(config) {
            Aal::Aal1
        } else {
            Aal::Aal2
        })
    }

    /// Keys that are a second factor (passwordless keys are a first).
    fn has_credential(&self, identity: &Identity) -> bool {
        !keys(identity, false).is_empty()
    }

    /// Passkeys, when passwordless sign-in is on.
    fn first_factors(&self, config: &IdentityConfig, identity: &Identity) -> usize {
        if passwordless(config) {
            keys(identity, true).len()
        } else {
            0
        }
    }

    fn populate_login(
        &self,
        ctx: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<()> {
        login::populate(ctx, target, flow)
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        login::login(ctx, target, flow).await.map(Some)
    }

    fn populate_registration(&self, ctx: &Context<'_>, flow: &mut Flow) -> Result<()> {
        enroll::populate_registration(ctx, flow)
    }

    async fn register(
        &self,
        ctx: &Context<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        if !passwordless(ctx.config()) {
            return Ok(None);
        }
        enroll::register(ctx, flow).map(Some)
    }

    fn populate_settings(
        &self,
        ctx: &Context<'_>,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        settings::populate(ctx, identity, flow)
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        settings::settings(ctx, target, flow).await.map(Some)
    }
}
