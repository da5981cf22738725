//! Process settings of web hook delivery (the `webhook` section of the
//! server's settings). Per-hook configuration is tenant config and lives in
//! the project revision, never here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct WebHookSettings {
    /// Deadline of one delivery (connect, send, answer), and of fetching an
    /// `http(s)://` body template.
    pub request_timeout_ms: u64,
    /// Wall-clock deadline of one Jsonnet rendering; the worker is killed
    /// after it.
    pub jsonnet_timeout_ms: u64,
    /// Address-space limit (`RLIMIT_AS`) of the Jsonnet worker process.
    pub jsonnet_memory_mb: u64,
    /// Program run as the Jsonnet worker (with the argument
    /// [`crate::JSONNET_WORKER_ARG`]); unset runs the current executable.
    pub jsonnet_worker: Option<String>,
    /// Let hooks reach loopback, private, link-local and unspecified
    /// addresses. Off in a multi-tenant cloud: a tenant must not make the
    /// server call its own internal network.
    pub allow_private_networks: bool,
}

impl Default for WebHookSettings {
    fn default() -> Self {
        Self {
            request_timeout_ms: 10_000,
            jsonnet_timeout_ms: 2_000,
            jsonnet_memory_mb: 256,
            jsonnet_worker: None,
            allow_private_networks: false,
        }
    }
}

impl WebHookSettings {
    /// Checks the values; the message names the key (relative to the
    /// section).
    pub fn validate(&self) -> Result<(), String> {
        if !(100..=300_000).contains(&self.request_timeout_ms) {
            return Err("request_timeout_ms must be between 100 and 300000".into());
        }
        if !(100..=60_000).contains(&self.jsonnet_timeout_ms) {
            return Err("jsonnet_timeout_ms must be between 100 and 60000".into());
        }
        // The limit covers the worker's whole address space, its own
        // executable included: the debug server binary (~120 MB) already
        // crashes at 64 MiB before rendering anything.
        if !(128..=16_384).contains(&self.jsonnet_memory_mb) {
            return Err("jsonnet_memory_mb must be between 128 and 16384".into());
        }
        if let Some(worker) = &self.jsonnet_worker
            && worker.trim().is_empty()
        {
            return Err("jsonnet_worker must be a program path when set".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        assert_eq!(WebHookSettings::default().validate(), Ok(()));
        let cases = [
            (
                WebHookSettings {
                    request_timeout_ms: 0,
                    ..Default::default()
                },
                "request_timeout_ms",
            ),
            (
                WebHookSettings {
                    jsonnet_timeout_ms: 10,
                    ..Default::default()
                },
                "jsonnet_timeout_ms",
            ),
            (
                WebHookSettings {
                    jsonnet_memory_mb: 1,
                    ..Default::default()
                },
                "jsonnet_memory_mb",
            ),
            (
                WebHookSettings {
                    jsonnet_worker: Some(" ".into()),
                    ..Default::default()
                },
                "jsonnet_worker",
            ),
        ];
        for (settings, key) in cases {
            match settings.validate() {
                Ok(()) => panic!("{settings:?} was accepted"),
                Err(message) => assert!(message.contains(key), "{message} does not name {key}"),
            }
        }
    }
}
