//! The profile method: the identity's traits in settings. A change of the
//! identifiers used to log in needs a privileged session.

use super::{Context, Outcome, SettingsTarget, Strategy};
use crate::flow::model::{Flow, UiText, text};
use crate::flow::service::{duplicate_to_ui, method_button, trait_errors_to_ui, trait_nodes};
use crate::flow::settings::{is_privileged, refresh_required};
use crate::identity::Identity;
use crate::identity::service::IdentityDraft;
use async_trait::async_trait;
use kernel::identity_config::IdentityConfig;
use kernel::{Error, Result};

pub struct Profile;

const PROFILE: &str = "profile";

#[async_trait]
impl Strategy for Profile {
    fn id(&self) -> &'static str {
        PROFILE
    }

    fn enabled(&self, config: &IdentityConfig) -> bool {
        config.methods.profile
    }

    fn populate_settings(
        &self,
        ctx: &Context<'_>,
        identity: &Identity,
        flow: &mut Flow,
    ) -> Result<()> {
        let (schema, _) = ctx.engine.schema(ctx.tenant, &identity.schema_id)?;
        flow.ui
            .nodes
            .extend(trait_nodes(&schema, PROFILE, Some(&identity.traits)));
        flow.ui.nodes.push(method_button(
            PROFILE,
            PROFILE,
            UiText::info(text::LABEL_SAVE, "Save"),
        ));
        Ok(())
    }

    async fn settings(
        &self,
        ctx: &Context<'_>,
        target: SettingsTarget<'_>,
        flow: &mut Flow,
    ) -> Result<Option<Outcome<Identity>>> {
        let (engine, tenant, identity) = (ctx.engine, ctx.tenant, target.identity);
        let Some(submission) = ctx.submission else {
            return Ok(None);
        };
        let (schema, _) = engine.schema(tenant, &identity.schema_id)?;
        let traits = submission
            .traits(&schema)
            .ok_or_else(|| Error::bad_request("the field `traits` is missing"))?;
        for node in trait_nodes(&schema, PROFILE, Some(&traits)) {
            if let Some(value) = node.attributes.get("value") {
                flow.ui.set_value(node.name(), value.clone());
            }
        }
        if let Err(errors) = schema.validate(&traits) {
            trait_errors_to_ui(&mut flow.ui, &errors);
            return Ok(Some(Outcome::Invalid));
        }
        let before = schema.extensions(&identity.traits);
        let after = schema.extensions(&traits);
        if before.password_identifiers != after.password_identifiers
            && !is_privileged(engine, tenant, target.session)
        {
            return Err(refresh_required());
        }
        let draft = IdentityDraft {
            traits,
            ..IdentityDraft::keeping(identity)
        };
        match engine
            .replace_identity(tenant, identity.id, |_| Ok(draft))
            .await
        {
            Ok(updated) => Ok(Some(Outcome::Done(updated))),
            Err(err) => {
                duplicate_to_ui(flow, err)?;
                Ok(Some(Outcome::Invalid))
            }
        }
    }
}
