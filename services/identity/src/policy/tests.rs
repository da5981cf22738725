#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sha1::{Digest as _, Sha1};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use super::breach::parse_range;
use super::*;

const BREACHED: &str = "password123";
const BREACHED_COUNT: u64 = 2_000_000;
const RARELY_BREACHED: &str = "Tr0ub4dour&3x";
const UNKNOWN: &str = "kq7#Vw2!mZp9@Lr4";

fn sha1_hex(password: &str) -> String {
    hex::encode_upper(Sha1::digest(password.as_bytes()))
}

/// A tiny range API on 127.0.0.1: `/range/{prefix}` answers from a fixed
/// map (unknown prefixes get only a padding line, as the real API answers
/// 200 for every prefix); any path under `/broken/` answers 500.
struct RangeServer {
    base: url::Url,
    requests: Arc<AtomicUsize>,
}

async fn range_server() -> RangeServer {
    let mut ranges: HashMap<String, String> = HashMap::new();
    for (password, count) in [(BREACHED, BREACHED_COUNT), (RARELY_BREACHED, 3)] {
        let hash = sha1_hex(password);
        let (prefix, suffix) = hash.split_at(5);
        // Neighbours in the same range, one in lower case, one without a count.
        let body = format!(
            "0000000000000000000000000000000000A:0\r\n\
             {suffix}:{count}\r\n\
             ffffffffffffffffffffffffffffffffff1:12\r\n\
             FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF2\r\n"
        );
        ranges.insert(prefix.to_owned(), body);
    }
    let ranges = Arc::new(ranges);
    let requests = Arc::new(AtomicUsize::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let ranges = Arc::clone(&ranges);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, body) = if path.starts_with("/broken/") {
                    ("500 Internal Server Error", String::new())
                } else if let Some(prefix) = path.strip_prefix("/range/") {
                    let body = ranges
                        .get(prefix)
                        .cloned()
                        .unwrap_or_else(|| "0000000000000000000000000000000000B:0\r\n".to_owned());
                    ("200 OK", body)
                } else {
                    ("404 Not Found", String::new())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    RangeServer {
        base: url::Url::parse(&format!("http://{addr}")).unwrap(),
        requests,
    }
}

fn checker(base: &url::Url) -> BreachChecker {
    BreachChecker::new(base.clone(), Duration::from_secs(5)).unwrap()
}

/// A base URL where nothing listens.
async fn dead_url() -> url::Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    url::Url::parse(&format!("http://{addr}")).unwrap()
}

fn reason(result: Result<(), PolicyViolation>) -> String {
    let violation = result.unwrap_err();
    assert_eq!(violation.id, PASSWORD_POLICY_VIOLATION);
    assert_eq!(
        violation.text,
        format!(
            "The password can not be used because {}.",
            violation.reason()
        )
    );
    violation.reason().to_owned()
}

fn from_document(document: &serde_json::Value) -> PasswordPolicy {
    let config = kernel::identity_config::IdentityConfig::from_document(document);
    PasswordPolicy::from_config(&config.methods.password_policy)
}

#[test]
fn config_defaults_and_overrides() {
    assert_eq!(
        from_document(&serde_json::json!({})),
        PasswordPolicy::default()
    );
    let d = PasswordPolicy::default();
    assert_eq!(d.min_length, 8);
    assert!(d.identifier_similarity_check && d.haveibeenpwned_enabled && d.ignore_network_errors);
    assert_eq!(d.max_breaches, 0);

    let config = serde_json::json!({"selfservice": {"methods": {"password": {"enabled": true, "config": {
        "min_password_length": 12,
        "identifier_similarity_check_enabled": false,
        "haveibeenpwned_enabled": false,
        "max_breaches": 10,
        "ignore_network_errors": false,
    }}}}});
    assert_eq!(
        from_document(&config),
        PasswordPolicy {
            min_length: 12,
            identifier_similarity_check: false,
            haveibeenpwned_enabled: false,
            max_breaches: 10,
            ignore_network_errors: false,
        }
    );

    let partial = serde_json::json!({"selfservice": {"methods": {"password": {"config": {
        "max_breaches": 2, "min_password_length": "twelve"
    }}}}});
    let policy = from_document(&partial);
    assert_eq!(policy.max_breaches, 2);
    assert_eq!(policy.min_length, 8, "mistyped keeps the default");
}

#[tokio::test]
async fn min_length() {
    let policy = PasswordPolicy::default();
    let checker = checker(&dead_url().await);
    assert_eq!(
        reason(policy.check(&checker, None, "abc").await),
        "password length must be at least 8 characters but only got 3"
    );
    let policy = PasswordPolicy {
        min_length: 4,
        haveibeenpwned_enabled: false,
        ..PasswordPolicy::default()
    };
    policy.check(&checker, None, "abcd").await.unwrap();
    // Characters, not bytes.
    assert!(policy.check(&checker, None, "äöü").await.is_err());
}

#[tokio::test]
async fn identifier_similarity() {
    let policy = PasswordPolicy {
        haveibeenpwned_enabled: false,
        ..PasswordPolicy::default()
    };
    let checker = checker(&dead_url().await);
    let id = Some("alice@example.com");
    assert_eq!(
        reason(policy.check(&checker, id, "alice@example.com1").await),
        "the password is too similar to the user identifier"
    );
    // Case-insensitive, and a long shared substring is enough.
    assert!(
        policy
            .check(&checker, id, "ALICE@EXAMPLE.COM")
            .await
            .is_err()
    );
    assert!(
        policy
            .check(&checker, id, "xyalice@example.com99!")
            .await
            .is_err()
    );
    policy
        .check(&checker, id, "kq7#Vw2!mZp9@Lr4")
        .await
        .unwrap();
    policy
        .check(&checker, Some(""), "alice@example.com1")
        .await
        .unwrap();
    policy
        .check(&checker, None, "alice@example.com1")
        .await
        .unwrap();

    let off = PasswordPolicy {
        identifier_similarity_check: false,
        ..policy
    };
    off.check(&checker, id, "alice@example.com1").await.unwrap();
}

#[test]
fn similarity_rule_matches_kratos() {
    // Distance below 5.
    assert!(too_similar("bob", "bob1234"));
    // Distance 5 or more, common substring at most half the password.
    assert!(!too_similar("bob", "bob12345"));
    // Common substring over half the password despite a large distance.
    assert!(too_similar("johnsmith", "xx-johnsmith-2024"));
    assert!(!too_similar("johnsmith", "xx-john-2024-qq"));
    assert_eq!(levenshtein(&chars("kitten"), &chars("sitting")), 3);
    assert_eq!(
        longest_common_substring(&chars("xabcdy"), &chars("zabcdw")),
        4
    );
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

#[tokio::test]
async fn breached_password_is_rejected() {
    let server = range_server().await;
    let checker = checker(&server.base);
    assert_eq!(
        checker.breach_count(BREACHED).await.unwrap(),
        BREACHED_COUNT
    );
    let policy = PasswordPolicy::default();
    assert_eq!(
        reason(
            policy
                .check(&checker, Some("someone@example.com"), BREACHED)
                .await
        ),
        "the password has been found in data breaches and must no longer be used"
    );
}

#[tokio::test]
async fn max_breaches_is_honoured() {
    let server = range_server().await;
    let checker = checker(&server.base);
    assert_eq!(checker.breach_count(RARELY_BREACHED).await.unwrap(), 3);
    let lenient = PasswordPolicy {
        max_breaches: 3,
        ..PasswordPolicy::default()
    };
    lenient
        .check(&checker, None, RARELY_BREACHED)
        .await
        .unwrap();
    let strict = PasswordPolicy {
        max_breaches: 2,
        ..PasswordPolicy::default()
    };
    assert!(strict.check(&checker, None, RARELY_BREACHED).await.is_err());
}

#[tokio::test]
async fn unknown_password_is_accepted_and_ranges_are_cached() {
    let server = range_server().await;
    let checker = checker(&server.base);
    let policy = PasswordPolicy::default();
    policy.check(&checker, None, UNKNOWN).await.unwrap();
    assert_eq!(checker.breach_count(UNKNOWN).await.unwrap(), 0);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "second look-up cached"
    );

    assert_eq!(
        checker.breach_count(BREACHED).await.unwrap(),
        BREACHED_COUNT
    );
    assert_eq!(
        checker.breach_count(BREACHED).await.unwrap(),
        BREACHED_COUNT
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn concurrent_look_ups_of_one_range_share_a_request() {
    let server = range_server().await;
    let checker = checker(&server.base);
    let (a, b) = tokio::join!(
        checker.breach_count(BREACHED),
        checker.breach_count(BREACHED)
    );
    assert_eq!((a.unwrap(), b.unwrap()), (BREACHED_COUNT, BREACHED_COUNT));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn server_down() {
    let checker = checker(&dead_url().await);
    assert!(checker.breach_count(UNKNOWN).await.is_err());

    let ignoring = PasswordPolicy::default();
    ignoring.check(&checker, None, UNKNOWN).await.unwrap();

    let strict = PasswordPolicy {
        ignore_network_errors: false,
        ..PasswordPolicy::default()
    };
    assert_eq!(
        reason(strict.check(&checker, None, UNKNOWN).await),
        "unable to check if password has been leaked because an unexpected network error occurred"
    );

    let disabled = PasswordPolicy {
        haveibeenpwned_enabled: false,
        ..strict
    };
    disabled.check(&checker, None, UNKNOWN).await.unwrap();
}

#[tokio::test]
async fn error_status_is_a_network_error_and_base_path_is_kept() {
    let server = range_server().await;
    let broken = server.base.join("/broken/").unwrap();
    let checker = checker(&broken);
    let err = checker.breach_count(BREACHED).await.unwrap_err();
    assert!(
        err.contains("/broken/range/") && err.contains("500"),
        "{err}"
    );
    let strict = PasswordPolicy {
        ignore_network_errors: false,
        ..PasswordPolicy::default()
    };
    assert!(strict.check(&checker, None, BREACHED).await.is_err());
    PasswordPolicy::default()
        .check(&checker, None, BREACHED)
        .await
        .unwrap();
}

#[test]
fn range_parsing() {
    let entries = parse_range(
        "\n 1E4C9B93F3F0682250B6CF8331B7EE68FD8:3730471 \r\n\
         1e4c9b93f3f0682250b6cf8331b7ee68fd9\n\
         tooshort:5\n\
         0000000000000000000000000000000000A:0\n",
    )
    .unwrap();
    assert_eq!(entries.len(), 3);
    let find = |s: &str| {
        entries
            .iter()
            .find(|(suffix, _)| suffix.as_slice() == s.as_bytes())
            .map(|e| e.1)
    };
    assert_eq!(find("1E4C9B93F3F0682250B6CF8331B7EE68FD8"), Some(3_730_471));
    assert_eq!(find("1E4C9B93F3F0682250B6CF8331B7EE68FD9"), Some(1));
    assert!(entries.windows(2).all(|w| w[0].0 <= w[1].0), "sorted");
    assert!(parse_range("1E4C9B93F3F0682250B6CF8331B7EE68FD8:many").is_err());
}

#[test]
fn default_base_url_parses() {
    BreachChecker::pwnedpasswords(Duration::from_secs(1)).unwrap();
    assert_eq!(
        sha1_hex("password"),
        "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8"
    );
}
