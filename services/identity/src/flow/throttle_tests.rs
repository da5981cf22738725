use super::*;
use kernel::tenant::{ProjectState, TenantConfig};
use serde_json::Value;
use store::cache::MemoryCacheBus;
use uuid::Uuid;

fn tenant(identity_config: Value) -> TenantCtx {
    TenantCtx {
        project_id: Uuid::new_v4(),
        slug: "p".to_owned(),
        public_url: "http://p.projects.localhost".to_owned(),
        cookie_domain: None,
        rate_limits: kernel::rate_limit::FREE,
        name: "p".to_owned(),
        state: ProjectState::Running,
        revision_id: Uuid::nil(),
        config: Arc::new(TenantConfig::new(
            identity_config,
            Vec::new(),
            Vec::new(),
            5,
        )),
    }
}

fn throttle(settings: LoginThrottleSettings) -> LoginThrottle {
    LoginThrottle::new(Arc::new(MemoryCacheBus::default()), settings)
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

const NOW: u64 = 1_800_000_000_000;

#[test]
fn the_defaults_are_valid_and_a_bad_figure_names_its_key() {
    assert_eq!(LoginThrottleSettings::default().validate(), Ok(()));
    let bad = [
        LoginThrottleSettings {
            free_failures: 0,
            ..Default::default()
        },
        LoginThrottleSettings {
            ip_free_failures: 4,
            ..Default::default()
        },
        LoginThrottleSettings {
            base_delay_secs: 0,
            ..Default::default()
        },
        LoginThrottleSettings {
            max_delay_secs: 0,
            ..Default::default()
        },
        LoginThrottleSettings {
            window_secs: 899,
            ..Default::default()
        },
    ];
    let keys = [
        "free_failures",
        "ip_free_failures",
        "base_delay_secs",
        "max_delay_secs",
        "window_secs",
    ];
    for (settings, key) in bad.iter().zip(keys) {
        let err = settings.validate().err().unwrap_or_default();
        assert!(err.starts_with(&format!("{key}:")), "{err}");
    }
    // Huge figures neither overflow nor wrap into short delays.
    let huge = LoginThrottleSettings {
        base_delay_secs: u64::MAX,
        max_delay_secs: u64::MAX,
        window_secs: u64::MAX,
        ..Default::default()
    };
    assert_eq!(huge.policy(5).max_ms, u64::MAX);
}

#[test]
fn the_message_rounds_the_wait_up_and_carries_it() {
    assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
    assert_eq!(whole_seconds(Duration::from_millis(1_001)), 2);
    assert_eq!(whole_seconds(Duration::from_secs(900)), 900);
    let message = throttled_message(2);
    assert_eq!(message.id, text::LOGIN_THROTTLED);
    assert_eq!(message.kind, "error");
    assert_eq!(
        message.text,
        "Too many failed login attempts. Please try again in 2 seconds."
    );
    assert_eq!(message.context, Some(json!({ "retry_after_seconds": 2 })));
    assert!(throttled_message(1).text.ends_with("in 1 second."));
}

#[test]
fn keys_are_per_project_hashed_and_ipv6_counts_per_slash_64() {
    let (a, b) = (tenant(Value::Null), tenant(Value::Null));
    let key = identifier_key(&a, "erin@example.com");
    assert!(!key.contains("erin"), "{key}");
    assert_ne!(key, identifier_key(&b, "erin@example.com"));
    let (one, other) = (ip("2001:db8:1:2::1"), ip("2001:db8:1:2:ffff::9"));
    if let (Some(one), Some(other)) = (one, other) {
        assert_eq!(ip_key(&a, one), ip_key(&a, other));
        assert!(ip_key(&a, one).ends_with(":ip:2001:db8:1:2::/64"));
    }
    assert!(ip_key(&a, ip("192.0.2.7").unwrap_or(IpAddr::from([0; 4]))).ends_with(":ip:192.0.2.7"));
}

#[tokio::test]
async fn failures_back_off_and_a_success_starts_the_identifier_over() {
    let throttle = throttle(LoginThrottleSettings::default());
    let t = tenant(Value::Null);
    let from = ip("192.0.2.1");
    for _ in 0..5 {
        assert!(throttle.attempt(&t, "erin", from, NOW).await.is_ok());
    }
    assert_eq!(throttle.attempt(&t, "erin", from, NOW).await.err(), Some(1));
    let counted = throttle.attempt(&t, "erin", from, NOW + 1_000).await;
    assert!(counted.is_ok(), "the delay passed");
    assert_eq!(
        throttle.attempt(&t, "erin", from, NOW + 2_999).await.err(),
        Some(1),
        "the sixth failure doubled it"
    );
    if let Ok(counted) = counted {
        throttle.succeeded(counted).await;
    }
    for _ in 0..5 {
        assert!(
            throttle
                .attempt(&t, "erin", from, NOW + 1_000)
                .await
                .is_ok()
        );
    }
    // The same identifier in another project has counters of its own.
    assert!(
        throttle
            .attempt(&tenant(Value::Null), "erin", from, NOW)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn one_address_spraying_many_identifiers_is_held_back() {
    let throttle = throttle(LoginThrottleSettings::default());
    let t = tenant(Value::Null);
    let from = ip("192.0.2.2");
    for n in 0..20 {
        assert!(
            throttle
                .attempt(&t, &format!("u{n}"), from, NOW)
                .await
                .is_ok()
        );
    }
    assert_eq!(throttle.attempt(&t, "u99", from, NOW).await.err(), Some(1));
    // Refused at the address, so "u99" was not counted: another address
    // still has all its free attempts at it.
    for _ in 0..5 {
        assert!(
            throttle
                .attempt(&t, "u99", ip("192.0.2.3"), NOW)
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn a_refused_identifier_gives_the_address_its_attempt_back() {
    let throttle = throttle(LoginThrottleSettings::default());
    let t = tenant(Value::Null);
    let from = ip("192.0.2.4");
    for _ in 0..5 {
        assert!(throttle.attempt(&t, "victim", from, NOW).await.is_ok());
    }
    // Retrying a throttled account checks no password and so does not
    // count against the address.
    for _ in 0..50 {
        assert!(throttle.attempt(&t, "victim", from, NOW).await.is_err());
    }
    for n in 0..15 {
        assert!(
            throttle
                .attempt(&t, &format!("u{n}"), from, NOW)
                .await
                .is_ok()
        );
    }
    assert!(
        throttle
            .attempt(&t, "one too many", from, NOW)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_server_and_project_switches_turn_it_off() {
    let off =
        json!({ "selfservice": { "flows": { "login": { "throttle": { "enabled": false } } } } });
    let on = throttle(LoginThrottleSettings::default());
    let server_off = throttle(LoginThrottleSettings {
        enabled: false,
        ..Default::default()
    });
    let (project_off, project_on) = (tenant(off), tenant(Value::Null));
    for _ in 0..30 {
        assert!(on.attempt(&project_off, "erin", None, NOW).await.is_ok());
        assert!(
            server_off
                .attempt(&project_on, "erin", None, NOW)
                .await
                .is_ok()
        );
    }
}
