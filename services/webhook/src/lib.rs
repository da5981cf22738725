//! Kratos' `web_hook` hook: render a Jsonnet body from the flow's context and
//! send it to the project's endpoint.
//!
//! Two things make this safe to offer every tenant of a shared server: the
//! Jsonnet runs in a separate, rlimited worker process with a deadline
//! ([`render`]), and the HTTP client never reaches private networks
//! ([`guard`]). See `docs/webhooks.md`.

pub mod config;
pub mod context;
pub mod error;
pub mod guard;
pub mod hooks;
pub mod render;
pub mod settings;
mod slots;

pub use context::WebHookContext;
pub use error::WebHookFailure;
pub use hooks::WebHooks;
pub use render::{JSONNET_WORKER_ARG, jsonnet_worker_main, render_in_process};
pub use settings::WebHookSettings;
