//! What every flow shares: creation with the revision's lifespan, loading
//! with expiry, the stored self-service errors, and the outcome type.

use super::model::{Flow, FlowKind, UiContainer, UiNode, UiText, text};
use super::store as flows;
use crate::engine::IdentityEngine;
use kernel::identity_config::{FlowConfig, IdentityConfig};
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use serde_json::{Value, json};
use uuid::Uuid;

/// The result of a submission: done (with the flow, whose type and
/// `return_to` say how to answer), or the flow back with messages on its
/// nodes (answered 400 to API clients, a redirect to the UI for browsers).
pub enum Submitted<T> {
    Done { value: T, flow: Box<Flow> },
    Invalid(Box<Flow>),
}

impl<T> Submitted<T> {
    pub fn done(value: T, flow: Flow) -> Self {
        Submitted::Done {
            value,
            flow: Box::new(flow),
        }
    }
}

/// Kratos' `session_already_available` 400.
pub fn session_already_available() -> Error {
    Error::bad_request("A valid session was detected and thus this flow is not possible. Did you forget to set `?refresh=true`?")
        .with_id("session_already_available")
}

/// The tenant's typed identity config.
pub fn config(tenant: &TenantCtx) -> &IdentityConfig {
    &tenant.config.identity_config
}

/// The config of the flows of `kind`.
pub fn flow_config(tenant: &TenantCtx, kind: FlowKind) -> &FlowConfig {
    let config = config(tenant);
    match kind {
        FlowKind::Login => &config.login,
        FlowKind::Registration => &config.registration,
        FlowKind::Settings => &config.settings,
        FlowKind::Recovery => &config.recovery,
        FlowKind::Verification => &config.verification,
    }
}

/// Reads a JSON string field of a submission.
pub fn field<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

impl IdentityEngine {
    /// A new API flow of `kind` with `nodes`, not yet stored.
    pub(crate) fn new_flow(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        request_url: String,
        mut nodes: Vec<UiNode>,
    ) -> Flow {
        let now = self.clock.now();
        let id = Uuid::new_v4();
        // API clients have no cookie to pair a token with; Kratos still
        // renders the node, empty.
        nodes.insert(
            0,
            UiNode::input(
                "default",
                "csrf_token",
                "hidden",
                Some(json!("")),
                true,
                None,
            ),
        );
        let lifespan = chrono::Duration::from_std(flow_config(tenant, kind).lifespan)
            .unwrap_or(chrono::Duration::hours(1));
        Flow {
            id,
            flow_type: "api".to_owned(),
            expires_at: now + lifespan,
            issued_at: now,
            request_url,
            return_to: None,
            ui: UiContainer {
                action: format!(
                    "{}/self-service/{}?flow={id}",
                    tenant.public_url,
                    kind.as_str()
                ),
                method: "POST".to_owned(),
                nodes,
                messages: Vec::new(),
            },
            active: None,
            refresh: None,
            requested_aal: None,
            identity: None,
            state: None,
            created_at: now,
            updated_at: now,
            internal: Value::Null,
        }
    }

    pub(crate) async fn store_flow(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        identity_id: Option<Uuid>,
        flow: &Flow,
    ) -> Result<()> {
        flows::insert(&self.db.conn, tenant.project_id, kind, identity_id, flow).await
    }

    pub(crate) async fn save_flow(&self, tenant: &TenantCtx, flow: &mut Flow) -> Result<()> {
        flow.updated_at = self.clock.now();
        flows::update(&self.db.conn, tenant.project_id, flow).await
    }

    /// A flow of this tenant and kind: 404 if unknown, 410 if expired.
    pub(crate) async fn load_flow(
        &self,
        tenant: &TenantCtx,
        kind: FlowKind,
        id: Uuid,
    ) -> Result<(Flow, Option<Uuid>)> {
        let (flow, identity_id) = flows::find(&self.db.conn, tenant.project_id, kind, id)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!("The {} flow could not be found.", kind.as_str()))
            })?;
        let now = self.clock.now();
        if flow.expires_at <= now {
            let ago = now - flow.expires_at;
            let minutes = ago.num_milliseconds() as f64 / 60_000.0;
            let err = Error::new(kernel::ErrorKind::Gone)
                .with_id("self_service_flow_expired")
                .with_message("self-service flow expired")
                .with_reason(format!(
                    "The self-service flow expired {minutes:.2} minutes ago, initialize a new one."
                ))
                .with_details(json!({
                    "since": ago.num_nanoseconds().unwrap_or(i64::MAX),
                    "message_id": text::FLOW_EXPIRED,
                }));
            self.record_error(tenant, &err).await?;
            return Err(err);
        }
        Ok((flow, identity_id))
    }

    /// Stores a flow error so it can be fetched at `/self-service/errors?id=`.
    pub(crate) async fn record_error(&self, tenant: &TenantCtx, err: &Error) -> Result<Uuid> {
        let id = Uuid::new_v4();
        let body = http::error::error_body(err)["error"].clone();
        flows::insert_error(
            &self.db.conn,
            tenant.project_id,
            id,
            &body,
            self.clock.now(),
        )
        .await
        .map_err(|e| Error::internal(format!("storing a flow error: {e}")))?;
        Ok(id)
    }

    /// `getSelfServiceError`. The `stub:<code>` ids answer a sample error,
    /// as Kratos does, for UI development.
    pub async fn get_self_service_error(&self, tenant: &TenantCtx, id: &str) -> Result<Value> {
        if let Some(code) = id.strip_prefix("stub:") {
            let code: u16 = code.parse().unwrap_or(500);
            let now = self.clock.now();
            return Ok(json!({
                "id": id,
                "error": {"code": code, "status": actix_web::http::StatusCode::from_u16(code).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error"), "message": "This is a stub error."},
                "created_at": now, "updated_at": now,
            }));
        }
        let uuid =
            Uuid::parse_str(id).map_err(|_| Error::not_found("The error could not be found."))?;
        let (error, created_at) = flows::find_error(&self.db.conn, tenant.project_id, uuid)
            .await?
            .ok_or_else(|| Error::not_found("The error could not be found."))?;
        Ok(
            json!({ "id": uuid, "error": error, "created_at": created_at, "updated_at": created_at }),
        )
    }
}

/// The `method` submit button of a form.
pub fn method_button(group: &str, value: &str, label: UiText) -> UiNode {
    UiNode::input(
        group,
        "method",
        "submit",
        Some(json!(value)),
        false,
        Some(label),
    )
}

/// Nodes for every trait of the schema (`traits.<path>`), filled from `traits`.
pub fn trait_nodes(
    schema: &crate::schema::CompiledSchema,
    group: &str,
    traits: Option<&Value>,
) -> Vec<UiNode> {
    let required = schema.required_traits();
    schema
        .trait_fields()
        .into_iter()
        .map(|(path, kind, format, title)| {
            let input_type = match (kind.as_str(), format.as_deref()) {
                (_, Some("email")) => "email",
                (_, Some("tel")) => "tel",
                (_, Some("date")) => "date",
                (_, Some("uri")) => "url",
                ("number" | "integer", _) => "number",
                ("boolean", _) => "checkbox",
                _ => "text",
            };
            let pointer = format!("/{}", path.replace('.', "/"));
            let value = traits.and_then(|t| t.pointer(&pointer)).cloned();
            let top = path.split('.').next().unwrap_or(&path).to_owned();
            let label = UiText::info(text::LABEL_GENERATED, title.unwrap_or_else(|| path.clone()));
            let mut node = UiNode::input(
                group,
                &format!("traits.{path}"),
                input_type,
                value,
                required.contains(&top) && !path.contains('.'),
                Some(label),
            );
            // Not a Kratos attribute (clients ignore unknown ones): the
            // schema's `enum`, so a UI can offer a choice instead of a
            // free text field.
            if let Some(options) = schema.trait_enum(&path) {
                node.attributes["options"] = Value::Array(options.clone());
            }
            node
        })
        .collect()
}

/// Puts trait validation errors on their nodes.
pub fn trait_errors_to_ui(ui: &mut UiContainer, errors: &[crate::schema::TraitError]) {
    for e in errors {
        let name = if e.pointer.is_empty() {
            // A missing required trait: the message names it.
            required_property(&e.message).map(|p| format!("traits.{p}"))
        } else {
            Some(format!("traits{}", e.pointer.replace('/', ".")))
        };
        let message = match required_property(&e.message) {
            Some(p) if e.pointer.is_empty() => UiText::missing(&p),
            _ => UiText::error(
                text::VALIDATION_GENERIC,
                e.message.clone(),
                Some(json!({ "reason": e.message })),
            ),
        };
        match name {
            Some(name) => ui.node_error(&name, message),
            None => ui.messages.push(message),
        }
    }
}

/// `"email" is a required property` → `email`.
fn required_property(message: &str) -> Option<String> {
    let rest = message.strip_suffix(" is a required property")?;
    Some(rest.trim_matches('"').to_owned())
}

/// Puts an identifier collision on the form (Kratos' 4000007); any other
/// failed write is returned as the error it is.
pub fn duplicate_to_ui(flow: &mut Flow, err: Error) -> Result<()> {
    if err.kind == kernel::ErrorKind::Conflict {
        flow.ui.messages.push(UiText::error(
            text::DUPLICATE_IDENTIFIER,
            "An account with the same identifier (email, phone, username, ...) exists already.",
            None,
        ));
        return Ok(());
    }
    Err(err)
}
