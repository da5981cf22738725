//! Parsing, verification and creation of the stored hash formats.
//!
//! Stored hashes may come from imports, so every format's cost parameters
//! are bounded: a hash with absurd parameters is rejected at import (400)
//! instead of making one login allocate gigabytes or spin for minutes and
//! starve every other tenant's hashing. The bounds leave room above each
//! format's usual production settings (docs/security.md lists them).

use std::fmt;

use argon2::Argon2;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use kernel::{Error, Result};
use password_hash::phc::PasswordHash;
use password_hash::{PasswordHasher as _, PasswordVerifier as _};

use super::{HashAlgorithm, HasherSettings};

/// Upper bound for bcrypt's cost, for configured and stored hashes: cost
/// 14 is ~1 s on one core; every step doubles it.
pub(super) const MAX_BCRYPT_COST: u32 = 14;
/// Upper bound for argon2 memory (256 MiB), for configured and stored
/// hashes (Kratos' default is 128 MiB).
pub(super) const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Upper bound for argon2 iterations.
pub(super) const MAX_ARGON2_ITERATIONS: u32 = 10;
/// Upper bound for argon2 parallelism (Kratos stores it as a `uint8`).
const MAX_ARGON2_PARALLELISM: u32 = 255;
/// Upper bound for PBKDF2 iterations (OWASP asks 600,000 for SHA-256).
const MAX_PBKDF2_ROUNDS: u32 = 1_000_000;
/// Upper bound for scrypt memory (128 · r · N bytes): 256 MiB.
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Upper bound for scrypt's work, N · r · p: 16 times Kratos' default
/// (N = 2^15, r = 8, p = 1).
const MAX_SCRYPT_WORK: u64 = 1 << 22;
/// Upper bound for scrypt parallelism.
const MAX_SCRYPT_P: u32 = 16;
/// bcrypt reads at most 72 bytes of the password.
const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;
/// Argon2 output length we produce (and Kratos' default key length).
const ARGON2_OUTPUT_LEN: usize = 32;

const SUPPORTED: &str = "supported formats are bcrypt ($2a$, $2b$, $2y$), argon2id, argon2i, \
                         pbkdf2-sha256, pbkdf2-sha512 and scrypt";

/// Standard base64, with or without padding: the pbkdf2 and scrypt crates
/// write unpadded PHC base64, Kratos' scrypt format is padded.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Why a stored hash is not usable. The text is safe to show to an admin
/// (it never contains the hash itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FormatError(String);

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn malformed(format: &str, reason: impl fmt::Display) -> FormatError {
    FormatError(format!(
        "The hashed password is not a valid {format} hash: {reason}"
    ))
}

/// A stored hash, parsed and checked, ready to verify.
#[derive(Debug, Clone)]
pub(super) enum ParsedHash {
    /// `$2a$`/`$2b$`/`$2y$`; the bcrypt crate verifies the original string.
    Bcrypt { cost: u32 },
    /// `$argon2id$` or `$argon2i$` in PHC format.
    Argon2(Box<PasswordHash>),
    /// `$pbkdf2-sha256$i=..,l=..$salt$hash` (PHC, as the pbkdf2 crate and Kratos write it).
    Pbkdf2 {
        algorithm: pbkdf2::Algorithm,
        params: pbkdf2::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
    /// `$scrypt$ln=..,r=..,p=..$salt$hash`. `ln` is log2(N) in PHC (the scrypt
    /// crate, passlib) but N itself in Kratos' import format; both are read.
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

impl ParsedHash {
    pub(super) fn parse(hash: &str) -> Result<Self, FormatError> {
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            parse_bcrypt(hash)
        } else if hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$") {
            parse_argon2(hash)
        } else if hash.starts_with("$pbkdf2-") {
            parse_pbkdf2(hash)
        } else if hash.starts_with("$scrypt$") {
            parse_scrypt(hash)
        } else {
            Err(FormatError(format!(
                "The hashed password uses an unsupported format: {SUPPORTED}"
            )))
        }
    }

    /// Computes and compares. `Err` only for failures other than a mismatch.
    pub(super) fn verify(&self, password: &[u8], original: &str) -> Result<bool, String> {
        match self {
            // No hash we create was made from more than 72 bytes, and bcrypt
            // would ignore the excess: refuse rather than match a prefix.
            ParsedHash::Bcrypt { .. } if password.len() > BCRYPT_MAX_PASSWORD_BYTES => Ok(false),
            ParsedHash::Bcrypt { .. } => bcrypt::verify(password, original)
                .map_err(|e| format!("bcrypt verification failed: {e}")),
            ParsedHash::Argon2(phc) => match Argon2::default().verify_password(password, &**phc) {
                Ok(()) => Ok(true),
                Err(password_hash::Error::PasswordInvalid) => Ok(false),
                Err(e) => Err(format!("argon2 verification failed: {e}")),
            },
            ParsedHash::Pbkdf2 {
                algorithm,
                params,
                salt,
                hash,
            } => {
                let mut out = vec![0u8; hash.len()];
                pbkdf2::pbkdf2_hmac_with_params(password, salt, *algorithm, *params, &mut out);
                Ok(constant_time_eq(&out, hash))
            }
            ParsedHash::Scrypt { params, salt, hash } => {
                let mut out = vec![0u8; hash.len()];
                scrypt::scrypt(password, salt, params, &mut out)
                    .map_err(|e| format!("scrypt verification failed: {e}"))?;
                Ok(constant_time_eq(&out, hash))
            }
        }
    }

    /// True when this hash is what `settings` would produce now.
    pub(super) fn matches_settings(&self, settings: &HasherSettings) -> bool {
        match (settings.algorithm, self) {
            (HashAlgorithm::Bcrypt, ParsedHash::Bcrypt { cost }) => *cost == settings.bcrypt_cost,
            (HashAlgorithm::Argon2id, ParsedHash::Argon2(phc)) => {
                let Ok(params) = argon2::Params::try_from(&**phc) else {
                    return false;
                };
                phc.algorithm.as_str() == "argon2id"
                    && phc.version == Some(0x13)
                    && params.m_cost() == settings.argon2_memory_kib
                    && params.t_cost() == settings.argon2_iterations
                    && params.p_cost() == settings.argon2_parallelism
                    && phc.hash.as_ref().map(|h| h.len()) == Some(ARGON2_OUTPUT_LEN)
            }
            _ => false,
        }
    }
}

/// Hashes with the configured algorithm. Runs on the blocking pool.
pub(super) fn hash(settings: &HasherSettings, password: &[u8]) -> Result<String> {
    match settings.algorithm {
        // As Go's bcrypt (and so Kratos): up to 72 bytes, all significant.
        HashAlgorithm::Bcrypt if password.len() > BCRYPT_MAX_PASSWORD_BYTES => Err(
            Error::bad_request("passwords are limited to a maximum length of 72 characters"),
        ),
        HashAlgorithm::Bcrypt => bcrypt::hash(password, settings.bcrypt_cost)
            .map_err(|e| Error::internal(format!("bcrypt hashing failed: {e}"))),
        HashAlgorithm::Argon2id => {
            let params = argon2::Params::new(
                settings.argon2_memory_kib,
                settings.argon2_iterations,
                settings.argon2_parallelism,
                Some(ARGON2_OUTPUT_LEN),
            )
            .map_err(|e| Error::internal(format!("invalid argon2 settings: {e}")))?;
            let hasher = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let phc: PasswordHash = hasher
                .hash_password(password)
                .map_err(|e| Error::internal(format!("argon2 hashing failed: {e}")))?;
            Ok(phc.to_string())
        }
    }
}

/// `$2b$12$` + 22 salt characters + 31 hash characters, 60 in all.
fn parse_bcrypt(hash: &str) -> Result<ParsedHash, FormatError> {
    let bad = |reason: &str| malformed("bcrypt", reason);
    if hash.len() != 60 {
        return Err(bad("expected 60 characters"));
    }
    let (Some(cost), Some("$"), Some(rest)) = (hash.get(4..6), hash.get(6..7), hash.get(7..))
    else {
        return Err(bad("expected $2b$<cost>$<salt and hash>"));
    };
    let cost: u32 = cost.parse().map_err(|_| bad("the cost is not a number"))?;
    if !(4..=MAX_BCRYPT_COST).contains(&cost) {
        return Err(bad(&format!(
            "the cost must be between 4 and {MAX_BCRYPT_COST}"
        )));
    }
    // 22 characters of salt (16 bytes) and 31 of hash (23 bytes), in
    // bcrypt's base64; the last character of each carries unused bits that
    // must be zero, or verification fails on every login later.
    let digits: Option<Vec<u8>> = rest.bytes().map(bcrypt_digit).collect();
    let Some(digits) = digits else {
        return Err(bad("the salt and hash are not bcrypt base64"));
    };
    if digits[21] & 0b1111 != 0 || digits[52] & 0b11 != 0 {
        return Err(bad("the salt or hash is not canonical bcrypt base64"));
    }
    Ok(ParsedHash::Bcrypt { cost })
}

/// A character's value in bcrypt's base64 alphabet (`./A-Za-z0-9`).
fn bcrypt_digit(b: u8) -> Option<u8> {
    match b {
        b'.' => Some(0),
        b'/' => Some(1),
        b'A'..=b'Z' => Some(b - b'A' + 2),
        b'a'..=b'z' => Some(b - b'a' + 28),
        b'0'..=b'9' => Some(b - b'0' + 54),
        _ => None,
    }
}

fn parse_argon2(hash: &str) -> Result<ParsedHash, FormatError> {
    let bad = |reason: &dyn fmt::Display| malformed("argon2", reason);
    let phc = PasswordHash::new(hash).map_err(|e| bad(&e))?;
    match phc.version {
        Some(0x10 | 0x13) => {}
        Some(v) => return Err(bad(&format!("unsupported version v={v}"))),
        None => return Err(bad(&"the version (v=19) is missing")),
    }
    if phc.salt.is_none() || phc.hash.is_none() {
        return Err(bad(&"the salt or the hash is missing"));
    }
    let params = argon2::Params::try_from(&phc).map_err(|e| bad(&e))?;
    if params.m_cost() > MAX_ARGON2_MEMORY_KIB {
        return Err(bad(&format!(
            "memory m must be at most {MAX_ARGON2_MEMORY_KIB} KiB"
        )));
    }
    if params.t_cost() > MAX_ARGON2_ITERATIONS {
        return Err(bad(&format!(
            "iterations t must be at most {MAX_ARGON2_ITERATIONS}"
        )));
    }
    if params.p_cost() > MAX_ARGON2_PARALLELISM {
        return Err(bad(&format!(
            "parallelism p must be at most {MAX_ARGON2_PARALLELISM}"
        )));
    }
    Ok(ParsedHash::Argon2(Box::new(phc)))
}

/// The fields of `$<id>$<params>$<salt>$<hash>`, salt and hash decoded.
struct PhcParts<'a> {
    id: &'a str,
    params: &'a str,
    salt: Vec<u8>,
    output: Vec<u8>,
}

/// Splits `$<id>$<params>$<salt>$<hash>` and decodes salt and hash.
fn split_phc<'a>(hash: &'a str, format: &str) -> Result<PhcParts<'a>, FormatError> {
    let parts: Vec<&str> = hash.split('$').collect();
    let ["", id, params, salt, output] = parts.as_slice() else {
        return Err(malformed(format, "expected $<id>$<params>$<salt>$<hash>"));
    };
    let salt = B64
        .decode(salt)
        .map_err(|_| malformed(format, "the salt is not base64"))?;
    let output = B64
        .decode(output)
        .map_err(|_| malformed(format, "the hash is not base64"))?;
    if salt.is_empty() || output.is_empty() {
        return Err(malformed(format, "the salt or the hash is empty"));
    }
    Ok(PhcParts {
        id,
        params,
        salt,
        output,
    })
}

/// Parses `k=v,k=v` into decimal values, rejecting unknown keys.
fn parse_params<'a>(
    params: &'a str,
    format: &str,
    known: &[&str],
) -> Result<Vec<(&'a str, u64)>, FormatError> {
    params
        .split(',')
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| malformed(format, format!("parameter {pair:?} is not key=value")))?;
            if !known.contains(&key) {
                return Err(malformed(format, format!("unknown parameter {key:?}")));
            }
            let value = value
                .parse()
                .map_err(|_| malformed(format, format!("parameter {key} is not a number")))?;
            Ok((key, value))
        })
        .collect()
}

fn parse_pbkdf2(hash: &str) -> Result<ParsedHash, FormatError> {
    let PhcParts {
        id,
        params,
        salt,
        output,
    } = split_phc(hash, "pbkdf2")?;
    let algorithm = match id {
        "pbkdf2-sha256" => pbkdf2::Algorithm::Pbkdf2Sha256,
        "pbkdf2-sha512" => pbkdf2::Algorithm::Pbkdf2Sha512,
        other => {
            return Err(malformed(
                "pbkdf2",
                format!("unsupported digest {other:?} (pbkdf2-sha256 and pbkdf2-sha512 are)"),
            ));
        }
    };
    let mut rounds = None;
    for (key, value) in parse_params(params, "pbkdf2", &["i", "l"])? {
        match key {
            "i" => rounds = Some(value),
            // `l` is the key length; it must agree with the hash.
            _ if value != output.len() as u64 => {
                return Err(malformed("pbkdf2", "l does not match the hash length"));
            }
            _ => {}
        }
    }
    let rounds = rounds.ok_or_else(|| malformed("pbkdf2", "the iteration count i is missing"))?;
    let min = u64::from(pbkdf2::Params::MIN_ROUNDS);
    if !(min..=u64::from(MAX_PBKDF2_ROUNDS)).contains(&rounds) {
        return Err(malformed(
            "pbkdf2",
            format!("the iteration count i must be between {min} and {MAX_PBKDF2_ROUNDS}"),
        ));
    }
    let rounds = u32::try_from(rounds).map_err(|_| malformed("pbkdf2", "i is too large"))?;
    let params = pbkdf2::Params::new_with_output_len(rounds, output.len()).map_err(|_| {
        malformed(
            "pbkdf2",
            format!(
                "the hash must be {} to {} bytes long",
                pbkdf2::Params::MIN_OUTPUT_LENGTH,
                pbkdf2::Params::MAX_OUTPUT_LENGTH
            ),
        )
    })?;
    Ok(ParsedHash::Pbkdf2 {
        algorithm,
        params,
        salt,
        hash: output,
    })
}

fn parse_scrypt(hash: &str) -> Result<ParsedHash, FormatError> {
    let PhcParts {
        params,
        salt,
        output,
        ..
    } = split_phc(hash, "scrypt")?;
    let (mut ln, mut r, mut p) = (None, 8u64, 1u64);
    for (key, value) in parse_params(params, "scrypt", &["ln", "r", "p"])? {
        match key {
            "ln" => ln = Some(value),
            "r" => r = value,
            _ => p = value,
        }
    }
    let ln = ln.ok_or_else(|| malformed("scrypt", "the cost ln is missing"))?;
    // PHC's ln is log2(N); Kratos' import format puts N itself there.
    let log_n = if ln < 64 {
        ln
    } else if ln.is_power_of_two() {
        u64::from(ln.trailing_zeros())
    } else {
        return Err(malformed(
            "scrypt",
            "the cost ln is neither log2(N) nor a power of two",
        ));
    };
    if log_n == 0 || r == 0 || p == 0 || p > u64::from(MAX_SCRYPT_P) {
        return Err(malformed(
            "scrypt",
            format!("ln and r must be positive and p between 1 and {MAX_SCRYPT_P}"),
        ));
    }
    let memory = 1u64
        .checked_shl(u32::try_from(log_n).unwrap_or(u32::MAX))
        .and_then(|n| n.checked_mul(r))
        .and_then(|nr| nr.checked_mul(128));
    if memory.is_none_or(|m| m > MAX_SCRYPT_MEMORY) {
        return Err(malformed(
            "scrypt",
            "the parameters need more than 256 MiB of memory (128 · r · N)",
        ));
    }
    let work = 1u64
        .checked_shl(u32::try_from(log_n).unwrap_or(u32::MAX))
        .and_then(|n| n.checked_mul(r))
        .and_then(|nr| nr.checked_mul(p));
    if work.is_none_or(|w| w > MAX_SCRYPT_WORK) {
        return Err(malformed(
            "scrypt",
            format!("N · r · p must be at most {MAX_SCRYPT_WORK}"),
        ));
    }
    if output.len() > 128 {
        return Err(malformed("scrypt", "the hash is longer than 128 bytes"));
    }
    let params = scrypt::Params::new(
        u8::try_from(log_n).map_err(|_| malformed("scrypt", "ln is too large"))?,
        u32::try_from(r).map_err(|_| malformed("scrypt", "r is too large"))?,
        u32::try_from(p).map_err(|_| malformed("scrypt", "p is too large"))?,
    )
    .map_err(|e| malformed("scrypt", e))?;
    Ok(ParsedHash::Scrypt {
        params,
        salt,
        hash: output,
    })
}

/// Compares without an early exit, so timing does not tell how many leading
/// bytes matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}
