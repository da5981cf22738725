//! What a WebAuthn ceremony needs around the verifier: the relying party of
//! the tenant, the ceremony state kept (sealed) in the flow between the
//! options and the answer, and the form nodes that start it in a browser.

use crate::flow::model::{Flow, UiNode, UiText};
use base64::Engine;
use kernel::sealed::SecretBox;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use uuid::Uuid;
use webauthn_rs::prelude::{
    PasskeyAuthentication, PasskeyRegistration, SecurityKeyAuthentication, SecurityKeyRegistration,
    Url, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::WEBAUTHN;

/// Kratos' message catalogue for this method.
pub mod text {
    pub const LOGIN_PASSWORDLESS: u64 = 1010001;
    pub const USE_SECURITY_KEY: u64 = 1010008;
    pub const PREPARE_DEVICE: u64 = 1010012;
    pub const CONTINUE: u64 = 1010013;
    pub const SIGN_UP: u64 = 1040004;
    pub const ADD_KEY: u64 = 1050012;
    pub const KEY_NAME: u64 = 1050013;
    pub const REMOVE_KEY: u64 = 1050018;
    pub const INVALID: u64 = 4000001;
    pub const WRONG: u64 = 4000008;
    pub const NO_IDENTIFIER: u64 = 4000009;
    pub const NO_DEVICE: u64 = 4000013;
    pub const NO_ACCOUNT: u64 = 4000015;
}

/// The script the forms load; its digest is the node's `integrity`.
const SCRIPT: &str = include_str!("../../flow/webauthn.js");

/// The tenant's relying party: `rp.id` and `rp.origin` from the config,
/// else the tenant's public host and URL; `rp.display_name`, else the
/// project's name. Building one is cheap (string copies and a URL check:
/// 2 µs measured in a debug build), so it is built per request.
pub fn relying_party(tenant: &TenantCtx) -> Result<Webauthn> {
    let config = &tenant.config.identity_config.methods.webauthn;
    let misconfigured = |e: &dyn std::fmt::Display| {
        Error::bad_request(format!(
            "selfservice.methods.webauthn.config.rp is not usable: {e}"
        ))
    };
    let origin = config.rp_origin.as_deref().unwrap_or(&tenant.public_url);
    let origin = Url::parse(origin).map_err(|e| misconfigured(&e))?;
    let host = origin.host_str().unwrap_or_default().to_owned();
    let rp_id = config.rp_id.as_deref().unwrap_or(&host);
    let name = config.rp_display_name.as_deref().unwrap_or(&tenant.name);
    WebauthnBuilder::new(rp_id, &origin)
        .and_then(|b| b.rp_name(name).build())
        .map_err(|e| misconfigured(&e))
}

/// A ceremony waiting for the browser's answer.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub enum Ceremony {
    PasskeyRegistration(PasskeyRegistration),
    SecurityKeyRegistration(SecurityKeyRegistration),
    PasskeyAuthentication(PasskeyAuthentication),
    SecurityKeyAuthentication(SecurityKeyAuthentication),
}

/// The ceremony with whom it is for: the identity that logs in or adds a
/// key, or the user handle of a key registered with a new identity.
#[derive(Serialize, Deserialize)]
pub struct Pending {
    pub ceremony: Ceremony,
    #[serde(default)]
    pub identity_id: Option<Uuid>,
    #[serde(default)]
    pub user_handle: Option<Uuid>,
}

fn flow_context(tenant: &TenantCtx, flow_id: Uuid) -> String {
    format!("selfservice_flows.webauthn@{}/{flow_id}", tenant.project_id)
}

/// Keeps `pending` in the flow (sealed: its challenge is what a forged
/// answer would need).
pub fn keep(
    tenant: &TenantCtx,
    cipher: &SecretBox,
    flow: &mut Flow,
    pending: &Pending,
) -> Result<()> {
    let text = serde_json::to_string(pending).map_err(Error::internal)?;
    flow.internal[WEBAUTHN] = json!(cipher.seal(&flow_context(tenant, flow.id), &text));
    Ok(())
}

/// Takes the pending ceremony out of the flow: each challenge is answered
/// once, whatever the answer.
pub fn take(tenant: &TenantCtx, cipher: &SecretBox, flow: &mut Flow) -> Result<Option<Pending>> {
    let Some(sealed) = flow
        .internal
        .as_object_mut()
        .and_then(|o| o.remove(WEBAUTHN))
    else {
        return Ok(None);
    };
    if flow.internal.as_object().is_some_and(|o| o.is_empty()) {
        flow.internal = Value::Null;
    }
    let text = cipher
        .open(
            &flow_context(tenant, flow.id),
            sealed.as_str().unwrap_or(""),
        )
        .map_err(|e| Error::internal(format!("a WebAuthn ceremony does not open: {e}")))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::internal(format!("stored WebAuthn ceremony: {e}")))
}

/// The `<script>` node that loads the helpers (`/.well-known/ory/webauthn.js`).
pub fn script_node(tenant: &TenantCtx) -> UiNode {
    let integrity = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(SCRIPT));
    UiNode {
        kind: "script".to_owned(),
        group: WEBAUTHN.to_owned(),
        attributes: json!({
            "id": "webauthn_script",
            "src": format!("{}/.well-known/ory/webauthn.js", tenant.public_url),
            "async": true,
            "referrerpolicy": "no-referrer",
            "crossorigin": "anonymous",
            "integrity": format!("sha512-{integrity}"),
            "type": "text/javascript",
            "nonce": Uuid::new_v4().to_string(),
            "node_type": "script",
            "nodetype": "script",
        }),
        messages: Vec::new(),
        meta: json!({}),
    }
}

/// The button that runs `function(options)` in the browser.
pub fn trigger(
    name: &str,
    function: &str,
    options: &impl Serialize,
    label: UiText,
) -> Result<UiNode> {
    let options = serde_json::to_string(options).map_err(Error::internal)?;
    let mut node = UiNode::input(
        WEBAUTHN,
        name,
        "button",
        Some(json!("")),
        false,
        Some(label),
    );
    node.attributes["onclick"] = json!(format!("window.{function}({options})"));
    Ok(node)
}

/// The hidden field the script fills with the authenticator's answer.
pub fn answer(name: &str) -> UiNode {
    UiNode::input(WEBAUTHN, name, "hidden", Some(json!("")), false, None)
}

/// The nodes of an offered ceremony.
const CEREMONY_NODES: &[&str] = &[
    "webauthn_register_displayname",
    "webauthn_register",
    "webauthn_register_trigger",
    "webauthn_login",
    "webauthn_login_trigger",
];

/// Drops the nodes of an offered ceremony (before offering a new one).
pub fn clear_nodes(flow: &mut Flow) {
    flow.ui
        .nodes
        .retain(|n| !CEREMONY_NODES.contains(&n.name()) && n.attributes["id"] != "webauthn_script");
}

/// Whether the tenant can hold keys: a cipher to seal them, a usable
/// relying party. Forms offer no key otherwise (submissions get the 400).
pub fn usable(tenant: &TenantCtx) -> bool {
    if let Err(e) = crate::strategy::cipher(tenant).and_then(|_| relying_party(tenant)) {
        tracing::warn!(project = %tenant.project_id, reason = ?e.reason, "WebAuthn is enabled but offers nothing");
        return false;
    }
    true
}

pub fn start_failed(e: WebauthnError) -> Error {
    Error::internal(format!("starting a WebAuthn ceremony: {e}"))
}

pub fn to_json(options: &impl Serialize) -> Result<Value> {
    serde_json::to_value(options).map_err(Error::internal)
}

/// The message for an answer that is not the JSON the script posts.
pub fn not_json(e: &serde_json::Error) -> UiText {
    UiText::error(
        text::INVALID,
        format!("The security key's answer is not valid WebAuthn JSON: {e}"),
        None,
    )
}
