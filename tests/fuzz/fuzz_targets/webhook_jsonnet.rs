//! The web hook's Jsonnet mapper input (`webhook`): what an end user
//! controls (the traits, the request headers, method and URL, the flow) is
//! built into the template's `ctx` by the production builder
//! (`WebHookContext::to_template_json`, which drops secret headers),
//! encoded as the worker reads it, and rendered by the evaluation the
//! worker runs (`render_in_process`) with real-world templates.
//!
//! First byte even: the rest drives `arbitrary` to build that context.
//! Odd: the rest is a hook's config as JSON (`HookConfig::parse`).
//!
//! The templates are fixed on purpose: a tenant's template is evaluated
//! only inside the rlimited worker process, and an arbitrary template can
//! loop or allocate without bound (`std.range(0, 1e10)`), which in process
//! would hang or abort the fuzzer rather than find a bug; the context, on
//! the other hand, is anyone's input and every template sees it.
//!
//! Invariants: the echo template gives back the context exactly (numbers
//! as doubles, as in Kratos' go-jsonnet); a forbidden header (cookies,
//! authorization) never reaches a template; rendering never panics.

#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use webhook::WebHookContext;
use webhook::config::HookConfig;
use webhook::context::FORWARDED_REQUEST_HEADERS;
use webhook::render_in_process;

/// Gives back the context. Not `function(ctx) ctx`: jrsonnet lowers a
/// function returning its parameter to `std.id`, whose parameter is `x`,
/// so the named argument `ctx` is refused (reported; docs/fuzzing.md).
const ECHO: &str = "function(ctx) ctx + {}";

/// Bodies as tenants write them (the Kratos docs' examples and ours).
const TEMPLATES: &[&str] = &[
    "function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id, kind: 'signup' }",
    "local ctx = std.extVar('ctx'); { flow: ctx.flow.id, n: 1 + 1 }",
    "function(ctx) { userId: ctx.identity.id, traits: { email: ctx.identity.traits.email, \
     name: if std.objectHas(ctx.identity.traits, 'name') then ctx.identity.traits.name else null }, \
     headers: ctx.request_headers, url: ctx.request_url, method: ctx.request_method }",
    "function(ctx) if std.objectHas(ctx, 'identity') && std.isString(ctx.identity.traits.email) \
     && std.endsWith(ctx.identity.traits.email, '@blocked.example') then error 'cancel' \
     else { email: ctx.identity.traits.email }",
    "function(ctx) { ua: std.get(ctx.request_headers, 'user-agent', ['?'])[0], \
     lang: std.join(',', std.get(ctx.request_headers, 'accept-language', [])), \
     traits: std.objectFields(ctx.identity.traits), size: std.length(std.manifestJson(ctx)) }",
    "function(ctx) { [k]: std.toString(ctx.identity.traits[k]) for k in std.objectFields(ctx.identity.traits) }",
];

fn key(u: &mut Unstructured<'_>) -> Result<String> {
    const KEYS: &[&str] = &[
        "email", "name", "first", "last", "id", "phone", "tags", "age",
    ];
    Ok(if u.ratio(3, 4)? {
        (*u.choose(KEYS)?).to_owned()
    } else {
        u.arbitrary()?
    })
}

fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let pick = if depth == 0 {
        u.int_in_range(0..=5u8)?
    } else {
        u.int_in_range(0..=7u8)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => json!(u.arbitrary::<u64>()?),
        4 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        5 => Value::String(u.arbitrary()?),
        6 => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                items.push(value(u, depth - 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=5u8)? {
                map.insert(key(u)?, value(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

fn context(u: &mut Unstructured<'_>) -> Result<WebHookContext> {
    let mut traits = Map::new();
    if u.ratio(7, 8)? {
        traits.insert(
            "email".into(),
            if u.ratio(3, 4)? {
                Value::String(u.arbitrary()?)
            } else {
                value(u, 1)?
            },
        );
    }
    for _ in 0..u.int_in_range(0..=3u8)? {
        traits.insert(key(u)?, value(u, 3)?);
    }
    let identity = u.ratio(3, 4)?.then(|| {
        json!({
            "id": "0190f5a0-7e1c-7d1e-9b1a-3c4d5e6f7a8b",
            "schema_id": "default",
            "state": "active",
            "traits": traits,
            "metadata_public": null,
        })
    });
    let mut headers = BTreeMap::new();
    for _ in 0..u.int_in_range(0..=6u8)? {
        let name = if u.ratio(2, 3)? {
            const NAMES: &[&str] = &[
                "user-agent",
                "accept-language",
                "Cookie",
                "authorization",
                "Origin",
                "x-forwarded-for",
                "Accept",
            ];
            (*u.choose(NAMES)?).to_owned()
        } else {
            u.arbitrary()?
        };
        headers.insert(name, u.arbitrary::<Vec<String>>()?);
    }
    Ok(WebHookContext {
        flow: json!({ "id": "0190f5a0-7e1c-7d1e-9b1a-3c4d5e6f7a8e", "type": "browser", "ui": { "nodes": [] }, "extra": value(u, 2)? }),
        identity,
        request_headers: headers,
        request_method: u.arbitrary()?,
        request_url: u.arbitrary()?,
    })
}

/// Every number as the double Jsonnet makes of it.
///
/// Known and reported (docs/fuzzing.md): jrsonnet's `Serialize for Val`
/// casts every whole number to `i64`, so one of 2^63 or more comes out of
/// `render_in_process` as `i64::MAX` (`1e20` → `9223372036854775807`).
/// Until that is fixed such numbers are left out of the comparison.
fn as_doubles(value: &Value) -> Value {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() >= TWO_POW_63 => json!("whole number >= 2^63"),
            x => x
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
        },
        Value::Array(items) => items.iter().map(as_doubles).collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), as_doubles(v)))
            .collect(),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        if let Ok(config) = serde_json::from_slice::<Value>(rest) {
            let _ = HookConfig::parse(&config);
        }
        return;
    }
    let mut u = Unstructured::new(rest);
    let Ok(ctx) = context(&mut u) else { return };
    let json = ctx.to_template_json();
    // The worker's input is JSON on a pipe: the context must survive it.
    let piped: Value = match serde_json::to_vec(&json).map(|b| serde_json::from_slice(&b)) {
        Ok(Ok(v)) => v,
        other => panic!("the context does not encode: {other:?}"),
    };
    assert_eq!(piped, json);
    if let Some(headers) = json["request_headers"].as_object() {
        for name in headers.keys() {
            assert!(
                FORWARDED_REQUEST_HEADERS.contains(&name.to_ascii_lowercase().as_str()),
                "the header {name:?} reached the template"
            );
        }
    }
    match render_in_process(ECHO, &json) {
        Ok(echo) => assert_eq!(
            as_doubles(&echo),
            as_doubles(&json),
            "the echo template changed the context"
        ),
        Err(e) => panic!("the echo template failed: {e}"),
    }
    let template = u.choose(TEMPLATES).copied().unwrap_or(TEMPLATES[0]);
    let _ = render_in_process(template, &json);
});
