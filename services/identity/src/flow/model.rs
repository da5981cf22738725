//! Self-service flows and their UI container, in the shapes of the spec
//! (`selfServiceLoginFlow`, `selfServiceRegistrationFlow`,
//! `selfServiceSettingsFlow`, `uiContainer`, `uiNode`, `uiText`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    Login,
    Registration,
    Settings,
    Recovery,
    Verification,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Login => "login",
            FlowKind::Registration => "registration",
            FlowKind::Settings => "settings",
            FlowKind::Recovery => "recovery",
            FlowKind::Verification => "verification",
        }
    }
}

/// A UI message with Kratos' numeric id (`uiText`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiText {
    pub id: u64,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl UiText {
    pub fn info(id: u64, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "info".to_owned(),
            context: None,
        }
    }
    pub fn error(id: u64, text: impl Into<String>, context: Option<Value>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "error".to_owned(),
            context,
        }
    }
    /// Kratos' 4000002 for a required field left out.
    pub fn missing(property: &str) -> Self {
        Self::error(
            text::VALIDATION_REQUIRED,
            format!("Property {property} is missing."),
            Some(json!({ "property": property })),
        )
    }
    pub fn success(id: u64, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "success".to_owned(),
            context: None,
        }
    }
}

/// Kratos' message catalogue, for the messages these flows emit.
pub mod text {
    pub const LOGIN: u64 = 1010001;
    pub const REGISTRATION: u64 = 1040001;
    pub const SETTINGS_SAVED: u64 = 1050001;
    pub const LINK_OIDC: u64 = 1050002;
    pub const UNLINK_OIDC: u64 = 1050003;
    pub const REGISTRATION_CONTINUE: u64 = 1040003;
    pub const LABEL_PASSWORD: u64 = 1070001;
    pub const LABEL_GENERATED: u64 = 1070002;
    pub const LABEL_SAVE: u64 = 1070003;
    pub const LABEL_ID: u64 = 1070004;
    pub const VALIDATION_GENERIC: u64 = 4000001;
    pub const VALIDATION_REQUIRED: u64 = 4000002;
    pub const PASSWORD_POLICY: u64 = 4000005;
    pub const INVALID_CREDENTIALS: u64 = 4000006;
    pub const DUPLICATE_IDENTIFIER: u64 = 4000007;
    pub const FLOW_EXPIRED: u64 = 4040001;
    pub const ADDRESS_NOT_VERIFIED: u64 = 4000010;
    /// Not Kratos': failed-login throttling (`throttle.rs`). Kratos hands
    /// out 4000001, 4000002, ... in order (4000041 so far), so this one
    /// stands well apart from them; 429 as in Too Many Requests.
    pub const LOGIN_THROTTLED: u64 = 4000429;
    pub const HOOK_FAILED: u64 = 4000001;
    pub const RECOVERY_SUCCESSFUL: u64 = 1060001;
    pub const RECOVERY_EMAIL_SENT: u64 = 1060002;
    pub const RECOVERY_TOKEN_INVALID: u64 = 4060006;
    pub const VERIFICATION_EMAIL_SENT: u64 = 1080001;
    pub const VERIFICATION_SUCCESSFUL: u64 = 1080002;
    pub const VERIFICATION_TOKEN_INVALID: u64 = 4070006;
    pub const LABEL_EMAIL: u64 = 1070007;
    pub const LABEL_SUBMIT: u64 = 1070005;
    pub const LOGIN_REAUTH: u64 = 1010003;
    pub const LOGIN_MFA: u64 = 1010004;
    pub const LABEL_TOTP_CODE: u64 = 1010006;
    pub const LABEL_LOOKUP: u64 = 1010007;
    pub const USE_TOTP: u64 = 1010009;
    pub const USE_LOOKUP: u64 = 1010010;
    pub const UNLINK_TOTP: u64 = 1050004;
    pub const TOTP_QR: u64 = 1050005;
    pub const TOTP_SECRET: u64 = 1050006;
    pub const LOOKUP_REVEAL: u64 = 1050007;
    pub const LOOKUP_REGENERATE: u64 = 1050008;
    pub const LOOKUP_SECRET: u64 = 1050009;
    pub const LOOKUP_LABEL: u64 = 1050010;
    pub const LOOKUP_CONFIRM: u64 = 1050011;
    pub const LOOKUP_USED: u64 = 1050014;
    pub const LOOKUP_LIST: u64 = 1050015;
    pub const LOOKUP_DISABLE: u64 = 1050016;
    pub const TOTP_SECRET_LABEL: u64 = 1050017;
    pub const LABEL_VERIFY_OTP: u64 = 1070006;
    pub const TOTP_WRONG: u64 = 4000008;
    pub const NO_TOTP_DEVICE: u64 = 4000011;
    pub const LOOKUP_ALREADY_USED: u64 = 4000012;
    pub const NO_LOOKUP: u64 = 4000014;
    pub const LOOKUP_INVALID: u64 = 4000016;
}

/// One form field (`uiNode` with `uiNodeInputAttributes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiNode {
    #[serde(rename = "type")]
    pub kind: String,
    pub group: String,
    pub attributes: Value,
    pub messages: Vec<UiText>,
    pub meta: Value,
}

impl UiNode {
    pub fn input(
        group: &str,
        name: &str,
        input_type: &str,
        value: Option<Value>,
        required: bool,
        label: Option<UiText>,
    ) -> Self {
        let mut attributes = json!({
            "name": name,
            "type": input_type,
            "required": required,
            "disabled": false,
            "node_type": "input",
            // The published SDK (ory-client 0.2.0-alpha.4) tags node
            // attributes by `nodetype`, contrary to the spec's `node_type`;
            // both are sent so the SDK and spec-true clients both decode.
            "nodetype": "input",
        });
        if let Some(value) = value {
            attributes["value"] = value;
        }
        match input_type {
            "password" => {
                attributes["autocomplete"] = json!(if name == "password" && group == "password" {
                    "current-password"
                } else {
                    "new-password"
                })
            }
            "email" => attributes["autocomplete"] = json!("email"),
            _ => {}
        }
        Self {
            kind: "input".to_owned(),
            group: group.to_owned(),
            attributes,
            messages: Vec::new(),
            meta: label.map_or_else(|| json!({}), |l| json!({ "label": l })),
        }
    }

    pub fn name(&self) -> &str {
        self.attributes["name"].as_str().unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiContainer {
    pub action: String,
    pub method: String,
    pub nodes: Vec<UiNode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<UiText>,
}

impl UiContainer {
    /// Puts `message` on the node called `name` (or on the form if absent).
    pub fn node_error(&mut self, name: &str, message: UiText) {
        match self.nodes.iter_mut().find(|n| n.name() == name) {
            Some(node) => node.messages.push(message),
            None => self.messages.push(message),
        }
    }

    /// Sets the value shown in the node called `name`.
    pub fn set_value(&mut self, name: &str, value: Value) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.name() == name) {
            node.attributes["value"] = value;
        }
    }

    /// Clears messages before a new submission is judged.
    pub fn reset_messages(&mut self) {
        self.messages.clear();
        for node in &mut self.nodes {
            node.messages.clear();
        }
    }
}

/// One flow of any kind; fields that belong to other kinds stay unset and
/// are left out of the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub flow_type: String,
    pub expires_at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub request_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    pub ui: UiContainer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    /// Login: re-authentication was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<bool>,
    /// Login: the AAL asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_aal: Option<String>,
    /// Settings: the identity being changed (public view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Value>,
    /// Settings: `show_form` or `success`; recovery and verification:
    /// `choose_method`, `sent_email` or `passed_challenge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What the methods keep between requests and never show (a TOTP
    /// secret awaiting its first code, WebAuthn ceremony state): stored in
    /// its own column, left out of every answer.
    #[serde(skip)]
    pub internal: Value,
}
