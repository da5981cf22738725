//! The password method: a first factor for login, registration with the
//! identity's traits, and a new password in settings. Failed logins are
//! throttled before any lookup or hash (`flow/throttle.rs`).

use super::{Authenticated, Context, LoginTarget, Outcome, SettingsTarget, Strategy};
use crate::flow::model::{Flow, UiNode, UiText, text};
use crate::flow::registration::has_errors;
use crate::flow::service::{field, method_button, trait_errors_to_ui, trait_nodes};
use crate::flow::settings::{is_privileged, refresh_required};
use crate::flow::throttle::throttled_message;
use crate::identity::model::PASSWORD;
use crate::identity::service::IdentityDraft;
use crate::identity::store as identities;
use crate::identity::{Identity, IdentityState};
use crate::policy::PasswordPolicy;
use crate::schema::normalize_identifier;
use async_trait::async_trait;
use kernel::Result;
use kernel::identity_config::{Aal, IdentityConfig};
use serde_json::json;
use uuid::Uuid;

pub struct Password;

fn password_node(label: u64, text: &str) -> UiNode {
    UiNode::input(
        PASSWORD,
        "password",
        "password",
        None,
        true,
        Some(UiText::info(label, text)),
    )
}

#[async_trait]
impl Strategy for Password {
    fn id(&self) -> &'static str {
        PASSWORD
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.password
    }

    fn login_aal(&self, _config: &IdentityConfig) -> Option<Aal> {
        Some(Aal::Aal1)
    }

    fn has_credential(&self, identity: &Identity) -> bool {
        identity
            .credential(PASSWORD)
            .and_then(|c| c.hashed_password())
            .is_some()
    }

    fn first_factors(&self, _config: &IdentityConfig, identity: &Identity) -> usize {
        usize::from(self.has_credential(identity))
    }

    fn populate_login(
        &self,
        _: &Context<'_>,
        target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<()> {
        // A refresh asks the signed-in identity for its password again: the
        // identifier is filled in and not to be changed.
        let identifier = target
            .identity
            .filter(|_| target.refresh)
            .and_then(|i| i.credential(PASSWORD))
            .and_then(|c| c.identifiers.first().cloned());
        let input_type = if identifier.is_some() {
            "hidden"
        } else {
            "text"
        };
        flow.ui.nodes.extend([
            UiNode::input(
                "default",
                "identifier",
                input_type,
                Some(json!(identifier.unwrap_or_default())),
                true,
                Some(UiText::info(text::LABEL_ID, "ID")),
            ),
            password_node(text::LABEL_PASSWORD, "Password"),
            method_button(PASSWORD, PASSWORD, UiText::info(text::LOGIN, "Sign in")),
        ]);
        Ok(())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        _target: LoginTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Authenticated>>> {
        let (engine, tenant) = (ctx.engine, ctx.tenant);
        let Some(submission) = ctx.submission else {
            return Ok(None);
        };
        let body = &submission.body;
        let identifier = field(body, "identifier")
            .or_else(|| field(body, "password_identifier"))
            .unwrap_or("");
        let password = field(body, "password").unwrap_or("");
        flow.ui.set_value("identifier", json!(identifier));
        for (name, value) in [("identifier", identifier), ("password", password)] {
            if value.is_empty() {
                flow.ui.node_error(name, UiText::missing(name));
            }
        }
        if identifier.is_empty() || password.is_empty() {
            return Ok(Some(Outcome::Invalid));
        }

        let normalized = normalize_identifier(identifier);
        // While in back-off the attempt is refused before any lookup or
        // hashing: that work is what guessing would cost us. The answer is
        // the same whether the identifier exists or not.
        let now_ms = u64::try_from(engine.clock.now().timestamp_millis()).unwrap_or(0);
        let counted = match engine
            .login_throttle
            .attempt(tenant, &normalized, submission.request.client_ip, now_ms)
            .await
        {
            Ok(counted) => counted,
            Err(wait_secs) => {
                flow.ui.messages.push(throttled_message(wait_secs));
                return Ok(Some(Outcome::Invalid));
            }
        };
        let conn = &engine.db.conn;
        let identity =
            match identities::find_id_by_identifier(conn, tenant.project_id, PASSWORD, &normalized)
                .await?
            {
                Some(id) => identities::find(conn, tenant.project_id, id).await?,
                None => None,
            };
        let stored_hash = identity
            .as_ref()
            .and_then(|i| i.credential(PASSWORD))
            .and_then(|c| c.hashed_password())
            .map(str::to_owned);
        let verified = match &stored_hash {
            Some(hash) => {
                engine
                    .hasher
                    .verify(tenant.project_id, password.to_owned(), hash.clone())
                    .await?
            }
            None => {
                // Spend the same time as a real check, so response times do
                // not tell which identifiers exist.
                engine
                    .hasher
                    .hash(tenant.project_id, password.to_owned())
                    .await?;
                false
            }
        };
        let identity = match identity {
            Some(identity) if verified && identity.state == IdentityState::Active => {
                engine.login_throttle.succeeded(counted).await;
                identity
            }
            _ => {
                flow.ui.messages.push(UiText::error(
                    text::INVALID_CREDENTIALS,
                    "The provided credentials are invalid, check for spelling mistakes in your password or username, email address, or phone number.",
                    None,
                ));
                return Ok(Some(Outcome::Invalid));
            }
        };
        // An imported or outdated hash is upgraded to the configured hasher.
        if let (Some(hash), Some(credential)) = (&stored_hash, identity.credential(PASSWORD))
            && engine.hasher.needs_rehash(hash)
        {
            let new_hash = engine
                .hasher
                .hash(tenant.project_id, password.to_owned())
                .await?;
            identities::update_credential_config(
                conn,
                tenant.project_id,
                credential.id,
                &json!({ "hashed_password": new_hash }),
                engine.clock.now(),
            )
            .await?;
        }
        Ok(Some(Outcome::Done(Authenticated {
            identity,
            identifier: Some(identifier.to_owned()),
        })))
    }

    fn populate_registration(&self, ctx: &Context<'_>, flow: &mut Flow) -> Result<()> {
        let (schema, _) = ctx
            .engine
            .schema(ctx.tenant, &ctx.engine.default_schema_id(ctx.tenant)?)?;
        flow.ui.nodes.extend(trait_nodes(&schema, PASSWORD, None));
        flow.ui.nodes.extend([
            password_node(text::LABEL_PASSWORD, "Password"),
            method_button(
                PASSWORD,
                PASSWORD,
                UiText::info(text::REGISTRATION, "Sign up"),
            ),
        ]);
        Ok(())
    }

    async fn register(
        &self,
        ctx: &Context<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let (engine, tenant) = (ctx.engine, ctx.tenant);
        let Some(submission) = ctx.submission else {
            return Ok(None);
        };
        let password = field(&submission.body, "password").unwrap_or("").to_owned();
        let schema_id = engine.default_schema_id(tenant)?;
        let (schema, _) = engine.schema(tenant, &schema_id)?;
        let traits = submission.traits(&schema).unwrap_or_else(|| json!({}));
        for node in trait_nodes(&schema, PASSWORD, Some(&traits)) {
            if let Some(value) = node.attributes.get("value") {
                flow.ui.set_value(node.name(), value.clone());
            }
        }
        if let Err(errors) = schema.validate(&traits) {
            trait_errors_to_ui(&mut flow.ui, &errors);
        }
        if password.is_empty() {
            flow.ui.node_error("password", UiText::missing("password"));
        } else if traits.is_object() {
            let identifier = schema
                .extensions(&traits)
                .password_identifiers
                .into_iter()
                .next();
            check_policy(ctx, flow, identifier.as_deref(), &password).await;
        }
        if has_errors(flow) {
            return Ok(Some(Outcome::Invalid));
        }
        let hash = engine.hasher.hash(tenant.project_id, password).await?;
        let draft = IdentityDraft {
            schema_id,
            traits,
            state: IdentityState::Active,
            metadata_public: None,
            metadata_admin: None,
            password_hash: Some(hash),
            oidc: Vec::new(),
            verifiable_addresses: Vec::new(),
        };
        Ok(Some(Outcome::Done(engine.materialize(
            tenant,
            Uuid::new_v4(),
            draft,
            None,
        )?)))
    }

    fn populate_settings(&self, _: &Context<'_>, _: &Identity, flow: &mut Flow) -> Result<()> {
        flow.ui.nodes.extend([
            password_node(text::LABEL_PASSWORD, "Password"),
            method_button(PASSWORD, PASSWORD, UiText::info(text::LABEL_SAVE, "Save")),
        ]);
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let (engine, tenant) = (ctx.engine, ctx.tenant);
        if !is_privileged(engine, tenant, target.session) {
            return Err(refresh_required());
        }
        let password = field(ctx.body(), "password").unwrap_or("").to_owned();
        if password.is_empty() {
            flow.ui.node_error("password", UiText::missing("password"));
            return Ok(Some(Outcome::Invalid));
        }
        let identifier = target
            .identity
            .credential(PASSWORD)
            .and_then(|c| c.identifiers.first().cloned());
        if !check_policy(ctx, flow, identifier.as_deref(), &password).await {
            return Ok(Some(Outcome::Invalid));
        }
        let hash = engine.hasher.hash(tenant.project_id, password).await?;
        let draft = IdentityDraft {
            password_hash: Some(hash),
            ..IdentityDraft::keeping(target.identity)
        };
        let updated = engine
            .replace_identity(tenant, target.identity.id, |_| Ok(draft))
            .await?;
        Ok(Some(Outcome::Done(updated)))
    }
}

/// Checks `password` against the project's policy; a violation goes on the
/// password node.
async fn check_policy(
    ctx: &Context<'_>,
    flow: &mut Flow,
    identifier: Option<&str>,
    password: &str,
) -> bool {
    let policy = PasswordPolicy::from_config(&ctx.config().methods.password_policy);
    match policy
        .check(&ctx.engine.breaches, identifier, password)
        .await
    {
        Ok(()) => true,
        Err(violation) => {
            flow.ui.node_error(
                "password",
                UiText::error(violation.id, violation.text, Some(violation.context)),
            );
            false
        }
    }
}
