//! Traits from an HTML form arrive as strings. Kratos decodes form bodies
//! against the identity schema (ory/x `decoderx`): a boolean trait takes
//! Go's `ParseBool` forms (a checkbox sends `true`), numbers are parsed,
//! and an empty value of a non-string trait counts as not given. The same
//! here, so a form posts what a JSON client would send.

use super::CompiledSchema;
use serde_json::{Map, Number, Value};

impl CompiledSchema {
    /// Types the string values of `traits` (from a form) by the schema.
    /// A value that does not parse is left as it is, for the schema
    /// validation to report at its field.
    pub fn type_form_traits(&self, traits: &mut Value) {
        for (path, kind, _, _) in self.trait_fields() {
            let mut parts: Vec<&str> = path.split('.').collect();
            let Some(leaf) = parts.pop() else { continue };
            let parent = parts
                .iter()
                .try_fold(&mut *traits, |node, part| node.get_mut(*part));
            if let Some(Value::Object(parent)) = parent {
                // An unchosen `<select>` of an enum sends "": not given.
                let choice = self.trait_enum(&path).is_some();
                type_field(parent, leaf, &kind, choice);
            }
        }
    }
}

fn type_field(parent: &mut Map<String, Value>, name: &str, kind: &str, choice: bool) {
    let Some(Value::String(text)) = parent.get(name) else {
        return;
    };
    if text.is_empty() && (kind != "string" || choice) {
        parent.remove(name);
        return;
    }
    if kind == "string" {
        return;
    }
    let typed = match kind {
        "boolean" => http::query::parse_go_bool(text).map(Value::Bool),
        "integer" => text.parse::<i64>().ok().map(Value::from),
        "number" => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        _ => None,
    };
    if let Some(typed) = typed {
        parent.insert(name.to_owned(), typed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn form_strings_become_the_schema_s_types() {
        let schema = CompiledSchema::compile(json!({
            "type": "object",
            "properties": { "traits": { "type": "object", "properties": {
                "email": { "type": "string", "format": "email" },
                "newsletter": { "type": "boolean" },
                "age": { "type": "integer" },
                "score": { "type": "number" },
                "plan": { "type": "string", "enum": ["free", "pro"] },
                "name": { "type": "object", "properties": {
                    "first": { "type": "string" },
                    "shoe_size": { "type": "number" }
                } }
            } } }
        }))
        .unwrap();
        let mut traits = json!({
            "email": "a@example.com",
            "newsletter": "True",
            "age": "42",
            "score": "",
            "plan": "",
            "name": { "first": "7", "shoe_size": "43.5" }
        });
        schema.type_form_traits(&mut traits);
        assert_eq!(
            traits,
            json!({
                "email": "a@example.com",
                "newsletter": true,
                "age": 42,
                "name": { "first": "7", "shoe_size": 43.5 }
            })
        );
        assert!(schema.validate(&traits).is_ok());
        // What does not parse stays, so validation names the field.
        let mut bad = json!({ "email": "a@example.com", "age": "forty" });
        schema.type_form_traits(&mut bad);
        let errors = schema.validate(&bad).unwrap_err();
        assert_eq!(errors[0].pointer, "/age");
    }
}
