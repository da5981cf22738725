//! Lookup secrets (backup recovery codes): twelve one-time codes made in
//! settings, shown once and saved when the user confirms having kept them,
//! then each usable once as a second factor. Stored as keyed digests
//! (HMAC with the project's `secrets.cipher`), so "reveal" lists which
//! codes are used, not the codes.

use super::cipher;
use super::{Authenticated, Context, LoginTarget, Outcome, SettingsTarget, Strategy, flag, submit};
use crate::flow::model::{Flow, UiNode, UiText, text};
use crate::flow::service::field;
use crate::flow::settings::{is_privileged, refresh_required};
use crate::identity::model::Credential;
use crate::identity::{Identity, credential_store, store as identities};
use async_trait::async_trait;
use kernel::identity_config::{Aal, IdentityConfig};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use rand::Rng;
use serde_json::{Value, json};
use store::sql;
use uuid::Uuid;

pub struct LookupSecret;

pub const LOOKUP_SECRET: &str = "lookup_secret";
const CODES: usize = 12;
const CODE_LEN: usize = 8;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn digest_context(tenant: &TenantCtx, identity_id: Uuid) -> String {
    format!(
        "identity_credentials.lookup_secret@{}/{identity_id}",
        tenant.project_id
    )
}

fn flow_context(tenant: &TenantCtx, flow_id: Uuid) -> String {
    format!(
        "selfservice_flows.lookup_secret@{}/{flow_id}",
        tenant.project_id
    )
}

fn new_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..CODES)
        .map(|_| {
            (0..CODE_LEN)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect()
}

fn button(name: &str, id: u64, label: &str) -> UiNode {
    let mut node = UiNode::input(
        LOOKUP_SECRET,
        name,
        "submit",
        Some(json!("true")),
        false,
        Some(UiText::info(id, label)),
    );
    node.attributes["formnovalidate"] = json!(true);
    node
}

/// The text node listing codes (`secrets`: one text each).
fn codes_node(secrets: Vec<UiText>) -> UiNode {
    let joined = secrets
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    UiNode {
        kind: "text".to_owned(),
        group: LOOKUP_SECRET.to_owned(),
        attributes: json!({
            "id": "lookup_secret_codes",
            "text": UiText {
                id: text::LOOKUP_LIST,
                text: joined,
                kind: "info".to_owned(),
                context: Some(json!({ "secrets": secrets })),
            },
            "node_type": "text",
            "nodetype": "text",
        }),
        messages: Vec::new(),
        meta: json!({ "label": UiText::info(text::LOOKUP_LABEL, "These are your back up recovery codes. Please keep them in a safe place!") }),
    }
}

fn shown_code(code: &str) -> UiText {
    UiText {
        id: text::LOOKUP_SECRET,
        text: code.to_owned(),
        kind: "info".to_owned(),
        context: Some(json!({ "secret": code })),
    }
}

/// What reveal shows of stored codes: their place and whether used.
fn code_status(index: usize, entry: &Value) -> UiText {
    match entry["used_at"].as_str() {
        Some(used_at) => UiText {
            id: text::LOOKUP_USED,
            text: format!("Secret was used at {used_at}"),
            kind: "info".to_owned(),
            context: Some(json!({ "used_at": used_at })),
        },
        None => shown_code(&format!("#{} ········", index + 1)),
    }
}

fn pending_codes(ctx: &Context<'_>, flow: &Flow) -> Result<Option<Vec<String>>> {
    let Some(sealed) = flow.internal["lookup_codes"].as_str() else {
        return Ok(None);
    };
    let text = cipher(ctx.tenant)?
        .open(&flow_context(ctx.tenant, flow.id), sealed)
        .map_err(|e| Error::internal(format!("the offered codes do not open: {e}")))?;
    Ok(Some(text.split(',').map(str::to_owned).collect()))
}

#[async_trait]
impl Strategy for LookupSecret {
    fn id(&self) -> &'static str {
        LOOKUP_SECRET
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.lookup_secret
    }

    fn login_aal(&self, _config: &IdentityConfig) -> Option<Aal> {
        Some(Aal::Aal2)
    }

    fn has_credential(&self, identity: &Identity) -> bool {
        identity.credential(LOOKUP_SECRET).is_some()
    }

    fn populate_login(
        &self,
        _: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<()> {
        if target.identity.is_some_and(|i| self.has_credential(i)) {
            flow.ui.nodes.extend([
                UiNode::input(
                    LOOKUP_SECRET,
                    "lookup_secret",
                    "text",
                    None,
                    true,
                    Some(UiText::info(text::LABEL_LOOKUP, "Backup recovery code")),
                ),
                submit(
                    LOOKUP_SECRET,
                    UiText::info(text::USE_LOOKUP, "Use backup recovery code"),
                ),
            ]);
        }
        Ok(())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        let Some(identity) = target.identity else {
            return Ok(None);
        };
        let Some(credential) = identity.credential(LOOKUP_SECRET) else {
            flow.ui.messages.push(UiText::error(
                text::NO_LOOKUP,
                "You have not set up backup recovery codes.",
                None,
            ));
            return Ok(Some(Outcome::Invalid));
        };
        let code = field(ctx.body(), "lookup_secret")
            .unwrap_or("")
            .trim()
            .to_lowercase();
        if code.is_empty() {
            flow.ui
                .node_error("lookup_secret", UiText::missing("lookup_secret"));
            return Ok(Some(Outcome::Invalid));
        }
        let cipher = cipher(ctx.tenant)?;
        let context = digest_context(ctx.tenant, identity.id);
        let entries = credential.config["recovery_codes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let found = entries.iter().position(|e| {
            e["code_digest"]
                .as_str()
                .is_some_and(|d| cipher.digest_matches(&context, &code, d))
        });
        let Some(index) = found else {
            flow.ui.node_error(
                "lookup_secret",
                UiText::error(
                    text::LOOKUP_INVALID,
                    "The backup recovery code is not valid.",
                    None,
                ),
            );
            return Ok(Some(Outcome::Invalid));
        };
        let used = || {
            UiText::error(
                text::LOOKUP_ALREADY_USED,
                "This backup recovery code has already been used.",
                None,
            )
        };
        if !entries[index]["used_at"].is_null() {
            flow.ui.node_error("lookup_secret", used());
            return Ok(Some(Outcome::Invalid));
        }
        let mut config = credential.config.clone();
        config["recovery_codes"][index]["used_at"] = json!(ctx.engine.clock.now());
        // Only if no other request used a code meanwhile: each code once.
        if !super::swap_credential(ctx, credential, &config).await? {
            flow.ui.node_error("lookup_secret", used());
            return Ok(Some(Outcome::Invalid));
        }
        Ok(Some(Outcome::Done(Authenticated {
            identity: identity.clone(),
            identifier: None,
        })))
    }

    fn populate_settings(
        &self,
        ctx: &Context<'_>,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        if let Some(codes) = pending_codes(ctx, flow)? {
            flow.ui.nodes.extend([
                codes_node(codes.iter().map(|c| shown_code(c)).collect()),
                button(
                    "lookup_secret_confirm",
                    text::LOOKUP_CONFIRM,
                    "Confirm backup recovery codes",
                ),
            ]);
            return Ok(());
        }
        if self.has_credential(identity) {
            flow.ui.nodes.extend([
                button(
                    "lookup_secret_reveal",
                    text::LOOKUP_REVEAL,
                    "Reveal backup recovery codes",
                ),
                button(
                    "lookup_secret_regenerate",
                    text::LOOKUP_REGENERATE,
                    "Generate new backup recovery codes",
                ),
                button(
                    "lookup_secret_disable",
                    text::LOOKUP_DISABLE,
                    "Disable this method",
                ),
            ]);
        } else {
            flow.ui.nodes.push(button(
                "lookup_secret_regenerate",
                text::LOOKUP_REGENERATE,
                "Generate new backup recovery codes",
            ));
        }
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let (engine, tenant, identity) = (ctx.engine, ctx.tenant, target.identity);
        if !is_privileged(engine, tenant, target.session) {
            return Err(refresh_required());
        }
        let body = ctx.body();
        let cipher = cipher(tenant)?;
        if flag(body, "lookup_secret_regenerate") {
            let codes = new_codes();
            flow.internal["lookup_codes"] =
                json!(cipher.seal(&flow_context(tenant, flow.id), &codes.join(",")));
            return Ok(Some(Outcome::Continue));
        }
        if flag(body, "lookup_secret_reveal") {
            let Some(credential) = identity.credential(LOOKUP_SECRET) else {
                flow.ui.messages.push(UiText::error(
                    text::NO_LOOKUP,
                    "You have not set up backup recovery codes.",
                    None,
                ));
                return Ok(Some(Outcome::Invalid));
            };
            let statuses = credential.config["recovery_codes"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .enumerate()
                        .map(|(i, e)| code_status(i, e))
                        .collect()
                })
                .unwrap_or_default();
            flow.ui.nodes.retain(|n| n.name() != "lookup_secret_reveal");
            flow.ui.nodes.push(codes_node(statuses));
            return Ok(Some(Outcome::Shown));
        }
        let txn = engine.db.begin_write().await?;
        if flag(body, "lookup_secret_disable") {
            credential_store::delete(&txn, tenant.project_id, identity.id, LOOKUP_SECRET).await?;
        } else if flag(body, "lookup_secret_confirm") {
            let Some(codes) = pending_codes(ctx, flow)? else {
                return Err(Error::bad_request(
                    "There are no new codes to confirm: generate them first.",
                ));
            };
            let context = digest_context(tenant, identity.id);
            let now = engine.clock.now();
            let entries: Vec<Value> = codes
                .iter()
                .map(|c| json!({ "code_digest": cipher.digest(&context, c), "used_at": null }))
                .collect();
            credential_store::delete(&txn, tenant.project_id, identity.id, LOOKUP_SECRET).await?;
            let credential = Credential {
                id: Uuid::new_v4(),
                kind: LOOKUP_SECRET.to_owned(),
                identifiers: vec![identity.id.to_string()],
                config: json!({ "recovery_codes": entries }),
                version: 0,
                created_at: now,
                updated_at: now,
            };
            identities::insert_credential(&txn, tenant.project_id, identity.id, &credential)
                .await?;
            flow.internal = Value::Null;
        } else {
            return Err(Error::bad_request(
                "Say what to do: `lookup_secret_regenerate`, `lookup_secret_reveal`, `lookup_secret_confirm` or `lookup_secret_disable`.",
            ));
        }
        txn.commit().await.map_err(sql::db_error)?;
        Ok(Some(Outcome::Done(
            engine.get_identity(tenant, identity.id).await?,
        )))
    }
}
