//! `controlplane::hostname::dns::HickoryCnameLookup` against the local DNS
//! fake (`keyplane_tests::dns_fake`): CNAME answers normalized, names
//! without a CNAME (A only, or unknown) read as no record, SERVFAIL and an
//! unreachable nameserver as errors, and nothing cached between look-ups.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use controlplane::hostname::dns::{CnameAnswer, CnameLookup, DnsSettings, HickoryCnameLookup};
use keyplane_tests::dns_fake::FakeDns;
use keyplane_tests::free_port;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

const TARGET: &str = "acme.edge.keyplane.test";

fn lookup_at(nameserver: String, timeout_ms: u64) -> HickoryCnameLookup {
    HickoryCnameLookup::new(&DnsSettings {
        nameservers: vec![nameserver],
        timeout_ms,
    })
    .unwrap()
}

fn lookup(dns: &FakeDns) -> HickoryCnameLookup {
    lookup_at(dns.addr().to_string(), 2_000)
}

fn target(name: &str) -> CnameAnswer {
    CnameAnswer::Target(name.to_owned())
}

#[tokio::test]
async fn cname_target_is_lower_case_without_the_trailing_dot() {
    let dns = FakeDns::start().await;
    dns.set_cname("login.customer.test", "Acme.EDGE.Keyplane.Test.");
    let answer = lookup(&dns).cname("login.customer.test").await.unwrap();
    assert_eq!(answer, target(TARGET));
    // The host as the customer typed it (case, trailing dot) asks the same.
    let answer = lookup(&dns).cname("Login.Customer.Test.").await.unwrap();
    assert_eq!(answer, target(TARGET));
}

#[tokio::test]
async fn a_cname_elsewhere_is_reported_as_it_is() {
    let dns = FakeDns::start().await;
    dns.set_cname("login.customer.test", "customer.other-cdn.test");
    let answer = lookup(&dns).cname("login.customer.test").await.unwrap();
    assert_eq!(answer, target("customer.other-cdn.test"));
}

#[tokio::test]
async fn a_name_with_only_an_a_record_has_no_cname() {
    let dns = FakeDns::start().await;
    dns.set_a("login.customer.test", Ipv4Addr::new(192, 0, 2, 10));
    let answer = lookup(&dns).cname("login.customer.test").await.unwrap();
    assert_eq!(answer, CnameAnswer::NoRecord);
}

#[tokio::test]
async fn an_unknown_name_has_no_cname() {
    let dns = FakeDns::start().await;
    dns.set_cname("login.customer.test", TARGET);
    let answer = lookup(&dns).cname("nope.customer.test").await.unwrap();
    assert_eq!(answer, CnameAnswer::NoRecord);
}

#[tokio::test]
async fn servfail_is_an_error_not_an_absent_record() {
    let dns = FakeDns::start().await;
    dns.set_cname("login.customer.test", TARGET);
    dns.set_servfail(true);
    let lookup = lookup(&dns);
    let err = lookup.cname("login.customer.test").await.unwrap_err();
    assert!(err.contains("login.customer.test"), "{err}");
    // And once the server recovers, the same resolver answers again.
    dns.set_servfail(false);
    let answer = lookup.cname("login.customer.test").await.unwrap();
    assert_eq!(answer, target(TARGET));
}

#[tokio::test]
async fn every_look_up_asks_the_nameserver_again() {
    let dns = FakeDns::start().await;
    dns.set_cname("login.customer.test", TARGET);
    let lookup = lookup(&dns);

    let answer = lookup.cname("login.customer.test").await.unwrap();
    assert_eq!(answer, target(TARGET));
    let after_first = dns.queries();
    assert!(after_first >= 1);

    // The record has a TTL of an hour; a caching resolver would still
    // answer with it.
    dns.remove("login.customer.test");
    let answer = lookup.cname("login.customer.test").await.unwrap();
    assert_eq!(answer, CnameAnswer::NoRecord);
    let after_second = dns.queries();
    assert!(after_second > after_first);

    // Negative answers are not kept either.
    dns.set_cname("login.customer.test", TARGET);
    let answer = lookup.cname("login.customer.test").await.unwrap();
    assert_eq!(answer, target(TARGET));
    assert!(dns.queries() > after_second);
}

#[tokio::test]
async fn an_unreachable_nameserver_is_an_error_within_the_timeout() {
    let lookup = lookup_at(format!("127.0.0.1:{}", free_port()), 500);
    let started = Instant::now();
    let err = lookup.cname("login.customer.test").await.unwrap_err();
    let took = started.elapsed();
    assert!(err.contains("login.customer.test"), "{err}");
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
}

#[tokio::test]
async fn a_nameserver_that_is_not_ip_and_port_is_refused() {
    for bad in ["dns.example.test:53", "127.0.0.1", "127.0.0.1:99999"] {
        let settings = DnsSettings {
            nameservers: vec![bad.to_owned()],
            timeout_ms: 500,
        };
        let err = HickoryCnameLookup::new(&settings).err().unwrap();
        assert!(err.contains("hostnames.nameservers"), "{bad}: {err}");
    }
}
