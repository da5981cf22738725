//! Failed-login throttling: an exponential back-off per (project,
//! identifier) and per (project, client address), so guessing passwords
//! costs time and no hashing work (Kratos leaves this to an edge proxy,
//! kratos#3037).
//!
//! Each password check is counted *before* the hash is compared, in one
//! atomic step with the back-off check (see
//! [`kernel::rate_limit::BackOff`]): concurrent guesses cannot all slip in
//! under the limit. A right password wipes the identifier's counter and
//! gives the address its attempt back, so both count failures only. The
//! counters live in the shared cache (Redis with several replicas); when
//! it is unreachable, logins go ahead unthrottled (fail open).

use super::model::{UiText, text};
use kernel::ports::CacheBus;
use kernel::rate_limit::BackOff;
use kernel::tenant::TenantCtx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The `identity.login_throttle` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginThrottleSettings {
    /// Off: nothing is counted for any project.
    pub enabled: bool,
    /// Failed logins of one identifier before the first delay.
    pub free_failures: u32,
    /// Failed logins from one client address (an IPv6 /64) before the
    /// first delay. Higher than `free_failures`: many people may share an
    /// address, but one address must not try a few passwords on each of
    /// many accounts.
    pub ip_free_failures: u32,
    /// The first delay; each further failure doubles it.
    pub base_delay_secs: u64,
    /// The longest delay: the right password always gets in within this
    /// long of the last failure.
    pub max_delay_secs: u64,
    /// A counter without a failure for this long starts over.
    pub window_secs: u64,
}

impl Default for LoginThrottleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            free_failures: 5,
            ip_free_failures: 20,
            base_delay_secs: 1,
            max_delay_secs: 900,
            window_secs: 3600,
        }
    }
}

impl LoginThrottleSettings {
    /// `Err("<key>: <why>")`, the key below `identity.login_throttle`.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (
                self.free_failures >= 1,
                "free_failures",
                "must be at least 1",
            ),
            (
                self.ip_free_failures >= self.free_failures,
                "ip_free_failures",
                "must be at least free_failures",
            ),
            (
                self.base_delay_secs >= 1,
                "base_delay_secs",
                "must be at least 1",
            ),
            (
                self.max_delay_secs >= self.base_delay_secs,
                "max_delay_secs",
                "must be at least base_delay_secs",
            ),
            (
                // Else a counter would be forgotten before its delay ends.
                self.window_secs >= self.max_delay_secs,
                "window_secs",
                "must be at least max_delay_secs",
            ),
        ];
        match checks.iter().find(|(ok, ..)| !ok) {
            Some((_, key, why)) => Err(format!("{key}: {why}")),
            None => Ok(()),
        }
    }

    fn policy(&self, free: u32) -> BackOff {
        BackOff {
            free,
            base_ms: self.base_delay_secs.saturating_mul(1000),
            max_ms: self.max_delay_secs.saturating_mul(1000),
            window_ms: self.window_secs.saturating_mul(1000),
        }
    }
}

/// The counters one login attempt was counted in.
#[derive(Debug, Default)]
pub struct Counted {
    identifier: Option<String>,
    ip: Option<String>,
}

#[derive(Clone)]
pub struct LoginThrottle {
    counters: Arc<dyn CacheBus>,
    settings: LoginThrottleSettings,
}

impl LoginThrottle {
    pub fn new(counters: Arc<dyn CacheBus>, settings: LoginThrottleSettings) -> Self {
        Self { counters, settings }
    }

    fn enabled(&self, tenant: &TenantCtx) -> bool {
        self.settings.enabled && tenant.config.identity_config.login_throttle
    }

    /// Counts a password check of `identifier` (normalized) from `ip` at
    /// `now_ms`: `Ok` with what was counted, or `Err(seconds to wait)`
    /// while either counter is in back-off; then nothing stays counted and
    /// the password must not be checked.
    pub async fn attempt(
        &self,
        tenant: &TenantCtx,
        identifier: &str,
        ip: Option<IpAddr>,
        now_ms: u64,
    ) -> Result<Counted, u64> {
        let mut counted = Counted::default();
        if !self.enabled(tenant) {
            return Ok(counted);
        }
        // The address first: while it is refused, its guesses do not push
        // the accounts it tries further into back-off.
        if let Some(ip) = ip {
            let key = ip_key(tenant, ip);
            let policy = self.settings.policy(self.settings.ip_free_failures);
            if let Some(Err(wait)) = self.counters.take_attempt(&key, now_ms, policy).await {
                return Err(whole_seconds(wait));
            }
            counted.ip = Some(key);
        }
        let key = identifier_key(tenant, identifier);
        let policy = self.settings.policy(self.settings.free_failures);
        if let Some(Err(wait)) = self.counters.take_attempt(&key, now_ms, policy).await {
            // No password is checked, so none was failed from the address.
            if let Some(ip) = &counted.ip {
                self.counters.forgive_attempt(ip).await;
            }
            return Err(whole_seconds(wait));
        }
        counted.identifier = Some(key);
        Ok(counted)
    }

    /// The password was right: the identifier starts over; the address
    /// only gets this attempt back, since others behind it may have failed.
    pub async fn succeeded(&self, counted: Counted) {
        if let Some(key) = counted.identifier {
            self.counters.clear_attempts(&key).await;
        }
        if let Some(key) = counted.ip {
            self.counters.forgive_attempt(&key).await;
        }
    }
}

/// The flow message of a refused attempt. The same for every identifier,
/// known or not, so it tells nothing about which accounts exist.
pub fn throttled_message(wait_secs: u64) -> UiText {
    let unit = if wait_secs == 1 { "second" } else { "seconds" };
    UiText::error(
        text::LOGIN_THROTTLED,
        format!("Too many failed login attempts. Please try again in {wait_secs} {unit}."),
        Some(json!({ "retry_after_seconds": wait_secs })),
    )
}

/// Rounded up: "try again in 0 seconds" would be wrong for a wait of 1 ms.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Hashed, so the key stays short whatever was typed and the cache does
/// not spell out addresses.
fn identifier_key(tenant: &TenantCtx, identifier: &str) -> String {
    let digest = Sha256::digest(identifier.as_bytes());
    format!(
        "login-throttle:{}:id:{}",
        tenant.project_id,
        hex::encode(digest)
    )
}

fn ip_key(tenant: &TenantCtx, ip: IpAddr) -> String {
    format!(
        "login-throttle:{}:ip:{}",
        tenant.project_id,
        address_block(ip)
    )
}

/// IPv6 clients are counted per /64: one subscriber is usually given a
/// whole /64, and could otherwise take a fresh address for every guess.
fn address_block(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
#[path = "throttle_tests.rs"]
mod tests;
