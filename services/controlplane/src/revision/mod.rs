//! Config revisions: normalize Kratos/Keto documents into the revision
//! tables, assemble them back, and store them.

pub mod assemble;
pub mod branding;
pub mod defaults;
pub mod keys;
pub mod model;
pub mod normalize;
mod rows;
pub mod sealed;
pub mod store;

pub use model::{RevisionContent, Warning};

use kernel::Result;
use serde_json::Value;

/// Replaces the identity part of `content` with `config`.
pub fn replace_identity(content: &mut RevisionContent, config: &Value) -> Result<Vec<Warning>> {
    content.scalars.clear();
    content.hooks.clear();
    content.identity_schemas.clear();
    content.oidc_providers.clear();
    normalize::normalize_identity(config, content)
}

/// Replaces the permission part of `content` with `config`.
pub fn replace_permission(content: &mut RevisionContent, config: &Value) -> Result<Vec<Warning>> {
    content.keto_namespaces.clear();
    content.keto_read_max_depth = None;
    content.keto_batch_check_max_size = None;
    normalize::normalize_permission(config, content)
}

#[cfg(test)]
mod roundtrip_tests;

#[cfg(test)]
mod normalize_tests;
