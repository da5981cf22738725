//! Where the keys that seal secrets at rest come from (`encryption.*`).
//!
//! - `encryption.keys`: the keys themselves (each ≥ 32 characters); the
//!   first seals, every one opens. Set it in production, from a secret
//!   store, identical on every replica.
//! - else `encryption.key_file`: a file with one key per line (same
//!   order rule). Unset on SQLite, it is the database file's path plus
//!   `.key` (`./data/keyplane.db.key`), created with a random key on the
//!   first start, so `make run` needs no setup; back it up with the
//!   database: without it the sealed secrets are lost.
//! - PostgreSQL without either refuses to start: replicas generating keys
//!   of their own could not read each other's writes.

use anyhow::{Context, anyhow, bail};
use kernel::sealed::SecretBox;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionSettings {
    /// The keys, newest first (`KEYPLANE_ENCRYPTION__KEYS=[new,old]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// A file holding the keys, one per line, newest first.
    pub key_file: Option<String>,
}

impl EncryptionSettings {
    /// Checks what can be checked without touching the disk.
    pub fn validate(&self) -> Result<(), String> {
        if !self.keys.is_empty() {
            SecretBox::new(&self.keys).map_err(|e| format!("keys: {e}"))?;
        }
        Ok(())
    }

    /// The key file in use when `keys` is empty: the configured one, or the
    /// SQLite database's file plus `.key`.
    pub fn key_file_for(&self, database_url: &str) -> Option<PathBuf> {
        self.key_file.as_ref().map(PathBuf::from).or_else(|| {
            store::db::sqlite_file(database_url).map(|db| {
                let mut name = db.into_os_string();
                name.push(".key");
                PathBuf::from(name)
            })
        })
    }

    /// The keys for this process: given, read from the key file, or (first
    /// start on SQLite, or in-memory SQLite) generated.
    pub fn secret_box(&self, database_url: &str) -> anyhow::Result<Arc<SecretBox>> {
        if !self.keys.is_empty() {
            return SecretBox::new(&self.keys)
                .map(Arc::new)
                .map_err(|e| anyhow!("encryption.keys: {e}"));
        }
        if let Some(path) = self.key_file_for(database_url) {
            return load_or_create(&path).map(Arc::new);
        }
        if database_url.starts_with("sqlite:") {
            // In-memory SQLite: the data lives as long as the process, and
            // so may its key.
            return SecretBox::new(&[SecretBox::generate_key()])
                .map(Arc::new)
                .map_err(|e| anyhow!("encryption: {e}"));
        }
        bail!(
            "encryption.keys (or encryption.key_file) must be set with PostgreSQL: every \
             replica must seal project secrets with the same key (docs/security.md)"
        )
    }
}

fn load_or_create(path: &Path) -> anyhow::Result<SecretBox> {
    let key_file = || format!("encryption.key_file {}", path.display());
    if !path.exists() {
        create(path).with_context(key_file)?;
        tracing::info!(
            path = %path.display(),
            "created a new encryption key; back it up with the database"
        );
    }
    let text = std::fs::read_to_string(path).with_context(key_file)?;
    let keys: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    SecretBox::new(&keys).map_err(|e| anyhow!("{}: {e}", key_file()))
}

/// Writes a fresh key, readable by the owner only. `create_new`: when two
/// processes start at once, one creates and the other reads its key.
fn create(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            writeln!(file, "{}", SecretBox::generate_key())?;
            file.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_a_key_file_next_to_the_database_created_once() {
        let dir = std::env::temp_dir().join(format!("kp-enc-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/keyplane.db", dir.display());
        let settings = EncryptionSettings::default();
        let path = settings.key_file_for(&url).unwrap();
        assert_eq!(path, dir.join("keyplane.db.key"));
        let first = settings.secret_box(&url).unwrap();
        let sealed = first.seal("c", "v");
        // The second start reads the same key.
        let second = settings.secret_box(&url).unwrap();
        assert_eq!(second.open("c", &sealed).unwrap(), "v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn postgres_without_keys_is_refused_and_given_keys_win() {
        let settings = EncryptionSettings::default();
        let error = settings
            .secret_box("postgres://localhost/keyplane")
            .unwrap_err();
        assert!(error.to_string().contains("encryption.keys"), "{error}");
        let settings = EncryptionSettings {
            keys: vec!["k".repeat(40)],
            key_file: None,
        };
        assert!(settings.secret_box("postgres://localhost/k").is_ok());
        assert!(settings.secret_box("sqlite::memory:").is_ok());
        let short = EncryptionSettings {
            keys: vec!["short".into()],
            key_file: None,
        };
        assert!(short.validate().unwrap_err().contains("32"));
    }
}
