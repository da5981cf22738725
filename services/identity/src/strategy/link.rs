//! The link method: recovery and verification by a link mailed to an
//! address (`flow/recovery.rs`, `flow/verification.rs` run its flows). It
//! takes no part in login, registration or settings; a session it opens
//! records the method `link_recovery` at AAL1.

use super::Strategy;
use async_trait::async_trait;
use kernel::identity_config::IdentityConfig;

pub struct Link;

/// The method a recovery link's session records.
pub const LINK_RECOVERY: &str = "link_recovery";

#[async_trait]
impl Strategy for Link {
    fn id(&self) -> &'static str {
        "link"
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.link
    }
}
