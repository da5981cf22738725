//! E-mail. Every message is written to the `courier_messages` outbox in the
//! transaction of the change that causes it (an invite, a recovery), so a
//! message is never sent for a change that rolled back, nor lost when the
//! mail server is down: the worker delivers due messages and retries with
//! backoff. Delivery goes through a lettre transport; the development
//! default writes `.eml` files.

pub mod outbox;
pub mod transport;
pub mod worker;

pub use outbox::{OutgoingMail, enqueue};
pub use transport::{FileTransport, MailTransport};
pub use worker::{Courier, CourierSettings};
