//! Identity traits against an identity schema (`identity::schema`), the
//! code path of registration, settings and the admin create/update: the
//! schema's validator, the `ory.sh/kratos` extension (identifiers and
//! addresses), the form decoder that types string values from an HTML form,
//! and the form nodes drawn for the traits.
//!
//! The first byte picks the schema: the two presets (through the schema
//! cache, by URL, as a tenant's revision names them), a custom schema with
//! nested, array, enum and typed traits (as `base64://`), or one given in
//! the input (`[schema, traits]`: a tenant's own schema). The rest is the
//! traits as JSON.

#![no_main]

use base64::Engine;
use identity::flow::client::Submission;
use identity::flow::service::trait_nodes;
use identity::schema::{CompiledSchema, SchemaCache};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use std::sync::{Arc, LazyLock};

static CACHE: LazyLock<SchemaCache> = LazyLock::new(SchemaCache::default);

static CUSTOM_URL: LazyLock<String> = LazyLock::new(|| {
    let schema = json!({
        "$id": "https://example.com/customer.schema.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {
                    "email": {
                        "type": "string", "format": "email", "maxLength": 320,
                        "ory.sh/kratos": {
                            "credentials": { "password": { "identifier": true } },
                            "verification": { "via": "email" },
                            "recovery": { "via": "email" }
                        }
                    },
                    "username": {
                        "type": "string", "pattern": "^[a-z0-9_.-]{3,32}$",
                        "ory.sh/kratos": { "credentials": { "password": { "identifier": true } } }
                    },
                    "phones": {
                        "type": "array", "maxItems": 3,
                        "items": {
                            "type": "string", "format": "tel",
                            "ory.sh/kratos": { "verification": { "via": "sms" } }
                        }
                    },
                    "name": {
                        "type": "object",
                        "properties": {
                            "first": { "type": "string", "title": "First name" },
                            "last": { "type": "string" }
                        },
                        "required": ["first"]
                    },
                    "age": { "type": "integer", "minimum": 0, "maximum": 150 },
                    "score": { "type": "number" },
                    "newsletter": { "type": "boolean" },
                    "plan": { "type": "string", "enum": ["free", "team", "enterprise"] },
                    "website": { "type": "string", "format": "uri" },
                    "birthday": { "type": "string", "format": "date" }
                },
                "required": ["email"],
                "additionalProperties": false
            }
        }
    });
    let encoded = base64::engine::general_purpose::STANDARD.encode(schema.to_string());
    format!("base64://{encoded}")
});

/// Every string leaf as a form posts it.
fn as_form(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), as_form(v))).collect(),
        Value::Array(items) => items.iter().map(as_form).collect(),
        Value::Null => Value::String(String::new()),
        Value::String(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

fn exercise(schema: &CompiledSchema, traits: &Value) {
    let _ = schema.validate(traits);
    if traits.is_object() {
        let ext = schema.extensions(traits);
        for id in &ext.password_identifiers {
            assert!(!id.is_empty(), "an empty identifier from {traits}");
        }
        for (_, address) in ext
            .verifiable_addresses
            .iter()
            .chain(&ext.recovery_addresses)
        {
            assert!(!address.is_empty(), "an empty address from {traits}");
        }
    }
    let _ = trait_nodes(schema, "password", Some(traits));
    let _ = schema.required_traits();
    // The same traits posted as an HTML form: typed by the schema.
    let submission = Submission {
        from_form: true,
        ..Submission::api(json!({ "traits": as_form(traits) }))
    };
    if let Some(typed) = submission.traits(schema) {
        let _ = schema.validate(&typed);
        if typed.is_object() {
            let _ = schema.extensions(&typed);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(input) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let schema: Arc<CompiledSchema> = match mode % 4 {
        0 => match CACHE.get("preset://email") {
            Ok(s) => s,
            Err(e) => panic!("the email preset: {e}"),
        },
        1 => match CACHE.get("preset://username") {
            Ok(s) => s,
            Err(e) => panic!("the username preset: {e}"),
        },
        2 => match CACHE.get(&CUSTOM_URL) {
            Ok(s) => s,
            Err(e) => panic!("the custom schema: {e}"),
        },
        _ => {
            let Value::Array(pair) = &input else { return };
            let [schema, traits] = pair.as_slice() else {
                return;
            };
            let Ok(schema) = CompiledSchema::compile(schema.clone()) else {
                return;
            };
            exercise(&schema, traits);
            return;
        }
    };
    exercise(&schema, &input);
});
