//! Per-project delivery: each project's config may name its own SMTP
//! server, sender and extra headers (Kratos' `courier.smtp.*`). The worker
//! asks for a message's route when it sends it, not when it is queued, so
//! a project that fixes its SMTP settings gets its waiting mail out.

use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

/// How one project's mail goes out; `None` fields fall back to the
/// server's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailRoute {
    /// `smtp://…` or `smtps://…` (Kratos' `courier.smtp.connection_uri`).
    pub connection_uri: Option<String>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    /// Extra headers added to every message of the project.
    pub headers: BTreeMap<String, String>,
}

impl MailRoute {
    /// Reads `/courier/smtp/*` from a Kratos-shaped config document. Empty
    /// strings count as unset, as they do in Kratos.
    pub fn from_identity_config(config: &Value) -> Self {
        let text = |pointer: &str| {
            config
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let headers = config
            .pointer("/courier/smtp/headers")
            .and_then(Value::as_object)
            .map(|headers| {
                headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let value = match value {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            // Arrays, objects and null are not header values.
                            _ => return None,
                        };
                        Some((name.clone(), value))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            connection_uri: text("/courier/smtp/connection_uri"),
            from_address: text("/courier/smtp/from_address"),
            from_name: text("/courier/smtp/from_name"),
            headers,
        }
    }
}

/// Finds a project's route; implemented by the server over the control
/// plane (the courier must not depend on it). `Ok(None)`: the project is
/// gone, and the server's defaults apply.
#[async_trait]
pub trait MailRoutes: Send + Sync + 'static {
    async fn route(&self, nid: Uuid) -> kernel::Result<Option<MailRoute>>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_kratos_keys_and_treats_empty_as_unset() {
        let route = MailRoute::from_identity_config(&json!({
            "courier": { "smtp": {
                "connection_uri": "smtps://u:p@mail.example.com",
                "from_address": "",
                "from_name": "Acme",
                "headers": { "X-Tenant": "acme", "X-Priority": 1, "X-Bad": ["no"] }
            }}
        }));
        assert_eq!(
            route.connection_uri.as_deref(),
            Some("smtps://u:p@mail.example.com")
        );
        assert_eq!(route.from_address, None);
        assert_eq!(route.from_name.as_deref(), Some("Acme"));
        assert_eq!(
            route.headers.into_iter().collect::<Vec<_>>(),
            vec![
                ("X-Priority".to_owned(), "1".to_owned()),
                ("X-Tenant".to_owned(), "acme".to_owned()),
            ]
        );
        assert_eq!(
            MailRoute::from_identity_config(&json!({})),
            MailRoute::default()
        );
    }
}
