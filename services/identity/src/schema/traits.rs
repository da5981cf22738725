//! Validating traits against an identity schema and reading the schema's
//! `ory.sh/kratos` extension: which trait values are login identifiers,
//! verifiable addresses and recovery addresses.

use kernel::{Error, Result};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// What the `ory.sh/kratos` extension says about one identity's traits.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TraitExtensions {
    /// `credentials.password.identifier`, normalized (trimmed, lower case).
    pub password_identifiers: Vec<String>,
    /// `credentials.webauthn.identifier`, kept for the WebAuthn strategy.
    pub webauthn_identifiers: Vec<String>,
    /// `credentials.totp.account_name`, kept for the TOTP strategy.
    pub totp_account_names: Vec<String>,
    /// `verification.via` → `(via, value)`.
    pub verifiable_addresses: Vec<(String, String)>,
    /// `recovery.via` → `(via, value)`.
    pub recovery_addresses: Vec<(String, String)>,
    /// Pointers (`/email`) of identifiers and addresses longer than
    /// [`MAX_IDENTIFIER_BYTES`].
    pub oversized: Vec<String>,
}

/// The longest identifier or address, in bytes. Each is a key of a unique
/// index, and PostgreSQL refuses an index row over 2704 bytes (the value
/// may not compress); 1024 leaves room for the other columns, and is far
/// above any real e-mail address (254) or user name. A schema without
/// `maxLength` does not lift it.
pub const MAX_IDENTIFIER_BYTES: usize = 1024;

/// One trait that failed validation, for an admin 400 or a UI node message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraitError {
    /// JSON pointer into the traits (`/email`), empty for the whole object.
    pub pointer: String,
    pub message: String,
}

/// A schema compiled once and shared by every request that uses it.
pub struct CompiledSchema {
    validator: jsonschema::Validator,
    schema: Value,
}

impl CompiledSchema {
    pub fn compile(schema: Value) -> Result<Self> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| Error::bad_request(format!("the identity schema is invalid: {e}")))?;
        Ok(Self { validator, schema })
    }

    /// Validates `traits` (as Kratos does, wrapped in `{"traits": ...}`).
    pub fn validate(&self, traits: &Value) -> std::result::Result<(), Vec<TraitError>> {
        let doc = json!({ "traits": traits });
        let errors: Vec<TraitError> = self
            .validator
            .iter_errors(&doc)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                TraitError {
                    pointer: pointer
                        .strip_prefix("/traits")
                        .unwrap_or(&pointer)
                        .to_owned(),
                    message: e.to_string(),
                }
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        let oversized = self.extensions(traits).oversized;
        if oversized.is_empty() {
            return Ok(());
        }
        Err(oversized
            .into_iter()
            .map(|pointer| TraitError {
                message: format!(
                    "{} is an identifier or address, and may be at most {MAX_IDENTIFIER_BYTES} bytes long",
                    pointer.trim_start_matches('/').replace('/', ".")
                ),
                pointer,
            })
            .collect())
    }

    /// Reads the extension for these (already valid) traits.
    pub fn extensions(&self, traits: &Value) -> TraitExtensions {
        let mut out = TraitExtensions::default();
        if let Some(traits_schema) = self.schema.pointer("/properties/traits") {
            walk(traits_schema, traits, "", &mut out);
        }
        for list in [
            &mut out.password_identifiers,
            &mut out.webauthn_identifiers,
            &mut out.totp_account_names,
        ] {
            list.sort();
            list.dedup();
        }
        out.verifiable_addresses.sort();
        out.verifiable_addresses.dedup();
        out.recovery_addresses.sort();
        out.recovery_addresses.dedup();
        out.oversized.dedup();
        out
    }

    /// The trait fields of the schema: `(name, json type, format, title)`
    /// of each top-level trait, for rendering form nodes.
    pub fn trait_fields(&self) -> Vec<(String, String, Option<String>, Option<String>)> {
        let mut fields = Vec::new();
        let props = self
            .schema
            .pointer("/properties/traits/properties")
            .and_then(Value::as_object);
        for (name, prop) in props.into_iter().flatten() {
            collect_fields(name, prop, &mut fields);
        }
        fields
    }

    /// The allowed values of the trait at `path` (`name.first`), when the
    /// schema gives an `enum`: forms offer them as a choice.
    pub fn trait_enum(&self, path: &str) -> Option<&Vec<Value>> {
        let pointer = format!(
            "/properties/traits/properties/{}/enum",
            path.replace('.', "/properties/")
        );
        self.schema.pointer(&pointer).and_then(Value::as_array)
    }

    /// Trait names the schema requires (top level), for form nodes.
    pub fn required_traits(&self) -> Vec<String> {
        self.schema
            .pointer("/properties/traits/required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn collect_fields(
    path: &str,
    prop: &Value,
    out: &mut Vec<(String, String, Option<String>, Option<String>)>,
) {
    let kind = prop["type"].as_str().unwrap_or("string");
    if kind == "object" {
        for (name, child) in prop["properties"].as_object().into_iter().flatten() {
            collect_fields(&format!("{path}.{name}"), child, out);
        }
        return;
    }
    out.push((
        path.to_owned(),
        kind.to_owned(),
        prop["format"].as_str().map(str::to_owned),
        prop["title"].as_str().map(str::to_owned),
    ));
}

/// Normalizes an identifier or address the way lookups compare them.
pub fn normalize_identifier(value: &str) -> String {
    value.trim().to_lowercase()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn walk(schema: &Value, value: &Value, pointer: &str, out: &mut TraitExtensions) {
    if let Some(ext) = schema.get("ory.sh/kratos") {
        let found = strings(value);
        let flag = |path: &str| ext.pointer(path).and_then(Value::as_bool) == Some(true);
        let indexed = [
            "/credentials/password/identifier",
            "/credentials/webauthn/identifier",
        ]
        .iter()
        .any(|path| flag(path))
            || ext.pointer("/verification/via").is_some()
            || ext.pointer("/recovery/via").is_some();
        for raw in &found {
            let v = normalize_identifier(raw);
            if v.is_empty() {
                continue;
            }
            if indexed && v.len() > MAX_IDENTIFIER_BYTES {
                out.oversized.push(pointer.to_owned());
                continue;
            }
            if flag("/credentials/password/identifier") {
                out.password_identifiers.push(v.clone());
            }
            if flag("/credentials/webauthn/identifier") {
                out.webauthn_identifiers.push(v.clone());
            }
            if flag("/credentials/totp/account_name") {
                out.totp_account_names.push(raw.clone());
            }
            if let Some(via) = ext.pointer("/verification/via").and_then(Value::as_str) {
                out.verifiable_addresses.push((via.to_owned(), v.clone()));
            }
            if let Some(via) = ext.pointer("/recovery/via").and_then(Value::as_str) {
                out.recovery_addresses.push((via.to_owned(), v.clone()));
            }
        }
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(child_schema) = schema.pointer(&format!("/properties/{key}")) {
                    walk(child_schema, child, &format!("{pointer}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, &format!("{pointer}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Compiled schemas by URL. Schema URLs are content-addressed in practice
/// (`preset://…`, `base64://<the schema>`), so an entry never goes stale;
/// the map is only cleared when it grows past its bound.
#[derive(Clone, Default)]
pub struct SchemaCache {
    compiled: Arc<RwLock<HashMap<String, Arc<CompiledSchema>>>>,
}

const SCHEMA_CACHE_BOUND: usize = 4096;

impl SchemaCache {
    pub fn get(&self, url: &str) -> Result<Arc<CompiledSchema>> {
        if let Ok(map) = self.compiled.read()
            && let Some(hit) = map.get(url)
        {
            return Ok(hit.clone());
        }
        let compiled = Arc::new(CompiledSchema::compile(super::resolve(url)?)?);
        if let Ok(mut map) = self.compiled.write() {
            if map.len() >= SCHEMA_CACHE_BOUND {
                map.clear();
            }
            map.insert(url.to_owned(), compiled.clone());
        }
        Ok(compiled)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn email_preset_extensions() {
        let schema =
            CompiledSchema::compile(super::super::resolve("preset://email").unwrap()).unwrap();
        let traits = json!({"email": " Alice@Example.com "});
        let ext = schema.extensions(&traits);
        assert_eq!(ext.password_identifiers, vec!["alice@example.com"]);
        assert_eq!(
            ext.verifiable_addresses,
            vec![("email".to_owned(), "alice@example.com".to_owned())]
        );
        assert_eq!(ext.recovery_addresses.len(), 1);
        assert_eq!(ext.webauthn_identifiers, vec!["alice@example.com"]);
    }

    #[test]
    fn invalid_traits_name_the_field() {
        let schema =
            CompiledSchema::compile(super::super::resolve("preset://email").unwrap()).unwrap();
        let errors = schema
            .validate(&json!({"email": "not-an-email"}))
            .unwrap_err();
        assert_eq!(errors[0].pointer, "/email");
        let errors = schema.validate(&json!({})).unwrap_err();
        assert!(errors[0].message.contains("email"), "{errors:?}");
        assert!(schema.validate(&json!({"email": "a@b.co"})).is_ok());
    }

    #[test]
    fn nested_and_array_traits() {
        let schema = CompiledSchema::compile(json!({
            "type": "object",
            "properties": {"traits": {"type": "object", "properties": {
                "emails": {"type": "array", "items": {"type": "string",
                    "ory.sh/kratos": {"credentials": {"password": {"identifier": true}},
                                      "verification": {"via": "email"}}}},
                "name": {"type": "object", "properties": {"first": {"type": "string"}}}
            }}}
        }))
        .unwrap();
        let ext =
            schema.extensions(&json!({"emails": ["a@x.io", "B@x.io"], "name": {"first": "A"}}));
        assert_eq!(ext.password_identifiers, vec!["a@x.io", "b@x.io"]);
        assert_eq!(ext.verifiable_addresses.len(), 2);
        let fields = schema.trait_fields();
        assert!(fields.iter().any(|f| f.0 == "name.first"));
    }
}
