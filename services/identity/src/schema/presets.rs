//! The schema presets a project can use without writing a schema.

use serde_json::{Value, json};

pub fn preset(name: &str) -> Option<Value> {
    match name {
        "email" => Some(json!({
            "$id": "https://schemas.keyplane.dev/presets/identity.email.schema.json",
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Person",
            "type": "object",
            "properties": {
                "traits": {
                    "type": "object",
                    "properties": {
                        "email": {
                            "type": "string",
                            "format": "email",
                            "title": "E-Mail",
                            "minLength": 3,
                            "maxLength": 320,
                            "ory.sh/kratos": {
                                "credentials": {
                                    "password": { "identifier": true },
                                    "webauthn": { "identifier": true },
                                    "totp": { "account_name": true }
                                },
                                "recovery": { "via": "email" },
                                "verification": { "via": "email" }
                            }
                        }
                    },
                    "required": ["email"],
                    "additionalProperties": false
                }
            }
        })),
        "username" => Some(json!({
            "$id": "https://schemas.keyplane.dev/presets/identity.username.schema.json",
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Person",
            "type": "object",
            "properties": {
                "traits": {
                    "type": "object",
                    "properties": {
                        "username": {
                            "type": "string",
                            "title": "Username",
                            "minLength": 3,
                            "maxLength": 128,
                            "ory.sh/kratos": {
                                "credentials": {
                                    "password": { "identifier": true },
                                    "webauthn": { "identifier": true },
                                    "totp": { "account_name": true }
                                }
                            }
                        }
                    },
                    "required": ["username"],
                    "additionalProperties": false
                }
            }
        })),
        _ => None,
    }
}
