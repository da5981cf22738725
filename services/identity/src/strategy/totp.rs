//! The TOTP method (RFC 6238, SHA-1, 6 digits, 30 s steps, as
//! authenticator apps expect): linked in settings by scanning a QR code and
//! confirming a first code, then a second factor at login. Codes are
//! accepted one step either side of now, each step once. The secret is
//! stored sealed with the project's `secrets.cipher`.

use super::{
    Authenticated, Context, LoginTarget, Outcome, SettingsTarget, Strategy, cipher, flag, submit,
};
use crate::flow::model::{Flow, UiNode, UiText, text};
use crate::flow::service::field;
use crate::flow::settings::{is_privileged, refresh_required};
use crate::identity::model::Credential;
use crate::identity::{Identity, credential_store, store as identities};
use async_trait::async_trait;
use base64::Engine;
use kernel::identity_config::{Aal, IdentityConfig};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::{Value, json};
use store::sql;
use uuid::Uuid;

pub struct Totp;

pub const TOTP: &str = "totp";

/// The sealing context of an identity's TOTP secret: a sealed secret moved
/// to another identity or project does not open there.
fn credential_context(tenant: &TenantCtx, identity_id: Uuid) -> String {
    super::credential_sealing_context(TOTP, tenant.project_id, identity_id)
}

/// The sealing context of a secret offered in a settings flow.
fn flow_context(tenant: &TenantCtx, flow_id: Uuid) -> String {
    format!("selfservice_flows.totp@{}/{flow_id}", tenant.project_id)
}

fn parse(url: &str) -> Result<totp_rs::Totp> {
    totp_rs::Totp::from_url(url).map_err(|e| Error::internal(format!("stored TOTP URL: {e}")))
}

/// The name an authenticator app lists the account under (no `:`, which
/// separates issuer and account in the URL).
fn account_name(identity: &Identity) -> String {
    identity
        .credentials
        .iter()
        .flat_map(|c| c.identifiers.iter())
        .next()
        .cloned()
        .unwrap_or_else(|| identity.id.to_string())
        .replace(':', " ")
}

/// The step a code matches, one step either side of `now`, if it comes
/// after `last_used` (each step is accepted once).
fn matching_step(
    totp: &totp_rs::Totp,
    code: &str,
    now: u64,
    last_used: Option<u64>,
) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let step = totp.check(&code, now)?;
    match last_used {
        Some(used) if step <= used => None,
        _ => Some(step),
    }
}

fn wrong_code() -> UiText {
    UiText::error(
        text::TOTP_WRONG,
        "The provided authentication code is invalid, please try again.",
        None,
    )
}

fn code_node(label: UiText) -> UiNode {
    let mut node = UiNode::input(TOTP, "totp_code", "text", None, true, Some(label));
    node.attributes["autocomplete"] = json!("one-time-code");
    node
}

#[async_trait]
impl Strategy for Totp {
    fn id(&self) -> &'static str {
        TOTP
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.totp.enabled
    }

    fn login_aal(&self, _config: &IdentityConfig) -> Option<Aal> {
        Some(Aal::Aal2)
    }

    fn has_credential(&self, identity: &Identity) -> bool {
        identity.credential(TOTP).is_some()
    }

    fn populate_login(
        &self,
        _: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<()> {
        if target.identity.is_some_and(|i| self.has_credential(i)) {
            flow.ui.nodes.extend([
                code_node(UiText::info(text::LABEL_TOTP_CODE, "Authentication code")),
                submit(TOTP, UiText::info(text::USE_TOTP, "Use Authenticator")),
            ]);
        }
        Ok(())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        let Some(identity) = target.identity else {
            return Ok(None);
        };
        let Some(credential) = identity.credential(TOTP) else {
            flow.ui.messages.push(UiText::error(
                text::NO_TOTP_DEVICE,
                "You have no TOTP device set up.",
                None,
            ));
            return Ok(Some(Outcome::Invalid));
        };
        let code = field(ctx.body(), "totp_code").unwrap_or("");
        if code.is_empty() {
            flow.ui
                .node_error("totp_code", UiText::missing("totp_code"));
            return Ok(Some(Outcome::Invalid));
        }
        let sealed = credential.config["totp_url"].as_str().unwrap_or("");
        let url = cipher(ctx.tenant)?
            .open(&credential_context(ctx.tenant, identity.id), sealed)
            .map_err(|e| Error::internal(format!("the TOTP secret does not open: {e}")))?;
        let totp = parse(&url)?;
        let now = u64::try_from(ctx.engine.clock.now().timestamp()).unwrap_or(0);
        let last_used = credential.config["last_used_step"].as_u64();
        let Some(step) = matching_step(&totp, code, now, last_used) else {
            flow.ui.node_error("totp_code", wrong_code());
            return Ok(Some(Outcome::Invalid));
        };
        // The step is recorded only if no other request used a code since
        // this one read the credential: of two racing uses, one wins.
        let mut used = credential.config.clone();
        used["last_used_step"] = json!(step);
        if !super::swap_credential(ctx, credential, &used).await? {
            flow.ui.node_error("totp_code", wrong_code());
            return Ok(Some(Outcome::Invalid));
        }
        Ok(Some(Outcome::Done(Authenticated {
            identity: identity.clone(),
            identifier: None,
        })))
    }

    fn populate_settings(
        &self,
        ctx: &Context<'_>,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        if self.has_credential(identity) {
            let mut unlink = UiNode::input(
                TOTP,
                "totp_unlink",
                "submit",
                Some(json!("true")),
                false,
                Some(UiText::info(
                    text::UNLINK_TOTP,
                    "Unlink TOTP Authenticator App",
                )),
            );
            unlink.attributes["formnovalidate"] = json!(true);
            flow.ui.nodes.push(unlink);
            return Ok(());
        }
        let Ok(cipher) = cipher(ctx.tenant) else {
            // Nothing could be stored: offer nothing rather than a secret
            // that cannot be kept.
            return Ok(());
        };
        let issuer = ctx
            .config()
            .methods
            .totp
            .issuer
            .clone()
            .unwrap_or_else(|| ctx.tenant.name.clone())
            .replace(':', " ");
        let totp = totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::generate())
            .with_account_name(account_name(identity))
            .with_issuer(Some(issuer))
            .build()
            .map_err(|e| Error::internal(format!("building a TOTP secret: {e}")))?;
        let url = totp
            .to_url()
            .map_err(|e| Error::internal(format!("TOTP URL: {e}")))?;
        let secret = totp.secret().to_base32();
        flow.internal["totp_url"] = json!(cipher.seal(&flow_context(ctx.tenant, flow.id), &url));
        let png = super::qr::png(&url)?;
        flow.ui.nodes.extend([
            UiNode {
                kind: "img".to_owned(),
                group: TOTP.to_owned(),
                attributes: json!({
                    "id": "totp_qr",
                    "src": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
                    "width": 256,
                    "height": 256,
                    "node_type": "img",
                    "nodetype": "img",
                }),
                messages: Vec::new(),
                meta: json!({ "label": UiText::info(text::TOTP_QR, "Authenticator app QR code") }),
            },
            UiNode {
                kind: "text".to_owned(),
                group: TOTP.to_owned(),
                attributes: json!({
                    "id": "totp_secret_key",
                    "text": UiText {
                        id: text::TOTP_SECRET,
                        text: secret.clone(),
                        kind: "info".to_owned(),
                        context: Some(json!({ "secret": secret })),
                    },
                    "node_type": "text",
                    "nodetype": "text",
                }),
                messages: Vec::new(),
                meta: json!({ "label": UiText::info(text::TOTP_SECRET_LABEL, "This is your authenticator app secret. Use it if you can not scan the QR code.") }),
            },
            code_node(UiText::info(text::LABEL_VERIFY_OTP, "Verify code")),
            submit(TOTP, UiText::info(text::LABEL_SAVE, "Save")),
        ]);
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let (engine, tenant, identity) = (ctx.engine, ctx.tenant, target.identity);
        if !is_privileged(engine, tenant, target.session) {
            return Err(refresh_required());
        }
        if flag(ctx.body(), "totp_unlink") {
            let txn = engine.db.begin_write().await?;
            credential_store::delete(&txn, tenant.project_id, identity.id, TOTP).await?;
            txn.commit().await.map_err(sql::db_error)?;
            return Ok(Some(Outcome::Done(
                engine.get_identity(tenant, identity.id).await?,
            )));
        }
        if self.has_credential(identity) {
            return Err(Error::bad_request(
                "An authenticator app is linked already: unlink it before linking another.",
            ));
        }
        let Some(sealed) = flow.internal["totp_url"].as_str().map(str::to_owned) else {
            return Err(Error::bad_request(
                "This settings flow offers no TOTP secret: start a new one.",
            ));
        };
        let cipher = cipher(tenant)?;
        let url = cipher
            .open(&flow_context(tenant, flow.id), &sealed)
            .map_err(|e| Error::internal(format!("the offered TOTP secret does not open: {e}")))?;
        let totp = parse(&url)?;
        let code = field(ctx.body(), "totp_code").unwrap_or("");
        if code.is_empty() {
            flow.ui
                .node_error("totp_code", UiText::missing("totp_code"));
            return Ok(Some(Outcome::Invalid));
        }
        let now = engine.clock.now();
        let unix = u64::try_from(now.timestamp()).unwrap_or(0);
        let Some(step) = matching_step(&totp, code, unix, None) else {
            flow.ui.node_error("totp_code", wrong_code());
            return Ok(Some(Outcome::Invalid));
        };
        let credential = Credential {
            id: Uuid::new_v4(),
            kind: TOTP.to_owned(),
            identifiers: vec![identity.id.to_string()],
            config: json!({
                "totp_url": cipher.seal(&credential_context(tenant, identity.id), &url),
                // The confirming code is spent: it cannot log in next.
                "last_used_step": step,
            }),
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let txn = engine.db.begin_write().await?;
        identities::insert_credential(&txn, tenant.project_id, identity.id, &credential).await?;
        txn.commit().await.map_err(sql::db_error)?;
        flow.internal = Value::Null;
        Ok(Some(Outcome::Done(
            engine.get_identity(tenant, identity.id).await?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp() -> totp_rs::Totp {
        totp_rs::Builder::new()
            .with_secret(totp_rs::Secret::generate())
            .with_account_name("a@example.com")
            .with_issuer(Some("Test"))
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_each_step_once() {
        let totp = totp();
        let now: u64 = 1_800_000_000;
        for offset in [-30i64, 0, 30] {
            let at = now.checked_add_signed(offset).unwrap_or(now);
            let code = totp.generate(at).to_string();
            assert!(
                matching_step(&totp, &code, now, None).is_some(),
                "offset {offset}"
            );
        }
        let stale = totp.generate(now - 90).to_string();
        assert_eq!(matching_step(&totp, &stale, now, None), None);
        let code = totp.generate(now).to_string();
        let step = matching_step(&totp, &code, now, None);
        assert_eq!(
            matching_step(&totp, &code, now, step),
            None,
            "a used step again"
        );
        let earlier = totp.generate(now - 30).to_string();
        assert_eq!(
            matching_step(&totp, &earlier, now, step),
            None,
            "an older step"
        );
    }
}
