//! `PATCH /projects/{id}`: RFC 6902 over the document `GET` shows, limited
//! to the name and the service configs, and never able to read a secret the
//! caller may not see into a place they may.

use super::{ProjectService, validate_name};
use crate::access::{Access, Role};
use crate::account::Caller;
use crate::project::model::ProjectUpdateView;
use crate::revision::{self, RevisionContent, assemble};
use kernel::{Error, Result};
use serde_json::{Value, json};
use uuid::Uuid;

impl ProjectService {
    /// `PATCH /projects/{id}` (and `.../revision/{revision_id}`): RFC 6902
    /// over `/name` and `/services/{identity,permission}/config/...`.
    pub async fn patch(
        &self,
        caller: Caller,
        id: Uuid,
        patch: Value,
        at_revision: Option<Uuid>,
    ) -> Result<ProjectUpdateView> {
        let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|e| {
            Error::bad_request(format!("the body is not a JSON Patch document: {e}"))
        })?;
        for (i, op) in patch.0.iter().enumerate() {
            let (path, from) = patch_paths(op);
            for p in std::iter::once(path).chain(from) {
                if !is_patchable(&p) {
                    return Err(Error::bad_request(format!(
                        "operation {i}: `{p}` can not be patched; paths must start with /name or /services/identity/config or /services/permission/config"
                    )));
                }
            }
        }
        self.change(
            caller,
            id,
            at_revision,
            "project.patch",
            |current, access| {
                let before = assemble::identity_config(&current);
                // The patch works on the stored values, so it must not read a
                // secret the caller may not see into a place they may.
                let hidden = crate::project::secrets::secret_pointers(
                    &before,
                    access == Access::Member(Role::Owner),
                );
                refuse_secret_reads(&patch, &hidden)?;
                let mut document = json!({
                    "name": current.name,
                    "services": {
                        "identity": { "config": assemble::identity_config(&current) },
                        "permission": { "config": assemble::permission_config(&current) },
                    }
                });
                self.patch_limits.apply(&mut document, &patch)?;
                let name = document
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::bad_request("`name` must be a string"))?;
                let mut content = RevisionContent {
                    name: validate_name(name)?,
                    ..current
                };
                let mut identity = document
                    .pointer("/services/identity/config")
                    .cloned()
                    .unwrap_or(Value::Null);
                crate::project::secrets::restore(&mut identity, &before)?;
                let permission = document
                    .pointer("/services/permission/config")
                    .cloned()
                    .unwrap_or(Value::Null);
                let mut warnings = revision::replace_identity(&mut content, &identity)?;
                warnings.extend(revision::replace_permission(&mut content, &permission)?);
                Ok((content, warnings))
            },
        )
        .await
    }
}

fn patch_paths(op: &json_patch::PatchOperation) -> (String, Option<String>) {
    use json_patch::PatchOperation as Op;
    match op {
        Op::Add(o) => (o.path.to_string(), None),
        Op::Remove(o) => (o.path.to_string(), None),
        Op::Replace(o) => (o.path.to_string(), None),
        Op::Move(o) => (o.path.to_string(), Some(o.from.to_string())),
        Op::Copy(o) => (o.path.to_string(), Some(o.from.to_string())),
        Op::Test(o) => (o.path.to_string(), None),
    }
}

fn is_patchable(path: &str) -> bool {
    path == "/name"
        || ["/services/identity/config", "/services/permission/config"]
            .iter()
            .any(|root| {
                path == *root
                    || path
                        .strip_prefix(root)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
}

/// Refuses `copy`, `move` and `test` operations that read a secret (or an
/// object holding one) at the `hidden` pointers of the identity config.
fn refuse_secret_reads(patch: &json_patch::Patch, hidden: &[String]) -> Result<()> {
    for (i, op) in patch.0.iter().enumerate() {
        let read = match op {
            json_patch::PatchOperation::Copy(o) => o.from.to_string(),
            json_patch::PatchOperation::Move(o) => o.from.to_string(),
            json_patch::PatchOperation::Test(o) => o.path.to_string(),
            _ => continue,
        };
        let reads_secret = hidden.iter().any(|secret| {
            let secret = format!("/services/identity/config{secret}");
            secret == read || secret.starts_with(&format!("{read}/")) || read.is_empty()
        });
        if reads_secret {
            return Err(Error::bad_request(format!(
                "operation {i}: `{read}` holds a secret, which copy, move and test cannot read; send the value itself"
            )));
        }
    }
    Ok(())
}
