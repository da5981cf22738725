//! Password hashing as Ory Kratos does it: new hashes with the configured
//! algorithm (bcrypt or argon2id), verification against every supported
//! stored format (bcrypt, argon2id/argon2i, pbkdf2-sha256/-sha512, scrypt),
//! and a `needs_rehash` check so a successful login can upgrade old hashes.
//!
//! Hashing is CPU- and memory-heavy by design, so it never runs on an async
//! worker: every hash and verify goes to tokio's blocking pool, and a
//! semaphore bounds how many run at once. A burst of logins then queues
//! instead of occupying every blocking thread (and, with argon2, allocating
//! `argon2_memory_kib` per request without bound).

mod formats;
mod pool;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use kernel::share::ProjectShares;
use kernel::{Error, Result};
use uuid::Uuid;

use formats::{MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB, MAX_BCRYPT_COST, ParsedHash};

/// The algorithm new passwords are hashed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// bcrypt (`$2b$`), Kratos' default.
    Bcrypt,
    /// argon2id (`$argon2id$v=19$...`). Kratos' configuration calls it
    /// `argon2`, which is accepted as an alias.
    #[serde(alias = "argon2")]
    Argon2id,
}

/// Hasher configuration (`hashers` in Kratos' configuration).
///
/// Defaults: bcrypt with cost 12, as Kratos. The argon2id defaults are not
/// Kratos' (128 MiB, 1 iteration, parallelism 2×cores), which cost too much
/// memory per login on small machines: they are 64 MiB, 3 iterations,
/// parallelism 1, the second recommendation of RFC 9106 (§4).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HasherSettings {
    pub algorithm: HashAlgorithm,
    /// bcrypt work factor, 4..=14.
    pub bcrypt_cost: u32,
    /// argon2 memory in KiB, at least 8 × `argon2_parallelism`, at most 256 MiB.
    pub argon2_memory_kib: u32,
    /// argon2 passes over memory, 1..=10.
    pub argon2_iterations: u32,
    /// argon2 lanes, 1..=255.
    pub argon2_parallelism: u32,
    /// How many hashes/verifications may run at once; 0 means one per CPU core.
    pub max_concurrent: usize,
    /// Nice value of the hashing threads (0..=19; 0 = normal priority).
    /// Above 0, cheap requests win the CPU from a login storm.
    pub thread_niceness: i32,
    /// How many of those hashes one project may run or queue at once; 0
    /// means half of `max_concurrent` (at least one), so one tenant's
    /// flood never takes every thread nor queues ahead of other tenants.
    pub max_concurrent_per_project: usize,
}

impl Default for HasherSettings {
    fn default() -> Self {
        Self {
            algorithm: HashAlgorithm::Bcrypt,
            bcrypt_cost: 12,
            argon2_memory_kib: 64 * 1024,
            argon2_iterations: 3,
            argon2_parallelism: 1,
            max_concurrent: 0,
            max_concurrent_per_project: 0,
            thread_niceness: 10,
        }
    }
}

impl HasherSettings {
    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<(), String> {
        if !(4..=MAX_BCRYPT_COST).contains(&self.bcrypt_cost) {
            return Err(format!(
                "bcrypt_cost must be between 4 and {MAX_BCRYPT_COST}, got {}",
                self.bcrypt_cost
            ));
        }
        if !(0..=19).contains(&self.thread_niceness) {
            return Err(format!(
                "thread_niceness must be between 0 and 19, got {}",
                self.thread_niceness
            ));
        }
        if !(1..=255).contains(&self.argon2_parallelism) {
            return Err(format!(
                "argon2_parallelism must be between 1 and 255, got {}",
                self.argon2_parallelism
            ));
        }
        let min_memory = 8 * self.argon2_parallelism;
        if self.argon2_memory_kib < min_memory || self.argon2_memory_kib > MAX_ARGON2_MEMORY_KIB {
            return Err(format!(
                "argon2_memory_kib must be between {min_memory} (8 × argon2_parallelism) and \
                 {MAX_ARGON2_MEMORY_KIB}, got {}",
                self.argon2_memory_kib
            ));
        }
        if !(1..=MAX_ARGON2_ITERATIONS).contains(&self.argon2_iterations) {
            return Err(format!(
                "argon2_iterations must be between 1 and {MAX_ARGON2_ITERATIONS}, got {}",
                self.argon2_iterations
            ));
        }
        Ok(())
    }

    fn permits(&self) -> usize {
        let n = if self.max_concurrent == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.max_concurrent
        };
        n.clamp(1, 1024)
    }

    fn per_project(&self) -> usize {
        match self.max_concurrent_per_project {
            0 => (self.permits() / 2).max(1),
            n => n.clamp(1, self.permits()),
        }
    }
}

/// Hashes and verifies passwords off the async workers. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    settings: HasherSettings,
    pool: pool::HashPool,
    /// Each project's share of the threads (see `kernel::share`): one
    /// tenant's login flood neither takes every thread nor queues ahead
    /// of other tenants.
    shares: ProjectShares,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher. Settings are expected to have passed
    /// [`HasherSettings::validate`]; invalid ones make `hash` fail.
    pub fn new(settings: &HasherSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                settings: settings.clone(),
                pool: pool::HashPool::start(settings.permits(), settings.thread_niceness),
                shares: ProjectShares::new(settings.per_project()),
            }),
        }
    }

    pub fn settings(&self) -> &HasherSettings {
        &self.inner.settings
    }

    /// Hashes `password` with the configured algorithm: a bcrypt MCF string
    /// (`$2b$12$...`) or an argon2id PHC string (`$argon2id$v=19$...`).
    ///
    /// bcrypt only reads 72 bytes; longer passwords are refused with a 400,
    /// as Kratos does, rather than silently truncated.
    pub async fn hash(&self, project: Uuid, password: String) -> Result<String> {
        let settings = self.inner.settings.clone();
        self.run_blocking(project, move || {
            formats::hash(&settings, password.as_bytes())
        })
        .await?
    }

    /// Verifies `password` against a stored hash in any supported format.
    /// A wrong password is `Ok(false)`. So is a stored hash that cannot be
    /// used (stored before the import checks were strict, or parameters
    /// past today's bounds): logged for the operator, and the person sees
    /// a failed login (recovery still works) rather than a 500.
    pub async fn verify(&self, project: Uuid, password: String, hash: String) -> Result<bool> {
        // Parse before taking a permit: a malformed hash costs nothing.
        let parsed = match ParsedHash::parse(&hash) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!(reason = %e, "a stored password hash is unusable");
                return Ok(false);
            }
        };
        let verified = self
            .run_blocking(project, move || parsed.verify(password.as_bytes(), &hash))
            .await?;
        Ok(verified.unwrap_or_else(|e| {
            tracing::error!(reason = %e, "a stored password hash is unusable");
            false
        }))
    }

    /// True when `hash` is not the configured algorithm with the configured
    /// parameters, so the caller should re-hash the password (which it knows
    /// right after a successful login) and store the new hash.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let settings = &self.inner.settings;
        match ParsedHash::parse(hash) {
            Ok(parsed) => !parsed.matches_settings(settings),
            Err(_) => true,
        }
    }

    /// Checks an imported `hashed_password`: a 400 with the reason if it is
    /// in none of the supported formats or its parameters are out of bounds.
    pub fn validate_import(hash: &str) -> Result<()> {
        ParsedHash::parse(hash)
            .map(|_| ())
            .map_err(|e| Error::bad_request(e.to_string()))
    }

    /// Runs `work` on one of the hashing threads (see `pool`), within
    /// `project`'s share of them (see `kernel::share`).
    async fn run_blocking<T, F>(&self, project: Uuid, work: F) -> Result<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _place = self.inner.shares.enter(project).await;
        self.inner.pool.run(work).await
    }
}
