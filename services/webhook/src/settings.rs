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
    /// How many of the server's Jsonnet workers (two per core) one project
    /// may run at once; its further renders wait on their own project's
    /// queue, within their deadline. Unset: half the cores (a quarter of
    /// the workers), at least one. More than the workers means all of them.
    pub jsonnet_max_concurrent_per_project: Option<usize>,
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
            jsonnet_max_concurrent_per_project: None,
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
        if self.jsonnet_max_concurrent_per_project == Some(0) {
            return Err("jsonnet_max_concurrent_per_project must be at least 1 \
                 (leave it unset for half the cores)"
                .into());
        }
        if let Some(worker) = &self.jsonnet_worker
            && worker.trim().is_empty()
        {
            return Err("jsonnet_worker must be a program path when set".into());
        }
        Ok(())
    }

    /// A project's share of `workers` Jsonnet workers. A worker is a CPU-
    /// bound process at normal priority, so the default is half the cores
    /// (as password hashing's share): with one per core a single tenant's
    /// heavy templates filled every core, and another tenant's sign-up took
    /// 3–4 times as long (`tenant_isolation_load`); with half, twice at most.
    pub(crate) fn jsonnet_per_project(&self, workers: usize) -> usize {
        self.jsonnet_max_concurrent_per_project
            .unwrap_or(workers / 4)
            .clamp(1, workers.max(1))
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
                    jsonnet_max_concurrent_per_project: Some(0),
                    ..Default::default()
                },
                "jsonnet_max_concurrent_per_project",
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

    #[test]
    fn a_project_gets_a_quarter_of_the_jsonnet_workers_unless_set() {
        let share = |per_project, workers| {
            WebHookSettings {
                jsonnet_max_concurrent_per_project: per_project,
                ..Default::default()
            }
            .jsonnet_per_project(workers)
        };
        assert_eq!(share(None, 8), 2, "half of 4 cores");
        assert_eq!(share(None, 4), 1, "half of 2 cores");
        assert_eq!(share(None, 2), 1, "at least one");
        assert_eq!(share(Some(3), 4), 3);
        assert_eq!(share(Some(9), 4), 4, "never more than the workers");
    }
}
