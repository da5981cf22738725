//! CNAME look-ups for custom hostname verification.

use async_trait::async_trait;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::rdata::CNAME;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

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

/// [`CnameLookup`] over hickory-resolver: asks the configured nameservers
/// (or the system's) for the CNAME record of a hostname, with no cache.
pub struct HickoryCnameLookup {
    resolver: TokioResolver,
    deadline: Duration,
}

impl HickoryCnameLookup {
    pub fn new(settings: &DnsSettings) -> Result<Self, String> {
        let mut builder = if settings.nameservers.is_empty() {
            TokioResolver::builder_tokio()
                .map_err(|e| format!("hostnames: system DNS config: {e}"))?
        } else {
            let mut servers = Vec::with_capacity(settings.nameservers.len());
            for nameserver in &settings.nameservers {
                let addr: SocketAddr = nameserver.parse().map_err(|e| {
                    format!("hostnames.nameservers: `{nameserver}` is not ip:port: {e}")
                })?;
                let (mut udp, mut tcp) = (ConnectionConfig::udp(), ConnectionConfig::tcp());
                udp.port = addr.port();
                tcp.port = addr.port();
                servers.push(NameServerConfig::new(addr.ip(), true, vec![udp, tcp]));
            }
            Resolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            )
        };
        let timeout = Duration::from_millis(settings.timeout_ms.max(1));
        let options = builder.options_mut();
        options.timeout = timeout;
        // One retry (two tries): it rescues a passing SERVFAIL or refusal.
        // Lost UDP packets are resent within a try already, and more tries
        // could not finish inside the deadline anyway.
        options.attempts = 1;
        // Verification must see the DNS as it is now (a CNAME removed
        // since the last check must read as gone), so nothing is kept
        // between look-ups: a zero-sized cache, and zero TTL bounds so that
        // anything it did admit would be stale at once.
        options.cache_size = 0;
        options.positive_max_ttl = Some(Duration::ZERO);
        options.negative_max_ttl = Some(Duration::ZERO);
        // The answer that counts is the public DNS, not /etc/hosts.
        options.use_hosts_file = ResolveHosts::Never;
        let resolver = builder
            .build()
            .map_err(|e| format!("hostnames: DNS resolver: {e}"))?;
        Ok(Self {
            resolver,
            deadline: timeout,
        })
    }
}

#[async_trait]
impl CnameLookup for HickoryCnameLookup {
    async fn cname(&self, host: &str) -> Result<CnameAnswer, String> {
        let mut name =
            Name::from_ascii(host).map_err(|e| format!("`{host}` is not a DNS name: {e}"))?;
        // Absolute: the system's search domains must not turn
        // `app.example.com` into `app.example.com.corp.internal`.
        name.set_fqdn(true);
        // The resolver's own timeout is per round of nameservers; this
        // bounds the whole look-up, retries included.
        let lookup =
            tokio::time::timeout(self.deadline, self.resolver.lookup(name, RecordType::CNAME))
                .await
                .map_err(|_| format!("CNAME look-up of {host} timed out"))?;
        match lookup {
            Ok(lookup) => {
                let target = lookup
                    .answers()
                    .iter()
                    .find_map(|record| match &record.data {
                        RData::CNAME(CNAME(target)) => Some(target),
                        _ => None,
                    });
                Ok(match target {
                    Some(target) => CnameAnswer::Target(normalize(&target.to_ascii())),
                    None => CnameAnswer::NoRecord,
                })
            }
            // NXDOMAIN (no such name) and NOERROR without a CNAME (the name
            // has other records) both mean "not pointed at us".
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Ok(CnameAnswer::NoRecord),
            Err(e) => Err(format!("CNAME look-up of {host}: {e}")),
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}
