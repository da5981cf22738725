//! The contract test: Schemathesis (PyPI, pinned in
//! `tests/contract/requirements.txt`) generates requests from the OpenAPI
//! document each host serves at `/.well-known/openapi.json` and sends them
//! to a real `keyplane serve` with default settings: a configured tenant
//! (namespaces, an identity, a project API key) and the control plane. It
//! fails on any server error, dropped connection or timeout, status the
//! document does not list, undocumented content type, missing documented
//! header, or body that does not match the response schema.
//!
//! Bounded: a fixed number of cases per operation (`KEYPLANE_CONTRACT_EXAMPLES`,
//! default 10) and a hard time limit per run. The seed is fixed, so CI runs
//! the same cases; `KEYPLANE_CONTRACT_SEED` explores others.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The checks that must pass; `unsupported_method` (405 for methods a path
/// lacks: Keyplane answers 404, as Ory's servers do) and the data-acceptance
/// checks (whether every schema-valid body is accepted) are not the contract.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// Longer than any one run has taken on the CI machine (about a minute).
/// One worker: Hypothesis's lambda-description cache is not thread-safe, and
/// with two, Schemathesis 4.32 now and then reports its own race as a
/// "flaky" error on an operation.
const RUN_LIMIT: Duration = Duration::from_secs(600);

fn contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contract")
}

struct Run<'a> {
    name: &'a str,
    document: Value,
    base: String,
    headers: Vec<String>,
    filters: Vec<&'a str>,
    env: Vec<(&'a str, String)>,
}

/// Runs Schemathesis once; panics with its report when it finds anything.
async fn schemathesis(run: Run<'_>, scratch: &Path) {
    let file = scratch.join(format!("{}.json", run.name));
    std::fs::write(&file, run.document.to_string()).unwrap();
    let examples = std::env::var("KEYPLANE_CONTRACT_EXAMPLES").unwrap_or_else(|_| "10".into());
    let seed = std::env::var("KEYPLANE_CONTRACT_SEED").unwrap_or_else(|_| "1".into());
    let mut command = tokio::process::Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "run"])
        .arg(&file)
        .args(["--url", &run.base, "--checks", CHECKS])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--workers", "1", "--request-timeout", "20"])
        .args(["--generation-database", "none", "--no-color"])
        .args(run.headers.iter().flat_map(|h| ["--header", h.as_str()]))
        .args(&run.filters)
        .env("PYTHONPATH", contract_dir())
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .current_dir(scratch)
        .kill_on_drop(true);
    let started = std::time::Instant::now();
    let out = tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis ({}) ran past {RUN_LIMIT:?}", run.name))
        .expect("schemathesis must be installed: pip install -r tests/contract/requirements.txt (.ci/services does)");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "[contract] {} took {:?}: {}",
        run.name,
        started.elapsed(),
        report
            .lines()
            .rev()
            .find(|l| l.contains(" in "))
            .unwrap_or("")
    );
    assert!(
        out.status.success(),
        "schemathesis ({}) found problems:\n{report}\n{}",
        run.name,
        String::from_utf8_lossy(&out.stderr)
    );
    // A run that sent nothing would pass too.
    assert!(report.contains("Tested:"), "{report}");
}

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_promise() {
    let (server, token) = keyplane_tests::serve_with_owner("owner@example.com").await;

    // A configured tenant: namespaces, an identity and an API key.
    let (status, project) = call(
        &server,
        &token,
        Method::POST,
        "/projects",
        Some(json!({ "name": "Contract" })),
    )
    .await;
    assert_eq!(status, 201, "{project}");
    let project_id = project["id"].as_str().unwrap().to_owned();
    let slug = project["slug"].as_str().unwrap().to_owned();
    set_namespaces(&server, &token, &project_id, &["files", "groups"]).await;
    let (status, key) = call(
        &server,
        &token,
        Method::POST,
        &format!("/projects/{project_id}/tokens"),
        Some(json!({ "name": "contract" })),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let key = key["value"].as_str().unwrap().to_owned();
    let (status, identity) = tenant_call(
        &server,
        &slug,
        &key,
        Method::POST,
        "/admin/identities",
        Some(json!({ "schema_id": "default", "traits": { "email": "alice@example.com" } })),
    )
    .await;
    assert_eq!(status, 201, "{identity}");
    let (status, tuple) = tenant_call(
        &server,
        &slug,
        &key,
        Method::PUT,
        "/admin/relation-tuples",
        Some(json!({ "namespace": "files", "object": "doc", "relation": "viewer", "subject_id": "alice" })),
    )
    .await;
    assert_eq!(status, 201, "{tuple}");

    // Each host's own document, as served.
    let (tenant_http, tenant_base) = tenant_client(&server, &slug);
    let tenant_document = keyplane_tests::get_json(
        &tenant_http,
        &format!("{tenant_base}/.well-known/openapi.json"),
    )
    .await;
    let control_plane_document = keyplane_tests::get_json(
        &keyplane_tests::client(),
        &format!("{}/.well-known/openapi.json", server.url()),
    )
    .await;

    let scratch = std::env::temp_dir()
        .join("keyplane-tests")
        .join(format!("contract-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).unwrap();
    let host = format!("Host: {}:{}", tenant_host(&slug), server.port);
    // The tenant first: the control-plane run rewrites and restores the
    // project's config, which would leave the tenant half-configured.
    schemathesis(
        Run {
            name: "tenant",
            document: tenant_document,
            base: server.url(),
            headers: vec![host, format!("Authorization: Bearer {key}")],
            filters: Vec::new(),
            env: vec![(
                "KEYPLANE_CONTRACT_IDENTITY_ID",
                identity["id"].as_str().unwrap().to_owned(),
            )],
        },
        &scratch,
    )
    .await;
    let control_plane =
        http::openapi::for_host(&control_plane_document, http::openapi::CONTROL_PLANE);
    let owner = format!("Authorization: Bearer {token}");
    // Purging last: Schemathesis reuses the ids it sees in answers, and a
    // project purged mid-run leaves the other operations only 404s.
    for (name, filters) in [
        ("control-plane", ["--exclude-operation-id", "purgeProject"]),
        (
            "control-plane-purge",
            ["--include-operation-id", "purgeProject"],
        ),
    ] {
        schemathesis(
            Run {
                name,
                document: control_plane.clone(),
                base: server.url(),
                headers: vec![owner.clone()],
                filters: filters.to_vec(),
                env: vec![("KEYPLANE_CONTRACT_PROJECT_ID", project_id.clone())],
            },
            &scratch,
        )
        .await;
    }
}
