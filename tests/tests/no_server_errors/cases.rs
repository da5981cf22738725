//! One generated request for an operation: host, path parameters, query,
//! headers, credential and body. Case 0 of each operation is its plain
//! form (known ids, the right credential, a body from the schema); the
//! others mix in odd values, wrong credentials, mutated or mis-typed bodies.

use super::edges::{ODD_INTEGERS, ODD_SEGMENTS};
use super::spec::{Auth, BodyKind, In, Operation, Side};
use super::values::{Values, with_huge_numbers};
use super::wire::Raw;
use rand::Rng;
use serde_json::Value;
use std::collections::HashMap;

/// The hosts requests go to.
pub struct Hosts {
    /// The project under test.
    pub tenant: String,
    /// The project whose configuration the control-plane cases rewrite.
    pub scratch: String,
    pub console: String,
    /// A project host no project has.
    pub unknown: String,
    pub control_plane: String,
}

pub struct Creds {
    pub owner: String,
    /// The API key of each project host.
    pub keys: HashMap<String, String>,
    pub session: String,
    /// Credentials of someone else, or of nobody.
    pub wrong: Vec<String>,
}

pub struct Cases<'a> {
    pub values: Values<'a>,
    pub hosts: &'a Hosts,
    pub creds: &'a Creds,
}

impl Cases<'_> {
    /// Case `n` of `op`; `on` forces the host (the reconfigured project).
    pub fn case(&mut self, op: &Operation, n: usize, on: Option<&str>) -> Raw {
        let plain = n == 0;
        self.values.plain = plain;
        let host = match on {
            Some(host) => host.to_owned(),
            None => self.host(op, plain),
        };
        let mut headers = Vec::new();
        self.credential(op, &host, plain, &mut headers);
        let mut target = String::new();
        for segment in op.path.split('/').skip(1) {
            target.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => target.push_str(&self.path_value(op, name, plain)),
                None => target.push_str(segment),
            }
        }
        if op.path == "/" {
            target = "/".into();
        }
        let query = self.query(op, plain);
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query.join("&"));
        }
        for param in op.params.iter().filter(|p| p.place == In::Header) {
            if param.name.eq_ignore_ascii_case("cookie") && !plain && self.values.chance(0.2) {
                let value = self.values.pick(&[
                    "ory_kratos_session=nonsense",
                    "csrf_token=abc; ory_kratos_continuity=%zz",
                    "=;;=; a",
                ]);
                headers.push(("Cookie".into(), value.into()));
            } else if param.name == "Stripe-Signature" && self.values.chance(0.8) {
                let signature = format!("t={},v1={}", self.values.uuid(), self.values.uuid());
                headers.push((param.name.clone(), signature));
            }
        }
        if matches!(op.auth, Auth::Session | Auth::Public) && !plain && self.values.chance(0.3) {
            let accept = self
                .values
                .pick(&["application/json", "text/html", "*/*", "x/y"]);
            headers.push(("Accept".into(), accept.into()));
        }
        let body = self.body(op, plain, &mut headers);
        Raw {
            method: op.method.clone(),
            target,
            host,
            headers,
            body,
        }
    }

    fn host(&mut self, op: &Operation, plain: bool) -> String {
        let h = self.hosts;
        let roll = if plain {
            0
        } else {
            self.values.rng.random_range(0..100)
        };
        let tenant = if op.path.starts_with("/ui/invites") && roll < 60 {
            &h.console
        } else {
            match roll {
                0..85 => &h.tenant,
                85..90 => &h.scratch,
                90..94 => &h.console,
                94..97 => &h.unknown,
                _ => &h.control_plane,
            }
        };
        match op.side {
            Side::Tenant => tenant.clone(),
            Side::ControlPlane if roll >= 95 => h.tenant.clone(),
            Side::ControlPlane => h.control_plane.clone(),
            Side::Both if roll % 2 == 0 => h.control_plane.clone(),
            Side::Both => h.tenant.clone(),
        }
    }

    fn credential(
        &mut self,
        op: &Operation,
        host: &str,
        plain: bool,
        headers: &mut Vec<(String, String)>,
    ) {
        let c = self.creds;
        let roll = if plain {
            0
        } else {
            self.values.rng.random_range(0..100)
        };
        let bearer = |token: &str| ("Authorization".to_owned(), format!("Bearer {token}"));
        let session = || ("X-Session-Token".to_owned(), c.session.clone());
        let right = match op.auth {
            Auth::ApiKey if roll < 65 => c.keys.get(host).map(|k| bearer(k)),
            Auth::ApiKey => Some(bearer(&c.owner)),
            Auth::Owner => Some(bearer(&c.owner)),
            Auth::Session if roll < 65 => Some(session()),
            Auth::Session => Some(bearer(&c.session)),
            Auth::Public if (65..80).contains(&roll) => Some(session()),
            Auth::Public | Auth::Nobody => None,
        };
        match roll {
            0..80 => headers.extend(right),
            80..88 => {}
            _ => {
                let wrong = self.values.pick(&c.wrong);
                match self.values.rng.random_range(0..4) {
                    0 => headers.push(("X-Session-Token".into(), wrong)),
                    1 => headers.push(("Authorization".into(), format!("Basic {wrong}"))),
                    2 => headers.push(("Cookie".into(), format!("ory_kratos_session={wrong}"))),
                    _ => headers.push(bearer(&wrong)),
                }
            }
        }
    }

    /// A path parameter, percent-encoded as it goes on the wire.
    fn path_value(&mut self, op: &Operation, name: &str, plain: bool) -> String {
        let role = role(op, name, In::Path);
        let roll = if plain {
            0
        } else {
            self.values.rng.random_range(0..100)
        };
        match roll {
            0..45 => match self.values.known(&role) {
                Some(v) => encode(&v),
                None => self.values.uuid(),
            },
            45..60 => self.values.uuid(),
            60..65 => self.values.uuid().to_uppercase(),
            65..68 => self.values.uuid().replace('-', ""),
            68..72 => "x".repeat(self.values.pick(&[300, 5000])),
            _ => self.values.pick(ODD_SEGMENTS).to_owned(),
        }
    }

    fn query(&mut self, op: &Operation, plain: bool) -> Vec<String> {
        let mut pairs = Vec::new();
        for param in op.params.iter().filter(|p| p.place == In::Query) {
            let include = if param.required {
                plain || self.values.chance(0.9)
            } else {
                !plain && self.values.chance(0.4)
            };
            if !include {
                continue;
            }
            let schema = super::spec::resolve(self.values.doc, &param.schema).clone();
            let name = encode(&param.name);
            let role = role(op, &param.name, In::Query);
            let known = self.values.known(&role);
            let value = match schema["type"].as_str() {
                _ if known.is_some() && (plain || self.values.chance(0.5)) => {
                    encode(&known.unwrap_or_default())
                }
                Some("integer") if plain => "1".into(),
                Some("integer") => self.values.pick(ODD_INTEGERS).to_owned(),
                Some("boolean") => self.values.pick(&["true", "false", "1", "yes", ""]).into(),
                Some("array") => {
                    let more = format!("{name}={}", encode(&self.values.odd_string()));
                    pairs.push(more);
                    self.values.pick(&["password", "oidc", "totp"]).into()
                }
                _ if plain || self.values.chance(0.5) => {
                    let v = self.values.value(&schema, &param.name, 0);
                    encode(v.as_str().unwrap_or(&v.to_string()))
                }
                _ if self.values.chance(0.3) => self.values.pick(ODD_SEGMENTS).into(),
                _ => encode(&self.values.odd_string()),
            };
            pairs.push(format!("{name}={value}"));
        }
        if !plain && self.values.chance(0.1) {
            pairs.push(format!("unexpected={}", encode(&self.values.odd_string())));
        }
        if !plain && self.values.chance(0.05) && !pairs.is_empty() {
            let again = self.values.pick(&pairs);
            pairs.push(again);
        }
        pairs
    }

    fn body(
        &mut self,
        op: &Operation,
        plain: bool,
        headers: &mut Vec<(String, String)>,
    ) -> Vec<u8> {
        let json_type = || ("Content-Type".to_owned(), "application/json".to_owned());
        let Some(body) = &op.body else {
            if !plain && self.values.chance(0.1) {
                headers.push(json_type());
                return br#"{"unexpected":"body"}"#.to_vec();
            }
            return Vec::new();
        };
        let mut value = self.values.value(&body.schema, "", 0);
        let mut huge = false;
        if !plain && self.values.chance(0.6) {
            huge = self.values.mutate(&mut value);
        }
        let form = match body.kind {
            BodyKind::Form => !self.values.chance(0.1),
            BodyKind::JsonOrForm => self.values.chance(0.3),
            BodyKind::Json | BodyKind::Raw => false,
        };
        let roll = if plain {
            0
        } else {
            self.values.rng.random_range(0..100)
        };
        let text = serde_json::to_string(&value).unwrap();
        let text = if huge {
            with_huge_numbers(&text, &mut self.values.rng)
        } else {
            text
        };
        let (content_type, bytes) = match roll {
            _ if form && roll < 85 => (
                Some("application/x-www-form-urlencoded"),
                form_encode(&value).into_bytes(),
            ),
            0..80 => (Some("application/json"), text.into_bytes()),
            80..84 => (None, text.into_bytes()),
            84..88 => {
                let wrong = self.values.pick(&[
                    "text/plain",
                    "application/xml",
                    "multipart/form-data; boundary=x",
                    "application/json; charset=utf-16",
                    "application/merge-patch+json",
                    "application/x-www-form-urlencoded",
                    "application/json-patch+json",
                    ";;;",
                ]);
                (Some(wrong), text.into_bytes())
            }
            88..92 => (Some("application/json"), Vec::new()),
            92..95 => {
                let cut = text.len() / 2;
                (Some("application/json"), text.as_bytes()[..cut].to_vec())
            }
            95..97 => (Some("application/json"), vec![0xff, 0xfe, b'{', 0x80, b'}']),
            _ => {
                let odd = self.values.pick(&[
                    "null",
                    "[]",
                    "\"text\"",
                    "0",
                    "{\"a\":1,\"a\":2}",
                    "\u{feff}{}",
                    "{} {}",
                ]);
                (Some("application/json"), odd.as_bytes().to_vec())
            }
        };
        if let Some(ct) = content_type {
            headers.push(("Content-Type".into(), ct.into()));
        }
        bytes
    }
}

/// Which known value a parameter takes: `project`, `identity`,
/// `flow:login`, …
fn role(op: &Operation, name: &str, place: In) -> String {
    let kind = [
        "login",
        "registration",
        "settings",
        "recovery",
        "verification",
    ]
    .into_iter()
    .find(|k| op.path.starts_with(&format!("/self-service/{k}")) || op.path == format!("/ui/{k}"));
    match (name, place) {
        ("project_id", In::Path)
            if op.path == "/projects/{project_id}" && op.method == "DELETE" =>
        {
            "doomed".into()
        }
        ("project_id", In::Path)
            if (op.path == "/projects/{project_id}" && op.method != "GET")
                || op.path.contains("/revision/") =>
        {
            "scratch".into()
        }
        ("project_id", _) => "project".into(),
        ("id", In::Query | In::Header) | ("flow", _) if kind.is_some() => {
            format!("flow:{}", kind.unwrap_or_default())
        }
        ("id", In::Path) if op.path.contains("/identities/") => "identity".into(),
        ("id", In::Path) if op.path.contains("/sessions/") => "session".into(),
        ("id", In::Path) if op.path.contains("/schemas/") => "schema".into(),
        (other, _) => other.into(),
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A flat form the way Kratos' forms nest: `traits.email=…`.
fn form_encode(value: &Value) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    fn add(form: &mut url::form_urlencoded::Serializer<String>, prefix: &str, value: &Value) {
        match value {
            Value::Object(obj) => {
                for (k, v) in obj {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    add(form, &key, v);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| add(form, prefix, v)),
            Value::String(s) => {
                form.append_pair(prefix, s);
            }
            other => {
                form.append_pair(prefix, &other.to_string());
            }
        }
    }
    add(&mut form, "", value);
    form.finish()
}
