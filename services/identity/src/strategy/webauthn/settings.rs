//! Keys in settings: one `webauthn_remove` button per key, and a new key
//! added (a privileged session needed for either, as for TOTP).

use super::ceremony::{self, text};
use super::credentials::{self, WebAuthnConfig};
use super::enroll::{
    display_name, finish, identifiers, member, no_identifier, offer, webauthn_credential,
};
use super::{WEBAUTHN, credential_context, error, remove_label, stored};
use crate::flow::model::{Flow, UiNode, UiText};
use crate::flow::service::field;
use crate::flow::settings::{is_privileged, refresh_required};
use crate::identity::{Identity, credential_store, store as identities};
use crate::strategy::cipher;
use crate::strategy::{Context, Outcome, SettingsTarget};
use kernel::{Error, Result};
use serde_json::json;
use store::sql;

pub fn populate(ctx: &Context<'_>, identity: &Identity, flow: &mut Flow) -> Result<()> {
    if !ceremony::usable(ctx.tenant) {
        return Ok(());
    }
    for key in stored(identity)
        .map(|(_, c)| c.credentials)
        .unwrap_or_default()
    {
        let mut remove = UiNode::input(
            WEBAUTHN,
            "webauthn_remove",
            "submit",
            Some(json!(key.hex_id())),
            false,
            Some(remove_label(&key)),
        );
        remove.attributes["formnovalidate"] = json!(true);
        flow.ui.nodes.push(remove);
    }
    offer(ctx, flow, member(ctx, identity))
}

pub async fn settings(
    ctx: &Context<'_>,
    target: SettingsTarget<'_>,
    flow: &mut Flow,
) -> Result<Outcome<Identity>> {
    if !is_privileged(ctx.engine, ctx.tenant, target.session) {
        return Err(refresh_required());
    }
    let body = ctx.body();
    if let Some(remove) = field(body, "webauthn_remove").filter(|r| !r.is_empty()) {
        return remove_key(ctx, target.identity, flow, remove).await;
    }
    let answer = field(body, "webauthn_register").unwrap_or("");
    if answer.is_empty() {
        flow.ui
            .node_error("webauthn_register", UiText::missing("webauthn_register"));
        return Ok(Outcome::Invalid);
    }
    add_key(ctx, target.identity, flow, answer).await
}

async fn add_key(
    ctx: &Context<'_>,
    identity: &Identity,
    flow: &mut Flow,
    answer: &str,
) -> Result<Outcome<Identity>> {
    let (engine, tenant) = (ctx.engine, ctx.tenant);
    let cipher = cipher(tenant)?;
    let pending = ceremony::take(tenant, cipher, flow)?;
    let verified = finish(ctx, pending, Some(identity.id), answer)?;
    offer(ctx, flow, member(ctx, identity))?;
    let verified = match verified {
        Ok(verified) => verified,
        Err(message) => {
            flow.ui.node_error("webauthn_register", message);
            return Ok(Outcome::Invalid);
        }
    };
    let (schema, _) = engine.schema(tenant, &identity.schema_id)?;
    let ids = identifiers(&schema, &identity.traits);
    if verified.passwordless && ids.is_empty() {
        flow.ui.messages.push(no_identifier());
        return Ok(Outcome::Invalid);
    }
    let now = engine.clock.now();
    let key = credentials::new_key(
        cipher,
        &credential_context(tenant, identity.id),
        &verified.response,
        &verified.record,
        &display_name(ctx),
        verified.passwordless,
        now,
    );
    match stored(identity) {
        Some((credential, mut config)) => {
            if config.credentials.iter().any(|k| k.id == key.id) {
                flow.ui.node_error(
                    "webauthn_register",
                    error(text::INVALID, "This security key is set up already."),
                );
                return Ok(Outcome::Invalid);
            }
            config.credentials.push(key);
            let swapped =
                super::super::swap_credential(ctx, credential, &config.to_value()?).await?;
            if !swapped {
                return Err(Error::conflict(
                    "The security keys of this account changed meanwhile: try again.",
                ));
            }
        }
        None => {
            let config = WebAuthnConfig {
                credentials: vec![key],
                user_handle: verified.user_handle.as_bytes().to_vec(),
            };
            let credential = webauthn_credential(ids, &config, now)?;
            let txn = engine.db.begin_write().await?;
            identities::insert_credential(&txn, tenant.project_id, identity.id, &credential)
                .await?;
            txn.commit().await.map_err(sql::db_error)?;
        }
    }
    Ok(Outcome::Done(
        engine.get_identity(tenant, identity.id).await?,
    ))
}

async fn remove_key(
    ctx: &Context<'_>,
    identity: &Identity,
    flow: &mut Flow,
    remove: &str,
) -> Result<Outcome<Identity>> {
    let (engine, tenant) = (ctx.engine, ctx.tenant);
    let found = stored(identity).and_then(|(credential, config)| {
        let index = config
            .credentials
            .iter()
            .position(|k| k.hex_id().eq_ignore_ascii_case(remove))?;
        Some((credential, config, index))
    });
    let Some((credential, mut config, index)) = found else {
        flow.ui.node_error(
            "webauthn_remove",
            error(
                text::INVALID,
                "You tried to remove a WebAuthn credential which does not exist.",
            ),
        );
        return Ok(Outcome::Invalid);
    };
    if config.credentials[index].is_passwordless
        && crate::strategy::first_factors(ctx.config(), identity) < 2
    {
        flow.ui.node_error(
            "webauthn_remove",
            error(
                text::INVALID,
                "unable to remove this security key because it would lock you out of your account",
            ),
        );
        return Ok(Outcome::Invalid);
    }
    config.credentials.remove(index);
    if config.credentials.is_empty() {
        let txn = engine.db.begin_write().await?;
        credential_store::delete(&txn, tenant.project_id, identity.id, WEBAUTHN).await?;
        txn.commit().await.map_err(sql::db_error)?;
    } else if !super::super::swap_credential(ctx, credential, &config.to_value()?).await? {
        return Err(Error::conflict(
            "The security keys of this account changed meanwhile: try again.",
        ));
    }
    Ok(Outcome::Done(
        engine.get_identity(tenant, identity.id).await?,
    ))
}
