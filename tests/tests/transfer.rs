//! Export and import of a whole tenant: a project's archive imported into
//! a new project lets its users log in with their passwords and their
//! authenticator app, and its checks answer the same; the archive carries
//! no secret of the project and no second-factor seed in clear; bad
//! archives are refused with the line that is wrong and what was
//! committed; a cut import resumes with `mode=merge`; exports of one
//! project never show another's identities.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::second_factor::{aal, link_totp, now, step_up, totp_login_body};
use common::*;
use ory_client::apis::configuration::Configuration;
use ory_client::apis::{read_api, write_api};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "a long and lonely passphrase";
const ARCHIVE_KEY: &str = "an archive key of at least thirty-two characters";
const KEY_HEADER: &str = "Keyplane-Archive-Key";

async fn allowed(admin: &Configuration, text: &str) -> bool {
    read_api::post_check(admin, None, Some(relation_query(text)))
        .await
        .unwrap()
        .allowed
}

/// `GET /projects/{id}/export`: `(status, body text)`.
async fn export(
    server: &keyplane_server::RunningServer,
    token: &str,
    project: &str,
    key: Option<&str>,
) -> (u16, String) {
    let mut request = keyplane_tests::client()
        .get(format!("{}/projects/{project}/export", server.url()))
        .bearer_auth(token);
    if let Some(key) = key {
        request = request.header(KEY_HEADER, key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// `POST /projects/{id}/import?{query}` with `archive`: `(status, JSON)`.
async fn import(
    server: &keyplane_server::RunningServer,
    token: &str,
    project: &str,
    query: &str,
    key: Option<&str>,
    archive: String,
) -> (u16, Value) {
    let mut request = keyplane_tests::client()
        .post(format!(
            "{}/projects/{project}/import?{query}",
            server.url()
        ))
        .bearer_auth(token)
        .body(archive);
    if let Some(key) = key {
        request = request.header(KEY_HEADER, key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn records(archive: &str) -> Vec<Value> {
    archive
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn identity_count(server: &keyplane_server::RunningServer, slug: &str, token: &str) -> usize {
    let (status, list) =
        tenant_call(server, slug, token, Method::GET, "/admin/identities", None).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().len()
}

/// A project with TOTP on, two namespaces, three users (one with an
/// authenticator app) and tuples naming them; `(project, app, ids)`.
async fn populated(
    server: &keyplane_server::RunningServer,
    token: &str,
    cp: &Configuration,
) -> (ory_client::models::Project, totp_rs::Totp, Vec<String>) {
    let project = create_project(cp, "Source").await;
    patch_identity(
        server,
        token,
        &project.id,
        json!([{ "op": "replace", "path": "/selfservice/methods/totp/enabled", "value": true }]),
    )
    .await;
    let (status, body) = call(
        server,
        token,
        Method::PATCH,
        &format!("/projects/{}", project.id),
        Some(json!([
            { "op": "add", "path": "/services/permission/config/namespaces/-",
              "value": { "id": 1, "name": "docs" } },
            { "op": "add", "path": "/services/permission/config/namespaces/-",
              "value": { "id": 2, "name": "groups" } },
        ])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let cfg = tenant(server, &project.slug);
    let mut ids = Vec::new();
    let mut app = None;
    for (i, email) in ["ada@example.com", "bob@example.com", "cy@example.com"]
        .iter()
        .enumerate()
    {
        let ok = sdk_register(&cfg, email, PASSWORD).await;
        ids.push(ok.identity.id.clone());
        if i == 0 {
            app = Some(link_totp(&cfg, &ok.session_token.unwrap()).await);
        }
    }
    let admin = tenant_admin(server, &project.slug, token);
    for text in [
        format!("docs:readme#view@{}", ids[0]),
        "docs:readme#edit@(groups:admins#member)".to_owned(),
        format!("groups:admins#member@{}", ids[1]),
        format!("docs:{}#owner@{}", ids[2], ids[2]),
    ] {
        write_api::create_relation_tuple(&admin, Some(relation_query(&text)))
            .await
            .unwrap();
    }
    (project, app.unwrap(), ids)
}

#[tokio::test]
async fn a_round_trip_keeps_passwords_second_factors_and_checks() {
    let (server, token, cp) = owner().await;
    let (source, app, ids) = populated(&server, &token, &cp).await;

    // Without an archive key the TOTP seed cannot leave: refused up front.
    let (status, body) = export(&server, &token, &source.id, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("archive_key_required"), "{body}");

    let (status, archive) = export(&server, &token, &source.id, Some(ARCHIVE_KEY)).await;
    assert_eq!(status, 200, "{archive}");
    let lines = records(&archive);
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"header"));
    assert_eq!(kinds.get(1), Some(&"config"));
    assert_eq!(kinds.last(), Some(&"end"));
    assert_eq!(kinds.iter().filter(|k| **k == "identity").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "relation_tuple").count(), 4);
    assert!(kinds.contains(&"identity_schema"));
    let end = lines.last().unwrap();
    assert_eq!(
        (end["identities"].as_u64(), end["relation_tuples"].as_u64()),
        (Some(3), Some(4))
    );

    // Hashes travel as stored (PHC), the seed only sealed, and none of the
    // project's own secrets travel at all.
    let ada = lines.iter().find(|l| l["id"] == ids[0].as_str()).unwrap();
    let credential = |kind: &str| {
        ada["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == kind)
            .unwrap()
            .clone()
    };
    assert!(
        credential("password")["config"]["hashed_password"]
            .as_str()
            .unwrap()
            .starts_with('$')
    );
    let sealed = credential("totp")["config"]["totp_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sealed.starts_with("kp1$") && !archive.contains("otpauth"),
        "{sealed}"
    );
    assert!(credential("totp")["config"]["last_used_step"].is_u64());
    let (_, project) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{}", source.id),
        None,
    )
    .await;
    let secrets = &project["services"]["identity"]["config"]["secrets"];
    for kind in ["cookie", "cipher", "default"] {
        for secret in secrets[kind].as_array().into_iter().flatten() {
            let secret = secret.as_str().unwrap();
            assert!(
                !archive.contains(secret),
                "the {kind} secret is in the archive"
            );
        }
    }
    assert!(
        archive.contains("[redacted]"),
        "secrets are marked, not carried"
    );

    // Into a new project on the same server: ids are taken, so new ones.
    let target = create_project(&cp, "Target").await;
    let (status, refused) = import(
        &server,
        &token,
        &target.id,
        "",
        Some(ARCHIVE_KEY),
        archive.clone(),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("ids=new"),
        "{refused}"
    );
    let (status, report) = import(
        &server,
        &token,
        &target.id,
        "ids=new",
        Some(ARCHIVE_KEY),
        archive.clone(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["identities"]["imported"], 3, "{report}");
    assert_eq!(report["relation_tuples"]["imported"], 4, "{report}");
    assert!(report["config"]["revision_id"].is_string(), "{report}");

    // Users log in with their passwords, and ada steps up with her app.
    let cfg = tenant(&server, &target.slug);
    let mut new_ids = Vec::new();
    for email in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        let ok = sdk_login(&cfg, email, PASSWORD).await.unwrap();
        new_ids.push(ok.session.identity.id.clone());
        if email == "ada@example.com" {
            let token = ok.session_token.unwrap();
            // The step that linked the app was spent in the source (the
            // used step travels with the seed): the next one.
            let next = totp_login_body(app.generate(now() + 30).to_string());
            let session = step_up(&cfg, &token, next).await.unwrap();
            assert_eq!(aal(&session), "aal2");
        }
    }
    assert!(
        sdk_login(&cfg, "ada@example.com", "not the passphrase")
            .await
            .is_err()
    );

    // Checks answer the same, the tuples following the identities' new ids.
    let (admin_a, admin_b) = (
        tenant_admin(&server, &source.slug, &token),
        tenant_admin(&server, &target.slug, &token),
    );
    for (old, new) in [(&ids, &new_ids)] {
        for (text_a, text_b) in [
            (
                format!("docs:readme#view@{}", old[0]),
                format!("docs:readme#view@{}", new[0]),
            ),
            (
                format!("docs:readme#edit@{}", old[1]),
                format!("docs:readme#edit@{}", new[1]),
            ),
            (
                format!("docs:readme#edit@{}", old[0]),
                format!("docs:readme#edit@{}", new[0]),
            ),
            (
                format!("docs:{}#owner@{}", old[2], old[2]),
                format!("docs:{}#owner@{}", new[2], new[2]),
            ),
            (
                format!("docs:readme#view@{}", old[2]),
                format!("docs:readme#view@{}", new[2]),
            ),
        ] {
            assert_eq!(
                allowed(&admin_a, &text_a).await,
                allowed(&admin_b, &text_b).await,
                "{text_b}"
            );
        }
    }
    assert!(allowed(&admin_b, &format!("docs:readme#edit@{}", new_ids[1])).await);

    // The config came along (TOTP on, namespaces), the secrets stayed.
    let (_, copied) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{}", target.id),
        None,
    )
    .await;
    let identity = &copied["services"]["identity"]["config"];
    assert_eq!(identity["selfservice"]["methods"]["totp"]["enabled"], true);
    assert_ne!(
        identity["secrets"], *secrets,
        "the target keeps its own secrets"
    );

    // Both sides are in the audit logs.
    let (_, log) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{}/audit-log", source.id),
        None,
    )
    .await;
    assert!(log.to_string().contains("project.export"), "{log}");
    let (_, log) = call(
        &server,
        &token,
        Method::GET,
        &format!("/projects/{}/audit-log", target.id),
        None,
    )
    .await;
    for action in ["project.import", "identity.import", "relation_tuple.import"] {
        assert!(log.to_string().contains(action), "{action}: {log}");
    }

    // Importing the same archive again: not into a project with data...
    let (status, body) = import(
        &server,
        &token,
        &target.id,
        "ids=new",
        Some(ARCHIVE_KEY),
        archive.clone(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // ...but as a merge, where everything already exists.
    let (status, report) = import(
        &server,
        &token,
        &target.id,
        "ids=new&mode=merge",
        Some(ARCHIVE_KEY),
        archive.clone(),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["identities"]["existing"], 3, "{report}");
    assert_eq!(report["relation_tuples"]["existing"], 4, "{report}");
    assert!(
        report["config"].is_null(),
        "a merge keeps the config: {report}"
    );

    // A wrong archive key is refused at the header.
    let other = create_project(&cp, "Other").await;
    let (status, body) = import(
        &server,
        &token,
        &other.id,
        "ids=new",
        Some(&"x".repeat(40)),
        archive,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["line"], 1, "{body}");
    assert_eq!(identity_count(&server, &other.slug, &token).await, 0);
}

/// The archive of a project with two users and no second factor.
async fn small_archive(
    server: &keyplane_server::RunningServer,
    token: &str,
    cp: &Configuration,
) -> (ory_client::models::Project, Vec<Value>) {
    let project = create_project(cp, "Small").await;
    let cfg = tenant(server, &project.slug);
    for email in ["one@example.com", "two@example.com"] {
        sdk_register(&cfg, email, PASSWORD).await;
    }
    let (status, archive) = export(server, token, &project.id, None).await;
    assert_eq!(status, 200, "{archive}");
    (project, records(&archive))
}

fn join(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn bad_archives_name_their_line_and_leave_nothing_half_written() {
    let (server, token, cp) = owner().await;
    let (_, lines) = small_archive(&server, &token, &cp).await;
    let target = create_project(&cp, "Target").await;
    let count = || identity_count(&server, &target.slug, &token);

    let cases: Vec<(String, u64, &str)> = vec![
        // Not JSON at line 4.
        (
            {
                let mut text = join(&lines[..3]);
                text.push_str("{not json\n");
                text.push_str(&join(&lines[3..]));
                text
            },
            4,
            "key must be a string",
        ),
        // Not an archive.
        (
            "{\"kind\":\"end\",\"identities\":0,\"relation_tuples\":0}\n".to_owned(),
            1,
            "header",
        ),
        // Not an archive, after a blank line (numbered, skipped).
        (
            "\n{\"kind\":\"end\",\"identities\":0,\"relation_tuples\":0}\n".to_owned(),
            2,
            "header",
        ),
        // A field no identity has.
        (
            {
                let mut bad = lines.clone();
                let i = bad.iter().position(|l| l["kind"] == "identity").unwrap();
                bad[i]["favourite_colour"] = json!("red");
                join(&bad)
            },
            0,
            "favourite_colour",
        ),
        // A password hash in no known format.
        (
            {
                let mut bad = lines.clone();
                let i = bad.iter().position(|l| l["kind"] == "identity").unwrap();
                bad[i]["credentials"][0]["config"]["hashed_password"] = json!("plain text");
                join(&bad)
            },
            0,
            "hashed_password",
        ),
        // An end line that does not add up.
        (
            {
                let mut bad = lines.clone();
                let last = bad.len() - 1;
                bad[last]["identities"] = json!(5);
                join(&bad)
            },
            lines.len() as u64,
            "holds 2",
        ),
    ];
    for (archive, line, says) in cases {
        let (status, body) = import(&server, &token, &target.id, "ids=new", None, archive).await;
        assert_eq!(status, 400, "{body}");
        let reason = body["error"]["reason"].as_str().unwrap();
        assert!(reason.contains(says), "{says}: {reason}");
        if line > 0 {
            assert!(reason.starts_with(&format!("line {line}:")), "{reason}");
            assert_eq!(body["error"]["details"]["line"], line, "{body}");
        } else {
            assert!(body["error"]["details"]["line"].is_u64(), "{body}");
        }
        assert_eq!(
            count().await,
            0,
            "nothing of a failed batch is written: {body}"
        );
    }

    // Cut short: refused, and what it had was in an unfinished batch.
    let cut = join(&lines[..lines.len() - 1]);
    let (status, body) = import(&server, &token, &target.id, "ids=new", None, cut).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["id"], "archive_incomplete", "{body}");
    assert_eq!(
        body["error"]["details"]["committed"]["identities"], 0,
        "{body}"
    );

    // The whole archive then goes in; again as a merge, nothing doubles.
    let (status, report) = import(&server, &token, &target.id, "ids=new", None, join(&lines)).await;
    assert_eq!(status, 200, "{report}");
    let (status, report) = import(
        &server,
        &token,
        &target.id,
        "ids=new&mode=merge",
        None,
        join(&lines),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["identities"]["existing"], 2, "{report}");
    assert_eq!(count().await, 2);

    // An identifier another identity of the project holds: the line says.
    let mut clash = lines.clone();
    let i = clash.iter().position(|l| l["kind"] == "identity").unwrap();
    clash[i]["id"] = json!(uuid::Uuid::new_v4());
    let (status, body) = import(
        &server,
        &token,
        &target.id,
        "ids=new&mode=merge&config=keep",
        None,
        join(&clash),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"]["line"], i as u64 + 1, "{body}");
    assert_eq!(count().await, 2);

    // Bad options are 400s naming them; unknown ones too.
    for query in ["mode=sideways", "ids=maybe", "colour=red"] {
        let (status, body) = import(&server, &token, &target.id, query, None, join(&lines)).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

#[tokio::test]
async fn an_export_holds_its_own_tenant_only() {
    let (server, token, cp) = owner().await;
    let (mine, lines) = small_archive(&server, &token, &cp).await;
    // Another account's project with its own users.
    let stranger = token_for(&server, "stranger@example.com").await;
    let theirs = create_project(&control_plane(&server, &stranger), "Theirs").await;
    sdk_register(
        &tenant(&server, &theirs.slug),
        "their-user@example.com",
        PASSWORD,
    )
    .await;

    let text = join(&lines);
    assert!(!text.contains("their-user@example.com"));
    assert!(!text.contains(&theirs.id));
    // Neither can read or write the other's project through these routes.
    let (status, _) = export(&server, &stranger, &mine.id, None).await;
    assert_eq!(status, 404);
    let (status, _) = import(
        &server,
        &stranger,
        &mine.id,
        "mode=merge",
        None,
        text.clone(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = import(&server, &token, &theirs.id, "mode=merge", None, text).await;
    assert_eq!(status, 404);
    assert_eq!(identity_count(&server, &theirs.slug, &stranger).await, 1);

    // An import with ids kept cannot take ids another project holds.
    let target = create_project(&cp, "Same ids").await;
    let (status, body) = import(&server, &token, &target.id, "", None, join(&lines)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(identity_count(&server, &target.slug, &token).await, 0);
    assert_eq!(identity_count(&server, &mine.slug, &token).await, 2);
}

/// `keyplane project ARGS` as a process (the server is in this one, so it
/// runs on a blocking thread): `(success, stdout, stderr)`.
async fn keyplane_project(
    server: &keyplane_server::RunningServer,
    token: &str,
    args: &[&str],
) -> (bool, String, String) {
    let (url, token) = (server.url(), token.to_owned());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(keyplane_tests::keyplane_binary())
            .arg("project")
            .args(&args)
            .env("KEYPLANE_SERVER", url)
            .env("KEYPLANE_TOKEN", token)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// `keyplane project export|import` against the running server: the file
/// it writes is the archive, and importing it gives the same users.
#[tokio::test]
async fn the_cli_exports_to_a_file_and_imports_it() {
    let (server, token, cp) = owner().await;
    let (source, _) = small_archive(&server, &token, &cp).await;
    let target = create_project(&cp, "From the CLI").await;
    let file =
        std::env::temp_dir().join(format!("keyplane-archive-{}.ndjson", uuid::Uuid::new_v4()));
    let path = file.to_str().unwrap();
    let (ok, out, err) = keyplane_project(
        &server,
        &token,
        &["export", "--project", &source.id, "--output", path],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("exported 2 identities and 0 relation tuples"),
        "{out}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with('\n') && text.lines().last().unwrap().contains("\"end\""));

    let (ok, out, err) = keyplane_project(
        &server,
        &token,
        &[
            "import",
            "--project",
            &target.id,
            "--file",
            path,
            "--ids",
            "new",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["identities"]["imported"], 2, "{report}");
    sdk_login(&tenant(&server, &target.slug), "one@example.com", PASSWORD)
        .await
        .unwrap();

    // The server's refusal reaches the terminal, with the line.
    std::fs::write(&file, "{\"kind\":\"identity\"}\n").unwrap();
    let (ok, _, err) = keyplane_project(
        &server,
        &token,
        &[
            "import",
            "--project",
            &target.id,
            "--file",
            path,
            "--mode",
            "merge",
        ],
    )
    .await;
    std::fs::remove_file(&file).unwrap();
    assert!(!ok);
    assert!(err.contains("400") && err.contains("line 1"), "{err}");
}
