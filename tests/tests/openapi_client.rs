//! A client generated from `docs/openapi.json` by a well-kept generator
//! drives a short flow against a real `keyplane serve`: openapi-typescript
//! (npm, pinned in `tests/openapi_client/package-lock.json`) turns the
//! document into types, `tsc` compiles `tests/openapi_client/flow.ts`
//! against them (strict), and the compiled flow creates a project, invites
//! a colleague, creates an API key and lists the custom hostnames through
//! openapi-fetch. The test then checks through the API itself that all of it
//! happened, and that the key works on the tenant's admin API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi_client")
}

/// Runs a program of the client's `node_modules/.bin` (or node itself) in
/// the client's directory; panics with its output when it fails.
fn run_in_client_dir(program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = client_dir();
    let bin = dir.join("node_modules/.bin").join(program);
    let mut command = Command::new(if bin.exists() { bin } else { program.into() });
    let out = command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_client_generated_from_the_document_drives_project_invite_key_and_hostnames() {
    let dir = client_dir();
    keyplane_tests::npm::ensure_node_modules(&dir);
    // Generated from the repository's document on every run, so the flow
    // compiles against what the server serves today.
    run_in_client_dir(
        "openapi-typescript",
        &[
            "../../docs/openapi.json",
            "--output",
            "generated/keyplane.d.ts",
        ],
        &[],
    );
    run_in_client_dir("tsc", &["-p", "."], &[]);

    let (server, token) = keyplane_tests::serve_with_owner("owner@example.com").await;

    let printed = run_in_client_dir(
        "node",
        &["dist/flow.js"],
        &[("KEYPLANE_URL", &server.url()), ("KEYPLANE_TOKEN", &token)],
    );
    let created: Value = serde_json::from_str(printed.trim())
        .unwrap_or_else(|e| panic!("the flow printed no JSON ({e}): {printed}"));
    let project_id = created["project_id"].as_str().unwrap();
    let slug = created["slug"].as_str().unwrap();

    let (status, project) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{project_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(project["slug"], slug);
    assert_eq!(project["name"], "Generated client");
    assert_eq!(created["state"], "running");

    let (status, invites) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{project_id}/invites"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{invites}");
    let invite = invites
        .as_array()
        .unwrap()
        .iter()
        .find(|invite| invite["id"] == created["invite_id"])
        .unwrap_or_else(|| panic!("the generated client's invite is not listed: {invites}"));
    assert_eq!(invite["invitee_email"], "colleague@example.com");
    assert_eq!(invite["status"], "pending");
    assert_eq!(created["invite_status"], "pending");

    let (status, keys) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{project_id}/tokens"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{keys}");
    let listed = keys.as_array().unwrap();
    assert!(
        listed.iter().any(|key| key["id"] == created["api_key_id"]),
        "{keys}"
    );
    assert!(
        listed.iter().all(|key| key.get("value").is_none()),
        "{keys}"
    );

    // The key the generated client received works on the tenant's admin API.
    let key = created["api_key_value"].as_str().unwrap();
    assert!(key.starts_with("ory_apikey_"), "{key}");
    let (status, identities) =
        tenant_call(&server, slug, key, Method::GET, "/admin/identities", None).await;
    assert_eq!(status, 200, "{identities}");

    assert_eq!(created["hostnames"], serde_json::json!([]));
}
