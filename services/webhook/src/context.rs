//! What a body template sees as `ctx`: the JSON shape of Kratos v0.10's
//! `templateContext`.

use serde::Serialize;
use std::collections::BTreeMap;

/// The template's `ctx` (both `std.extVar('ctx')` and the `ctx` argument of a
/// template written as `function(ctx) ...`, Kratos' form).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WebHookContext {
    /// The self-service flow the hook runs in.
    pub flow: serde_json::Value,
    /// The identity, once there is one (post-registration, post-login,
    /// settings); absent from the JSON otherwise, as in Kratos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Value>,
    /// Headers of the browser/API request that triggered the hook. Only the
    /// names in [`FORWARDED_REQUEST_HEADERS`] reach the template.
    pub request_headers: BTreeMap<String, Vec<String>>,
    pub request_method: String,
    pub request_url: String,
}

/// Request headers a template may see. Cookies and `Authorization` carry the
/// end user's session: a hook target is a third party, so they are dropped
/// (the list is the one Ory applies in its current releases).
pub const FORWARDED_REQUEST_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "content-length",
    "content-type",
    "origin",
    "priority",
    "referer",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
    "sec-fetch-user",
    "true-client-ip",
    "user-agent",
];

impl WebHookContext {
    /// The context as the template receives it: disallowed request headers
    /// removed.
    pub fn to_template_json(&self) -> serde_json::Value {
        let mut ctx = self.clone();
        ctx.request_headers.retain(|name, _| {
            FORWARDED_REQUEST_HEADERS.contains(&name.to_ascii_lowercase().as_str())
        });
        serde_json::to_value(&ctx).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_json_shape_is_kratos_and_secrets_are_dropped() {
        let mut headers = BTreeMap::new();
        headers.insert("User-Agent".to_owned(), vec!["curl".to_owned()]);
        headers.insert("Cookie".to_owned(), vec!["ory_session=secret".to_owned()]);
        headers.insert("Authorization".to_owned(), vec!["Bearer t".to_owned()]);
        let ctx = WebHookContext {
            flow: json!({"id": "f1"}),
            identity: None,
            request_headers: headers,
            request_method: "POST".into(),
            request_url: "https://p.example.com/self-service/registration?flow=f1".into(),
        };
        assert_eq!(
            ctx.to_template_json(),
            json!({
                "flow": {"id": "f1"},
                "request_headers": {"User-Agent": ["curl"]},
                "request_method": "POST",
                "request_url": "https://p.example.com/self-service/registration?flow=f1",
            })
        );
        let with_identity = WebHookContext {
            identity: Some(json!({"id": "i1"})),
            ..ctx
        };
        assert_eq!(
            with_identity.to_template_json()["identity"],
            json!({"id": "i1"})
        );
    }
}
