//! Where messages go: a lettre transport behind one small trait, so the
//! worker does not care whether it is a file or (later) SMTP.

use async_trait::async_trait;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[async_trait]
pub trait MailTransport: Send + Sync + 'static {
    /// Sends one message; `Err` says why, for the outbox's `last_error`.
    async fn send(&self, message: Message) -> Result<(), String>;
}

/// Writes each message as `<uuid>.eml` into a directory (the development
/// default, `./data/mail/`).
pub struct FileTransport {
    inner: AsyncFileTransport<Tokio1Executor>,
}

impl FileTransport {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            inner: AsyncFileTransport::new(dir),
        })
    }
}

#[async_trait]
impl MailTransport for FileTransport {
    async fn send(&self, message: Message) -> Result<(), String> {
        self.inner
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
