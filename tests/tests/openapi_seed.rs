//! `docs/openapi.json` keeps Ory's operations as Ory's document has them
//! (`tests/data/ory-openapi.json`, the seed the official SDKs come from):
//! every seed path, operation and schema is there and equal, except what an
//! operation lists under `x-keyplane-differences` — and even then only
//! additions (a parameter, a body the seed leaves out, a response header, a
//! status the seed does not list), the error envelope where the seed names
//! the bare error, a flow's 400 widened to "or the envelope", the three
//! `REPLACED_BODIES`, or, for the health and version operations, no
//! credentials. Of the seed's schemas only `MADE_NULLABLE` gain `nullable`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Map, Value};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn load(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn seed() -> Value {
    load(include_str!("../data/ory-openapi.json"))
}

fn document() -> Value {
    load(http::openapi::DOCUMENT)
}

fn param_key(param: &Value) -> (String, String) {
    (
        param["name"].as_str().unwrap_or_default().to_owned(),
        param["in"].as_str().unwrap_or_default().to_owned(),
    )
}

/// The responses whose body Keyplane deliberately answers otherwise than
/// the seed says (docs/openapi.md): Kratos's `/schemas` bodies rather than
/// Ory Cloud's storage records, and `webauthn.js` as a script.
const REPLACED_BODIES: [(&str, &str); 3] = [
    ("listIdentitySchemas", "200"),
    ("getIdentitySchema", "200"),
    ("getWebAuthnJavaScript", "200"),
];

const ENVELOPE: &str = "#/components/schemas/keyplaneError";

/// The seed's error bodies Keyplane answers as `ENVELOPE`: `genericError`
/// lacks the envelope, and both forbid every key in `details`.
const BARE_ERRORS: [&str; 2] = [
    "#/components/schemas/genericError",
    "#/components/schemas/jsonError",
];

/// Seed schemas that say they are nullable in words but not in the schema;
/// Keyplane's document adds `nullable: true` (Kratos answers `null`).
const MADE_NULLABLE: [&str; 1] = ["nullJsonRawMessage"];

/// Puts the seed's body back where a listed difference may change it: a
/// bare `genericError` Keyplane answers as the envelope, a flow body
/// widened to "the flow or the envelope", and the `REPLACED_BODIES`.
fn restore_replaced_body(
    operation: Option<&str>,
    code: &str,
    response: &mut Map<String, Value>,
    seed_response: &Value,
) {
    let seed_content = &seed_response["content"];
    let Some(content) = response.get_mut("content") else {
        return;
    };
    let replaced = REPLACED_BODIES
        .iter()
        .any(|(op, status)| Some(*op) == operation && *status == code);
    let seed_schema = &seed_content["application/json"]["schema"];
    let schema = &content["application/json"]["schema"];
    let envelope = serde_json::json!({ "$ref": ENVELOPE });
    let enveloped = BARE_ERRORS.contains(&seed_schema["$ref"].as_str().unwrap_or_default())
        && *schema == envelope;
    let widened = schema["oneOf"] == serde_json::json!([seed_schema, envelope]);
    if replaced {
        *content = seed_content.clone();
    } else if enveloped || widened {
        content["application/json"]["schema"] = seed_schema.clone();
    }
}

/// What a listed difference may change: Keyplane's operation, with its
/// additions taken back out, must equal the seed's.
fn without_additions(ours: &Value, seed: &Value) -> Value {
    let mut ours = ours.clone();
    let map = ours.as_object_mut().unwrap();
    map.remove("x-keyplane-differences");
    // Parameters the seed does not have.
    let seed_params: Vec<(String, String)> = seed["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(param_key)
        .collect();
    if let Some(params) = map.get_mut("parameters").and_then(Value::as_array_mut) {
        params.retain(|p| seed_params.contains(&param_key(p)));
        if params.is_empty() && seed.get("parameters").is_none() {
            map.remove("parameters");
        }
    }
    // A body the seed leaves out.
    if seed.get("requestBody").is_none() {
        map.remove("requestBody");
    }
    if let Some(responses) = map.get_mut("responses").and_then(Value::as_object_mut) {
        // Statuses the seed does not list (`default` among them).
        responses.retain(|code, _| seed["responses"].get(code).is_some());
        for (code, response) in responses.iter_mut() {
            let seed_response = &seed["responses"][code];
            let seed_headers = &seed_response["headers"];
            let Some(response) = response.as_object_mut() else {
                continue;
            };
            restore_replaced_body(seed["operationId"].as_str(), code, response, seed_response);
            // Response headers the seed does not name.
            if let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) {
                headers.retain(|name, _| seed_headers.get(name).is_some());
                if headers.is_empty() && seed_headers.is_null() {
                    response.remove("headers");
                }
            }
        }
    }
    // No credentials where Ory's document names its token (health, version).
    if map.get("security") == Some(&Value::Array(Vec::new()))
        && let Some(security) = seed.get("security")
    {
        map.insert("security".into(), security.clone());
    }
    ours
}

#[test]
fn every_seed_operation_is_kept_as_the_seed_has_it() {
    let seed = seed();
    let ours = document();
    let mut problems = Vec::new();
    let mut differing = 0;
    for (path, seed_item) in seed["paths"].as_object().unwrap() {
        let Some(item) = ours["paths"].get(path) else {
            problems.push(format!("{path}: missing"));
            continue;
        };
        for method in METHODS.iter().filter(|m| seed_item.get(**m).is_some()) {
            let (seed_op, op) = (&seed_item[*method], &item[*method]);
            if op.is_null() {
                problems.push(format!("{method} {path}: missing"));
                continue;
            }
            let compared = if op.get("x-keyplane-differences").is_some() {
                differing += 1;
                without_additions(op, seed_op)
            } else {
                op.clone()
            };
            if &compared != seed_op {
                problems.push(format!(
                    "{method} {path} ({}): differs from the seed beyond its \
                     x-keyplane-differences",
                    seed_op["operationId"]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Every seed operation adds at least its `default` error response.
    assert_eq!(differing, 61, "operations with x-keyplane-differences");
}

#[test]
fn every_seed_schema_is_kept_as_the_seed_has_it() {
    let seed = seed();
    let ours = document();
    let empty = Map::new();
    let schemas = ours["components"]["schemas"].as_object().unwrap_or(&empty);
    for (name, schema) in seed["components"]["schemas"].as_object().unwrap() {
        let mut ours = schemas.get(name).cloned();
        if MADE_NULLABLE.contains(&name.as_str())
            && let Some(ours) = ours.as_mut().and_then(Value::as_object_mut)
        {
            assert_eq!(ours.remove("nullable"), Some(Value::Bool(true)), "{name}");
        }
        assert_eq!(ours.as_ref(), Some(schema), "schema {name}");
    }
    for (name, scheme) in seed["components"]["securitySchemes"].as_object().unwrap() {
        assert_eq!(
            &ours["components"]["securitySchemes"][name], scheme,
            "security scheme {name}"
        );
    }
}

#[test]
fn a_change_beyond_an_addition_is_caught() {
    let seed = seed();
    let seed_op = &seed["paths"]["/relation-tuples/check/openapi"]["get"];
    let mut changed = seed_op.clone();
    changed["parameters"][0]["required"] = Value::Bool(false);
    changed["x-keyplane-differences"] = Value::Array(Vec::new());
    assert_ne!(&without_additions(&changed, seed_op), seed_op);
    // A success body replaced is caught; only REPLACED_BODIES may be.
    let mut replaced = seed_op.clone();
    replaced["responses"]["200"]["content"]["application/json"]["schema"] =
        serde_json::json!({ "$ref": ENVELOPE });
    replaced["x-keyplane-differences"] = Value::Array(Vec::new());
    assert_ne!(&without_additions(&replaced, seed_op), seed_op);
    let mut added = seed_op.clone();
    added["parameters"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "name": "snaptoken", "in": "query" }));
    added["x-keyplane-differences"] = Value::Array(Vec::new());
    assert_eq!(&without_additions(&added, seed_op), seed_op);
}
