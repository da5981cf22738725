//! TEMPORARY stub until the webhook branch merges.
use std::collections::BTreeMap;
#[derive(Clone, Default)]
pub struct WebHooks;
impl WebHooks {
    pub async fn run(
        &self,
        _config: &serde_json::Value,
        _ctx: &WebHookContext,
    ) -> Result<(), WebHookFailure> {
        Ok(())
    }
}
pub struct WebHookContext {
    pub flow: serde_json::Value,
    pub identity: Option<serde_json::Value>,
    pub request_headers: BTreeMap<String, Vec<String>>,
    pub request_method: String,
    pub request_url: String,
}
#[derive(Debug)]
pub enum WebHookFailure {
    Delivery(String),
}
impl std::fmt::Display for WebHookFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "x")
    }
}
