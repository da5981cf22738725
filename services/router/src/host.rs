//! Which host a request is for, and whether it names a tenant.

use crate::custom::CustomHosts;
use actix_web::dev::RequestHead;
use actix_web::guard::{Guard, GuardContext};
use actix_web::http::header::{HOST, HeaderName};
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use kernel::tenant::CustomHostRoute;

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The routing settings: the base domain and the proxies believed about
/// the original host.
#[derive(Debug, Clone)]
pub struct TenantHosts {
    base_domain: String,
    trusted_proxies: Arc<Vec<IpAddr>>,
    custom: CustomHosts,
}

impl TenantHosts {
    pub fn new(base_domain: &str, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            base_domain: base_domain.to_ascii_lowercase(),
            trusted_proxies: Arc::new(trusted_proxies),
            custom: CustomHosts::default(),
        }
    }

    /// Also serves the active custom hostnames.
    pub fn with_custom_hosts(mut self, custom: CustomHosts) -> Self {
        self.custom = custom;
        self
    }

    pub fn custom_hosts(&self) -> &CustomHosts {
        &self.custom
    }

    /// The host the client asked for, without port, lower case. Borrowed
    /// from the request unless it had to be lower-cased: this runs on
    /// every request.
    pub fn request_host<'a>(&self, head: &'a RequestHead) -> Option<Cow<'a, str>> {
        let from_proxy = if self.trusted_proxies.is_empty() {
            None
        } else {
            head.peer_addr
                .is_some_and(|peer| self.trusted_proxies.contains(&peer.ip()))
                .then(|| head.headers.get(X_FORWARDED_HOST))
                .flatten()
                .and_then(|v| v.to_str().ok())
                // The first entry is the one the client sent.
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        let raw = match from_proxy {
            Some(host) => host,
            None => match head.headers.get(HOST).and_then(|v| v.to_str().ok()) {
                Some(host) => host,
                None => head.uri.host()?,
            },
        };
        let host = strip_port(raw);
        Some(if host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(host)
        })
    }

    /// The slug when the host is `<slug>.<base_domain>` (one label).
    pub fn slug_of<'h>(&self, host: &'h str) -> Option<&'h str> {
        let prefix = host
            .strip_suffix(self.base_domain.as_str())?
            .strip_suffix('.')?;
        (!prefix.is_empty() && !prefix.contains('.')).then_some(prefix)
    }

    /// The tenant a request is for: by slug host, else by active custom
    /// hostname (with its route).
    pub fn tenant_of(&self, head: &RequestHead) -> Option<(String, Option<Arc<CustomHostRoute>>)> {
        if let Some(slug) = self.raw_host(head).and_then(|raw| self.slug_of_raw(raw)) {
            return Some((slug, None));
        }
        self.tenant_of_host(&self.request_host(head)?)
    }

    /// The tenant of a host without port, lower case: its slug host, or an
    /// active custom hostname (with its route).
    fn tenant_of_host(&self, host: &str) -> Option<(String, Option<Arc<CustomHostRoute>>)> {
        if let Some(slug) = self.slug_of(host) {
            return Some((slug.to_owned(), None));
        }
        let route = self.custom.get(host)?;
        Some((route.slug.clone(), Some(route)))
    }

    /// The host header as sent (forwarded or not), unvalidated.
    fn raw_host<'a>(&self, head: &'a RequestHead) -> Option<&'a [u8]> {
        if !self.trusted_proxies.is_empty() {
            // The validating path handles proxies.
            return None;
        }
        head.headers.get(HOST).map(|v| v.as_bytes())
    }

    /// The slug of a slug host, straight from the header's bytes: this runs
    /// on every tenant request, and checking only the slug's own characters
    /// costs a fraction of validating and lower-casing the whole host. None
    /// for anything else, including odd slug hosts: then `request_host` and
    /// `slug_of` decide, as before, so both paths always agree.
    fn slug_of_raw(&self, raw: &[u8]) -> Option<String> {
        let host = match raw.iter().rposition(|&b| b == b':') {
            Some(colon) if raw[colon + 1..].iter().all(u8::is_ascii_digit) => &raw[..colon],
            _ => raw,
        };
        let base = self.base_domain.as_bytes();
        let split = host.len().checked_sub(base.len() + 1)?;
        let (slug, suffix) = host.split_at(split);
        if slug.is_empty()
            || suffix[0] != b'.'
            || !suffix[1..].eq_ignore_ascii_case(base)
            || !slug
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        // ASCII only, checked above, so this never fails.
        let slug = std::str::from_utf8(slug).ok()?;
        Some(if slug.bytes().any(|b| b.is_ascii_uppercase()) {
            slug.to_ascii_lowercase()
        } else {
            slug.to_owned()
        })
    }

    /// The slug of a host (slug host or active custom hostname), for
    /// callers that have only the host (gRPC's `:authority`).
    pub fn slug_for_host(&self, host: &str) -> Option<String> {
        self.tenant_of_host(host).map(|(slug, _)| slug)
    }
}

/// The tenant host the guard found: the slug, and the custom hostname's
/// route when the request came in on one (None on the slug host). Handed to
/// the tenant middleware as one request extension, so the host is parsed
/// once per request.
#[derive(Debug, Clone)]
pub struct TenantSlug {
    pub slug: String,
    pub custom: Option<Arc<CustomHostRoute>>,
}

pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // An IPv6 literal: never a tenant host.
        return host;
    }
    host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    })
}

/// Matches requests for a tenant host.
#[derive(Clone)]
pub struct TenantHostGuard(pub TenantHosts);

impl Guard for TenantHostGuard {
    fn check(&self, ctx: &GuardContext<'_>) -> bool {
        match self.0.tenant_of(ctx.head()) {
            Some((slug, custom)) => {
                ctx.req_data_mut().insert(TenantSlug { slug, custom });
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn hosts() -> TenantHosts {
        TenantHosts::new(
            "projects.localhost",
            vec!["10.0.0.1".parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))],
        )
    }

    #[test]
    fn slugs_come_from_one_label_below_the_base_domain() {
        let h = hosts();
        assert_eq!(h.slug_of("abc.projects.localhost"), Some("abc"));
        assert_eq!(h.slug_of("projects.localhost"), None);
        assert_eq!(h.slug_of("a.b.projects.localhost"), None);
        assert_eq!(h.slug_of("abcprojects.localhost"), None);
        assert_eq!(h.slug_of("api.example.com"), None);
    }

    #[test]
    fn the_byte_path_agrees_with_the_validating_path() {
        let h = TenantHosts::new("projects.localhost", Vec::new());
        for host in [
            "abc.projects.localhost",
            "abc.projects.localhost:4000",
            "ABC-1.Projects.LocalHost:80",
            "abc.projects.localhost:",
            "abc.projects.localhost:x1",
            "projects.localhost",
            ".projects.localhost",
            "a.b.projects.localhost",
            "abcprojects.localhost",
            "abc.projects.localhost.",
            "ab c.projects.localhost",
            "ab\u{e9}.projects.localhost",
            "[::1]:4000",
            "example.com",
            "",
        ] {
            let req = TestRequest::default()
                .insert_header(("host", host))
                .to_srv_request();
            let validated = h
                .request_host(req.head())
                .and_then(|host| h.slug_of(&host).map(str::to_owned));
            let tenant = h.tenant_of(req.head()).map(|(slug, _)| slug);
            assert_eq!(tenant, validated, "{host:?}");
        }
    }

    #[test]
    fn the_port_is_ignored_and_case_folded() {
        let req = TestRequest::default()
            .insert_header(("host", "ABC.projects.localhost:4000"))
            .to_srv_request();
        assert_eq!(
            hosts()
                .tenant_of(req.head())
                .map(|(slug, _)| slug)
                .as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn forwarded_host_is_believed_only_from_trusted_proxies() {
        let trusted = TestRequest::default()
            .peer_addr(
                "10.0.0.1:5555"
                    .parse()
                    .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
            )
            .insert_header(("host", "lb.internal"))
            .insert_header(("x-forwarded-host", "t1.projects.localhost, other"))
            .to_srv_request();
        assert_eq!(
            hosts()
                .tenant_of(trusted.head())
                .map(|(slug, _)| slug)
                .as_deref(),
            Some("t1")
        );
        let untrusted = TestRequest::default()
            .peer_addr(
                "10.0.0.2:5555"
                    .parse()
                    .unwrap_or_else(|_| std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
            )
            .insert_header(("host", "lb.internal"))
            .insert_header(("x-forwarded-host", "t1.projects.localhost"))
            .to_srv_request();
        assert_eq!(
            hosts().tenant_of(untrusted.head()).map(|(slug, _)| slug),
            None
        );
    }
}
