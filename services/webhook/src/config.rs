//! A `web_hook` hook's `config` object, parsed as Kratos reads it. Parsing is
//! by hand so that every error names the field at fault.

use crate::error::WebHookFailure;
use serde_json::{Map, Value};

/// Where the body template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySource {
    /// `base64://…`: the template itself.
    Inline(String),
    /// `http(s)://…`: fetched (through the guarded client) at each run.
    Remote(url::Url),
}

#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    None,
    ApiKeyHeader { name: String, value: String },
    ApiKeyCookie { name: String, value: String },
    Basic { user: String, password: String },
}

// Hand-written so that secrets never reach a log line through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::ApiKeyHeader { name, .. } => write!(f, "ApiKeyHeader({name})"),
            Self::ApiKeyCookie { name, .. } => write!(f, "ApiKeyCookie({name})"),
            Self::Basic { user, .. } => write!(f, "Basic({user})"),
        }
    }
}

/// How the rendered body is encoded, from the `Content-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    Json,
    /// The template renders an object of strings, sent as a form.
    Form,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HookConfig {
    pub url: url::Url,
    pub method: reqwest::Method,
    /// `None` only for `TRACE`, which never carries a body.
    pub body: Option<BodySource>,
    pub encoding: BodyEncoding,
    /// Extra headers (`headers`), Content-Type included.
    pub headers: Vec<(String, String)>,
    pub auth: Auth,
    pub ignore_response: bool,
}

const CONTENT_TYPE_JSON: &str = "application/json";
const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

fn invalid(message: impl Into<String>) -> WebHookFailure {
    WebHookFailure::InvalidConfig(message.into())
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, WebHookFailure> {
    value
        .as_object()
        .ok_or_else(|| invalid(format!("`{field}` must be an object")))
}

fn string(
    map: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<String>, WebHookFailure> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("`{field}` must be a string"))),
    }
}

fn required(map: &Map<String, Value>, key: &str, field: &str) -> Result<String, WebHookFailure> {
    match string(map, key, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(invalid(format!("`{field}` is required"))),
    }
}

fn boolean(map: &Map<String, Value>, key: &str, field: &str) -> Result<bool, WebHookFailure> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!("`{field}` must be true or false"))),
    }
}

fn no_unknown_keys(
    map: &Map<String, Value>,
    known: &[&str],
    prefix: &str,
) -> Result<(), WebHookFailure> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(invalid(format!("unknown field `{prefix}{key}`"))),
        None => Ok(()),
    }
}

impl HookConfig {
    pub fn parse(config: &Value) -> Result<Self, WebHookFailure> {
        let map = object(config, "config")?;
        no_unknown_keys(
            map,
            &[
                "url",
                "method",
                "body",
                "headers",
                "auth",
                "response",
                "can_interrupt",
            ],
            "",
        )?;
        // Kratos' later "interrupt the flow from the answer" feature; it is
        // refused rather than silently ignored.
        if boolean(map, "can_interrupt", "can_interrupt")? {
            return Err(invalid("`can_interrupt` is not supported"));
        }

        let url = parse_target(&required(map, "url", "url")?)?;
        let method = parse_method(string(map, "method", "method")?)?;
        let raw_body = string(map, "body", "body")?.filter(|b| !b.is_empty());
        let body = if method == reqwest::Method::TRACE {
            // TRACE never carries a body, in HTTP as in Kratos.
            None
        } else {
            // Kratos renders the context into every other request and fails
            // when there is no template to render it with.
            let raw = raw_body.ok_or_else(|| {
                invalid("`body` is required (a base64:// or https:// Jsonnet template)")
            })?;
            Some(parse_body(&raw)?)
        };

        let mut headers = Vec::new();
        if let Some(h) = map.get("headers").filter(|h| !h.is_null()) {
            for (name, value) in object(h, "headers")? {
                let field = format!("headers.{name}");
                let value = value
                    .as_str()
                    .ok_or_else(|| invalid(format!("`{field}` must be a string")))?;
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err()
                    || reqwest::header::HeaderValue::from_str(value).is_err()
                {
                    return Err(invalid(format!("`{field}` is not a valid HTTP header")));
                }
                headers.push((name.clone(), value.to_owned()));
            }
        }
        let content_type = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone());
        let encoding = match content_type.as_deref() {
            None => {
                headers.push(("Content-Type".into(), CONTENT_TYPE_JSON.into()));
                BodyEncoding::Json
            }
            Some(CONTENT_TYPE_JSON) => BodyEncoding::Json,
            Some(CONTENT_TYPE_FORM) => BodyEncoding::Form,
            Some(_) => {
                return Err(invalid(format!(
                    "`headers.Content-Type` must be {CONTENT_TYPE_JSON} or {CONTENT_TYPE_FORM}"
                )));
            }
        };

        let auth = match map.get("auth").filter(|a| !a.is_null()) {
            None => Auth::None,
            Some(a) => parse_auth(a)?,
        };

        let ignore_response = match map.get("response").filter(|r| !r.is_null()) {
            None => false,
            Some(r) => {
                let r = object(r, "response")?;
                no_unknown_keys(r, &["ignore", "parse"], "response.")?;
                if boolean(r, "parse", "response.parse")? {
                    return Err(invalid("`response.parse` is not supported"));
                }
                boolean(r, "ignore", "response.ignore")?
            }
        };

        Ok(Self {
            url,
            method,
            body,
            encoding,
            headers,
            auth,
            ignore_response,
        })
    }
}

fn parse_target(raw: &str) -> Result<url::Url, WebHookFailure> {
    let url =
        url::Url::parse(raw).map_err(|e| invalid(format!("`url` is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("`url` must be an http:// or https:// URL"));
    }
    Ok(url)
}

fn parse_method(raw: Option<String>) -> Result<reqwest::Method, WebHookFailure> {
    let raw = raw.unwrap_or_else(|| "POST".to_owned());
    match raw.to_ascii_uppercase().as_str() {
        "GET" => Ok(reqwest::Method::GET),
        "POST" => Ok(reqwest::Method::POST),
        "PUT" => Ok(reqwest::Method::PUT),
        "PATCH" => Ok(reqwest::Method::PATCH),
        "DELETE" => Ok(reqwest::Method::DELETE),
        "TRACE" => Ok(reqwest::Method::TRACE),
        _ => Err(invalid(
            "`method` must be one of GET, POST, PUT, PATCH, DELETE, TRACE",
        )),
    }
}

fn parse_body(raw: &str) -> Result<BodySource, WebHookFailure> {
    parse_template_source(raw, "body")
}

/// A Jsonnet template given as `base64://…` (the template itself) or an
/// `http(s)://` URL to fetch; `file://` is refused (server files belong to
/// the operator, not to a tenant). `field` names it in errors.
pub(crate) fn parse_template_source(raw: &str, field: &str) -> Result<BodySource, WebHookFailure> {
    use base64::Engine as _;
    if let Some(encoded) = raw.strip_prefix("base64://") {
        // Kratos' fetcher uses standard base64; tolerate the URL-safe
        // alphabet and missing padding that hand-written configs contain.
        let trimmed = encoded.trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(trimmed))
            .map_err(|_| invalid(format!("`{field}` is not valid base64 after base64://")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| invalid(format!("`{field}` does not decode to UTF-8 text")))?;
        return Ok(BodySource::Inline(text));
    }
    let wrong = || {
        invalid(format!(
            "`{field}` must be a base64:// or https:// URL of a Jsonnet template"
        ))
    };
    let url = url::Url::parse(raw).map_err(|_| wrong())?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(BodySource::Remote(url)),
        "file" => Err(invalid(format!(
            "`{field}` may not be a file:// URL; use base64:// or https://"
        ))),
        _ => Err(wrong()),
    }
}

fn parse_auth(raw: &Value) -> Result<Auth, WebHookFailure> {
    let map = object(raw, "auth")?;
    no_unknown_keys(map, &["type", "config"], "auth.")?;
    let kind = required(map, "type", "auth.type")?;
    let empty = Value::Object(Map::new());
    let config = object(map.get("config").unwrap_or(&empty), "auth.config")?;
    match kind.as_str() {
        "api_key" => {
            no_unknown_keys(config, &["name", "value", "in"], "auth.config.")?;
            let name = required(config, "name", "auth.config.name")?;
            let value = string(config, "value", "auth.config.value")?
                .ok_or_else(|| invalid("`auth.config.value` is required"))?;
            match string(config, "in", "auth.config.in")?.as_deref() {
                None | Some("header") => {
                    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(invalid("`auth.config.name` is not a valid header name"));
                    }
                    if reqwest::header::HeaderValue::from_str(&value).is_err() {
                        return Err(invalid("`auth.config.value` is not a valid header value"));
                    }
                    Ok(Auth::ApiKeyHeader { name, value })
                }
                Some("cookie") => {
                    let token = |s: &str| {
                        !s.is_empty()
                            && s.bytes()
                                .all(|b| b.is_ascii_graphic() && !b";,=\"\\".contains(&b))
                    };
                    if !token(&name) {
                        return Err(invalid("`auth.config.name` is not a valid cookie name"));
                    }
                    if !value
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !b";,\"\\".contains(&b))
                    {
                        return Err(invalid("`auth.config.value` is not a valid cookie value"));
                    }
                    Ok(Auth::ApiKeyCookie { name, value })
                }
                Some(_) => Err(invalid("`auth.config.in` must be header or cookie")),
            }
        }
        "basic_auth" => {
            no_unknown_keys(config, &["user", "password"], "auth.config.")?;
            let user = required(config, "user", "auth.config.user")?;
            let password = string(config, "password", "auth.config.password")?
                .ok_or_else(|| invalid("`auth.config.password` is required"))?;
            Ok(Auth::Basic { user, password })
        }
        _ => Err(invalid("`auth.type` must be api_key or basic_auth")),
    }
}

#[cfg(test)]
mod tests;
