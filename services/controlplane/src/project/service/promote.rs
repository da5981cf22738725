//! Promoting configuration from one project to another (staging to
//! production): the source's config (its current revision, or an older
//! one) becomes the target's, except what belongs to a project alone —
//! secrets (the Kratos secrets, the SMTP URI, web hook credentials, sign-in
//! providers' client secrets and keys) and URLs on the source's own hosts
//! (its project URL and custom hostnames). Those keep the target's values
//! (a URL the target has none for is moved to the target's host, a secret
//! the target has none for is left out) and are listed, so nobody promotes
//! staging's SMTP password or redirect URLs into production by accident.
//! A dry run answers the patch and its warnings without changing anything.

use super::ProjectService;
use super::history::summarize;
use crate::access::Action;
use crate::account::Caller;
use crate::hostname::store as hostnames;
use crate::project::model::{ProjectRow, ProjectView};
use crate::project::secrets::{self, REDACTED};
use crate::revision::{self, RevisionContent, Warning, assemble};
use kernel::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The body of `POST /projects/{target}/promote`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub from_project: Uuid,
    /// A revision of the source; its current one unless given.
    #[serde(default)]
    pub revision_id: Option<Uuid>,
    #[serde(default)]
    pub dry_run: bool,
}

/// A value of the source that was not copied.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotCopied {
    /// Where, in the identity config (a JSON pointer).
    pub path: String,
    /// `secret`, `source_url` or `provider_client` (a provider's client id,
    /// kept with the target's client secret).
    pub reason: &'static str,
    /// What the target has there now: `kept` (its own value), `moved` (a
    /// source URL moved to the target's host) or `left_out`.
    pub outcome: &'static str,
}

/// The answer of `POST /projects/{target}/promote`.
#[derive(Debug, Serialize)]
pub struct PromoteView {
    pub from_project: Uuid,
    pub from_revision: Uuid,
    pub dry_run: bool,
    /// RFC 6902 from the target's config to the promoted one (as a revision
    /// diff shows it: secrets as markers).
    pub patch: Value,
    pub summary: Vec<String>,
    pub not_copied: Vec<NotCopied>,
    pub warnings: Vec<Warning>,
    /// The target after the promotion; absent on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectView>,
}

/// The bases of the URLs that belong to a project: its own URL and its
/// custom hostnames.
pub(super) struct Hosts {
    pub(super) source: Vec<String>,
    pub(super) target: String,
}

impl ProjectService {
    /// `POST /projects/{target}/promote`: the caller must be able to edit
    /// both projects.
    pub async fn promote(
        &self,
        caller: Caller,
        target: Uuid,
        request: PromoteRequest,
    ) -> Result<PromoteView> {
        let (target_row, target_content, _) =
            self.load(caller, target, Action::UpdateProject).await?;
        if request.from_project == target {
            return Err(Error::bad_request(
                "`from_project` is the target itself; promote from another project",
            ));
        }
        let (source_row, _) = self
            .gate
            .project(caller, request.from_project, Action::UpdateProject)
            .await?;
        let revision = request
            .revision_id
            .unwrap_or(source_row.current_revision_id);
        let (_, source_content) = self.revision_of(source_row.id, revision).await?;
        let hosts = Hosts {
            source: self.url_bases(&source_row).await?,
            target: self.public_url(&target_row.slug),
        };
        let (promoted, warnings, not_copied) = promoted_content(
            assemble::identity_config(&source_content),
            &assemble::permission_config(&source_content),
            &target_content,
            &hosts,
        )?;
        let before = self.marked_document(target_row.id, &target_content, false);
        let after = self.marked_document(target_row.id, &promoted, false);
        let patch = json_patch::diff(&before, &after);
        let summary = summarize(&before, &after, &patch);
        let mut view = PromoteView {
            from_project: source_row.id,
            from_revision: revision,
            dry_run: request.dry_run,
            patch: serde_json::to_value(&patch).map_err(Error::internal)?,
            summary,
            not_copied,
            warnings,
            project: None,
        };
        if !request.dry_run {
            // Only onto the revision the patch was computed from: 409 if
            // the target changed meanwhile.
            let applied = self
                .change(
                    caller,
                    target,
                    Some(target_row.current_revision_id),
                    "project.promote",
                    |_, _| Ok((promoted.clone(), view.warnings.clone())),
                )
                .await?;
            view.project = Some(applied.project);
        }
        Ok(view)
    }
}

impl ProjectService {
    /// The bases of the URLs that belong to `project`: its URL and its
    /// custom hostnames'.
    pub(super) async fn url_bases(&self, project: &ProjectRow) -> Result<Vec<String>> {
        let mut bases = vec![self.public_url(&project.slug)];
        for row in hostnames::list_for_project(&self.db.conn, project.id).await? {
            bases.push(format!("https://{}", row.hostname));
            bases.push(format!("http://{}", row.hostname));
        }
        Ok(bases)
    }
}

/// The target's revision content with the source's config (identity and
/// permission documents, secrets as they are or as markers),
/// project-specific values excepted; its warnings, and what was not copied.
pub(super) fn promoted_content(
    mut config: Value,
    permission: &Value,
    target: &RevisionContent,
    hosts: &Hosts,
) -> Result<(RevisionContent, Vec<Warning>, Vec<NotCopied>)> {
    let theirs = assemble::identity_config(target);
    // URLs first: a web hook on the source's host becomes the target's
    // hook, whose credentials then match it.
    let mut not_copied = Vec::new();
    move_urls(&mut config, &theirs, hosts, "", &mut not_copied);
    not_copied.extend(swap_secrets(&mut config, &theirs));
    pair_provider_clients(&mut config, &theirs, &mut not_copied);
    let mut content = target.clone();
    let mut warnings = revision::replace_identity(&mut content, &config)?;
    warnings.extend(revision::replace_permission(&mut content, permission)?);
    Ok((content, warnings, not_copied))
}

/// Replaces every secret of `config` with the target's own at the same
/// place (a provider's by provider id, a web hook's only with the same
/// URL), or leaves it out when the target has none.
fn swap_secrets(config: &mut Value, target: &Value) -> Vec<NotCopied> {
    secrets::redact_for(config, false);
    let mut found = Vec::new();
    secrets::placeholders(config, "", &mut found);
    let mut out = Vec::new();
    // Last first: leaving out a list item must not shift the ones before.
    for pointer in found.into_iter().rev() {
        let own = target_secret(config, target, &pointer);
        let outcome = match own {
            Some(value) => {
                if let Some(slot) = config.pointer_mut(&pointer) {
                    *slot = value;
                }
                "kept"
            }
            None => {
                remove(config, &pointer);
                "left_out"
            }
        };
        out.push(NotCopied {
            path: pointer,
            reason: "secret",
            outcome,
        });
    }
    out.reverse();
    out
}

/// A provider the target has too keeps the target's client id, which goes
/// with the client secret it kept: the source's id with the target's
/// secret would be a pair no provider knows.
fn pair_provider_clients(config: &mut Value, target: &Value, out: &mut Vec<NotCopied>) {
    const PROVIDERS: &str = "/selfservice/methods/oidc/config/providers";
    let Some(theirs) = target.pointer(PROVIDERS).and_then(Value::as_array) else {
        return;
    };
    let Some(ours) = config.pointer_mut(PROVIDERS).and_then(Value::as_array_mut) else {
        return;
    };
    for (i, provider) in ours.iter_mut().enumerate() {
        let own = theirs
            .iter()
            .find(|p| p.get("id").is_some() && p.get("id") == provider.get("id"))
            .and_then(|p| p.get("client_id"));
        if let Some(own) = own
            && provider.get("client_id") != Some(own)
        {
            provider["client_id"] = own.clone();
            out.push(NotCopied {
                path: format!("{PROVIDERS}/{i}/client_id"),
                reason: "provider_client",
                outcome: "kept",
            });
        }
    }
}

/// The target's own secret for the one at `pointer` of `config`.
fn target_secret(config: &Value, target: &Value, pointer: &str) -> Option<Value> {
    const PROVIDERS: &str = "/selfservice/methods/oidc/config/providers/";
    let usable = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty() && s != REDACTED);
    if let Some(rest) = pointer.strip_prefix(PROVIDERS) {
        let (index, key) = rest.split_once('/')?;
        let id = config.pointer(&format!("{PROVIDERS}{index}/id"))?;
        return target
            .pointer(PROVIDERS.trim_end_matches('/'))?
            .as_array()?
            .iter()
            .find(|p| p.get("id") == Some(id))?
            .get(key)
            .filter(|v| usable(v))
            .cloned();
    }
    if let Some(hook) = pointer
        .strip_suffix("/auth/config/value")
        .or_else(|| pointer.strip_suffix("/auth/config/password"))
    {
        let url = format!("{hook}/url");
        if config.pointer(&url) != target.pointer(&url) {
            return None;
        }
    }
    target.pointer(pointer).filter(|v| usable(v)).cloned()
}

/// Removes the value at `pointer` (an object member or a list item).
fn remove(config: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match config.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&key);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = key.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Every string of `value` on one of the source's hosts takes the target's
/// value at the same place when that is a string, else moves to the
/// target's host.
fn move_urls(value: &mut Value, target: &Value, hosts: &Hosts, at: &str, out: &mut Vec<NotCopied>) {
    match value {
        Value::String(s) => {
            let Some(base) = hosts.source.iter().find(|b| on_host(s, b)) else {
                return;
            };
            let (replacement, outcome) = match target.pointer(at).and_then(Value::as_str) {
                Some(own) => (own.to_owned(), "kept"),
                None => (format!("{}{}", hosts.target, &s[base.len()..]), "moved"),
            };
            *s = replacement;
            out.push(NotCopied {
                path: at.to_owned(),
                reason: "source_url",
                outcome,
            });
        }
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let key = key.replace('~', "~0").replace('/', "~1");
                move_urls(child, target, hosts, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                move_urls(child, target, hosts, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Whether `url` is `base` or below it (not merely a longer host name).
fn on_host(url: &str, base: &str) -> bool {
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_keep_the_targets_own_or_are_left_out() {
        let mut source = json!({
            "secrets": { "cookie": ["staging-cookie"] },
            "courier": { "smtp": { "connection_uri": "smtps://u:staging@mail" } },
            "selfservice": { "methods": { "oidc": { "config": { "providers": [
                { "id": "b", "client_secret": "staging-b" },
                { "id": "a", "client_secret": "staging-a" }
            ] } } } }
        });
        let target = json!({
            "secrets": { "cookie": ["prod-cookie"] },
            "selfservice": { "methods": { "oidc": { "config": { "providers": [
                { "id": "a", "client_secret": "prod-a" }
            ] } } } }
        });
        let listed = swap_secrets(&mut source, &target);
        let text = source.to_string();
        assert!(!text.contains("staging"), "{text}");
        assert_eq!(source.pointer("/secrets/cookie/0").unwrap(), "prod-cookie");
        assert_eq!(
            source
                .pointer("/selfservice/methods/oidc/config/providers/1/client_secret")
                .unwrap(),
            "prod-a"
        );
        assert!(
            source
                .pointer("/selfservice/methods/oidc/config/providers/0/client_secret")
                .is_none()
        );
        assert!(source.pointer("/courier/smtp/connection_uri").is_none());
        let outcomes: Vec<_> = listed
            .iter()
            .map(|n| (n.path.as_str(), n.outcome))
            .collect();
        assert!(outcomes.contains(&("/courier/smtp/connection_uri", "left_out")));
        assert!(outcomes.contains(&("/secrets/cookie/0", "kept")));
    }

    #[test]
    fn urls_on_the_source_host_stay_the_targets() {
        let hosts = Hosts {
            source: vec!["http://stage.projects.localhost:4000".into()],
            target: "http://prod.projects.localhost:4000".into(),
        };
        let mut config = json!({
            "selfservice": {
                "default_browser_return_url": "http://stage.projects.localhost:4000/ui/welcome",
                "allowed_return_urls": ["http://stage.projects.localhost:4000/x", "https://app.example.com"],
                "flows": { "error": { "ui_url": "http://stage.projects.localhost:4000.evil.com/e" } }
            }
        });
        let target = json!({ "selfservice": {
            "default_browser_return_url": "http://prod.projects.localhost:4000/ui/welcome"
        } });
        let mut out = Vec::new();
        move_urls(&mut config, &target, &hosts, "", &mut out);
        assert_eq!(
            config["selfservice"]["default_browser_return_url"],
            "http://prod.projects.localhost:4000/ui/welcome"
        );
        assert_eq!(
            config["selfservice"]["allowed_return_urls"],
            json!([
                "http://prod.projects.localhost:4000/x",
                "https://app.example.com"
            ])
        );
        // Another host that merely starts alike is not the source's.
        assert_eq!(
            config["selfservice"]["flows"]["error"]["ui_url"],
            "http://stage.projects.localhost:4000.evil.com/e"
        );
        let outcomes: Vec<_> = out.iter().map(|n| (n.path.as_str(), n.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("/selfservice/allowed_return_urls/0", "moved"),
                ("/selfservice/default_browser_return_url", "kept")
            ]
        );
    }
}
