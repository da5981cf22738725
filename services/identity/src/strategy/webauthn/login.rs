//! Logging in with a key: as a second factor, the session's identity
//! answers a challenge over its keys; passwordless, in two steps as Kratos
//! does: the identifier first (an unknown one and one without keys are
//! answered alike), then the challenge over that identity's keys.

use super::ceremony::{self, Ceremony, Pending, text};
use super::{WEBAUTHN, credential_context, error, keys, passwordless, stored, wrong_answer};
use crate::flow::model::{Flow, UiNode, UiText, text as flow_text};
use crate::flow::service::{field, method_button};
use crate::identity::{Identity, IdentityState, store as identities};
use crate::schema::normalize_identifier;
use crate::strategy::cipher;
use crate::strategy::{Authenticated, Context, LoginTarget, Outcome};
use kernel::Result;
use rand::Rng;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

fn continue_label() -> UiText {
    UiText::info(text::CONTINUE, "Continue")
}

fn use_key_label() -> UiText {
    UiText::info(text::USE_SECURITY_KEY, "Use security key")
}

/// The identifier a login with `identity`'s keys goes by.
fn identifier_of(identity: &Identity) -> String {
    identity
        .credential(WEBAUTHN)
        .and_then(|c| c.identifiers.first().cloned())
        .unwrap_or_default()
}

fn hidden_identifier(flow: &mut Flow, value: &str) {
    flow.ui.nodes.retain(|n| n.name() != "identifier");
    flow.ui.nodes.push(UiNode::input(
        "default",
        "identifier",
        "hidden",
        Some(json!(value)),
        true,
        None,
    ));
}

/// Offers a challenge over `identity`'s keys (passwordless or second
/// factor, as configured), replacing any offered before; false (and the
/// form untouched) when it has no such key.
fn offer(ctx: &Context<'_>, flow: &mut Flow, identity: &Identity, label: UiText) -> Result<bool> {
    let tenant = ctx.tenant;
    let first_factor = passwordless(ctx.config());
    let keys = keys(identity, first_factor);
    if keys.is_empty() {
        return Ok(false);
    }
    let cipher = cipher(tenant)?;
    let rp = ceremony::relying_party(tenant)?;
    let context = credential_context(tenant, identity.id);
    let (options, ceremony) = if first_factor {
        let passkeys = keys
            .iter()
            .map(|k| k.passkey(cipher, &context))
            .collect::<Result<Vec<_>>>()?;
        let (options, state) = rp
            .start_passkey_authentication(&passkeys)
            .map_err(ceremony::start_failed)?;
        (
            ceremony::to_json(&options)?,
            Ceremony::PasskeyAuthentication(state),
        )
    } else {
        let security_keys = keys
            .iter()
            .map(|k| k.security_key(cipher, &context))
            .collect::<Result<Vec<_>>>()?;
        let (options, state) = rp
            .start_securitykey_authentication(&security_keys)
            .map_err(ceremony::start_failed)?;
        (
            ceremony::to_json(&options)?,
            Ceremony::SecurityKeyAuthentication(state),
        )
    };
    let pending = Pending {
        ceremony,
        identity_id: Some(identity.id),
        user_handle: None,
    };
    ceremony::keep(tenant, cipher, flow, &pending)?;
    ceremony::clear_nodes(flow);
    hidden_identifier(flow, &identifier_of(identity));
    flow.ui.nodes.extend([
        ceremony::script_node(tenant),
        ceremony::trigger(
            "webauthn_login_trigger",
            "__oryWebAuthnLogin",
            &options,
            label,
        )?,
        ceremony::answer("webauthn_login"),
    ]);
    Ok(true)
}

pub fn populate(ctx: &Context<'_>, target: LoginTarget<'_>, flow: &mut Flow) -> Result<()> {
    if !ceremony::usable(ctx.tenant) {
        return Ok(());
    }
    if !passwordless(ctx.config()) {
        if let Some(identity) = target.identity {
            offer(ctx, flow, identity, use_key_label())?;
        }
        return Ok(());
    }
    // Re-authenticating the signed-in identity: straight to its keys.
    if let Some(identity) = target.identity.filter(|_| target.refresh)
        && offer(ctx, flow, identity, continue_label())?
    {
        return Ok(());
    }
    if !flow.ui.nodes.iter().any(|n| n.name() == "identifier") {
        flow.ui.nodes.push(UiNode::input(
            "default",
            "identifier",
            "text",
            Some(json!("")),
            true,
            Some(UiText::info(flow_text::LABEL_ID, "ID")),
        ));
    }
    flow.ui.nodes.push(method_button(
        WEBAUTHN,
        WEBAUTHN,
        UiText::info(text::LOGIN_PASSWORDLESS, "Sign in with security key"),
    ));
    Ok(())
}

/// Passwordless, first step: the identity of the identifier, if it has
/// keys, is offered a challenge.
async fn identify(
    ctx: &Context<'_>,
    target: LoginTarget<'_>,
    flow: &mut Flow,
) -> Result<Outcome<Authenticated>> {
    let (engine, tenant) = (ctx.engine, ctx.tenant);
    let identifier = field(ctx.body(), "identifier")
        .unwrap_or("")
        .trim()
        .to_owned();
    flow.ui.set_value("identifier", json!(identifier));
    if identifier.is_empty() {
        flow.ui
            .node_error("identifier", UiText::missing("identifier"));
        return Ok(Outcome::Invalid);
    }
    // Every answer of this step waits alike, so its timing does not tell
    // accounts with keys from others.
    let wait = rand::rng().random_range(50..150);
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    let conn = &engine.db.conn;
    let normalized = normalize_identifier(&identifier);
    let found =
        match identities::find_id_by_identifier(conn, tenant.project_id, WEBAUTHN, &normalized)
            .await?
        {
            Some(id) => identities::find(conn, tenant.project_id, id).await?,
            None => None,
        }
        .filter(|i| i.state == IdentityState::Active)
        .filter(|i| target.identity.is_none_or(|current| current.id == i.id))
        .filter(|i| !keys(i, true).is_empty());
    let Some(identity) = found else {
        flow.ui.messages.push(error(
            text::NO_ACCOUNT,
            "This account does not exist or has no security key set up.",
        ));
        return Ok(Outcome::Invalid);
    };
    flow.ui.nodes.retain(|n| n.name() == "csrf_token");
    offer(ctx, flow, &identity, continue_label())?;
    flow.ui.set_value("identifier", json!(identifier));
    flow.ui.messages.push(UiText::info(
        text::PREPARE_DEVICE,
        "Prepare your WebAuthn device (e.g. security key, biometrics scanner, ...) and press continue.",
    ));
    Ok(Outcome::Shown)
}

/// The identity the pending challenge was offered to, if it may log in
/// here: the session's own for a second factor or a refresh.
async fn whose(
    ctx: &Context<'_>,
    target: LoginTarget<'_>,
    pending: &Pending,
) -> Result<Option<Identity>> {
    let Some(id) = pending.identity_id else {
        return Ok(None);
    };
    if let Some(current) = target.identity {
        return Ok((current.id == id).then(|| current.clone()));
    }
    if !passwordless(ctx.config()) {
        return Ok(None);
    }
    Ok(
        identities::find(&ctx.engine.db.conn, ctx.tenant.project_id, id)
            .await?
            .filter(|i| i.state == IdentityState::Active),
    )
}

/// Checks `answer` against the pending challenge and the stored key, and
/// records the key's new counter; the message to show when it fails.
async fn verify(
    ctx: &Context<'_>,
    identity: &Identity,
    pending: &Pending,
    answer: &str,
) -> Result<std::result::Result<(), UiText>> {
    let tenant = ctx.tenant;
    let first_factor = passwordless(ctx.config());
    let response: PublicKeyCredential = match serde_json::from_str(answer) {
        Ok(response) => response,
        Err(e) => return Ok(Err(ceremony::not_json(&e))),
    };
    let rp = ceremony::relying_party(tenant)?;
    let result = match (&pending.ceremony, first_factor) {
        (Ceremony::PasskeyAuthentication(state), true) => {
            rp.finish_passkey_authentication(&response, state)
        }
        (Ceremony::SecurityKeyAuthentication(state), false) => {
            rp.finish_securitykey_authentication(&response, state)
        }
        _ => return Ok(Err(wrong_answer())),
    };
    let result = match result {
        Ok(result) => result,
        Err(e) => {
            tracing::debug!(error = %e, "a WebAuthn assertion was refused");
            return Ok(Err(wrong_answer()));
        }
    };
    let Some((credential, mut config)) = stored(identity) else {
        return Ok(Err(error(
            text::NO_DEVICE,
            "You have no WebAuthn device set up.",
        )));
    };
    let Some(key) = config
        .credentials
        .iter_mut()
        .find(|k| k.id == *result.cred_id() && k.is_passwordless == first_factor)
    else {
        return Ok(Err(wrong_answer()));
    };
    // The verifier compares the counter with the one of the challenge's
    // time; a login since then moved the stored one on. A counter that
    // does not move on (for a key that keeps one) is a replay or a clone.
    let before = key.authenticator.sign_count;
    if (before > 0 || result.counter() > 0) && result.counter() <= before {
        return Ok(Err(wrong_answer()));
    }
    let cipher = cipher(tenant)?;
    key.apply(cipher, &credential_context(tenant, identity.id), &result)?;
    // Only if no other login changed the keys meanwhile (the record is
    // sealed anew each time, so every login changes them): of two uses of
    // one answer, one wins.
    let swapped = super::super::swap_credential(ctx, credential, &config.to_value()?).await?;
    Ok(if swapped { Ok(()) } else { Err(wrong_answer()) })
}

pub async fn login(
    ctx: &Context<'_>,
    target: LoginTarget<'_>,
    flow: &mut Flow,
) -> Result<Outcome<Authenticated>> {
    let first_factor = passwordless(ctx.config());
    let answer = field(ctx.body(), "webauthn_login").unwrap_or("");
    if answer.is_empty() {
        if first_factor {
            return identify(ctx, target, flow).await;
        }
        flow.ui
            .node_error("webauthn_login", UiText::missing("webauthn_login"));
        return Ok(Outcome::Invalid);
    }
    let cipher = cipher(ctx.tenant)?;
    let pending = ceremony::take(ctx.tenant, cipher, flow)?;
    let identity = match &pending {
        Some(pending) => whose(ctx, target, pending).await?,
        None => None,
    };
    let (Some(pending), Some(identity)) = (pending, identity) else {
        flow.ui.messages.push(error(
            text::INVALID,
            "No security key challenge of this account is pending in this flow: start again.",
        ));
        return Ok(Outcome::Invalid);
    };
    let label = if first_factor {
        continue_label()
    } else {
        use_key_label()
    };
    let verdict = verify(ctx, &identity, &pending, answer).await?;
    // Each challenge is answered once: a new one, whatever the verdict,
    // kept before the answer counts.
    offer(ctx, flow, &identity, label)?;
    if let Err(message) = verdict {
        flow.ui.node_error("webauthn_login", message);
        return Ok(Outcome::Invalid);
    }
    ctx.engine.save_flow(ctx.tenant, flow).await?;
    let posted = field(ctx.body(), "identifier").map(normalize_identifier);
    let identifier = match identity.credential(WEBAUTHN) {
        Some(c) if first_factor => posted
            .filter(|p| c.identifiers.contains(p))
            .or_else(|| c.identifiers.first().cloned()),
        _ => None,
    };
    Ok(Outcome::Done(Authenticated {
        identity,
        identifier,
    }))
}
