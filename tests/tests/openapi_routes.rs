//! `docs/openapi.json` against the router: every route the server registers
//! is in the document, on the hosts its `x-keyplane-host` names, and every
//! operation of the document is a route the server registers. The router's
//! side is actix's own introspection (`keyplane_server::routing::table`),
//! not a list kept by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{create_project, owner, tenant_client};
use keyplane_server::routing::{Host, Route, path_shape as shape, table};
use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

fn documented() -> BTreeSet<Route> {
    let document: Value = serde_json::from_str(http::openapi::DOCUMENT).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for host in http::openapi::hosts_of(item) {
            let host = match host {
                http::openapi::TENANT => Host::Tenant,
                _ => Host::ControlPlane,
            };
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                routes.insert(Route {
                    host,
                    method: method.to_uppercase(),
                    path: shape(path),
                });
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_server_serves() {
    let served: BTreeSet<Route> = table()
        .await
        .unwrap()
        .into_iter()
        .map(|r| Route {
            path: shape(&r.path),
            ..r
        })
        .collect();
    assert!(
        served.len() > 100,
        "the route table looks empty: {served:?}"
    );
    let documented = documented();
    let undocumented: Vec<&Route> = served.difference(&documented).collect();
    let unserved: Vec<&Route> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in docs/openapi.json: {undocumented:#?}\n\
         in docs/openapi.json but not served: {unserved:#?}"
    );
}

/// Served as documented: the control-plane host answers the whole
/// document, a tenant host its own part.
#[tokio::test]
async fn each_host_serves_its_part_of_the_document() {
    let (server, _token, cp) = owner().await;
    let whole: Value = reqwest::get(format!("{}/.well-known/openapi.json", server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project = create_project(&cp, "Documented").await;
    let (client, base) = tenant_client(&server, &project.slug);
    let answer = client
        .get(format!("{base}/.well-known/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let tenant: Value = answer.json().await.unwrap();
    let document: Value = serde_json::from_str(http::openapi::DOCUMENT).unwrap();
    assert_eq!(whole, document);
    let paths = |doc: &Value| -> BTreeSet<String> {
        doc["paths"].as_object().unwrap().keys().cloned().collect()
    };
    for path in [
        "/projects",
        "/sessions/whoami",
        "/relation-tuples/list-objects",
    ] {
        assert!(paths(&whole).contains(path), "{path}");
    }
    assert!(paths(&tenant).contains("/sessions/whoami"));
    assert!(paths(&tenant).contains("/.well-known/openapi.json"));
    assert!(!paths(&tenant).contains("/projects"));
    assert!(!paths(&tenant).contains("/projects/{project_id}/audit-log"));
    assert_eq!(tenant["components"], whole["components"]);
}

#[test]
fn path_shapes_ignore_parameter_names() {
    assert_eq!(
        shape("/projects/{project_id}/x"),
        shape("/projects/{projectId}/x")
    );
    assert_ne!(shape("/projects/{id}"), shape("/projects/{id}/x"));
}
