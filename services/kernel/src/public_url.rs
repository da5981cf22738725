//! Where tenants are reached from outside: every URL a tenant hands out
//! (flow actions, schema and logout URLs, mail links, default UI URLs) is
//! built from one base, so a browser can follow each of them as given.

use std::fmt;

/// The public base of every tenant: `<scheme>://<slug>.<base_domain>[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantUrls {
    scheme: Scheme,
    base_domain: String,
    /// None for the scheme's own port.
    port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// `*.localhost` resolves to this machine (RFC 6761): a development setup
/// served directly, over plain HTTP.
pub fn is_local_domain(domain: &str) -> bool {
    domain == "localhost" || domain.ends_with(".localhost")
}

impl TenantUrls {
    pub fn new(scheme: Scheme, base_domain: impl Into<String>, port: Option<u16>) -> Self {
        let port = port.filter(|p| *p != scheme.default_port());
        Self {
            scheme,
            base_domain: base_domain.into(),
            port,
        }
    }

    /// Without a configured `serve.public_url`: a local base domain is
    /// reached directly on the listening port over HTTP; any other is
    /// assumed to sit behind a TLS-terminating proxy on 443.
    pub fn derived(base_domain: &str, listen_port: u16) -> Self {
        if is_local_domain(base_domain) {
            Self::new(Scheme::Http, base_domain, Some(listen_port))
        } else {
            Self::new(Scheme::Https, base_domain, None)
        }
    }

    /// From `serve.public_url` (e.g. `https://projects.example.com` or
    /// `http://projects.localhost:8080`): its host must be the base domain,
    /// since the router finds tenants by it.
    pub fn parse(public_url: &str, base_domain: &str) -> Result<Self, String> {
        let (scheme, rest) = if let Some(rest) = public_url.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else if let Some(rest) = public_url.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else {
            return Err("must start with http:// or https://".to_owned());
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err("must be scheme, host and port only (no path, query or user)".to_owned());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (
                host,
                Some(
                    port.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("`{port}` is not a port"))?,
                ),
            ),
            None => (authority, None),
        };
        if !host.eq_ignore_ascii_case(base_domain) {
            return Err(format!(
                "its host `{host}` must be base_domain `{base_domain}` (tenants are its subdomains)"
            ));
        }
        Ok(Self::new(scheme, base_domain, port))
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// `<slug>.<base_domain>[:port]`: the Host a browser sends.
    pub fn authority(&self, slug: &str) -> String {
        match self.port {
            Some(port) => format!("{slug}.{}:{port}", self.base_domain),
            None => format!("{slug}.{}", self.base_domain),
        }
    }

    /// The tenant's base URL, without a trailing slash.
    pub fn for_slug(&self, slug: &str) -> String {
        format!("{}://{}", self.scheme.as_str(), self.authority(slug))
    }

    /// A verified custom hostname: its owner's TLS proxy answers on 443.
    pub fn for_custom_host(hostname: &str) -> String {
        format!("https://{hostname}")
    }
}

impl fmt::Display for TenantUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.for_slug("<slug>"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_domain_keeps_the_listening_port() {
        let urls = TenantUrls::derived("projects.localhost", 4000);
        assert_eq!(urls.for_slug("shop"), "http://shop.projects.localhost:4000");
        assert_eq!(urls.authority("shop"), "shop.projects.localhost:4000");
        let on_80 = TenantUrls::derived("projects.localhost", 80);
        assert_eq!(on_80.for_slug("shop"), "http://shop.projects.localhost");
    }

    #[test]
    fn another_domain_is_https_behind_a_proxy() {
        let urls = TenantUrls::derived("projects.example.com", 4000);
        assert_eq!(urls.for_slug("shop"), "https://shop.projects.example.com");
    }

    #[test]
    fn a_configured_public_url_wins() {
        let parse = |url| TenantUrls::parse(url, "projects.example.com");
        assert_eq!(
            parse("https://projects.example.com").map(|u| u.for_slug("a")),
            Ok("https://a.projects.example.com".to_owned())
        );
        assert_eq!(
            parse("http://PROJECTS.example.com:8080/").map(|u| u.for_slug("a")),
            Ok("http://a.projects.example.com:8080".to_owned())
        );
        assert_eq!(
            parse("https://projects.example.com:443").map(|u| u.for_slug("a")),
            Ok("https://a.projects.example.com".to_owned())
        );
        for bad in [
            "ftp://projects.example.com",
            "https://other.example.com",
            "https://projects.example.com/base",
            "https://projects.example.com:0",
            "https://projects.example.com:99999",
            "https://u@projects.example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
