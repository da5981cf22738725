//! Keyplane's routes beyond Ory's document: the rest of the control plane
//! (members, API keys, revisions, hostnames, invites, subscriptions, `/me`),
//! the hosted UI, and the GET forms of two self-service submits. Bodies use
//! the spec's schemas where it has them (docs/control-plane.md).

use super::spec::{Alt, Auth, BodyKind, Operation, Side};
use serde_json::{Value, json};

const FLOW_KINDS: [&str; 5] = [
    "login",
    "registration",
    "settings",
    "recovery",
    "verification",
];

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

fn cp(method: &str, path: &str) -> Operation {
    Operation::new(method, path, Side::ControlPlane, Auth::Owner)
}

fn tenant(method: &str, path: &str) -> Operation {
    let auth = if path.starts_with("/ui/sessions") || path.starts_with("/ui/welcome") {
        Auth::Session
    } else {
        Auth::Public
    };
    Operation::new(method, path, Side::Tenant, auth)
}

pub fn operations() -> Vec<Operation> {
    use BodyKind::{Form, Json, Raw};
    let patch = json!({ "type": "array", "items": schema("jsonPatch") });
    let role = object(
        json!({ "role": { "type": "string", "enum": ["OWNER", "DEVELOPER", "VIEWER"] } }),
        &["role"],
    );
    let token = object(
        json!({ "name": { "type": "string" },
                "expires_at": { "type": "string", "format": "date-time" } }),
        &["name"],
    );
    let hostname = object(
        json!({ "hostname": { "type": "string" }, "cookie_domain": { "type": "string" },
                "cors_enabled": { "type": "boolean" },
                "cors_allowed_origins": { "type": "array", "items": { "type": "string" } } }),
        &["hostname"],
    );
    let answer = object(json!({ "token": { "type": "string" } }), &["token"]);
    let lookup_query = [
        ("namespace", "string"),
        ("object", "string"),
        ("relation", "string"),
        ("subject_id", "string"),
        ("subject_set.namespace", "string"),
        ("subject_set.object", "string"),
        ("subject_set.relation", "string"),
        ("max-depth", "integer"),
        ("page_size", "integer"),
        ("page_token", "string"),
    ];
    let mock = object(
        json!({ "plan_or_price": schema("NullPlan"), "identity_id": schema("UUID"),
                "project_id": schema("UUID") }),
        &["plan_or_price", "identity_id"],
    );
    let stripe_event = object(
        json!({ "id": { "type": "string" }, "object": { "type": "string", "enum": ["event"] },
                "type": { "type": "string", "enum": [
                    "checkout.session.completed", "customer.subscription.updated",
                    "customer.subscription.deleted", "invoice.paid"] },
                "created": { "type": "integer" },
                "data": object(json!({ "object": { "type": "object" } }), &["object"]) }),
        &["id", "type", "data"],
    );
    let revoke = object(
        json!({ "csrf_token": { "type": "string" }, "session_id": schema("UUID") }),
        &["csrf_token"],
    );
    let invite_form = object(
        json!({ "csrf_token": { "type": "string" }, "token": { "type": "string" },
                "action": { "type": "string", "enum": ["accept", "decline"] } }),
        &["csrf_token", "action"],
    );
    let provider_answer = object(
        json!({ "state": { "type": "string" }, "code": { "type": "string" },
                "error": { "type": "string" }, "user": { "type": "string" } }),
        &[],
    );
    let ui_query: &[(&str, &str)] = &[
        ("flow", "string"),
        ("return_to", "string"),
        ("id", "string"),
    ];

    let mut ops = vec![
        cp("GET", "/me"),
        cp("GET", "/console/active-project"),
        cp("PUT", "/console/active-project").body(Json, schema("activeProject")),
        cp("PUT", "/projects/{project_id}/members/{member_id}").body(Json, role),
        cp("GET", "/projects/{project_id}/access"),
        cp("GET", "/projects/{project_id}/quotas/members"),
        cp("GET", "/projects/{project_id}/tokens"),
        cp("POST", "/projects/{project_id}/tokens").body(Json, token),
        cp("DELETE", "/projects/{project_id}/tokens/{token_id}"),
        cp("GET", "/projects/{project_id}/revisions"),
        cp("GET", "/projects/{project_id}/revisions/{revision_id}"),
        cp("GET", "/projects/{project_id}/revisions/diff")
            .query(&[("from", "string"), ("to", "string")]),
        cp(
            "POST",
            "/projects/{project_id}/revisions/{revision_id}/restore",
        ),
        cp("POST", "/projects/{project_id}/promote").body(
            Json,
            object(
                json!({ "from_project": schema("UUID"), "revision_id": schema("UUID"),
                        "dry_run": { "type": "boolean" } }),
                &["from_project"],
            ),
        ),
        cp("GET", "/projects/{project_id}/audit-log").query(&[
            ("actor", "string"),
            ("action", "string"),
            ("target", "string"),
            ("since", "string"),
            ("until", "string"),
            ("page_size", "string"),
            ("page_token", "string"),
        ]),
        cp("GET", "/me/audit-log").query(&[("page_size", "string"), ("page_token", "string")]),
        cp("GET", "/projects/{project_id}/export"),
        // The body is an NDJSON archive; one record line here.
        cp("POST", "/projects/{project_id}/import")
            .query(&[("mode", "string"), ("ids", "string"), ("config", "string")])
            .body(
                Raw,
                object(
                    json!({ "kind": { "type": "string" }, "format": { "type": "string" } }),
                    &["kind"],
                ),
            ),
        cp("PATCH", "/projects/{project_id}/revision/{revision_id}").body(Json, patch),
        cp("GET", "/projects/{project_id}/hostnames"),
        cp("POST", "/projects/{project_id}/hostnames").body(Json, hostname.clone()),
        cp("PUT", "/projects/{project_id}/hostnames/{hostname_id}").body(Json, hostname),
        cp("DELETE", "/projects/{project_id}/hostnames/{hostname_id}"),
        cp(
            "POST",
            "/projects/{project_id}/hostnames/{hostname_id}/verify",
        ),
        cp("GET", "/projects/{project_id}/quotas/custom-domains"),
        cp("GET", "/projects/{project_id}/invites"),
        cp("POST", "/projects/{project_id}/invites").body(Json, schema("InvitePayload")),
        cp("DELETE", "/projects/{project_id}/invites/{invite_id}"),
        cp("GET", "/invites"),
        cp("POST", "/invites/{invite_id}/accept").body(Json, answer.clone()),
        cp("POST", "/invites/{invite_id}/decline").body(Json, answer),
        cp("POST", "/subscriptions").body(Json, schema("CreateSubscriptionPayload")),
        cp("POST", "/subscriptions/mock").body(Json, mock),
        cp("GET", "/subscriptions/{subscription_id}"),
        cp("PUT", "/subscriptions/{subscription_id}")
            .body(Json, schema("UpdateSubscriptionPayload")),
        cp("GET", "/stripe/customer"),
        Operation::new(
            "POST",
            "/billing/webhooks/stripe",
            Side::ControlPlane,
            Auth::Nobody,
        )
        .body(Raw, stripe_event)
        .header("Stripe-Signature"),
        Operation::new(
            "GET",
            "/metrics/prometheus",
            Side::ControlPlane,
            Auth::Nobody,
        ),
        tenant("GET", "/"),
        // The OpenAPI document, on both hosts.
        Operation::new("GET", "/.well-known/openapi.json", Side::Both, Auth::Nobody),
        // Permission engine II: lookups and batch check.
        Operation::new(
            "GET",
            "/relation-tuples/list-objects",
            Side::Tenant,
            Auth::ApiKey,
        )
        .query(&lookup_query),
        Operation::new(
            "GET",
            "/relation-tuples/list-subjects",
            Side::Tenant,
            Auth::ApiKey,
        )
        .query(&lookup_query),
        Operation::new(
            "POST",
            "/relation-tuples/batch/check",
            Side::Tenant,
            Auth::ApiKey,
        )
        .query(&[("max-depth", "integer")])
        .body(
            Json,
            object(
                json!({ "tuples": { "type": "array", "maxItems": 12,
                                    "items": schema("RelationQuery") } }),
                &[],
            ),
        ),
        // The change feed (without `wait`: a sweep should not sit in
        // long-polls; `wait` is covered in permission_changes.rs).
        Operation::new(
            "GET",
            "/relation-tuples/changes",
            Side::Tenant,
            Auth::ApiKey,
        )
        .query(&[("since", "string"), ("page_size", "integer")]),
        // Removing a second factor (later Kratos' `deleteIdentityCredentials`).
        Operation::new(
            "DELETE",
            "/admin/identities/{id}/credentials/{type}",
            Side::Tenant,
            Auth::ApiKey,
        ),
        // Where sign-in providers send the browser back.
        tenant("GET", "/self-service/methods/oidc/callback/{provider}").query(&[
            ("state", "string"),
            ("code", "string"),
            ("error", "string"),
        ]),
        // Providers that answer with a form post (Apple's `form_post`).
        tenant("POST", "/self-service/methods/oidc/callback/{provider}")
            .body(Form, provider_answer),
        // The links in recovery and verification mails: GET forms of the
        // spec's submissions, answering as they do.
        tenant("GET", "/self-service/recovery")
            .query(&[("flow", "string"), ("token", "string")])
            .alt(400, Alt::Flow),
        tenant("GET", "/self-service/verification")
            .query(&[("flow", "string"), ("token", "string")])
            .alt(400, Alt::Flow),
        tenant("GET", "/ui"),
        tenant("GET", "/ui/welcome").query(ui_query),
        tenant("GET", "/ui/sessions").query(ui_query),
        tenant("POST", "/ui/sessions/revoke").body(Form, revoke),
        tenant("GET", "/ui/error").query(ui_query),
        tenant("GET", "/ui/assets/ui.css"),
        tenant("GET", "/ui/assets/ui.js"),
        tenant("GET", "/ui/invites/{invite_id}").query(&[("token", "string")]),
        tenant("POST", "/ui/invites/{invite_id}").body(Form, invite_form),
    ];
    for kind in FLOW_KINDS {
        ops.push(tenant("GET", &format!("/ui/{kind}")).query(ui_query));
    }
    ops
}
