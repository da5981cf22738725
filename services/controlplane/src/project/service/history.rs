//! Revisions as a history people can use: one revision as the project's
//! config was then, the difference between two (an RFC 6902 patch over the
//! same document `PATCH /projects/{id}` takes, and a line per changed key),
//! and restoring an old revision as a new one. Secrets show as in
//! `GET /projects/{id}`; in a difference each secret is a marker that
//! changes when the secret does, so a rotation shows without the value.

use super::ProjectService;
use crate::access::{Access, Action, Role};
use crate::account::Caller;
use crate::project::model::{ProjectServices, ProjectUpdate, ProjectUpdateView, ServiceConfig};
use crate::project::secrets;
use crate::revision::store::{self as revisions, RevisionMeta};
use crate::revision::{RevisionContent, assemble};
use kernel::{Error, Result};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// `GET /projects/{id}/revisions/{rid}`.
#[derive(Debug, Serialize)]
pub struct RevisionView {
    pub id: Uuid,
    pub project_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Whether this is the project's current revision.
    pub current: bool,
    pub name: String,
    pub services: ProjectServices,
}

/// `GET /projects/{id}/revisions/diff`.
#[derive(Debug, Serialize)]
pub struct RevisionDiff {
    pub from: Uuid,
    pub to: Uuid,
    /// RFC 6902 operations from `from`'s document to `to`'s (paths as
    /// `PATCH /projects/{id}` takes them).
    pub patch: Value,
    /// One line per change, for people.
    pub summary: Vec<String>,
}

fn revision_not_found() -> Error {
    Error::not_found("Unable to locate the resource")
        .with_reason("No such revision in this project.")
}

/// The document `PATCH /projects/{id}` works on.
fn document(content: &RevisionContent) -> Value {
    json!({
        "name": content.name,
        "services": {
            "identity": { "config": assemble::identity_config(content) },
            "permission": { "config": assemble::permission_config(content) },
        }
    })
}

/// A short rendering of a changed value for the summary.
fn short(value: Option<&Value>) -> String {
    match value {
        None => "–".to_owned(),
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => {
            let text = v.to_string();
            if text.chars().count() > 60 {
                format!("{}…", text.chars().take(59).collect::<String>())
            } else {
                text
            }
        }
        Some(Value::Array(items)) => format!("[{} items]", items.len()),
        Some(Value::Object(map)) => format!("{{{} keys}}", map.len()),
    }
}

/// `identity selfservice.flows.login.lifespan: "1h" → "2h"` per operation.
pub(super) fn summarize(from: &Value, to: &Value, patch: &json_patch::Patch) -> Vec<String> {
    patch
        .0
        .iter()
        .map(|op| {
            let (verb, path) = match op {
                json_patch::PatchOperation::Add(o) => ("added", o.path.to_string()),
                json_patch::PatchOperation::Remove(o) => ("removed", o.path.to_string()),
                json_patch::PatchOperation::Replace(o) => ("changed", o.path.to_string()),
                json_patch::PatchOperation::Move(o) => ("moved", o.path.to_string()),
                json_patch::PatchOperation::Copy(o) => ("copied", o.path.to_string()),
                json_patch::PatchOperation::Test(o) => ("tested", o.path.to_string()),
            };
            let key = path
                .trim_start_matches('/')
                .replacen("services/", "", 1)
                .replacen("/config/", " ", 1)
                .replace('/', ".");
            let (before, after) = (from.pointer(&path), to.pointer(&path));
            match verb {
                "added" => format!("{key}: added {}", short(after)),
                "removed" => format!("{key}: removed (was {})", short(before)),
                _ => format!("{key}: {} → {}", short(before), short(after)),
            }
        })
        .collect()
}

impl ProjectService {
    /// The document `PATCH` works on with each secret a caller may not see
    /// as a marker that changes when the secret does (the same marker in a
    /// revision diff and the audit log).
    pub(super) fn marked_document(
        &self,
        project: Uuid,
        content: &RevisionContent,
        owner: bool,
    ) -> Value {
        let marker = |value: &str| {
            let digest = self
                .sealing
                .digest(&format!("revision-diff@{project}"), value);
            format!("{}:{}", secrets::REDACTED, &digest[..8.min(digest.len())])
        };
        let mut doc = document(content);
        if let Some(identity) = doc.pointer_mut("/services/identity/config") {
            secrets::mark_secrets(identity, owner, &marker);
        }
        doc
    }

    /// `GET /projects/{id}/revisions`: the history, newest first, each as
    /// `normalizedProjectRevision`, with secrets as `GET /projects/{id}`
    /// shows them.
    pub async fn revisions(&self, caller: Caller, id: Uuid) -> Result<Vec<Value>> {
        let (project, access) = self.gate.project(caller, id, Action::GetProject).await?;
        let owner = access == Access::Member(Role::Owner);
        let mut out = Vec::new();
        for revision_id in revisions::list_ids(&self.db.conn, project.id).await? {
            if let Some((meta, content)) =
                revisions::find(&self.db.conn, &self.sealing, revision_id).await?
            {
                let mut revision = normalized_revision_json(&meta, &content);
                secrets::redact_revision(&mut revision, owner);
                out.push(revision);
            }
        }
        Ok(out)
    }

    /// A revision of the project `id` (404 for another project's).
    pub(super) async fn revision_of(
        &self,
        id: Uuid,
        revision_id: Uuid,
    ) -> Result<(RevisionMeta, RevisionContent)> {
        revisions::find(&self.db.conn, &self.sealing, revision_id)
            .await?
            .filter(|(meta, _)| meta.project_id == id)
            .ok_or_else(revision_not_found)
    }

    /// `GET /projects/{id}/revisions/{rid}`: the config as it was then.
    pub async fn revision(
        &self,
        caller: Caller,
        id: Uuid,
        revision_id: Uuid,
    ) -> Result<RevisionView> {
        let (project, access) = self.gate.project(caller, id, Action::GetProject).await?;
        let (meta, content) = self.revision_of(project.id, revision_id).await?;
        let mut identity = assemble::identity_config(&content);
        secrets::redact_for(&mut identity, access == Access::Member(Role::Owner));
        Ok(RevisionView {
            id: meta.id,
            project_id: meta.project_id,
            created_at: meta.created_at,
            current: meta.id == project.current_revision_id,
            name: content.name.clone(),
            services: ProjectServices {
                identity: Some(ServiceConfig { config: identity }),
                permission: Some(ServiceConfig {
                    config: assemble::permission_config(&content),
                }),
            },
        })
    }

    /// `GET /projects/{id}/revisions/diff?from=&to=` (`to` defaults to the
    /// current revision).
    pub async fn revision_diff(
        &self,
        caller: Caller,
        id: Uuid,
        from: Uuid,
        to: Option<Uuid>,
    ) -> Result<RevisionDiff> {
        let (project, access) = self.gate.project(caller, id, Action::GetProject).await?;
        let to = to.unwrap_or(project.current_revision_id);
        let (_, before) = self.revision_of(project.id, from).await?;
        let (_, after) = self.revision_of(project.id, to).await?;
        let owner = access == Access::Member(Role::Owner);
        let from_doc = self.marked_document(project.id, &before, owner);
        let to_doc = self.marked_document(project.id, &after, owner);
        let patch = json_patch::diff(&from_doc, &to_doc);
        Ok(RevisionDiff {
            from,
            to,
            summary: summarize(&from_doc, &to_doc, &patch),
            patch: serde_json::to_value(&patch).map_err(Error::internal)?,
        })
    }

    /// `POST /projects/{id}/revisions/{rid}/restore`: a new revision equal
    /// to the old one, through the same path (and warnings) as `PUT`.
    pub async fn restore_revision(
        &self,
        caller: Caller,
        id: Uuid,
        revision_id: Uuid,
    ) -> Result<ProjectUpdateView> {
        let (project, _) = self.gate.project(caller, id, Action::UpdateProject).await?;
        let (_, content) = self.revision_of(project.id, revision_id).await?;
        let update = ProjectUpdate {
            name: content.name.clone(),
            services: ProjectServices {
                identity: Some(ServiceConfig {
                    config: assemble::identity_config(&content),
                }),
                permission: Some(ServiceConfig {
                    config: assemble::permission_config(&content),
                }),
            },
        };
        self.replace(caller, id, update, "project.revision.restore")
            .await
    }
}

fn normalized_revision_json(meta: &revisions::RevisionMeta, content: &RevisionContent) -> Value {
    let mut out = serde_json::Map::new();
    for (column, value) in &content.scalars {
        out.insert(column.clone(), value.clone());
    }
    out.insert("id".into(), json!(meta.id));
    out.insert("project_id".into(), json!(meta.project_id));
    out.insert("name".into(), json!(content.name));
    out.insert("created_at".into(), json!(meta.created_at));
    out.insert("updated_at".into(), json!(meta.created_at));
    out.insert(
        "keto_read_max_depth".into(),
        json!(content.keto_read_max_depth),
    );
    out.insert(
        "keto_namespaces".into(),
        json!(
            content
                .keto_namespaces
                .iter()
                .map(|n| json!({ "id": n.namespace_id, "name": n.name }))
                .collect::<Vec<_>>()
        ),
    );
    let with_revision = |v: Value| {
        let mut v = v;
        if let Some(map) = v.as_object_mut() {
            map.insert("project_revision_id".into(), json!(meta.id));
        }
        v
    };
    out.insert(
        "kratos_identity_schemas".into(),
        Value::Array(
            content
                .identity_schemas
                .iter()
                .map(|s| with_revision(json!(s)))
                .collect(),
        ),
    );
    out.insert(
        "kratos_selfservice_flows_hooks".into(),
        Value::Array(
            content
                .hooks
                .iter()
                .map(|h| with_revision(json!(h)))
                .collect(),
        ),
    );
    out.insert(
        "kratos_selfservice_methods_oidc_config_providers".into(),
        Value::Array(
            content
                .oidc_providers
                .iter()
                .map(|p| with_revision(json!(p)))
                .collect(),
        ),
    );
    Value::Object(out)
}
