//! RFC 6902 JSON Patch applied with limits on the result. One `copy` can
//! double a document, so twenty of them in a 2 KB request ask for
//! gigabytes; the patch is therefore applied one operation at a time, a
//! `copy` is sized before it runs, and the document's size and depth are
//! checked after each operation: the first operation over a limit is
//! refused (400) before the next one runs. Used by every JSON Patch
//! endpoint (project config, identities).

use crate::Error;
use json_patch::{Patch, PatchOperation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `json_patch` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatchLimits {
    /// Operations in one patch.
    pub max_operations: usize,
    /// The patched document, as JSON text (about).
    pub max_document_bytes: usize,
    /// Nesting of the patched document.
    pub max_depth: usize,
}

impl Default for PatchLimits {
    fn default() -> Self {
        Self {
            max_operations: 1000,
            max_document_bytes: 1024 * 1024,
            max_depth: 64,
        }
    }
}

impl PatchLimits {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_operations == 0 || self.max_document_bytes < 1024 || self.max_depth < 8 {
            return Err(
                "max_operations must be at least 1, max_document_bytes 1024, max_depth 8"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Applies `patch` to `doc`. On an error `doc` may hold some of the
    /// operations: callers patch a copy and drop it.
    pub fn apply(&self, doc: &mut Value, patch: &Patch) -> Result<(), Error> {
        if patch.0.len() > self.max_operations {
            return Err(Error::bad_request(format!(
                "the patch has {} operations; the limit is {} (json_patch.max_operations)",
                patch.0.len(),
                self.max_operations
            )));
        }
        let mut size = json_size(doc);
        for (i, op) in patch.0.iter().enumerate() {
            if let PatchOperation::Copy(copy) = op {
                let copied = doc.pointer(copy.from.as_str()).map_or(0, json_size);
                self.check_size(i, size.saturating_add(copied))?;
            }
            json_patch::patch(doc, &Patch(vec![op.clone()])).map_err(|e| {
                Error::bad_request(format!("operation {i}: the patch cannot be applied: {e}"))
            })?;
            size = json_size(doc);
            self.check_size(i, size)?;
            let depth = json_depth(doc);
            if depth > self.max_depth {
                return Err(Error::bad_request(format!(
                    "operation {i}: the document would nest {depth} levels deep; the limit is {} (json_patch.max_depth)",
                    self.max_depth
                )));
            }
        }
        Ok(())
    }

    fn check_size(&self, op: usize, size: usize) -> Result<(), Error> {
        if size > self.max_document_bytes {
            return Err(Error::bad_request(format!(
                "operation {op}: the document would grow to about {size} bytes; the limit is {} (json_patch.max_document_bytes)",
                self.max_document_bytes
            )));
        }
        Ok(())
    }
}

/// About the length of `value` as compact JSON, without serializing it.
pub fn json_size(value: &Value) -> usize {
    match value {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(n) => n.to_string().len(),
        Value::String(s) => s.len() + 2,
        Value::Array(items) => items
            .iter()
            .fold(2 + items.len(), |sum, v| sum.saturating_add(json_size(v))),
        Value::Object(map) => map.iter().fold(2 + map.len(), |sum, (k, v)| {
            sum.saturating_add(k.len() + 3).saturating_add(json_size(v))
        }),
    }
}

/// How deep `value` nests (a scalar is 0, `[]` is 1).
pub fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Patch {
        serde_json::from_value(ops).unwrap()
    }

    #[test]
    fn doubling_copies_are_refused_at_the_first_op_over_the_limit() {
        let limits = PatchLimits::default();
        let mut doc = json!({ "config": { "blob": "x".repeat(100_000) } });
        let ops: Vec<Value> = (0..20)
            .map(|i| json!({"op": "copy", "from": "/config", "path": format!("/config/x{i}")}))
            .collect();
        let err = limits
            .apply(&mut doc, &patch(Value::Array(ops)))
            .unwrap_err();
        assert_eq!(err.status(), 400);
        // 100 KB doubles past 1 MiB at the fourth copy (1.6 MB).
        assert!(err.to_string().contains("operation 3:"), "{err}");
        assert!(json_size(&doc) <= limits.max_document_bytes);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let limits = PatchLimits::default();
        let mut doc = json!({ "a": { "b": {} } });
        let ops: Vec<Value> = (0..80)
            .map(|_| json!({"op": "copy", "from": "/a", "path": "/a/b"}))
            .collect();
        let err = limits
            .apply(&mut doc, &patch(Value::Array(ops)))
            .unwrap_err();
        assert!(err.to_string().contains("levels deep"), "{err}");
    }

    #[test]
    fn ordinary_patches_apply_and_too_many_ops_are_refused() {
        let limits = PatchLimits::default();
        let mut doc = json!({ "name": "a", "list": [1] });
        limits
            .apply(
                &mut doc,
                &patch(json!([
                    {"op": "replace", "path": "/name", "value": "b"},
                    {"op": "add", "path": "/list/-", "value": 2},
                    {"op": "copy", "from": "/list", "path": "/copy"}
                ])),
            )
            .unwrap();
        assert_eq!(doc, json!({ "name": "b", "list": [1, 2], "copy": [1, 2] }));
        let ops: Vec<Value> = (0..1001)
            .map(|_| json!({"op": "test", "path": "/name", "value": "b"}))
            .collect();
        let err = limits
            .apply(&mut doc, &patch(Value::Array(ops)))
            .unwrap_err();
        assert!(err.to_string().contains("1001 operations"), "{err}");
        // A failing op is still a 400 naming its index.
        let err = limits
            .apply(&mut doc, &patch(json!([{"op": "remove", "path": "/nope"}])))
            .unwrap_err();
        assert!(err.to_string().contains("operation 0"), "{err}");
    }

    #[test]
    fn size_is_close_to_the_serialized_length() {
        let doc = json!({ "a": [1, "two", null, true, {"b": 2.5}], "c": "é" });
        let exact = serde_json::to_string(&doc).unwrap().len();
        let estimate = json_size(&doc);
        assert!(estimate.abs_diff(exact) <= 4, "{estimate} vs {exact}");
    }
}
