//! Identities as the API shows them, and the inputs that create and change
//! them (`adminCreateIdentityBody`, `AdminUpdateIdentityBody`).

use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum IdentityState {
    #[default]
    Active,
    Inactive,
}

impl IdentityState {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityState::Active => "active",
            IdentityState::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(IdentityState::Active),
            "inactive" => Ok(IdentityState::Inactive),
            other => Err(Error::internal(format!("stored identity state {other}"))),
        }
    }
}

/// `password`, `oidc`, ...: the credential types Kratos knows.
pub const PASSWORD: &str = "password";
pub const OIDC: &str = "oidc";

/// One credential of an identity. `config` holds secrets (the password
/// hash) and is never rendered except where the API says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub id: Uuid,
    pub kind: String,
    pub identifiers: Vec<String>,
    pub config: Value,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Credential {
    /// The stored password hash of a `password` credential.
    pub fn hashed_password(&self) -> Option<&str> {
        self.config.get("hashed_password").and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiableAddress {
    pub id: Uuid,
    pub value: String,
    pub verified: bool,
    pub via: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecoveryAddress {
    pub id: Uuid,
    pub value: String,
    pub via: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An identity with everything stored about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: Uuid,
    pub schema_id: String,
    pub state: IdentityState,
    pub state_changed_at: Option<DateTime<Utc>>,
    pub traits: Value,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub credentials: Vec<Credential>,
    pub verifiable_addresses: Vec<VerifiableAddress>,
    pub recovery_addresses: Vec<RecoveryAddress>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Identity {
    pub fn credential(&self, kind: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.kind == kind)
    }
}

/// `identityCredentials` as rendered: config only when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialView {
    #[serde(rename = "type")]
    pub kind: String,
    pub identifiers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The `identity` schema of the spec.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityView {
    pub id: Uuid,
    pub schema_id: String,
    pub schema_url: String,
    pub state: IdentityState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_changed_at: Option<DateTime<Utc>>,
    pub traits: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<BTreeMap<String, CredentialView>>,
    pub verifiable_addresses: Vec<VerifiableAddress>,
    pub recovery_addresses: Vec<RecoveryAddress>,
    pub metadata_public: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_admin: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How much of an identity a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// The end user (`whoami`, flows): no credentials, no admin metadata.
    Public,
    /// Admin APIs: credential types and identifiers, admin metadata, and the
    /// config of the credential types named in `include_credential`.
    Admin,
}

impl Identity {
    pub fn view(&self, schema_url: &str, exposure: Exposure, include: &[String]) -> IdentityView {
        let credentials = (exposure == Exposure::Admin).then(|| {
            self.credentials
                .iter()
                .map(|c| {
                    // Only OIDC links may be declassified: the other
                    // configs hold secrets (hashes, sealed TOTP seeds,
                    // recovery code digests) that never leave.
                    let config = include
                        .iter()
                        .any(|k| *k == c.kind && c.kind == OIDC)
                        .then(|| c.config.clone());
                    (
                        c.kind.clone(),
                        CredentialView {
                            kind: c.kind.clone(),
                            identifiers: c.identifiers.clone(),
                            config,
                            version: c.version,
                            created_at: c.created_at,
                            updated_at: c.updated_at,
                        },
                    )
                })
                .collect()
        });
        IdentityView {
            id: self.id,
            schema_id: self.schema_id.clone(),
            schema_url: schema_url.to_owned(),
            state: self.state,
            state_changed_at: self.state_changed_at,
            traits: self.traits.clone(),
            credentials,
            verifiable_addresses: self.verifiable_addresses.clone(),
            recovery_addresses: self.recovery_addresses.clone(),
            metadata_public: self.metadata_public.clone(),
            metadata_admin: match exposure {
                Exposure::Admin => Some(self.metadata_admin.clone().unwrap_or(Value::Null)),
                Exposure::Public => None,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// `adminCreateIdentityImportCredentialsPasswordConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportPasswordConfig {
    pub password: Option<String>,
    pub hashed_password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportPassword {
    pub config: Option<ImportPasswordConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OidcLink {
    pub provider: String,
    pub subject: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOidcConfig {
    #[serde(default)]
    pub providers: Vec<OidcLink>,
    /// Present in the spec (it reuses the password config shape); ignored.
    #[allow(dead_code)]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOidc {
    pub config: Option<ImportOidcConfig>,
}

/// `adminIdentityImportCredentials`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCredentials {
    pub password: Option<ImportPassword>,
    pub oidc: Option<ImportOidc>,
}

/// An address given at creation (verified state may be imported).
#[derive(Debug, Clone, Deserialize)]
pub struct NewVerifiableAddress {
    pub value: String,
    pub via: String,
    #[serde(default)]
    pub verified: bool,
    pub status: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NewRecoveryAddress {
    pub value: String,
    pub via: String,
}

/// `adminCreateIdentityBody`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIdentity {
    pub schema_id: String,
    pub traits: Value,
    pub state: Option<IdentityState>,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub credentials: Option<ImportCredentials>,
    #[serde(default)]
    pub verifiable_addresses: Vec<NewVerifiableAddress>,
    #[serde(default)]
    pub recovery_addresses: Vec<NewRecoveryAddress>,
}

/// `AdminUpdateIdentityBody`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityReplacement {
    pub schema_id: String,
    pub traits: Value,
    pub state: IdentityState,
    pub metadata_public: Option<Value>,
    pub metadata_admin: Option<Value>,
    pub credentials: Option<ImportCredentials>,
}
