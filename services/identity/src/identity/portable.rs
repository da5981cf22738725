//! An identity as an export archive carries it, and back: everything
//! stored about it, password hashes in their PHC (or bcrypt) form as
//! stored, OIDC links as stored. Second-factor secrets are sealed at rest
//! for one project and one identity, so they travel re-sealed: opened with
//! the project's `secrets.cipher` and sealed with the archive key the
//! caller chose; on import opened with that key and sealed for the target
//! project and the identity's id there.
//!
//! - TOTP: the seed needs the archive key (nothing else can carry it).
//! - WebAuthn: each key's verifier record is re-sealed with the archive
//!   key; without one it is left out, and the key is rebuilt from its
//!   Kratos fields (public key, id) on first use, losing only the counter.
//! - Lookup secrets (recovery codes) are kept as digests keyed by the
//!   project, which no other project can check: left out and counted.

use super::model::{Credential, Identity, IdentityState, RecoveryAddress, VerifiableAddress};
use crate::hash::PasswordHasher;
use crate::strategy::credential_sealing_context;
use crate::strategy::lookup_secret::LOOKUP_SECRET;
use crate::strategy::totp::TOTP;
use crate::strategy::webauthn::WEBAUTHN;
use chrono::{DateTime, Utc};
use kernel::sealed::SecretBox;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The credential types an archive may carry.
const PORTABLE_KINDS: &[&str] = &["password", "oidc", TOTP, WEBAUTHN];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortableIdentity {
    pub id: Uuid,
    pub schema_id: String,
    pub state: IdentityState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_changed_at: Option<DateTime<Utc>>,
    pub traits: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_public: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_admin: Option<Value>,
    #[serde(default)]
    pub credentials: Vec<PortableCredential>,
    #[serde(default)]
    pub verifiable_addresses: Vec<VerifiableAddress>,
    #[serde(default)]
    pub recovery_addresses: Vec<RecoveryAddress>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortableCredential {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub identifiers: Vec<String>,
    pub config: Value,
    #[serde(default)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where second-factor secrets are sealed: for a project (its cipher), or
/// in an archive (the caller's archive key, if any).
#[derive(Clone, Copy)]
pub enum Sealing<'a> {
    Project {
        cipher: Option<&'a SecretBox>,
        project_id: Uuid,
    },
    Archive(Option<&'a SecretBox>),
}

impl Sealing<'_> {
    fn cipher(&self) -> Option<&SecretBox> {
        match self {
            Sealing::Project { cipher, .. } => *cipher,
            Sealing::Archive(key) => *key,
        }
    }

    fn context(&self, kind: &str, identity_id: Uuid) -> String {
        match self {
            Sealing::Project { project_id, .. } => {
                credential_sealing_context(kind, *project_id, identity_id)
            }
            Sealing::Archive(_) => format!("keyplane-archive.{kind}/{identity_id}"),
        }
    }

    fn missing(&self) -> String {
        match self {
            Sealing::Project { .. } => {
                "the project has no usable `secrets.cipher` to seal second factors with".to_owned()
            }
            Sealing::Archive(_) => {
                "a TOTP or WebAuthn secret needs the archive key (header Keyplane-Archive-Key)"
                    .to_owned()
            }
        }
    }
}

/// Moves the sealed secrets of one credential config from one place to
/// another. `Ok(false)`: the credential cannot move and is left out.
fn reseal(
    kind: &str,
    config: &mut Value,
    (from, from_id): (Sealing<'_>, Uuid),
    (to, to_id): (Sealing<'_>, Uuid),
) -> Result<bool, String> {
    let move_one = |sealed: &str| -> Result<String, String> {
        let opener = from.cipher().ok_or_else(|| from.missing())?;
        let sealer = to.cipher().ok_or_else(|| to.missing())?;
        let plain = opener
            .open(&from.context(kind, from_id), sealed)
            .map_err(|e| format!("a sealed {kind} secret does not open: {e}"))?;
        Ok(sealer.seal(&to.context(kind, to_id), &plain))
    };
    match kind {
        TOTP => {
            let sealed = config["totp_url"]
                .as_str()
                .ok_or("a totp credential without `totp_url`")?;
            config["totp_url"] = Value::String(move_one(sealed)?);
        }
        WEBAUTHN => {
            let keys = config
                .get_mut("credentials")
                .and_then(Value::as_array_mut)
                .map(|keys| keys.iter_mut())
                .into_iter()
                .flatten();
            for key in keys {
                let Some(sealed) = key.get("webauthn_rs").and_then(Value::as_str) else {
                    continue;
                };
                if matches!(to, Sealing::Archive(None)) {
                    // Rebuilt from the Kratos fields where it lands.
                    key["webauthn_rs"] = Value::Null;
                } else {
                    let moved = move_one(sealed)?;
                    key["webauthn_rs"] = Value::String(moved);
                }
            }
        }
        LOOKUP_SECRET => return Ok(false),
        _ => {}
    }
    Ok(true)
}

impl PortableIdentity {
    /// The archive form of a stored identity; the credential types left
    /// out (see the module docs) are pushed to `left_out`.
    pub fn export(
        identity: Identity,
        from: Sealing<'_>,
        to: Sealing<'_>,
        left_out: &mut Vec<String>,
    ) -> Result<Self, String> {
        let mut credentials = Vec::with_capacity(identity.credentials.len());
        for mut credential in identity.credentials {
            let from = (from, identity.id);
            if reseal(
                &credential.kind,
                &mut credential.config,
                from,
                (to, identity.id),
            )? {
                credentials.push(PortableCredential {
                    id: credential.id,
                    kind: credential.kind,
                    identifiers: credential.identifiers,
                    config: credential.config,
                    version: credential.version,
                    created_at: credential.created_at,
                    updated_at: credential.updated_at,
                });
            } else {
                left_out.push(credential.kind);
            }
        }
        Ok(PortableIdentity {
            id: identity.id,
            schema_id: identity.schema_id,
            state: identity.state,
            state_changed_at: identity.state_changed_at,
            traits: identity.traits,
            metadata_public: identity.metadata_public,
            metadata_admin: identity.metadata_admin,
            credentials,
            verifiable_addresses: identity.verifiable_addresses,
            recovery_addresses: identity.recovery_addresses,
            created_at: identity.created_at,
            updated_at: identity.updated_at,
        })
    }

    /// The identity to store from its archive form: checked, its ids
    /// passed through `new_id` (identity, credentials, addresses), its
    /// second-factor secrets sealed for `to`. Credential types that cannot
    /// move are pushed to `left_out`. The error says what is wrong.
    pub fn into_identity(
        self,
        new_id: impl Fn(Uuid) -> Uuid,
        from: Sealing<'_>,
        to: Sealing<'_>,
        left_out: &mut Vec<String>,
    ) -> Result<Identity, String> {
        if !self.traits.is_object() {
            return Err("`traits` must be an object".to_owned());
        }
        let id = new_id(self.id);
        let mut credentials = Vec::with_capacity(self.credentials.len());
        for mut credential in self.credentials {
            let kind = credential.kind.as_str();
            if kind == LOOKUP_SECRET {
                left_out.push(credential.kind);
                continue;
            }
            if !PORTABLE_KINDS.contains(&kind) {
                return Err(format!("unknown credential type `{kind}`"));
            }
            if credentials.iter().any(|c: &Credential| c.kind == kind) {
                return Err(format!("two credentials of type `{kind}`"));
            }
            if kind == "password" {
                let hash = credential.config["hashed_password"]
                    .as_str()
                    .ok_or("a password credential without `hashed_password`")?;
                PasswordHasher::validate_import(hash)
                    .map_err(|e| format!("`hashed_password`: {}", e.reason.unwrap_or(e.message)))?;
            }
            reseal(kind, &mut credential.config, (from, self.id), (to, id))?;
            credentials.push(Credential {
                id: new_id(credential.id),
                kind: credential.kind,
                identifiers: credential.identifiers,
                config: credential.config,
                version: credential.version,
                created_at: credential.created_at,
                updated_at: credential.updated_at,
            });
        }
        let verifiable_addresses = self
            .verifiable_addresses
            .into_iter()
            .map(|a| VerifiableAddress {
                id: new_id(a.id),
                ..a
            })
            .collect();
        let recovery_addresses = self
            .recovery_addresses
            .into_iter()
            .map(|a| RecoveryAddress {
                id: new_id(a.id),
                ..a
            })
            .collect();
        Ok(Identity {
            id,
            schema_id: self.schema_id,
            state: self.state,
            state_changed_at: self.state_changed_at,
            traits: self.traits,
            metadata_public: self.metadata_public,
            metadata_admin: self.metadata_admin,
            credentials,
            verifiable_addresses,
            recovery_addresses,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[cfg(test)]
#[path = "portable_tests.rs"]
mod tests;
