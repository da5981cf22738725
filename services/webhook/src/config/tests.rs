#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use base64::Engine as _;
use serde_json::json;

fn b64(s: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(s)
    )
}

#[test]
fn api_key_in_header_and_defaults() {
    let c = HookConfig::parse(&json!({
        "url": "https://hooks.example.com/in",
        "body": b64("function(ctx) { id: ctx.flow.id }"),
        "auth": {"type": "api_key", "config": {"name": "X-Api-Key", "value": "s3cret", "in": "header"}},
    }))
    .unwrap();
    assert_eq!(c.method, reqwest::Method::POST, "POST by default");
    assert_eq!(
        c.body,
        Some(BodySource::Inline(
            "function(ctx) { id: ctx.flow.id }".into()
        ))
    );
    assert_eq!(c.encoding, BodyEncoding::Json);
    assert!(
        c.headers
            .contains(&("Content-Type".into(), "application/json".into()))
    );
    assert_eq!(
        c.auth,
        Auth::ApiKeyHeader {
            name: "X-Api-Key".into(),
            value: "s3cret".into()
        }
    );
    assert!(!c.ignore_response);
    assert!(!format!("{c:?}").contains("s3cret"), "Debug hides the key");
}

#[test]
fn api_key_in_cookie_basic_auth_and_ignore() {
    let c = HookConfig::parse(&json!({
        "url": "http://hooks.example.com/in",
        "method": "PUT",
        "body": "https://templates.example.com/body.jsonnet",
        "auth": {"type": "api_key", "config": {"name": "k", "value": "v", "in": "cookie"}},
        "response": {"ignore": true},
    }))
    .unwrap();
    assert_eq!(c.method, reqwest::Method::PUT);
    assert!(matches!(c.body, Some(BodySource::Remote(_))));
    assert_eq!(
        c.auth,
        Auth::ApiKeyCookie {
            name: "k".into(),
            value: "v".into()
        }
    );
    assert!(c.ignore_response);

    let c = HookConfig::parse(&json!({
        "url": "https://hooks.example.com/in",
        "method": "POST",
        "body": b64("{}"),
        "auth": {"type": "basic_auth", "config": {"user": "u", "password": "p"}},
    }))
    .unwrap();
    assert_eq!(
        c.auth,
        Auth::Basic {
            user: "u".into(),
            password: "p".into()
        }
    );
    assert!(!format!("{c:?}").contains("\"p\""));
}

#[test]
fn trace_needs_no_body_and_form_encoding_is_recognised() {
    let c = HookConfig::parse(&json!({"url": "https://h.example.com", "method": "TRACE"})).unwrap();
    assert_eq!(c.body, None);
    let c = HookConfig::parse(&json!({
        "url": "https://h.example.com",
        "body": b64("{a: 'b'}"),
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Extra": "1"},
    }))
    .unwrap();
    assert_eq!(c.encoding, BodyEncoding::Form);
    assert_eq!(c.headers.len(), 2);
}

#[test]
fn bad_configs_name_the_field() {
    let body = b64("{}");
    let cases = [
        (json!("x"), "config"),
        (json!({"body": body}), "url"),
        (json!({"url": "not a url", "body": body}), "url"),
        (json!({"url": "ftp://h.example.com", "body": body}), "url"),
        (
            json!({"url": "https://h.example.com", "body": body, "method": "BREW"}),
            "method",
        ),
        (json!({"url": "https://h.example.com"}), "body"),
        (
            json!({"url": "https://h.example.com", "body": "file:///etc/passwd"}),
            "file://",
        ),
        (
            json!({"url": "https://h.example.com", "body": "/etc/passwd"}),
            "body",
        ),
        (
            json!({"url": "https://h.example.com", "body": "base64://!!!"}),
            "body",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "oauth"}}),
            "auth.type",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "api_key", "config": {"value": "v"}}}),
            "auth.config.name",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "api_key", "config": {"name": "n"}}}),
            "auth.config.value",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "api_key", "config": {"name": "n", "value": "v", "in": "query"}}}),
            "auth.config.in",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "basic_auth", "config": {"password": "p"}}}),
            "auth.config.user",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "auth": {"type": "basic_auth", "config": {"user": "u"}}}),
            "auth.config.password",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "response": {"ignore": "yes"}}),
            "response.ignore",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "response": {"parse": true}}),
            "response.parse",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "can_interrupt": true}),
            "can_interrupt",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "headers": {"Content-Type": "text/plain"}}),
            "Content-Type",
        ),
        (
            json!({"url": "https://h.example.com", "body": body, "timeout": 5}),
            "timeout",
        ),
    ];
    for (config, field) in cases {
        match HookConfig::parse(&config) {
            Err(WebHookFailure::InvalidConfig(m)) => {
                assert!(
                    m.contains(field),
                    "{m:?} does not name {field} (config {config})"
                )
            }
            other => panic!("{config} gave {other:?}"),
        }
    }
}

#[test]
fn auth_values_never_appear_in_errors() {
    let err = HookConfig::parse(&json!({
        "url": "https://h.example.com", "body": b64("{}"),
        "auth": {"type": "api_key", "config": {"name": "bad name", "value": "topsecret"}},
    }))
    .unwrap_err();
    assert!(!err.to_string().contains("topsecret"));
    assert!(err.to_string().contains("auth.config.name"));
}
