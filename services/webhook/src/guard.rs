//! The SSRF guard. Hook URLs are tenant input, and the server sits inside
//! the operator's network: without a guard a tenant could make it call
//! `http://169.254.169.254/` (cloud metadata), `localhost` admin ports or
//! private services. Names are resolved by [`GuardedResolver`], which drops
//! every non-public address; literal IPs are checked before sending (reqwest
//! does not resolve them).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

pub use kernel::net::is_private;

/// Resolves with the system resolver, keeping only addresses the hook may
/// reach (all of them when private networks are allowed).
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_private || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Refuses a URL whose host is a literal private IP.
pub fn check_literal_host(url: &url::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_private(ip) {
        return Err(format!("{ip} is not a public address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} should be allowed");
        }
    }

    #[test]
    fn literal_hosts_are_checked() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(check_literal_host(&url("http://127.0.0.1:8080/x"), false).is_err());
        assert!(check_literal_host(&url("http://[::1]/x"), false).is_err());
        assert!(check_literal_host(&url("http://127.0.0.1/x"), true).is_ok());
        assert!(check_literal_host(&url("https://1.1.1.1/x"), false).is_ok());
        assert!(check_literal_host(&url("https://hooks.example.com/x"), false).is_ok());
    }
}
