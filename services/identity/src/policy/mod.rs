//! Password policy as Ory Kratos applies it on registration, settings and
//! recovery: a minimum length, a similarity check against the identifier,
//! and a look-up in the Have I Been Pwned password corpus (k-anonymity: only
//! the first five hex digits of the password's SHA-1 leave the process).
//!
//! Every violation is Kratos' message 4000005, "The password can not be
//! used because {reason}.", with `{"reason": ...}` as its context.

mod breach;

#[cfg(test)]
mod tests;

pub use breach::{BreachChecker, DEFAULT_BASE_URL};

/// Kratos' message id for every password policy violation.
pub const PASSWORD_POLICY_VIOLATION: u64 = 4_000_005;

/// Kratos rejects a password whose Levenshtein distance to the identifier
/// is below this...
const MIN_IDENTIFIER_DISTANCE: usize = 5;
/// ...or whose longest common substring with it is more than this share of
/// the password's length (both compared lower-cased).
const MAX_COMMON_SUBSTRING_SHARE: f64 = 0.5;

const REASON_SIMILAR: &str = "the password is too similar to the user identifier";
const REASON_BREACHED: &str =
    "the password has been found in data breaches and must no longer be used";
const REASON_UNCHECKED: &str = "unable to check if password has been leaked because an \
                                unexpected network error occurred";

/// The password settings of an identity configuration
/// (`selfservice.methods.password.config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// `min_password_length`, default 8. Counted in characters.
    pub min_length: usize,
    /// `identifier_similarity_check_enabled`, default true.
    pub identifier_similarity_check: bool,
    /// `haveibeenpwned_enabled`, default true.
    pub haveibeenpwned_enabled: bool,
    /// `max_breaches`, default 0: a password seen in more breaches is refused.
    pub max_breaches: u64,
    /// `ignore_network_errors`, default true: accept the password when the
    /// breach corpus cannot be reached.
    pub ignore_network_errors: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            identifier_similarity_check: true,
            haveibeenpwned_enabled: true,
            max_breaches: 0,
            ignore_network_errors: true,
        }
    }
}

/// A refused password, as a Kratos UI message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PolicyViolation {
    pub id: u64,
    pub text: String,
    pub context: serde_json::Value,
}

impl PolicyViolation {
    fn new(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self {
            id: PASSWORD_POLICY_VIOLATION,
            text: format!("The password can not be used because {reason}."),
            context: serde_json::json!({ "reason": reason }),
        }
    }

    /// The reason alone (the `{reason}` part of the text).
    pub fn reason(&self) -> &str {
        self.context
            .get("reason")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
    }
}

impl std::fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for PolicyViolation {}

impl PasswordPolicy {
    /// The policy of `selfservice.methods.password.config`; keys the
    /// project left unset keep the defaults.
    pub fn from_config(c: &kernel::identity_config::PasswordPolicyConfig) -> Self {
        let mut policy = Self::default();
        if let Some(v) = c.min_password_length {
            policy.min_length = usize::try_from(v).unwrap_or(usize::MAX);
        }
        if let Some(v) = c.identifier_similarity_check_enabled {
            policy.identifier_similarity_check = v;
        }
        if let Some(v) = c.haveibeenpwned_enabled {
            policy.haveibeenpwned_enabled = v;
        }
        if let Some(v) = c.max_breaches {
            policy.max_breaches = v;
        }
        if let Some(v) = c.ignore_network_errors {
            policy.ignore_network_errors = v;
        }
        policy
    }

    /// Checks, in Kratos' order: length, similarity to `identifier` (when
    /// given and non-empty), then the breach corpus.
    pub async fn check(
        &self,
        checker: &BreachChecker,
        identifier: Option<&str>,
        password: &str,
    ) -> Result<(), PolicyViolation> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(PolicyViolation::new(format!(
                "password length must be at least {} characters but only got {length}",
                self.min_length
            )));
        }

        if self.identifier_similarity_check
            && let Some(identifier) = identifier.filter(|i| !i.is_empty())
            && too_similar(identifier, password)
        {
            return Err(PolicyViolation::new(REASON_SIMILAR));
        }

        if !self.haveibeenpwned_enabled {
            return Ok(());
        }
        match checker.breach_count(password).await {
            Ok(count) if count > self.max_breaches => Err(PolicyViolation::new(REASON_BREACHED)),
            Ok(_) => Ok(()),
            Err(cause) => {
                tracing::warn!(%cause, ignored = self.ignore_network_errors,
                    "password breach check failed");
                if self.ignore_network_errors {
                    Ok(())
                } else {
                    Err(PolicyViolation::new(REASON_UNCHECKED))
                }
            }
        }
    }
}

/// Kratos' rule: on the lower-cased strings, a Levenshtein distance below 5
/// or a longest common substring longer than half the password.
fn too_similar(identifier: &str, password: &str) -> bool {
    let id: Vec<char> = identifier.to_lowercase().chars().collect();
    let pw: Vec<char> = password.to_lowercase().chars().collect();

    // The distance is at least the length difference, and the common
    // substring at most the identifier's length: skip the quadratic work
    // when neither can trigger (a long password against a short identifier).
    let distance_may_trigger = id.len().abs_diff(pw.len()) < MIN_IDENTIFIER_DISTANCE;
    let substring_may_trigger = share(id.len(), pw.len()) > MAX_COMMON_SUBSTRING_SHARE;

    (distance_may_trigger && levenshtein(&id, &pw) < MIN_IDENTIFIER_DISTANCE)
        || (substring_may_trigger
            && share(longest_common_substring(&id, &pw), pw.len()) > MAX_COMMON_SUBSTRING_SHARE)
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Edit distance (insertions, deletions, substitutions), two-row DP.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut curr = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        curr[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            curr[j + 1] = substitution.min(prev[j + 1] + 1).min(curr[j] + 1);
        }
        std::mem::swap(&mut prev, &mut curr);
    }
    prev[b.len()]
}

/// Length of the longest common contiguous substring, two-row DP.
fn longest_common_substring(a: &[char], b: &[char]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut curr = vec![0usize; b.len() + 1];
    let mut best = 0;
    for ca in a {
        for (j, cb) in b.iter().enumerate() {
            curr[j + 1] = if ca == cb { prev[j] + 1 } else { 0 };
            best = best.max(curr[j + 1]);
        }
        std::mem::swap(&mut prev, &mut curr);
    }
    best
}
