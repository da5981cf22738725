//! RFC 6902 JSON Patch applied with limits (`kernel::json_patch`), the
//! code path of `PATCH /projects/{id}` and `PATCH /admin/identities/{id}`.
//!
//! The first byte picks the mode. Bit 0 clear: the rest is the patch as
//! JSON text (the seeds are real patches); set: the rest drives `arbitrary`
//! to build operations whose paths mostly exist in the document. Bit 1:
//! the project document or an identity. Bits 2-7: the limits (0, the
//! production defaults; else smaller ones). Either way the
//! patch goes through serde (as a request body does) and is applied to a
//! project document or an identity, under limits small enough to be hit.
//! Invariant: a patch of at least one operation that applies leaves a
//! document within the limits (each operation's result is checked).
//! A patched project document is then normalized, as the endpoint does.

#![no_main]

use arbitrary::{Result, Unstructured};
use controlplane::revision::{assemble, defaults, replace_identity, replace_permission};
use json_patch::Patch;
use kernel::json_patch::{PatchLimits, json_depth, json_size};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

static PROJECT: LazyLock<(controlplane::revision::RevisionContent, Value)> = LazyLock::new(|| {
    let content = defaults::default_revision("Fuzz", "https://fuzz.projects.localhost")
        .unwrap_or_else(|e| panic!("the default revision: {e}"));
    let document = json!({
        "name": content.name,
        "services": {
            "identity": { "config": assemble::identity_config(&content) },
            "permission": { "config": assemble::permission_config(&content) },
        }
    });
    (content, document)
});

/// An identity as the admin API shows it (what an identity patch edits).
static IDENTITY: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "id": "0190f5a0-7e1c-7d1e-9b1a-3c4d5e6f7a8b",
        "schema_id": "default",
        "schema_url": "https://fuzz.projects.localhost/schemas/ZGVmYXVsdA",
        "state": "active",
        "state_changed_at": "2025-01-01T00:00:00Z",
        "traits": { "email": "ada@example.com", "name": { "first": "Ada", "last": "Lovelace" }, "tags": ["a", "b"] },
        "verifiable_addresses": [{ "id": "0190f5a0-7e1c-7d1e-9b1a-3c4d5e6f7a8c", "value": "ada@example.com", "verified": false, "via": "email", "status": "pending" }],
        "recovery_addresses": [{ "id": "0190f5a0-7e1c-7d1e-9b1a-3c4d5e6f7a8d", "value": "ada@example.com", "via": "email" }],
        "metadata_public": { "plan": "free" },
        "metadata_admin": null,
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z"
    })
});

/// Keys that occur in the documents: paths built from them mostly exist.
const KEYS: &[&str] = &[
    "name",
    "services",
    "identity",
    "permission",
    "config",
    "selfservice",
    "flows",
    "registration",
    "login",
    "settings",
    "after",
    "before",
    "password",
    "hooks",
    "methods",
    "enabled",
    "secrets",
    "cookie",
    "cipher",
    "identity",
    "schemas",
    "default_schema_id",
    "url",
    "namespaces",
    "limit",
    "max_read_depth",
    "id",
    "traits",
    "email",
    "first",
    "tags",
    "state",
    "metadata_public",
    "metadata_admin",
    "verifiable_addresses",
    "verified",
    "value",
    "session",
    "courier",
    "lifespan",
    "ui_url",
    "branding",
    "hook",
    "web_hook",
    "",
];

fn segment(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=9u8)? {
        0..=5 => (*u.choose(KEYS)?).to_owned(),
        6 | 7 => u.int_in_range(0..=4u8)?.to_string(),
        8 => "-".to_owned(),
        _ => u.arbitrary::<String>()?,
    })
}

fn path(u: &mut Unstructured<'_>) -> Result<String> {
    let mut out = String::new();
    for _ in 0..u.int_in_range(0..=7u8)? {
        out.push('/');
        out.push_str(&segment(u)?);
    }
    Ok(out)
}

fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let pick = if depth == 0 {
        u.int_in_range(0..=4u8)?
    } else {
        u.int_in_range(0..=6u8)?
    };
    Ok(match pick {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 => Value::String(u.arbitrary()?),
        5 => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                items.push(value(u, depth - 1)?);
            }
            Value::Array(items)
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=4u8)? {
                map.insert(segment(u)?, value(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

fn operations(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < 64 {
        let op = match u.int_in_range(0..=5u8)? {
            0 => json!({ "op": "add", "path": path(u)?, "value": value(u, 3)? }),
            1 => json!({ "op": "remove", "path": path(u)? }),
            2 => json!({ "op": "replace", "path": path(u)?, "value": value(u, 3)? }),
            3 => json!({ "op": "move", "from": path(u)?, "path": path(u)? }),
            4 => json!({ "op": "copy", "from": path(u)?, "path": path(u)? }),
            _ => json!({ "op": "test", "path": path(u)?, "value": value(u, 2)? }),
        };
        ops.push(op);
    }
    Ok(Value::Array(ops))
}

/// The production limits (selector 0) or smaller ones, to be hit.
fn limits(selector: u8) -> PatchLimits {
    let limits = PatchLimits {
        max_operations: [1000, 16, 3, 1][usize::from(selector & 3)],
        max_document_bytes: [1024 * 1024, 64 * 1024, 8 * 1024, 1024]
            [usize::from(selector >> 2 & 3)],
        max_depth: [64, 16, 10, 8][usize::from(selector >> 4 & 3)],
    };
    assert!(limits.validate().is_ok(), "{limits:?}");
    limits
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let patch_json = if mode & 1 == 0 {
        match serde_json::from_slice::<Value>(rest) {
            Ok(v) => v,
            Err(_) => return,
        }
    } else {
        match operations(&mut Unstructured::new(rest)) {
            Ok(v) => v,
            Err(_) => return,
        }
    };
    // As the endpoints read the body.
    let Ok(patch) = serde_json::from_value::<Patch>(patch_json) else {
        return;
    };
    let limits = limits(mode >> 2);
    let on_project = mode & 2 == 0;
    let mut doc = if on_project {
        PROJECT.1.clone()
    } else {
        IDENTITY.clone()
    };
    let result = limits.apply(&mut doc, &patch);
    if patch.0.len() > limits.max_operations {
        assert!(
            result.is_err(),
            "{} operations over the limit were applied",
            patch.0.len()
        );
    }
    if let Err(e) = &result {
        assert_eq!(e.status(), 400, "{e}");
        return;
    }
    if patch.0.is_empty() {
        // Nothing ran, nothing grew: the document may have been over the
        // limits before (a limit lowered later), and still is.
        assert_eq!(
            doc,
            if on_project {
                PROJECT.1.clone()
            } else {
                IDENTITY.clone()
            }
        );
    } else {
        let size = json_size(&doc);
        assert!(
            size <= limits.max_document_bytes,
            "patched to {size} bytes: {limits:?}"
        );
        let depth = json_depth(&doc);
        assert!(
            depth <= limits.max_depth,
            "patched to depth {depth}: {limits:?}"
        );
    }
    if on_project {
        // What `PATCH /projects/{id}` does with the patched document.
        let mut content = PROJECT.0.clone();
        let identity = doc
            .pointer("/services/identity/config")
            .cloned()
            .unwrap_or(Value::Null);
        let permission = doc
            .pointer("/services/permission/config")
            .cloned()
            .unwrap_or(Value::Null);
        if replace_identity(&mut content, &identity).is_ok()
            && replace_permission(&mut content, &permission).is_ok()
        {
            let _ = assemble::tenant_config(&content);
        }
    }
});
