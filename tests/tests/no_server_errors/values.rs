//! JSON values from the spec's schemas (with plausible, often valid,
//! content by field name) and the mutations applied to them.

use super::edges::{HUGE_NUMBERS, ODD_STRINGS, POINTERS};
use super::spec::resolve;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A placeholder the serializer turns into a number JSON cannot hold
/// exactly (see `with_huge_numbers`).
const HUGE: &str = "\u{1}huge\u{1}";

/// Valid values from the test's world, by role (`identity`, `project`,
/// `flow:login`, `email`, …).
pub type Known = HashMap<String, Vec<String>>;

pub struct Values<'a> {
    pub rng: StdRng,
    /// A plain case: the first (valid) choice of every hint and `oneOf`,
    /// no odd strings, no nulls.
    pub plain: bool,
    pub doc: &'a Value,
    pub known: &'a Known,
}

impl Values<'_> {
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())].clone()
    }

    /// The first item in a plain case, any otherwise.
    fn choose<T: Clone>(&mut self, items: &[T]) -> T {
        if self.plain {
            items[0].clone()
        } else {
            self.pick(items)
        }
    }

    /// A known value of `role`, if the world has one.
    pub fn known(&mut self, role: &str) -> Option<String> {
        let values = self.known.get(role)?;
        if values.is_empty() {
            return None;
        }
        Some(values[self.rng.random_range(0..values.len())].clone())
    }

    pub fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    pub fn odd_string(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0 => "x".repeat(self.pick(&[256, 4097, 30_000, 70_000])),
            1 => "é".repeat(self.pick(&[100, 3000])),
            _ => self.pick(ODD_STRINGS).to_owned(),
        }
    }

    /// A value for the field `key` of `schema`.
    pub fn value(&mut self, schema: &Value, key: &str, depth: usize) -> Value {
        let schema = resolve(self.doc, schema);
        if depth > 8 {
            return Value::Null;
        }
        if (self.plain || self.chance(0.8))
            && let Some(v) = self.hint(key)
        {
            return v;
        }
        if let Some(options) = schema["enum"].as_array()
            && !options.is_empty()
        {
            return self.pick(options);
        }
        if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            let chosen = self.choose(options);
            let mut value = self.value(&chosen, key, depth + 1);
            let discriminator = &schema["discriminator"];
            if let (Some(property), Some(mapping), Some(obj)) = (
                discriminator["propertyName"].as_str(),
                discriminator["mapping"].as_object(),
                value.as_object_mut(),
            ) && let Some((name, _)) = mapping.iter().find(|(_, r)| **r == chosen["$ref"])
            {
                obj.insert(property.to_owned(), json!(name));
            }
            return value;
        }
        if let Some(parts) = schema["allOf"].as_array() {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(o) = self.value(part, key, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
        if schema["nullable"] == true && !self.plain && self.chance(0.1) {
            return Value::Null;
        }
        match schema["type"].as_str() {
            _ if schema["properties"].is_object() => self.object(schema, depth),
            Some("object") => self.free(depth),
            Some("array") => {
                let n = self.rng.random_range(0..=3);
                (0..n)
                    .map(|_| self.value(&schema["items"], key, depth + 1))
                    .collect()
            }
            Some("string") => json!(self.string(schema)),
            Some("integer") => {
                let lo = schema["minimum"].as_i64().unwrap_or(-5);
                let hi = schema["maximum"].as_i64().unwrap_or(1000).max(lo);
                json!(self.rng.random_range(lo..=hi))
            }
            Some("number") => json!(self.rng.random_range(-1000.0..1000.0)),
            Some("boolean") => json!(self.rng.random_bool(0.5)),
            _ => self.free(depth),
        }
    }

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut obj = Map::new();
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            if schema_is_read_only(self.doc, property) && self.chance(0.8) {
                continue;
            }
            if required.contains(&name.as_str()) || self.chance(0.5) {
                let value = self.value(property, name, depth + 1);
                obj.insert(name.clone(), value);
            }
        }
        Value::Object(obj)
    }

    /// Any small JSON value (for fields the spec leaves open).
    fn free(&mut self, depth: usize) -> Value {
        match self.rng.random_range(0..6) {
            0 => json!({}),
            1 if depth < 6 => {
                let inner = self.free(depth + 1);
                json!({ "a": inner, "b": [1, "two", null] })
            }
            2 => json!(self.odd_string()),
            3 => json!(self.rng.random_range(-10..10)),
            4 => json!([]),
            _ => json!({ "email": self.email() }),
        }
    }

    fn string(&mut self, schema: &Value) -> String {
        match schema["format"].as_str() {
            Some("uuid4" | "uuid") if self.chance(0.7) => {
                let role = self.pick(&["identity", "project", "session", "invite"]);
                self.known(role).unwrap_or_else(|| self.uuid())
            }
            Some("uuid4" | "uuid") => self.uuid(),
            Some("date-time") => self
                .pick(&[
                    "2030-01-01T00:00:00Z",
                    "1970-01-01T00:00:00Z",
                    "2000-02-30T25:61:61Z",
                    "9999-12-31T23:59:59.999999999Z",
                    "yesterday",
                ])
                .to_owned(),
            _ if self.plain || self.chance(0.7) => {
                format!("fuzz-{}", self.rng.random_range(0..10_000))
            }
            _ => self.odd_string(),
        }
    }

    fn email(&mut self) -> String {
        match self.known("email") {
            Some(known) if !self.plain && self.chance(0.3) => known,
            _ => format!("fuzz{}@example.com", self.rng.random_range(0..1_000_000)),
        }
    }

    /// A plausible value for a field, by its name.
    fn hint(&mut self, key: &str) -> Option<Value> {
        let known = |s: &mut Self, role: &str| s.known(role).map(Value::String);
        Some(match key {
            "identifier" | "password_identifier" if self.plain => known(self, "email")?,
            "email" | "identifier" | "password_identifier" | "invitee_email" => {
                json!(self.email())
            }
            "traits" => json!({ "email": self.email() }),
            "password" => json!(self.choose(&["correct horse battery staple 42", "short", ""])),
            "schema_id" => json!(self.choose(&["default", "preset://email", "nope"])),
            "namespace" => json!(self.choose(&["files", "groups", "nope"])),
            "object" => json!(self.choose(&["readme", "team"])),
            "relation" => json!(self.choose(&["viewer", "owner", "member"])),
            "subject_id" => json!(self.choose(&["ann", "bob"])),
            "identity_id" => known(self, "identity")?,
            "session_token" => known(self, "session_token")?,
            "project_id" | "provision_first_project" => known(self, "project")?,
            "plan_or_price" => json!(self.choose(&[
                "free",
                "start_up_monthly",
                "start_up_yearly",
                "custom",
                "price_1234"
            ])),
            "expires_in" => json!(self.choose(&["1h", "30m", "10s", "0s", "99999999h"])),
            "return_to" => json!(self.choose(&[
                "http://fuzz.projects.localhost/",
                "https://evil.example.com/",
                "javascript:alert(1)"
            ])),
            "hostname" => json!(format!("auth{}.example.com", self.rng.random_range(0..100))),
            "cookie_domain" => json!("example.com"),
            "state" => json!(self.choose(&["active", "inactive"])),
            "via" => json!("email"),
            "path" | "from" => json!(self.choose(POINTERS)),
            _ => return None,
        })
    }

    /// Applies 1 to 3 mutations to `value`; returns whether a huge
    /// number placeholder was put in (see `with_huge_numbers`).
    pub fn mutate(&mut self, value: &mut Value) -> bool {
        let mut huge = false;
        for _ in 0..self.rng.random_range(1..=3) {
            let mut pointers = Vec::new();
            collect(value, String::new(), &mut pointers);
            let at = self.pick(&pointers);
            let replacement = match self.rng.random_range(0..9) {
                0 => Some(self.other_type(value.pointer(&at).unwrap_or(&Value::Null))),
                1 => {
                    drop_at(value, &at);
                    None
                }
                2 => {
                    let extra = self.free(0);
                    if let Some(Value::Object(obj)) = value.pointer_mut(&at) {
                        obj.insert("unexpected".into(), extra);
                        None
                    } else {
                        Some(json!({ "unexpected": extra }))
                    }
                }
                3 => Some(self.deep()),
                4 => Some(json!("x".repeat(self.pick(&[10_000, 100_000, 900_000])))),
                5 => {
                    huge = true;
                    Some(json!(HUGE))
                }
                6 => Some(Value::Null),
                7 => Some(json!(self.pick(&[
                    json!(i64::MAX),
                    json!(i64::MIN),
                    json!(u64::MAX),
                    json!(f64::MAX),
                    json!(-0.5),
                    json!(1e-300)
                ]))),
                _ => Some(json!(self.odd_string())),
            };
            if let Some(new) = replacement {
                match value.pointer_mut(&at) {
                    Some(slot) => *slot = new,
                    None => *value = new,
                }
            }
        }
        huge
    }

    fn other_type(&mut self, current: &Value) -> Value {
        let options = [
            json!("a string"),
            json!(42),
            json!(4.5),
            json!(true),
            json!([1, 2]),
            json!({ "k": "v" }),
        ];
        loop {
            let candidate = self.pick(&options);
            if std::mem::discriminant(&candidate) != std::mem::discriminant(current) {
                return candidate;
            }
        }
    }

    /// Nested arrays and objects, sometimes deeper than serde_json's
    /// recursion limit (128).
    fn deep(&mut self) -> Value {
        let depth = self.pick(&[10, 60, 120, 140]);
        let mut v = json!("bottom");
        for i in 0..depth {
            v = if i % 2 == 0 {
                json!([v])
            } else {
                json!({ "d": v })
            };
        }
        v
    }
}

/// The body text of `value`, with each huge-number placeholder replaced
/// by a number literal no i64, u64 or f64 holds exactly.
pub fn with_huge_numbers(text: &str, rng: &mut StdRng) -> String {
    let quoted = format!("\"{}\"", HUGE.replace('\u{1}', "\\u0001"));
    let mut out = text.to_owned();
    while let Some(at) = out.find(&quoted) {
        let number = HUGE_NUMBERS[rng.random_range(0..HUGE_NUMBERS.len())];
        out.replace_range(at..at + quoted.len(), number);
    }
    out
}

fn schema_is_read_only(doc: &Value, schema: &Value) -> bool {
    resolve(doc, schema)["readOnly"] == true
}

/// JSON pointers of every node (the root is `""`).
fn collect(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                let key = k.replace('~', "~0").replace('/', "~1");
                collect(v, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn drop_at(value: &mut Value, at: &str) {
    let Some((parent, last)) = at.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(obj)) => {
            obj.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}
