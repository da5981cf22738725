//! The query of an import and its answer.

use controlplane::project::service::ImportedConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The query of `POST /projects/{id}/import`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportOptions {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub ids: Ids,
    /// Whether the archive's config replaces the project's: by default
    /// yes into an empty project, no in a merge.
    #[serde(default)]
    pub config: Option<ConfigChoice>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only into a project without identities and tuples.
    #[default]
    Empty,
    /// Into any project: identities whose id it has and tuples it has are
    /// skipped.
    Merge,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ids {
    /// Identities keep their ids (moving to another server).
    #[default]
    Keep,
    /// Identities get ids derived from the project and their old id (a
    /// copy on the same server, where ids are taken); tuples naming an
    /// identity of the archive follow it.
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigChoice {
    Apply,
    Keep,
}

#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub imported: u64,
    /// Already in the project (a merge, or a resumed import).
    pub existing: u64,
}

/// The answer of an import, and the progress an error reports.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub mode: Mode,
    pub ids: Ids,
    /// The project the archive was exported from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_project: Option<Uuid>,
    /// The config applied; absent when the project kept its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ImportedConfig>,
    pub identities: Tally,
    pub relation_tuples: Tally,
    /// Credentials not imported, by type (see docs/export-import.md).
    pub left_out: BTreeMap<String, u64>,
    /// Transactions committed.
    pub batches: u64,
    pub lines: u64,
}
