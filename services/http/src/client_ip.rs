//! The address of the client behind a request: the peer, or, when the peer
//! is one of `serve.trusted_proxies`, the address those proxies put in
//! `X-Forwarded-For`. The request-context middleware works it out once per
//! request (`kernel::request`); the engines and the audit log read it from
//! there.

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use std::net::{IpAddr, SocketAddr};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address, as the router saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The client address of `req`: the request context's, else the
    /// peer's (outside the middleware).
    pub fn of(req: &HttpRequest) -> Option<IpAddr> {
        kernel::request::current()
            .and_then(|c| c.client_ip)
            .or_else(|| req.peer_addr().map(|a| canonical(a.ip())))
    }
}

/// The client address of a request from `peer` with `headers`. Only a
/// trusted peer's `X-Forwarded-For` is read, and from the right: each hop
/// appends the address it was reached from, so the right-most entry that
/// is not one of our proxies is the first one a proxy of ours wrote, while
/// everything left of it may be made up by the client.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let mut client = canonical(peer?);
    if !trusted.contains(&client) {
        return Some(client);
    }
    let hops = headers
        .get_all(X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // A garbled entry: nothing left of it can be trusted either.
            None => break,
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// An IPv4 address reached over IPv6 (`::ffff:1.2.3.4`) is that IPv4
/// address, so both spellings count as one client.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(s: &str) -> IpAddr {
        s.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let headers = forwarded(&["6.6.6.6"]);
        assert_eq!(
            client_ip(Some(ip("9.9.9.9")), &headers, &[]),
            Some(ip("9.9.9.9"))
        );
        assert_eq!(
            client_ip(Some(ip("9.9.9.9")), &headers, &[ip("10.0.0.1")]),
            Some(ip("9.9.9.9"))
        );
        assert_eq!(client_ip(None, &headers, &[]), None);
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let peer = Some(ip("10.0.0.1"));
        // The client forged the first entry; our proxies appended the rest.
        let headers = forwarded(&["6.6.6.6, 1.2.3.4", "10.0.0.2"]);
        assert_eq!(client_ip(peer, &headers, &proxies), Some(ip("1.2.3.4")));
        let headers = forwarded(&["[2001:db8::7]:443, 10.0.0.2"]);
        assert_eq!(client_ip(peer, &headers, &proxies), Some(ip("2001:db8::7")));
        let headers = forwarded(&["1.2.3.4:5678"]);
        assert_eq!(client_ip(peer, &headers, &proxies), Some(ip("1.2.3.4")));
        // No header: the proxy itself; garbage stops the walk.
        assert_eq!(
            client_ip(peer, &HeaderMap::new(), &proxies),
            Some(ip("10.0.0.1"))
        );
        let headers = forwarded(&["1.2.3.4, garbage, 10.0.0.2"]);
        assert_eq!(client_ip(peer, &headers, &proxies), Some(ip("10.0.0.2")));
    }

    #[test]
    fn mapped_ipv4_is_plain_ipv4() {
        assert_eq!(
            client_ip(Some(ip("::ffff:1.2.3.4")), &HeaderMap::new(), &[]),
            Some(ip("1.2.3.4"))
        );
    }
}
