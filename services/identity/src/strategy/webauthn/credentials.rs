//! The stored shape of WebAuthn keys: Kratos v0.10's `identity_credentials`
//! config of type `webauthn` (`{credentials: [...], user_handle}`, Go
//! `[]byte` as standard base64), plus one Keyplane field per key,
//! `webauthn_rs`: the verifier's own record (public key, counter, flags),
//! sealed with the project's `secrets.cipher` for this identity. The Kratos
//! fields are read from the attestation the browser sent and kept in step
//! with it, so an export looks like Kratos'; keys imported from Kratos
//! (without the record) are rebuilt from them.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kernel::sealed::SecretBox;
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_cbor_2::Value as Cbor;
use serde_json::{Value, json};
use webauthn_rs::prelude::{
    AuthenticationResult, COSEKey, Passkey, RegisterPublicKeyCredential, SecurityKey,
};

/// Go's `[]byte` in JSON: standard base64 with padding, `null` for nil.
mod go_bytes {
    use super::{Engine, STANDARD};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Vec::new()),
            Some(text) => STANDARD.decode(text).map_err(serde::de::Error::custom),
        }
    }
}

/// `identity_credentials.config` of type `webauthn`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct WebAuthnConfig {
    #[serde(default)]
    pub credentials: Vec<StoredKey>,
    /// The WebAuthn `user.id`: the identity id's bytes when added in
    /// settings, a random UUID's when registered passwordless (as Kratos).
    #[serde(with = "go_bytes", default)]
    pub user_handle: Vec<u8>,
}

/// One key, as Kratos stores it (plus `webauthn_rs`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredKey {
    #[serde(with = "go_bytes")]
    pub id: Vec<u8>,
    /// The COSE key, as the authenticator sent it.
    #[serde(with = "go_bytes", default)]
    pub public_key: Vec<u8>,
    #[serde(default)]
    pub attestation_type: String,
    #[serde(default)]
    pub authenticator: Authenticator,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub added_at: String,
    /// A first factor (passwordless) rather than a second.
    #[serde(default)]
    pub is_passwordless: bool,
    /// Keyplane: the verifier's record, sealed; the source of truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webauthn_rs: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Authenticator {
    #[serde(with = "go_bytes", default)]
    pub aaguid: Vec<u8>,
    #[serde(default)]
    pub sign_count: u32,
    #[serde(default)]
    pub clone_warning: bool,
}

impl WebAuthnConfig {
    pub fn parse(config: &Value) -> Result<Self> {
        serde_json::from_value(config.clone())
            .map_err(|e| Error::internal(format!("stored WebAuthn credentials: {e}")))
    }

    pub fn to_value(&self) -> Result<Value> {
        serde_json::to_value(self).map_err(Error::internal)
    }
}

/// What an attestation object says about the new key.
struct Attested {
    fmt: String,
    sign_count: u32,
    aaguid: Vec<u8>,
    cose_key: Vec<u8>,
}

/// attestationObject = CBOR `{fmt, attStmt, authData}`; authData =
/// rpIdHash (32) | flags (1) | signCount (4, BE) | aaguid (16) |
/// credIdLen (2, BE) | credId | COSE key | extensions.
fn parse_attestation(object: &[u8]) -> Option<Attested> {
    let Ok(Cbor::Map(map)) = serde_cbor_2::from_slice::<Cbor>(object) else {
        return None;
    };
    let Some(Cbor::Text(fmt)) = map.get(&Cbor::Text("fmt".into())) else {
        return None;
    };
    let Some(Cbor::Bytes(data)) = map.get(&Cbor::Text("authData".into())) else {
        return None;
    };
    let sign_count = u32::from_be_bytes(data.get(33..37)?.try_into().ok()?);
    let aaguid = data.get(37..53)?.to_vec();
    let id_len = usize::from(u16::from_be_bytes(data.get(53..55)?.try_into().ok()?));
    let rest = data.get(55 + id_len..)?;
    // The COSE key is one CBOR item, perhaps followed by extensions.
    let mut de = serde_cbor_2::Deserializer::from_slice(rest);
    let _: Cbor = Deserialize::deserialize(&mut de).ok()?;
    let cose_key = rest.get(..de.byte_offset())?.to_vec();
    Some(Attested {
        fmt: fmt.clone(),
        sign_count,
        aaguid,
        cose_key,
    })
}

/// The sealed verifier record of a key.
pub fn seal_record(cipher: &SecretBox, context: &str, record: &Value) -> String {
    cipher.seal(context, &record.to_string())
}

/// A key verified at registration, in the stored shape.
pub fn new_key(
    cipher: &SecretBox,
    context: &str,
    response: &RegisterPublicKeyCredential,
    record: &Value,
    display_name: &str,
    is_passwordless: bool,
    added_at: chrono::DateTime<chrono::Utc>,
) -> StoredKey {
    let cred_id: Vec<u8> = record["cred"]["cred_id"]
        .as_str()
        .and_then(|id| URL_SAFE_NO_PAD.decode(id).ok())
        .unwrap_or_default();
    // The verifier accepted the attestation, so it parses; should it not,
    // the Kratos fields stay empty and the record still verifies logins.
    let attested = parse_attestation(&response.response.attestation_object);
    let (fmt, sign_count, aaguid, public_key) = attested.map_or_else(
        || (String::new(), 0, Vec::new(), Vec::new()),
        |a| (a.fmt, a.sign_count, a.aaguid, a.cose_key),
    );
    StoredKey {
        id: cred_id,
        public_key,
        attestation_type: fmt,
        authenticator: Authenticator {
            aaguid,
            sign_count,
            clone_warning: false,
        },
        display_name: display_name.to_owned(),
        added_at: added_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        is_passwordless,
        webauthn_rs: Some(seal_record(cipher, context, record)),
    }
}

impl StoredKey {
    /// The verifier record (`{"cred": ...}`, the serde shape of both
    /// `Passkey` and `SecurityKey`): opened, or rebuilt from the Kratos
    /// fields for a key imported from Kratos.
    pub fn record(&self, cipher: &SecretBox, context: &str) -> Result<Value> {
        if let Some(sealed) = &self.webauthn_rs {
            let text = cipher
                .open(context, sealed)
                .map_err(|e| Error::internal(format!("a WebAuthn key does not open: {e}")))?;
            return serde_json::from_str(&text).map_err(Error::internal);
        }
        let cose: Cbor = serde_cbor_2::from_slice(&self.public_key)
            .map_err(|e| Error::internal(format!("stored WebAuthn public key: {e}")))?;
        let key = COSEKey::try_from(&cose)
            .map_err(|e| Error::internal(format!("stored WebAuthn public key: {e:?}")))?;
        Ok(json!({
            "cred": {
                "cred_id": URL_SAFE_NO_PAD.encode(&self.id),
                "cred": key,
                "counter": self.authenticator.sign_count,
                "transports": null,
                "user_verified": self.is_passwordless,
                "backup_eligible": false,
                "backup_state": false,
                "registration_policy": if self.is_passwordless { "required" } else { "preferred" },
                "extensions": {},
                "attestation": { "data": "None", "metadata": "None" },
                "attestation_format": "none",
            }
        }))
    }

    pub fn passkey(&self, cipher: &SecretBox, context: &str) -> Result<Passkey> {
        serde_json::from_value(self.record(cipher, context)?).map_err(Error::internal)
    }

    pub fn security_key(&self, cipher: &SecretBox, context: &str) -> Result<SecurityKey> {
        serde_json::from_value(self.record(cipher, context)?).map_err(Error::internal)
    }

    /// Applies a login with this key: the new counter and flags, in the
    /// record and the Kratos fields.
    pub fn apply(
        &mut self,
        cipher: &SecretBox,
        context: &str,
        result: &AuthenticationResult,
    ) -> Result<()> {
        let mut record = self.passkey(cipher, context)?;
        record.update_credential(result);
        let record = serde_json::to_value(&record).map_err(Error::internal)?;
        self.webauthn_rs = Some(seal_record(cipher, context, &record));
        self.authenticator.sign_count = self.authenticator.sign_count.max(result.counter());
        Ok(())
    }

    /// The id as Kratos shows it to remove the key (`%x`).
    pub fn hex_id(&self) -> String {
        hex::encode(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The COSE key of P-256's generator point (a valid public key).
    fn cose_key() -> Vec<u8> {
        let x = hex::decode("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296")
            .unwrap_or_default();
        let y = hex::decode("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5")
            .unwrap_or_default();
        let map = [
            (Cbor::Integer(1), Cbor::Integer(2)),
            (Cbor::Integer(3), Cbor::Integer(-7)),
            (Cbor::Integer(-1), Cbor::Integer(1)),
            (Cbor::Integer(-2), Cbor::Bytes(x)),
            (Cbor::Integer(-3), Cbor::Bytes(y)),
        ];
        serde_cbor_2::to_vec(&Cbor::Map(map.into_iter().collect())).unwrap_or_default()
    }

    fn kratos_key(is_passwordless: bool) -> StoredKey {
        StoredKey {
            id: vec![1, 2, 3, 250],
            public_key: cose_key(),
            attestation_type: "none".to_owned(),
            authenticator: Authenticator {
                aaguid: vec![0; 16],
                sign_count: 7,
                clone_warning: false,
            },
            display_name: "imported".to_owned(),
            added_at: "2022-06-01T10:00:00Z".to_owned(),
            is_passwordless,
            webauthn_rs: None,
        }
    }

    #[test]
    fn the_kratos_shape_round_trips_with_go_byte_encoding() {
        let config = WebAuthnConfig {
            credentials: vec![kratos_key(true)],
            user_handle: vec![0xfb, 0xff],
        };
        let value = config.to_value().unwrap_or_default();
        assert_eq!(value["user_handle"], "+/8=", "standard base64 with padding");
        assert_eq!(value["credentials"][0]["id"], "AQID+g==");
        assert!(value["credentials"][0].get("webauthn_rs").is_none());
        assert_eq!(WebAuthnConfig::parse(&value).ok(), Some(config));
        // Kratos v0.8 had neither field; Go writes nil bytes as null.
        let old = json!({"credentials": [{"id": "AQID+g==", "public_key": null}]});
        let parsed = WebAuthnConfig::parse(&old).unwrap_or_default();
        assert!(parsed.user_handle.is_empty() && !parsed.credentials[0].is_passwordless);
    }

    #[test]
    fn a_key_imported_from_kratos_is_rebuilt_and_sealed_per_identity() {
        let cipher =
            SecretBox::new(&["0123456789abcdef0123456789abcdef"]).unwrap_or_else(|e| panic!("{e}"));
        for passwordless in [true, false] {
            let mut key = kratos_key(passwordless);
            let passkey = key
                .passkey(&cipher, "a")
                .unwrap_or_else(|e| panic!("{e:?}"));
            assert_eq!(passkey.cred_id().as_slice(), &[1, 2, 3, 250]);
            assert!(key.security_key(&cipher, "a").is_ok());
            let record = key.record(&cipher, "a").unwrap_or_default();
            assert_eq!(record["cred"]["counter"], 7);
            key.webauthn_rs = Some(seal_record(&cipher, "identity-a", &record));
            assert!(key.record(&cipher, "identity-a").is_ok());
            assert!(
                key.record(&cipher, "identity-b").is_err(),
                "another identity's context"
            );
        }
        assert_eq!(kratos_key(true).hex_id(), "010203fa");
    }

    #[test]
    fn attestation_objects_are_read_for_the_kratos_fields() {
        let mut data = vec![0u8; 32];
        data.push(0x45); // UP | UV | AT
        data.extend(9u32.to_be_bytes());
        data.extend([7u8; 16]);
        data.extend(4u16.to_be_bytes());
        data.extend([1, 2, 3, 250]);
        data.extend(cose_key());
        data.extend([0xa0]); // extensions: an empty map after the key
        let object = [
            (Cbor::Text("fmt".into()), Cbor::Text("packed".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Default::default())),
            (Cbor::Text("authData".into()), Cbor::Bytes(data.clone())),
        ];
        let object =
            serde_cbor_2::to_vec(&Cbor::Map(object.into_iter().collect())).unwrap_or_default();
        let attested = parse_attestation(&object).unwrap_or_else(|| panic!("unread"));
        assert_eq!((attested.fmt.as_str(), attested.sign_count), ("packed", 9));
        assert_eq!(attested.aaguid, vec![7; 16]);
        assert_eq!(
            attested.cose_key,
            cose_key(),
            "the key alone, not the extensions"
        );
        data.truncate(60);
        let short = [
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("authData".into()), Cbor::Bytes(data)),
        ];
        let short =
            serde_cbor_2::to_vec(&Cbor::Map(short.into_iter().collect())).unwrap_or_default();
        assert!(parse_attestation(&short).is_none());
        assert!(parse_attestation(b"not cbor").is_none());
    }
}
