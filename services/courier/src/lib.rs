//! E-mail. Every message is written to the `courier_messages` outbox in the
//! transaction of the change that causes it (an invite, a recovery), so a
//! message is never sent for a change that rolled back, nor lost when the
//! mail server is down: the worker delivers due messages and retries with
//! backoff. Delivery goes through a lettre transport: the project's own
//! SMTP server (its config's `courier.smtp.connection_uri`), else the
//! server-wide `courier.smtp_url`, else the development default that writes
//! `.eml` files.

mod delivery;
pub mod message;
pub mod outbox;
pub mod routes;
mod sealing;
pub mod smtp;
pub mod transport;
pub mod worker;

pub use outbox::OutgoingMail;
pub use routes::{MailRoute, MailRoutes};
pub use smtp::SmtpTransport;
pub use transport::{FileTransport, MailTransport, SendError};
pub use worker::{Courier, CourierSettings};
