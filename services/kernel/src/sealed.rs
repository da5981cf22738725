//! Encryption at rest for secrets the server must read back in plain text
//! (project cookie/cipher secrets, SMTP passwords, web-hook credentials,
//! OIDC client secrets, the tokens in queued mail). Hashing would not do:
//! those values are used, not just compared.
//!
//! AES-256-GCM (ring) with a random 96-bit nonce per value. A sealed value
//! is text, so it fits the `text` columns the plain value lived in:
//! `kp1$<key id>$<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id (first
//! four bytes of a SHA-256 over the key) picks the key to open with, so a
//! rotation only has to put the new key first: values sealed with an older
//! key still open while `keyplane encryption rotate` re-seals them.
//!
//! Every value is sealed for a *context* (e.g. the table, column and
//! project), passed as AEAD associated data: a ciphertext copied to another
//! column or another project's row does not open there.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::fmt;

const PREFIX: &str = "kp1$";
/// Shortest key text accepted: 32 characters, as Kratos asks of
/// `secrets.cipher`. A 32-byte random key in base64 is 43 characters.
pub const MIN_KEY_LEN: usize = 32;

struct SealingKey {
    id: String,
    key: LessSafeKey,
    /// For keyed digests (`digest`), derived apart from the AES key.
    mac: ring::hmac::Key,
}

/// The process's encryption keys: the first seals, every one opens.
pub struct SecretBox {
    keys: Vec<SealingKey>,
    rng: SystemRandom,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SecretBox").field("key_ids", &ids).finish()
    }
}

/// Why a stored value could not be opened. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed with key {0}, which is not among encryption.keys")]
    UnknownKey(String),
    #[error("not a valid sealed value, or sealed for another place")]
    Corrupt,
}

impl SecretBox {
    /// Builds the box from key texts (each at least [`MIN_KEY_LEN`]
    /// characters; any text, hashed to the AES key). The first one seals.
    pub fn new<S: AsRef<str>>(keys: &[S]) -> Result<Self, String> {
        if keys.is_empty() {
            return Err("at least one key is needed".to_owned());
        }
        let mut sealing = Vec::with_capacity(keys.len());
        for (i, text) in keys.iter().enumerate() {
            let text = text.as_ref();
            if text.chars().count() < MIN_KEY_LEN {
                return Err(format!("key {i} is shorter than {MIN_KEY_LEN} characters"));
            }
            let material: [u8; 32] =
                Sha256::digest([b"keyplane encryption key v1\0", text.as_bytes()].concat()).into();
            let id = hex::encode(&Sha256::digest(material)[..4]);
            if sealing.iter().any(|k: &SealingKey| k.id == id) {
                return Err(format!("key {i} is listed twice"));
            }
            let key = UnboundKey::new(&AES_256_GCM, &material)
                .map_err(|_| "the AES key could not be built".to_owned())?;
            let mac_material =
                Sha256::digest([b"keyplane digest key v1\0", text.as_bytes()].concat());
            sealing.push(SealingKey {
                id,
                key: LessSafeKey::new(key),
                mac: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &mac_material),
            });
        }
        Ok(Self {
            keys: sealing,
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random key text (32 random bytes, base64url: 43 characters).
    pub fn generate_key() -> String {
        let mut bytes = [0u8; 32];
        // The system RNG failing means the OS cannot give randomness at
        // all; nothing secure can run then.
        #[allow(clippy::expect_used)]
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the operating system's random source");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` for `context`.
    pub fn seal(&self, context: &str, plaintext: &str) -> String {
        let current = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        #[allow(clippy::expect_used)]
        self.rng
            .fill(&mut nonce)
            .expect("the operating system's random source");
        let mut buffer = plaintext.as_bytes().to_vec();
        // Fails only for inputs beyond GCM's 64 GiB bound.
        #[allow(clippy::expect_used)]
        current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buffer,
            )
            .expect("a value far below AES-GCM's size limit");
        let mut packed = nonce.to_vec();
        packed.extend_from_slice(&buffer);
        format!("{PREFIX}{}${}", current.id, URL_SAFE_NO_PAD.encode(packed))
    }

    /// Opens a value stored for `context`. A value without the sealed
    /// prefix is returned as it is: rows written before encryption at rest
    /// stay readable until `keyplane encryption rotate` seals them.
    pub fn open(&self, context: &str, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, payload) = rest.split_once('$').ok_or(OpenError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let packed = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| OpenError::Corrupt)?;
        if packed.len() < NONCE_LEN {
            return Err(OpenError::Corrupt);
        }
        let (nonce, sealed) = packed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Corrupt)?;
        let mut buffer = sealed.to_vec();
        let plain = key
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buffer)
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Corrupt)
    }

    /// A keyed digest (HMAC-SHA-256) of `value` for `context`, with the
    /// current key: for secrets that are only ever compared (one-time
    /// recovery codes), so a copy of the table without the keys cannot be
    /// searched for them.
    pub fn digest(&self, context: &str, value: &str) -> String {
        Self::digest_with(&self.keys[0], context, value)
    }

    /// Whether `stored` is the digest of `value` under any key (values
    /// digested before a rotation still match).
    pub fn digest_matches(&self, context: &str, value: &str, stored: &str) -> bool {
        let Ok(tag) = hex::decode(stored) else {
            return false;
        };
        let message = Self::digest_message(context, value);
        self.keys
            .iter()
            .any(|key| ring::hmac::verify(&key.mac, &message, &tag).is_ok())
    }

    fn digest_with(key: &SealingKey, context: &str, value: &str) -> String {
        let message = Self::digest_message(context, value);
        hex::encode(ring::hmac::sign(&key.mac, &message).as_ref())
    }

    fn digest_message(context: &str, value: &str) -> Vec<u8> {
        [context.as_bytes(), b"\0", value.as_bytes()].concat()
    }

    /// Whether a stored value should be re-sealed: it is plain text (from
    /// before encryption at rest) or sealed with a key other than the
    /// current one.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        match stored.strip_prefix(PREFIX).and_then(|r| r.split_once('$')) {
            Some((id, _)) => id != self.current_key_id(),
            None => true,
        }
    }

    /// Whether `stored` is a sealed value (not legacy plain text).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: &str = "an-old-key-of-at-least-32-characters";
    const B: &str = "the-new-key-of-at-least-32-characters";

    #[test]
    fn a_sealed_value_opens_only_in_its_context_and_hides_the_text() {
        let sbox = SecretBox::new(&[A]).unwrap();
        let sealed = sbox.seal("project:1/cookie", "hunter2-secret");
        assert!(sealed.starts_with("kp1$") && !sealed.contains("hunter2"));
        assert_eq!(
            sbox.open("project:1/cookie", &sealed).unwrap(),
            "hunter2-secret"
        );
        assert_eq!(
            sbox.open("project:2/cookie", &sealed),
            Err(OpenError::Corrupt)
        );
        // Same text, fresh nonce: equal secrets do not show as equal rows.
        assert_ne!(sealed, sbox.seal("project:1/cookie", "hunter2-secret"));
    }

    #[test]
    fn rotation_opens_old_values_and_reseals_them_with_the_first_key() {
        let old = SecretBox::new(&[A]).unwrap();
        let sealed = old.seal("c", "value");
        let rotated = SecretBox::new(&[B, A]).unwrap();
        assert!(rotated.needs_reseal(&sealed));
        assert_eq!(rotated.open("c", &sealed).unwrap(), "value");
        let resealed = rotated.seal("c", "value");
        assert!(!rotated.needs_reseal(&resealed));
        let only_new = SecretBox::new(&[B]).unwrap();
        assert!(matches!(
            only_new.open("c", &sealed),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn plain_text_from_before_is_read_as_is_and_marked_for_sealing() {
        let sbox = SecretBox::new(&[A]).unwrap();
        assert_eq!(sbox.open("c", "legacy").unwrap(), "legacy");
        assert!(sbox.needs_reseal("legacy"));
    }

    #[test]
    fn tampered_or_truncated_values_are_refused_not_panicked_on() {
        let sbox = SecretBox::new(&[A]).unwrap();
        let sealed = sbox.seal("c", "value");
        let id = sbox.current_key_id().to_owned();
        for bad in [
            format!("kp1${id}$"),
            format!("kp1${id}$!!!"),
            format!("kp1${id}"),
            // The last character changed: never to the one it was (the
            // nonce is random, so a fixed `x` sometimes was, 1 run in 64).
            format!(
                "{}{}",
                &sealed[..sealed.len() - 1],
                if sealed.ends_with('x') { 'y' } else { 'x' }
            ),
        ] {
            assert!(sbox.open("c", &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_must_be_long_and_distinct() {
        assert!(SecretBox::new::<&str>(&[]).is_err());
        assert!(SecretBox::new(&["short"]).is_err());
        assert!(SecretBox::new(&[A, A]).is_err());
        let generated = SecretBox::generate_key();
        assert_eq!(generated.len(), 43);
        assert!(SecretBox::new(&[generated]).is_ok());
    }
}
