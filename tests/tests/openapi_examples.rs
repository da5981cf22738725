//! The examples in `docs/openapi.json` are true to their schemas: every
//! `example` of a request or response body validates against that body's
//! schema (OpenAPI 3.0 read as JSON Schema: `nullable` becomes "or null",
//! `$ref`s resolve in the document), an NDJSON example is one JSON object
//! per line, and every Keyplane operation's JSON bodies carry one. The
//! examples were recorded from a running server; Schemathesis sends the
//! request examples in its first phase (tests/tests/openapi_contract.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// JSON bodies of Keyplane's own operations that carry no example, and why
/// none: a whole self-service flow (the seed shows none for its flows
/// either), and the document itself.
const WITHOUT_EXAMPLE: [(&str, &str); 3] = [
    ("GET /self-service/recovery", "200"),
    ("GET /self-service/verification", "200"),
    ("GET /.well-known/openapi.json", "200"),
];

fn document() -> Value {
    serde_json::from_str(http::openapi::DOCUMENT).unwrap()
}

fn seed() -> Value {
    serde_json::from_str(include_str!("../data/ory-openapi.json")).unwrap()
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema says it.
fn as_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let converted: Map<String, Value> = map
                .iter()
                .map(|(key, value)| (key.clone(), as_json_schema(value)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                json!({ "anyOf": [Value::Object(converted), { "type": "null" }] })
            } else {
                Value::Object(converted)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(as_json_schema).collect()),
        other => other.clone(),
    }
}

/// Every `(where, media type object)` of an operation: `request` or a status.
fn bodies(operation: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    let request = operation["requestBody"]["content"].as_object();
    for (media_type, body) in request.into_iter().flatten() {
        found.push(("request".to_owned(), media_type.clone(), body));
    }
    let responses = operation["responses"].as_object();
    for (status, response) in responses.into_iter().flatten() {
        for (media_type, body) in response["content"].as_object().into_iter().flatten() {
            found.push((status.clone(), media_type.clone(), body));
        }
    }
    found
}

/// What is wrong with `example` for `schema`, if anything.
fn problems_with(
    components: &Value,
    media_type: &str,
    schema: &Value,
    example: &Value,
) -> Vec<String> {
    if media_type == "application/x-ndjson" {
        let Some(text) = example.as_str() else {
            return vec!["an NDJSON example must be a string".into()];
        };
        return text
            .lines()
            .filter(|line| !line.is_empty())
            .filter(|line| !serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()))
            .map(|line| format!("not a JSON object: {line}"))
            .collect();
    }
    let mut root = as_json_schema(schema);
    let Some(map) = root.as_object_mut() else {
        return vec![format!("schema is not an object: {schema}")];
    };
    map.insert("components".into(), components.clone());
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"));
    validator
        .iter_errors(example)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_example_matches_its_schema() {
    let document = document();
    let components = as_json_schema(&document["components"]);
    let mut checked = 0;
    let mut problems = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            for (place, media_type, body) in bodies(&item[*method]) {
                let Some(example) = body.get("example") else {
                    continue;
                };
                checked += 1;
                for problem in problems_with(&components, &media_type, &body["schema"], example) {
                    problems.push(format!("{method} {path} {place} {media_type}: {problem}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(checked >= 50, "only {checked} examples");
}

#[test]
fn every_keyplane_json_body_has_an_example() {
    let document = document();
    let seed = seed();
    let mut missing = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
            if !seed["paths"][path][*method].is_null() {
                continue;
            }
            let operation = format!("{} {path}", method.to_uppercase());
            for (place, media_type, body) in bodies(&item[*method]) {
                let success_or_request = place == "request" || place.starts_with('2');
                let exempt = WITHOUT_EXAMPLE.contains(&(operation.as_str(), place.as_str()));
                if media_type == "application/json"
                    && success_or_request
                    && !exempt
                    && body.get("example").is_none()
                {
                    missing.push(format!("{operation} {place}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "no example: {missing:#?}");
}

#[test]
fn a_wrong_example_is_caught() {
    let document = document();
    let components = as_json_schema(&document["components"]);
    let body = &document["paths"]["/projects/{project_id}/tokens"]["post"]["requestBody"]["content"]
        ["application/json"];
    let schema = &body["schema"];
    assert!(problems_with(&components, "application/json", schema, &body["example"]).is_empty());
    let mut wrong = body["example"].clone();
    wrong["expires_at"] = json!("next tuesday");
    assert!(!problems_with(&components, "application/json", schema, &wrong).is_empty());
    wrong = json!({ "name": "ci", "scopes": ["all"] });
    assert!(!problems_with(&components, "application/json", schema, &wrong).is_empty());
    let nullable = json!({ "$ref": "#/components/schemas/nullJsonRawMessage" });
    assert!(problems_with(&components, "application/json", &nullable, &Value::Null).is_empty());
    assert!(
        !problems_with(
            &components,
            "application/x-ndjson",
            schema,
            &json!("{\"a\":1}\n[1]")
        )
        .is_empty()
    );
}
