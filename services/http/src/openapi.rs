//! `GET /.well-known/openapi.json`: Keyplane's OpenAPI document
//! (`docs/openapi.json`, compiled in). The control-plane host answers all
//! of it; a tenant host the paths a tenant host serves, which the document
//! marks with `x-keyplane-host` (`tenant`, `control-plane`, or both). The
//! route-diff test (`tests/tests/openapi_routes.rs`) holds the marks and
//! the paths to the router's own table.

use actix_web::{HttpResponse, web};
use serde_json::Value;
use std::sync::LazyLock;

/// The document as kept in the repository.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The mark of a path item the tenant hosts serve.
pub const TENANT: &str = "tenant";
/// The mark of a path item the control-plane host serves.
pub const CONTROL_PLANE: &str = "control-plane";

/// Which hosts serve a path item (its `x-keyplane-host` list).
pub fn hosts_of(item: &Value) -> Vec<&str> {
    item.get("x-keyplane-host")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// The document with only the paths `host` serves.
pub fn for_host(document: &Value, host: &str) -> Value {
    let mut document = document.clone();
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|_, item| hosts_of(item).contains(&host));
    }
    document
}

// The document is compiled in and parsed by a test, so parsing cannot
// fail in a build that passed its tests; an empty object if it did.
static PARSED: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(DOCUMENT).unwrap_or_default());
static WHOLE: LazyLock<String> = LazyLock::new(|| PARSED.to_string());
static TENANT_SUBSET: LazyLock<String> = LazyLock::new(|| for_host(&PARSED, TENANT).to_string());

fn answer(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(body)
}

/// The whole document, on the control-plane host.
pub fn configure_control_plane(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openapi.json").get(|| async { answer(WHOLE.as_str()) }),
    );
}

/// The tenant hosts' part of the document.
pub fn configure_tenant(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openapi.json").get(|| async { answer(TENANT_SUBSET.as_str()) }),
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_document_parses_and_every_path_names_its_hosts() {
        let document: Value = serde_json::from_str(DOCUMENT).unwrap();
        let paths = document["paths"].as_object().unwrap();
        assert!(!paths.is_empty());
        for (path, item) in paths {
            let hosts = hosts_of(item);
            assert!(
                !hosts.is_empty() && hosts.iter().all(|h| [TENANT, CONTROL_PLANE].contains(h)),
                "{path}: x-keyplane-host must list tenant and/or control-plane, has {hosts:?}"
            );
        }
    }

    #[test]
    fn a_host_gets_its_own_paths_only() {
        let document = json!({ "paths": {
            "/a": { "x-keyplane-host": ["tenant"] },
            "/b": { "x-keyplane-host": ["control-plane"] },
            "/c": { "x-keyplane-host": ["tenant", "control-plane"] }
        }});
        let tenant = for_host(&document, TENANT);
        let keys: Vec<&String> = tenant["paths"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["/a", "/c"]);
    }
}
