//! Adding keys: with a new identity at registration (passwordless only,
//! traits and a key, no password), and to one's own account in settings
//! (`settings.rs`, where keys are also removed): the registration options
//! offered, and the answer checked.

use super::ceremony::{self, Ceremony, Pending, text};
use super::credentials::{self, WebAuthnConfig};
use super::{WEBAUTHN, credential_context, error, passwordless, stored};
use crate::flow::model::{Flow, UiNode, UiText};
use crate::flow::registration::has_errors;
use crate::flow::service::{field, trait_errors_to_ui, trait_nodes};
use crate::identity::model::Credential;
use crate::identity::service::IdentityDraft;
use crate::identity::{Identity, IdentityState};
use crate::schema::CompiledSchema;
use crate::strategy::cipher;
use crate::strategy::{Context, Outcome};
use kernel::Result;
use serde_json::{Value, json};
use uuid::Uuid;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

/// Who a new key is for.
pub(super) struct Enrollee {
    /// None for the identity a registration creates.
    identity_id: Option<Uuid>,
    user_handle: Uuid,
    name: String,
    exclude: Vec<Vec<u8>>,
    passwordless: bool,
    label: UiText,
}

/// A new identity's key (as Kratos: a random user handle). The traits are
/// not known yet when the options are made, and the verifier wants a user
/// name: the project's name stands in.
fn newcomer(ctx: &Context<'_>) -> Enrollee {
    Enrollee {
        identity_id: None,
        user_handle: Uuid::new_v4(),
        name: ctx.tenant.name.clone(),
        exclude: Vec::new(),
        passwordless: true,
        label: UiText::info(text::SIGN_UP, "Sign up with security key"),
    }
}

/// A key added in settings: the identity's user handle (its id unless it
/// registered with a key), none of its keys again.
pub(super) fn member(ctx: &Context<'_>, identity: &Identity) -> Enrollee {
    let config = stored(identity).map(|(_, c)| c).unwrap_or_default();
    let name = identity
        .credentials
        .iter()
        .find(|c| c.kind == WEBAUTHN || c.kind == crate::identity::model::PASSWORD)
        .and_then(|c| c.identifiers.first().cloned())
        .unwrap_or_else(|| identity.id.to_string());
    Enrollee {
        identity_id: Some(identity.id),
        user_handle: Uuid::from_slice(&config.user_handle).unwrap_or(identity.id),
        name,
        exclude: config.credentials.into_iter().map(|k| k.id).collect(),
        passwordless: passwordless(ctx.config()),
        label: UiText::info(text::ADD_KEY, "Add security key"),
    }
}

/// Offers a registration for `who`, replacing any offered before.
pub(super) fn offer(ctx: &Context<'_>, flow: &mut Flow, who: Enrollee) -> Result<()> {
    let tenant = ctx.tenant;
    let cipher = cipher(tenant)?;
    let rp = ceremony::relying_party(tenant)?;
    let exclude = Some(who.exclude).filter(|e| !e.is_empty());
    let (options, ceremony) = if who.passwordless {
        let (options, state) = rp
            .start_passkey_registration(who.user_handle, &who.name, &who.name, exclude)
            .map_err(ceremony::start_failed)?;
        (
            ceremony::to_json(&options)?,
            Ceremony::PasskeyRegistration(state),
        )
    } else {
        let (mut options, state) = rp
            .start_securitykey_registration(
                who.user_handle,
                &who.name,
                &who.name,
                exclude,
                None,
                None,
            )
            .map_err(ceremony::start_failed)?;
        // webauthn-rs asks for credProtect "userVerificationRequired" (not
        // enforced) with user verification only preferred, which Chromium
        // refuses outright ("Requested protection policy is inconsistent",
        // kanidm/webauthn-rs#490): the browser is not asked for it (the
        // verifier records an unanswered credProtect as ignored).
        if let Some(extensions) = options.public_key.extensions.as_mut() {
            extensions.cred_protect = None;
        }
        (
            ceremony::to_json(&options)?,
            Ceremony::SecurityKeyRegistration(state),
        )
    };
    let pending = Pending {
        ceremony,
        identity_id: who.identity_id,
        user_handle: Some(who.user_handle),
    };
    ceremony::keep(tenant, cipher, flow, &pending)?;
    ceremony::clear_nodes(flow);
    flow.ui.nodes.extend([
        ceremony::script_node(tenant),
        UiNode::input(
            WEBAUTHN,
            "webauthn_register_displayname",
            "text",
            Some(json!("")),
            false,
            Some(UiText::info(text::KEY_NAME, "Name of the security key")),
        ),
        ceremony::answer("webauthn_register"),
        ceremony::trigger(
            "webauthn_register_trigger",
            "__oryWebAuthnRegistration",
            &options,
            who.label,
        )?,
    ]);
    Ok(())
}

/// A registration the verifier accepted.
pub(super) struct Verified {
    pub response: RegisterPublicKeyCredential,
    pub record: Value,
    pub passwordless: bool,
    pub user_handle: Uuid,
}

/// Checks `answer` against the pending registration offered to
/// `identity_id`; the message to show when it fails.
pub(super) fn finish(
    ctx: &Context<'_>,
    pending: Option<Pending>,
    identity_id: Option<Uuid>,
    answer: &str,
) -> Result<std::result::Result<Verified, UiText>> {
    let Some(pending) = pending.filter(|p| p.identity_id == identity_id) else {
        return Ok(Err(error(
            text::INVALID,
            "No security key registration is pending in this flow: start again.",
        )));
    };
    let response: RegisterPublicKeyCredential = match serde_json::from_str(answer) {
        Ok(response) => response,
        Err(e) => return Ok(Err(ceremony::not_json(&e))),
    };
    let rp = ceremony::relying_party(ctx.tenant)?;
    let verified = match &pending.ceremony {
        Ceremony::PasskeyRegistration(state) => rp
            .finish_passkey_registration(&response, state)
            .map(|key| (ceremony::to_json(&key), true)),
        Ceremony::SecurityKeyRegistration(state) => rp
            .finish_securitykey_registration(&response, state)
            .map(|key| (ceremony::to_json(&key), false)),
        _ => {
            return Ok(Err(error(
                text::INVALID,
                "No security key registration is pending in this flow: start again.",
            )));
        }
    };
    match verified {
        Ok((record, passwordless)) => Ok(Ok(Verified {
            response,
            record: record?,
            passwordless,
            user_handle: pending.user_handle.unwrap_or_else(Uuid::new_v4),
        })),
        Err(e) => Ok(Err(error(
            text::INVALID,
            format!("The security key could not be registered: {e}"),
        ))),
    }
}

/// The identifiers a passwordless login goes by: the schema's WebAuthn
/// identifiers, else its password identifiers.
pub(super) fn identifiers(schema: &CompiledSchema, traits: &Value) -> Vec<String> {
    let ext = schema.extensions(traits);
    if ext.webauthn_identifiers.is_empty() {
        ext.password_identifiers
    } else {
        ext.webauthn_identifiers
    }
}

pub(super) fn no_identifier() -> UiText {
    error(
        text::NO_IDENTIFIER,
        "Could not find any login identifiers. Did you forget to set them? This could also be caused by a server misconfiguration.",
    )
}

pub(super) fn display_name(ctx: &Context<'_>) -> String {
    field(ctx.body(), "webauthn_register_displayname")
        .unwrap_or("")
        .trim()
        .to_owned()
}

pub(super) fn webauthn_credential(
    identifiers: Vec<String>,
    config: &WebAuthnConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Credential> {
    Ok(Credential {
        id: Uuid::new_v4(),
        kind: WEBAUTHN.to_owned(),
        identifiers,
        config: config.to_value()?,
        version: 0,
        created_at: now,
        updated_at: now,
    })
}

pub fn populate_registration(ctx: &Context<'_>, flow: &mut Flow) -> Result<()> {
    if !passwordless(ctx.config()) || !ceremony::usable(ctx.tenant) {
        return Ok(());
    }
    let (schema, _) = ctx
        .engine
        .schema(ctx.tenant, &ctx.engine.default_schema_id(ctx.tenant)?)?;
    for node in trait_nodes(&schema, WEBAUTHN, None) {
        if !flow.ui.nodes.iter().any(|n| n.name() == node.name()) {
            flow.ui.nodes.push(node);
        }
    }
    offer(ctx, flow, newcomer(ctx))
}

pub fn register(ctx: &Context<'_>, flow: &mut Flow) -> Result<Outcome<Identity>> {
    let (engine, tenant) = (ctx.engine, ctx.tenant);
    let schema_id = engine.default_schema_id(tenant)?;
    let (schema, _) = engine.schema(tenant, &schema_id)?;
    let traits = ctx
        .submission
        .and_then(|s| s.traits(&schema))
        .unwrap_or_else(|| json!({}));
    for node in trait_nodes(&schema, WEBAUTHN, Some(&traits)) {
        if let Some(value) = node.attributes.get("value") {
            flow.ui.set_value(node.name(), value.clone());
        }
    }
    let valid = match schema.validate(&traits) {
        Ok(()) => true,
        Err(errors) => {
            trait_errors_to_ui(&mut flow.ui, &errors);
            false
        }
    };
    let ids = if valid {
        identifiers(&schema, &traits)
    } else {
        Vec::new()
    };
    if valid && ids.is_empty() {
        flow.ui.messages.push(no_identifier());
    }
    let answer = field(ctx.body(), "webauthn_register").unwrap_or("");
    if answer.is_empty() {
        flow.ui
            .node_error("webauthn_register", UiText::missing("webauthn_register"));
        return Ok(Outcome::Invalid);
    }
    let cipher = cipher(tenant)?;
    let pending = ceremony::take(tenant, cipher, flow)?;
    let verified = if has_errors(flow) {
        None
    } else {
        Some(finish(ctx, pending, None, answer)?)
    };
    // Each challenge is answered once: a new one, whatever the verdict.
    offer(ctx, flow, newcomer(ctx))?;
    let verified = match verified {
        Some(Ok(verified)) => verified,
        Some(Err(message)) => {
            flow.ui.node_error("webauthn_register", message);
            return Ok(Outcome::Invalid);
        }
        None => return Ok(Outcome::Invalid),
    };
    let id = Uuid::new_v4();
    let now = engine.clock.now();
    let draft = IdentityDraft {
        schema_id,
        traits,
        state: IdentityState::Active,
        metadata_public: None,
        metadata_admin: None,
        password_hash: None,
        oidc: Vec::new(),
        verifiable_addresses: Vec::new(),
    };
    let mut identity = engine.materialize(tenant, id, draft, None)?;
    let key = credentials::new_key(
        cipher,
        &credential_context(tenant, id),
        &verified.response,
        &verified.record,
        &display_name(ctx),
        true,
        now,
    );
    let config = WebAuthnConfig {
        credentials: vec![key],
        user_handle: verified.user_handle.as_bytes().to_vec(),
    };
    identity
        .credentials
        .push(webauthn_credential(ids, &config, now)?);
    Ok(Outcome::Done(identity))
}
