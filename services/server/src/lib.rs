//! The `keyplane` server: settings, wiring, and the HTTP server. The binary
//! (`main.rs`) is a thin CLI over this library, which the end-to-end tests
//! also start in-process.

pub mod app;
pub mod console;
pub mod console_invites;
pub mod encryption;
pub mod mail_routes;
pub mod routing;
pub mod settings;
pub mod telemetry;

pub use app::{RunningServer, Services, bind, start, start_on};
pub use settings::Settings;
