//! The records an identity's traits imply, rebuilt on every write: its
//! credentials (the password's identifiers follow the traits, a new hash
//! replaces the old, OIDC links are kept), and its verifiable and recovery
//! addresses (kept, with their state, while the address stays).

use super::model::{
    Credential, Identity, NewVerifiableAddress, OIDC, PASSWORD, RecoveryAddress, VerifiableAddress,
};
use super::service::IdentityDraft;
use crate::schema::{TraitExtensions, normalize_identifier};
use chrono::{DateTime, Utc};
use kernel::{Error, Result};
use serde_json::{Value, json};
use uuid::Uuid;

pub(super) fn build_credentials(
    draft: &IdentityDraft,
    ext: &TraitExtensions,
    existing: Option<&Identity>,
    now: DateTime<Utc>,
) -> Result<Vec<Credential>> {
    let mut out: Vec<Credential> = existing.map(|e| e.credentials.clone()).unwrap_or_default();
    // Password: a new hash replaces the old; identifiers always follow the traits.
    if let Some(hash) = &draft.password_hash {
        if ext.password_identifiers.is_empty() {
            return Err(Error::bad_request(
                "a password needs an identifier, but the identity schema marks no trait as `credentials.password.identifier`",
            ));
        }
        out.retain(|c| c.kind != PASSWORD);
        out.push(Credential {
            id: Uuid::new_v4(),
            kind: PASSWORD.to_owned(),
            identifiers: Vec::new(),
            config: json!({ "hashed_password": hash }),
            version: 0,
            created_at: now,
            updated_at: now,
        });
    }
    if let Some(password) = out.iter_mut().find(|c| c.kind == PASSWORD) {
        password.identifiers = ext.password_identifiers.clone();
        password.updated_at = now;
    }
    if !draft.oidc.is_empty() {
        let mut providers: Vec<Value> = out
            .iter()
            .find(|c| c.kind == OIDC)
            .and_then(|c| c.config.get("providers").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        for link in &draft.oidc {
            if link.provider.is_empty() || link.subject.is_empty() {
                return Err(Error::bad_request(
                    "an OIDC link needs `provider` and `subject`",
                ));
            }
            providers.push(json!({ "provider": link.provider, "subject": link.subject }));
        }
        let identifiers = providers
            .iter()
            .filter_map(|p| {
                Some(format!(
                    "{}:{}",
                    p["provider"].as_str()?,
                    p["subject"].as_str()?
                ))
            })
            .collect();
        out.retain(|c| c.kind != OIDC);
        out.push(Credential {
            id: Uuid::new_v4(),
            kind: OIDC.to_owned(),
            identifiers,
            config: json!({ "providers": providers }),
            version: 0,
            created_at: now,
            updated_at: now,
        });
    }
    Ok(out)
}

pub(super) fn verifiable_addresses(
    ext: &TraitExtensions,
    given: &[NewVerifiableAddress],
    existing: Option<&Identity>,
    now: DateTime<Utc>,
) -> Vec<VerifiableAddress> {
    ext.verifiable_addresses
        .iter()
        .map(|(via, value)| {
            let kept = existing.and_then(|e| {
                e.verifiable_addresses
                    .iter()
                    .find(|a| a.via == *via && a.value == *value)
            });
            if let Some(kept) = kept {
                return kept.clone();
            }
            let imported = given
                .iter()
                .find(|a| a.via == *via && normalize_identifier(&a.value) == *value);
            let verified = imported.is_some_and(|a| a.verified);
            VerifiableAddress {
                id: Uuid::new_v4(),
                value: value.clone(),
                verified,
                via: via.clone(),
                status: imported
                    .and_then(|a| a.status.clone())
                    .unwrap_or_else(|| if verified { "completed" } else { "pending" }.to_owned()),
                verified_at: if verified {
                    imported.and_then(|a| a.verified_at).or(Some(now))
                } else {
                    None
                },
                created_at: now,
                updated_at: now,
            }
        })
        .collect()
}

pub(super) fn recovery_addresses(
    ext: &TraitExtensions,
    existing: Option<&Identity>,
    now: DateTime<Utc>,
) -> Vec<RecoveryAddress> {
    ext.recovery_addresses
        .iter()
        .map(|(via, value)| {
            existing
                .and_then(|e| {
                    e.recovery_addresses
                        .iter()
                        .find(|a| a.via == *via && a.value == *value)
                        .cloned()
                })
                .unwrap_or_else(|| RecoveryAddress {
                    id: Uuid::new_v4(),
                    value: value.clone(),
                    via: via.clone(),
                    created_at: now,
                    updated_at: now,
                })
        })
        .collect()
}
