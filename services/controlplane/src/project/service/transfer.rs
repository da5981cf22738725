//! The configuration part of a tenant export and import: the config leaves
//! without its secrets (markers in their place) and with the bases of the
//! source's own URLs; it comes back in as a promotion does — the target
//! keeps its own secrets and URLs on the source's hosts move to the
//! target's — recorded as `project.import`.

use super::ProjectService;
use super::promote::{Hosts, NotCopied, promoted_content};
use crate::access::Action;
use crate::account::Caller;
use crate::project::model::ProjectRow;
use crate::project::secrets;
use crate::revision::{Warning, assemble};
use kernel::Result;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

const SCHEMAS: &str = "/identity/schemas";

/// A project's configuration as an archive carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PortableConfig {
    /// The identity (Kratos) document without its schemas (they travel as
    /// lines of their own) and with every secret as a marker.
    pub identity: Value,
    /// The permission (Keto) document.
    pub permission: Value,
    /// The bases of the source project's own URLs (its project URL and
    /// custom hostnames): URLs on them move to the target's host.
    pub source_urls: Vec<String>,
}

/// What importing a config did.
#[derive(Debug, Serialize)]
pub struct ImportedConfig {
    pub revision_id: Uuid,
    pub not_copied: Vec<NotCopied>,
    pub warnings: Vec<Warning>,
}

impl ProjectService {
    /// The project when `caller` may do `action` in it.
    pub async fn authorize(&self, caller: Caller, id: Uuid, action: Action) -> Result<ProjectRow> {
        Ok(self.gate.project(caller, id, action).await?.0)
    }

    /// `project`'s current config for an archive, and its schemas (`id`,
    /// `url`) apart.
    pub async fn export_config(
        &self,
        project: &ProjectRow,
    ) -> Result<(PortableConfig, Vec<Value>)> {
        let (_, content) = self
            .revision_of(project.id, project.current_revision_id)
            .await?;
        let mut identity = assemble::identity_config(&content);
        secrets::redact_for(&mut identity, false);
        let schemas = match identity.pointer_mut(SCHEMAS) {
            Some(list) => match list.take() {
                Value::Array(items) => items,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        if let Some(section) = identity.get_mut("identity").and_then(Value::as_object_mut) {
            section.remove("schemas");
        }
        let config = PortableConfig {
            identity,
            permission: assemble::permission_config(&content),
            source_urls: self.url_bases(project).await?,
        };
        Ok((config, schemas))
    }

    /// Makes an archive's config (with its schemas) the target's, keeping
    /// the target's secrets and URLs: a new revision, recorded as
    /// `project.import`.
    pub async fn import_config(
        &self,
        caller: Caller,
        target: Uuid,
        mut config: PortableConfig,
        schemas: Vec<Value>,
    ) -> Result<ImportedConfig> {
        let (target_row, target_content, _) =
            self.load(caller, target, Action::UpdateProject).await?;
        if !schemas.is_empty() {
            if !config.identity["identity"].is_object() {
                config.identity["identity"] = Value::Object(Default::default());
            }
            config.identity["identity"]["schemas"] = Value::Array(schemas);
        }
        let hosts = Hosts {
            source: config.source_urls.clone(),
            target: self.public_url(&target_row.slug),
        };
        let (imported, warnings, not_copied) =
            promoted_content(config.identity, &config.permission, &target_content, &hosts)?;
        let applied = self
            .change(
                caller,
                target,
                Some(target_row.current_revision_id),
                "project.import",
                |_, _| Ok((imported.clone(), warnings.clone())),
            )
            .await?;
        Ok(ImportedConfig {
            revision_id: applied.project.revision_id,
            not_copied,
            warnings: applied.warnings,
        })
    }
}
