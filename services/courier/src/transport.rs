//! Where messages go: a lettre transport behind one small trait, so the
//! worker does not care whether it is a file or an SMTP server.

use async_trait::async_trait;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// Why a send failed, for the outbox's `last_error`, and whether trying
/// again could help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub message: String,
    /// The server refused the message for good (a 5xx answer): retrying
    /// the same message cannot succeed, so it is abandoned at once.
    pub permanent: bool,
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

#[async_trait]
pub trait MailTransport: Send + Sync + 'static {
    /// Sends one message.
    async fn send(&self, message: Message) -> Result<(), SendError>;
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
    async fn send(&self, message: Message) -> Result<(), SendError> {
        self.inner
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError::transient(e.to_string()))
    }
}
