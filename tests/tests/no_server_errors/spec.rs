//! The operations under test: every operation of Ory's OpenAPI document
//! (`tests/data/ory-openapi.json`) and Keyplane's own routes
//! (`extra.rs`), with where each is served and which credential it wants.

use serde_json::{Value, json};

/// Where an operation is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// On a project's host.
    Tenant,
    /// On the control plane's host.
    ControlPlane,
    /// On both (health and version).
    Both,
}

/// The credential an operation wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// The project's API key (tenant admin APIs).
    ApiKey,
    /// The account's token (the control plane).
    Owner,
    /// An identity's session token (settings, sessions, logout).
    Session,
    /// None, or sometimes a session (the other public tenant APIs).
    Public,
    /// None at all.
    Nobody,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub place: In,
    pub schema: Value,
    pub required: bool,
}

/// How a body may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    /// JSON or `application/x-www-form-urlencoded` (self-service flows).
    JsonOrForm,
    /// A plain HTML form.
    Form,
    /// Bytes the handler reads itself (the Stripe webhook).
    Raw,
}

#[derive(Clone, Debug)]
pub struct Body {
    pub schema: Value,
    pub kind: BodyKind,
}

/// A non-2xx answer the spec defines with another body than Ory's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alt {
    /// The self-service flow, with its messages (a 400 on submit).
    Flow,
    /// `{"allowed": false}` (a 403 of the check API).
    Check,
    /// `selfServiceBrowserLocationChangeRequiredError` (a 422).
    Redirect,
}

#[derive(Clone, Debug)]
pub struct Operation {
    /// The spec's operationId, or `keyplane:<method> <path>`.
    pub id: String,
    pub method: String,
    pub path: String,
    pub side: Side,
    pub auth: Auth,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub alt: Vec<(u16, Alt)>,
}

impl Operation {
    /// A route of the table: path parameters from the template, the rest
    /// added with the builder methods.
    pub fn new(method: &str, path: &str, side: Side, auth: Auth) -> Operation {
        let params = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| Param {
                name: name.to_owned(),
                place: In::Path,
                schema: json!({ "type": "string", "format": "uuid4" }),
                required: true,
            })
            .collect();
        Operation {
            id: format!("keyplane:{method} {path}"),
            method: method.to_owned(),
            path: path.to_owned(),
            side,
            auth,
            params,
            body: None,
            alt: Vec::new(),
        }
    }

    pub fn body(mut self, kind: BodyKind, schema: Value) -> Operation {
        self.body = Some(Body { schema, kind });
        self
    }

    /// Query parameters as `(name, JSON schema type)`.
    pub fn query(mut self, params: &[(&str, &str)]) -> Operation {
        for (name, ty) in params {
            self.params.push(Param {
                name: (*name).to_owned(),
                place: In::Query,
                schema: json!({ "type": ty }),
                required: false,
            });
        }
        self
    }

    /// A non-2xx answer with another body than Ory's error.
    pub fn alt(mut self, status: u16, alt: Alt) -> Operation {
        self.alt.push((status, alt));
        self
    }

    pub fn header(mut self, name: &str) -> Operation {
        self.params.push(Param {
            name: name.to_owned(),
            place: In::Header,
            schema: json!({ "type": "string" }),
            required: false,
        });
        self
    }

    /// The order operations run in: reads first, then writes, then
    /// deletions, those that end the test identity's sessions after the
    /// others, the project purge last.
    pub fn phase(&self) -> u8 {
        match (self.method.as_str(), self.path.as_str()) {
            ("GET", _) => 0,
            ("DELETE", "/projects/{project_id}") => 4,
            ("DELETE", "/self-service/logout/api")
            | ("DELETE", "/admin/identities/{id}")
            | ("DELETE", "/admin/identities/{id}/sessions") => 3,
            ("DELETE", _) => 2,
            _ => 1,
        }
    }
}

/// The spec document, parsed.
pub fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ory-openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `schema` with `$ref`s into `doc` followed (the top level only).
pub fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    for _ in 0..8 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let pointer = reference.trim_start_matches('#');
        schema = doc.pointer(pointer).unwrap_or(&Value::Null);
    }
    schema
}

/// Every operation the spec defines.
pub fn spec_operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let side = if path.starts_with("/projects") {
                Side::ControlPlane
            } else if path.starts_with("/health/") || path == "/version" {
                Side::Both
            } else {
                Side::Tenant
            };
            let auth = match side {
                Side::ControlPlane => Auth::Owner,
                Side::Both => Auth::Nobody,
                Side::Tenant if path.starts_with("/admin/") => Auth::ApiKey,
                Side::Tenant if path.starts_with("/relation-tuples") => Auth::ApiKey,
                Side::Tenant
                    if path.starts_with("/sessions")
                        || path.starts_with("/self-service/settings")
                        || path.starts_with("/self-service/logout") =>
                {
                    Auth::Session
                }
                Side::Tenant => Auth::Public,
            };
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| resolve(doc, p))
                .map(|p| Param {
                    name: p["name"].as_str().unwrap().to_owned(),
                    place: match p["in"].as_str() {
                        Some("path") => In::Path,
                        Some("header") => In::Header,
                        _ => In::Query,
                    },
                    schema: p["schema"].clone(),
                    required: p["required"].as_bool().unwrap_or(false),
                })
                .collect();
            let content = &resolve(doc, &op["requestBody"])["content"];
            let body = content.get("application/json").map(|json| Body {
                schema: json["schema"].clone(),
                kind: if content.get("application/x-www-form-urlencoded").is_some() {
                    BodyKind::JsonOrForm
                } else {
                    BodyKind::Json
                },
            });
            let mut alt = Vec::new();
            for (code, response) in op["responses"].as_object().into_iter().flatten() {
                let schema = &resolve(doc, response)["content"]["application/json"]["schema"];
                let name = schema["$ref"].as_str().unwrap_or_default();
                let kind = if name.ends_with("Flow") {
                    Alt::Flow
                } else if name.ends_with("getCheckResponse") {
                    Alt::Check
                } else if name.ends_with("LocationChangeRequiredError") {
                    Alt::Redirect
                } else {
                    continue;
                };
                if let Ok(code) = code.parse() {
                    alt.push((code, kind));
                }
            }
            ops.push(Operation {
                id: op["operationId"].as_str().unwrap().to_owned(),
                method: method.to_uppercase(),
                path: path.clone(),
                side,
                auth,
                params,
                body,
                alt,
            });
        }
    }
    ops
}
