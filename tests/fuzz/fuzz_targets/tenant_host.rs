//! Host header → tenant (`router::TenantHosts`), run on every request: the
//! fast path that reads a slug straight from the `Host` bytes and the
//! validating path (`request_host` + `slug_of` / custom hostnames) must
//! always name the same tenant, which is what lets the fast path exist.
//!
//! The input is the request: `Host` and `X-Forwarded-Host` headers (raw
//! bytes, as a client may send them), the URI, the peer address, and
//! whether that peer is a trusted proxy (see `Request`). One custom
//! hostname is active.

#![no_main]

use actix_web::dev::RequestHead;
use actix_web::http::Uri;
use actix_web::http::header::{HOST, HeaderName, HeaderValue};
use async_trait::async_trait;
use kernel::tenant::{CustomHostDirectory, CustomHostRoute};
use libfuzzer_sys::fuzz_target;
use router::{CustomHosts, TenantHosts};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

const BASE: &str = "projects.localhost";
const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

struct OneHost;

#[async_trait]
impl CustomHostDirectory for OneHost {
    async fn active_custom_hosts(&self) -> kernel::Result<Vec<CustomHostRoute>> {
        Ok(vec![CustomHostRoute {
            hostname: "auth.example.com".to_owned(),
            slug: "acme".to_owned(),
            cookie_domain: "example.com".to_owned(),
            cors_enabled: true,
            cors_allowed_origins: vec!["https://*.example.com".to_owned()],
        }])
    }
}

fn custom_hosts() -> CustomHosts {
    let hosts = CustomHosts::new(Arc::new(OneHost));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"));
    let loaded = runtime
        .block_on(hosts.reload())
        .unwrap_or_else(|e| panic!("loading the custom hosts: {e}"));
    assert_eq!(loaded, 1);
    hosts
}

static DIRECT: LazyLock<TenantHosts> =
    LazyLock::new(|| TenantHosts::new(BASE, Vec::new()).with_custom_hosts(custom_hosts()));
static PROXIED: LazyLock<TenantHosts> =
    LazyLock::new(|| TenantHosts::new(BASE, vec![PROXY]).with_custom_hosts(custom_hosts()));

/// The request the input describes: the first byte's bits say whether the
/// server is behind a proxy (0), the peer is that proxy (1), and which of
/// the lines that follow are sent: `Host` (2), `X-Forwarded-Host` (3) and
/// an absolute URI (4). The lines (`\n` can be in no header) are the
/// header values as raw bytes and the URI, in that order.
#[derive(Debug)]
struct Request<'a> {
    host: Option<&'a [u8]>,
    forwarded_host: Option<&'a [u8]>,
    uri: Option<&'a [u8]>,
    behind_proxy: bool,
    peer_is_proxy: bool,
}

impl<'a> Request<'a> {
    fn read(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let mut lines = rest.split(|&b| b == b'\n');
        let mut line = |bit: u8| {
            let value = lines.next().unwrap_or_default();
            (flags & (1 << bit) != 0).then_some(value)
        };
        Some(Request {
            host: line(2),
            forwarded_host: line(3),
            uri: line(4),
            behind_proxy: flags & 1 != 0,
            peer_is_proxy: flags & 2 != 0,
        })
    }
}

const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

fuzz_target!(|data: &[u8]| {
    let Some(request) = Request::read(data) else {
        return;
    };
    let mut head = RequestHead::default();
    if let Some(uri) = request.uri.and_then(|u| Uri::try_from(u).ok()) {
        head.uri = uri;
    }
    if let Some(host) = request.host.and_then(|h| HeaderValue::from_bytes(h).ok()) {
        head.headers.insert(HOST, host);
    }
    if let Some(fwd) = request
        .forwarded_host
        .and_then(|h| HeaderValue::from_bytes(h).ok())
    {
        head.headers.insert(X_FORWARDED_HOST, fwd);
    }
    let peer = if request.peer_is_proxy {
        PROXY
    } else {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))
    };
    head.peer_addr = Some(SocketAddr::new(peer, 40000));
    let hosts: &TenantHosts = if request.behind_proxy {
        &PROXIED
    } else {
        &DIRECT
    };

    let tenant = hosts.tenant_of(&head);
    let host = hosts.request_host(&head);
    let validated = host.as_deref().and_then(|h| hosts.slug_for_host(h));
    assert_eq!(
        tenant.as_ref().map(|(slug, _)| slug.as_str()),
        validated.as_deref(),
        "the fast and the validating path disagree on {request:?}"
    );
    if let Some(host) = host.as_deref() {
        assert!(
            !host.bytes().any(|b| b.is_ascii_uppercase()),
            "{host:?} is not lower case"
        );
        if let Some(slug) = hosts.slug_of(host) {
            assert!(
                !slug.is_empty() && !slug.contains('.'),
                "slug {slug:?} of {host:?}"
            );
            assert_eq!(
                format!("{slug}.{BASE}"),
                host,
                "slug {slug:?} is not the first label of {host:?}"
            );
        }
    }
    if let Some((slug, route)) = tenant {
        assert!(
            !slug.bytes().any(|b| b.is_ascii_uppercase()),
            "slug {slug:?}"
        );
        if let Some(route) = route {
            assert_eq!(route.slug, slug);
            assert_eq!(host.as_deref(), Some(route.hostname.as_str()));
        }
    }
});
