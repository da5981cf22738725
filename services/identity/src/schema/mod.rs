//! Identity schemas: resolving a schema URL from the revision to the JSON
//! Schema document.

mod form;
pub mod handler;
mod presets;
pub mod traits;

pub use traits::{CompiledSchema, SchemaCache, TraitError, TraitExtensions, normalize_identifier};

use base64::Engine;
use kernel::{Error, Result};
use serde_json::Value;

/// The JSON Schema behind `preset://…` or `base64://…`.
pub fn resolve(url: &str) -> Result<Value> {
    if let Some(name) = url.strip_prefix("preset://") {
        return presets::preset(name)
            .ok_or_else(|| Error::not_found(format!("unknown schema preset {name}")));
    }
    if let Some(encoded) = url.strip_prefix("base64://") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
            .map_err(|e| Error::internal(format!("stored schema is not base64: {e}")))?;
        return serde_json::from_slice(&bytes)
            .map_err(|e| Error::internal(format!("stored schema is not JSON: {e}")));
    }
    Err(Error::internal(format!("unsupported schema url {url}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_base64_resolve() {
        let email = resolve("preset://email").unwrap_or_default();
        assert_eq!(
            email["properties"]["traits"]["properties"]["email"]["ory.sh/kratos"]["credentials"]["password"]
                ["identifier"],
            true
        );
        let username = resolve("preset://username").unwrap_or_default();
        assert!(username["properties"]["traits"]["properties"]["username"].is_object());
        let custom = base64::engine::general_purpose::STANDARD.encode(r#"{"type":"object"}"#);
        assert_eq!(
            resolve(&format!("base64://{custom}")).unwrap_or_default()["type"],
            "object"
        );
        assert!(resolve("preset://phone").is_err());
    }
}
