//! CNAME look-ups for custom hostname verification.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// `hostnames.*` DNS settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsSettings {
    /// Nameservers asked (`ip:port`); empty uses the system's
    /// (`/etc/resolv.conf`).
    pub nameservers: Vec<String>,
    /// Deadline of one look-up.
    pub timeout_ms: u64,
}

impl Default for DnsSettings {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout_ms: 5_000,
        }
    }
}

/// What the DNS says about a hostname's CNAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CnameAnswer {
    /// The CNAME target, lower case, without the trailing dot.
    Target(String),
    /// The name exists without a CNAME, or does not exist.
    NoRecord,
}

#[async_trait]
pub trait CnameLookup: Send + Sync {
    /// Err: the look-up itself failed (timeout, SERVFAIL, unreachable).
    async fn cname(&self, host: &str) -> Result<CnameAnswer, String>;
}
