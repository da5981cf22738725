//! The courier against real SMTP servers on loopback (Python's aiosmtpd,
//! `tests/smtp_sink.py`; `.ci/services` installs it): mail waits while the
//! server is down and goes out exactly once when it is back; each project's
//! own SMTP settings (server, credentials, sender, headers) are read when a
//! message is sent, so a fixed config gets waiting mail out; STARTTLS and
//! implicit TLS with `skip_ssl_verify`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use courier::OutgoingMail;
use keyplane_server::RunningServer;
use keyplane_tests::{eventually, free_port};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use store::sea_orm::ConnectionTrait;
use uuid::Uuid;

/// One `tests/smtp_sink.py` process; killed when dropped.
struct Sink {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Sink {
    /// Starts the sink on `port` (0: one it picks) and waits until it
    /// accepts connections. `extra`: `--tls starttls|implicit`, `--auth u:p`.
    async fn start(port: u16, extra: &[&str]) -> Sink {
        let dir = std::env::temp_dir()
            .join("keyplane-tests")
            .join(format!("smtp-{}", Uuid::new_v4().simple()));
        let mut child = Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/smtp_sink.py"))
            .args([
                "--port",
                &port.to_string(),
                "--dir",
                &dir.display().to_string(),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 must be installed (see .ci/services)");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await
        .expect("the SMTP sink did not start within a minute")
        .unwrap()
        .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!("the SMTP sink did not start (aiosmtpd missing? see .ci/services): {line:?}")
            });
        Sink { port, dir, child }
    }

    /// Every message received so far, as text.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        let arrived = eventually(Duration::from_secs(30), || async {
            self.messages().len() >= count
        })
        .await;
        let messages = self.messages();
        assert!(
            arrived.is_some(),
            "{} of {count} messages arrived",
            messages.len()
        );
        messages
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's value in a received message (first occurrence).
fn header<'a>(eml: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}: ");
    eml.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// `(recipient, status, send_count, last_error)` of every outbox row.
async fn outbox(server: &RunningServer) -> Vec<(String, String, i32, Option<String>)> {
    let db = &server.services.db;
    db.conn
        .query_all_raw(keyplane_tests::statement(
            db,
            "SELECT recipient, status, send_count, last_error FROM courier_messages ORDER BY recipient",
            [],
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("", "recipient").unwrap(),
                row.try_get("", "status").unwrap(),
                row.try_get("", "send_count").unwrap(),
                row.try_get("", "last_error").unwrap(),
            )
        })
        .collect()
}

/// Every message's stored text and sealed secrets (None once delivered).
async fn stored_texts(server: &RunningServer) -> Vec<(String, Option<String>)> {
    let db = &server.services.db;
    db.conn
        .query_all_raw(keyplane_tests::statement(
            db,
            "SELECT body, sealed_secrets FROM courier_messages",
            [],
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("", "body").unwrap(),
                row.try_get("", "sealed_secrets").unwrap(),
            )
        })
        .collect()
}

async fn outbox_row(server: &RunningServer, recipient: &str) -> (String, i32, Option<String>) {
    let (_, status, count, error) = outbox(server)
        .await
        .into_iter()
        .find(|(r, ..)| r == recipient)
        .unwrap();
    (status, count, error)
}

/// Settings for a server whose default transport is `smtp_url`, retrying
/// fast enough for a test. The projects' own SMTP sinks run on loopback
/// here, which the default refuses (see
/// `a_project_smtp_server_on_loopback_is_refused_by_default`).
async fn settings_with_smtp(smtp_url: String) -> keyplane_server::Settings {
    let mut settings = keyplane_tests::test_settings().await;
    settings.courier.smtp_url = Some(smtp_url);
    settings.courier.retry_base_ms = 50;
    settings.courier.max_attempts = 1000;
    settings.courier.allow_private_networks = true;
    settings
}

/// With the default settings a project's `connection_uri` on a loopback
/// address is never connected to (the SSRF guard of web hooks, for mail):
/// the message waits with the reason, the server's own SMTP server (the
/// operator's, trusted) still delivers.
#[tokio::test]
async fn a_project_smtp_server_on_loopback_is_refused_by_default() {
    let default = Sink::start(0, &[]).await;
    let own = Sink::start(0, &[]).await;
    let mut settings = settings_with_smtp(format!(
        "smtp://127.0.0.1:{}/?disable_starttls=true",
        default.port
    ))
    .await;
    settings.courier.allow_private_networks = false;
    let server = keyplane_tests::spawn(settings).await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let project = create_project(&cp, "ssrf").await;
    let plain = create_project(&cp, "plain").await;
    set_project_smtp(
        &server,
        &token,
        &project.id,
        json!({ "connection_uri": format!("smtp://127.0.0.1:{}/?disable_starttls=true", own.port) }),
    )
    .await;
    enqueue(&server, &project.id, "eve@example.com", None).await;
    enqueue(&server, &plain.id, "dan@example.com", None).await;
    default.wait_for(1).await;
    let tried = eventually(Duration::from_secs(30), || async {
        outbox_row(&server, "eve@example.com").await.1 >= 2
    })
    .await;
    assert!(tried.is_some());
    let (status, _, error) = outbox_row(&server, "eve@example.com").await;
    assert_ne!(status, "sent");
    let error = error.unwrap();
    assert!(error.contains("courier.allow_private_networks"), "{error}");
    assert!(
        own.messages().is_empty(),
        "nothing reached the loopback server"
    );
    server.stop().await;
}

/// Sets the project's `courier.smtp` config (Kratos keys).
async fn set_project_smtp(
    server: &RunningServer,
    token: &str,
    project: &str,
    smtp: serde_json::Value,
) {
    let (status, body) = call(
        server,
        token,
        Method::PATCH,
        &format!("/projects/{project}"),
        Some(json!([{
            "op": "add",
            "path": "/services/identity/config/courier",
            "value": { "smtp": smtp },
        }])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

/// Queues a message the way the engines do (the outbox insert), for
/// `project`; the worker's poll picks it up.
async fn enqueue(server: &RunningServer, project: &str, recipient: &str, html: Option<&str>) {
    let mail = OutgoingMail {
        nid: project.parse().unwrap(),
        template_type: "test".to_owned(),
        recipient: recipient.to_owned(),
        subject: format!("Hello {recipient}"),
        body: "plain words".to_owned(),
        html_body: html.map(str::to_owned),
        secrets: Vec::new(),
    };
    let courier = &server.services.courier;
    courier
        .enqueue(&server.services.db.conn, &mail)
        .await
        .unwrap();
    courier.wake();
}

#[tokio::test]
async fn smtp_down_then_up_delivers_every_message_once() {
    // Nothing listens on the port yet.
    let port = free_port();
    let mut settings =
        settings_with_smtp(format!("smtp://127.0.0.1:{port}/?disable_starttls=true")).await;
    settings.courier.from_address = "mailer@keyplane.test".to_owned();
    settings.courier.from_name = "Keyplane Mailer".to_owned();
    let server = keyplane_tests::spawn(settings).await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);

    let mut expected = BTreeSet::new();
    for name in ["alpha", "beta"] {
        let project = create_project(&cp, name).await;
        for who in ["ann", "ben"] {
            let email = format!("{who}.{name}@example.com");
            let (status, body) = call(
                &server,
                &token,
                Method::POST,
                &format!("/projects/{}/invites", project.id),
                Some(json!({ "invitee_email": email })),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            expected.insert(email);
        }
    }

    // Down: every message fails, stays queued and is retried.
    let retried = eventually(Duration::from_secs(30), || async {
        let rows = outbox(&server).await;
        rows.len() == expected.len() && rows.iter().all(|(_, _, count, _)| *count >= 2)
    })
    .await;
    let rows = outbox(&server).await;
    assert!(retried.is_some(), "{rows:?}");
    for (recipient, status, _, error) in &rows {
        assert_ne!(status, "sent", "{recipient}");
        assert_ne!(status, "abandoned", "{recipient}");
        assert!(error.is_some(), "{recipient} has no last_error");
    }
    // Waiting mail keeps its invite token sealed, never in its text.
    for (body, sealed) in stored_texts(&server).await {
        assert!(body.contains("?token=[redacted:0]"), "{body}");
        assert!(sealed.is_some_and(|s| s.starts_with("kp1$")));
    }

    // Up: each message arrives once.
    let sink = Sink::start(port, &[]).await;
    assert_eq!(sink.port, port);
    sink.wait_for(expected.len()).await;
    let sent = eventually(Duration::from_secs(10), || async {
        outbox(&server)
            .await
            .iter()
            .all(|(_, status, ..)| status == "sent")
    })
    .await;
    assert!(sent.is_some(), "{:?}", outbox(&server).await);
    for (body, sealed) in stored_texts(&server).await {
        assert!(body.contains("?token=[redacted:0]"), "{body}");
        assert_eq!(sealed, None, "sent mail keeps no token, sealed or not");
    }
    // Later retries or polls must not send anything again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let messages = sink.messages();
    assert_eq!(messages.len(), expected.len(), "duplicates: {messages:#?}");

    let recipients: BTreeSet<String> = messages
        .iter()
        .map(|m| header(m, "X-Sink-Rcpt-To").unwrap().to_owned())
        .collect();
    assert_eq!(recipients, expected);
    let subjects: BTreeSet<&str> = messages
        .iter()
        .map(|m| header(m, "Subject").unwrap())
        .collect();
    assert_eq!(subjects.len(), 2, "one subject per project: {subjects:?}");
    for message in &messages {
        assert_eq!(
            header(message, "From"),
            Some("\"Keyplane Mailer\" <mailer@keyplane.test>"),
            "{message}"
        );
        assert_eq!(
            header(message, "X-Sink-Mail-From"),
            Some("mailer@keyplane.test")
        );
        assert!(message.contains("/invites/"), "{message}");
        // The recipient gets the real token; the outbox no longer has it.
        assert!(
            message.contains("?token=") && !message.contains("redacted"),
            "{message}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_project_smtp_config_is_read_at_send_time() {
    let default = Sink::start(0, &[]).await;
    let server = keyplane_tests::spawn(
        settings_with_smtp(format!(
            "smtp://127.0.0.1:{}/?disable_starttls=true",
            default.port
        ))
        .await,
    )
    .await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let acme = create_project(&cp, "acme").await;
    let plain = create_project(&cp, "plain").await;

    // A URI the courier cannot use: a per-message failure, retried.
    set_project_smtp(
        &server,
        &token,
        &acme.id,
        json!({ "connection_uri": "http://127.0.0.1/" }),
    )
    .await;
    enqueue(
        &server,
        &acme.id,
        "carol@example.com",
        Some("<p>html words</p>"),
    )
    .await;
    enqueue(&server, &plain.id, "dan@example.com", None).await;

    // The project without settings goes through the server's default.
    let received = default.wait_for(1).await;
    assert_eq!(
        header(&received[0], "X-Sink-Rcpt-To"),
        Some("dan@example.com")
    );
    assert_eq!(
        header(&received[0], "From"),
        Some("Keyplane <no-reply@keyplane.localhost>")
    );
    let failed = eventually(Duration::from_secs(30), || async {
        outbox_row(&server, "carol@example.com").await.1 >= 2
    })
    .await;
    let (status, _, error) = outbox_row(&server, "carol@example.com").await;
    assert!(failed.is_some() && status != "sent");
    let error = error.unwrap();
    assert!(error.contains("courier.smtp.connection_uri"), "{error}");

    // The owner fixes the config: the waiting message goes to the project's
    // server, authenticated with the percent-decoded credentials, from the
    // project's sender, with its headers, as plain text and HTML.
    let own = Sink::start(0, &["--auth", "acme@mail:p@ss/w0rd"]).await;
    set_project_smtp(
        &server,
        &token,
        &acme.id,
        json!({
            "connection_uri": format!(
                "smtp://acme%40mail:p%40ss%2Fw0rd@127.0.0.1:{}/?disable_starttls=true",
                own.port
            ),
            "from_address": "hello@acme.test",
            "from_name": "Acme Mail",
            "headers": { "X-Acme-Tenant": "acme" },
        }),
    )
    .await;
    let received = own.wait_for(1).await;
    let eml = &received[0];
    assert_eq!(header(eml, "X-Sink-Rcpt-To"), Some("carol@example.com"));
    assert_eq!(
        header(eml, "From"),
        Some("\"Acme Mail\" <hello@acme.test>"),
        "{eml}"
    );
    assert_eq!(header(eml, "X-Acme-Tenant"), Some("acme"), "{eml}");
    assert!(
        header(eml, "Content-Type").is_some_and(|t| t.starts_with("multipart/alternative")),
        "{eml}"
    );
    assert!(
        eml.contains("plain words") && eml.contains("<p>html words</p>"),
        "{eml}"
    );
    // The sink has the message once the server said 250; the worker
    // records `sent` just after that answer.
    let recorded = eventually(Duration::from_secs(10), || async {
        outbox_row(&server, "carol@example.com").await.0 == "sent"
    })
    .await;
    assert!(
        recorded.is_some(),
        "{:?}",
        outbox_row(&server, "carol@example.com").await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(own.messages().len(), 1);
    assert_eq!(
        default.messages().len(),
        1,
        "carol's mail went to the default"
    );
    server.stop().await;
}

#[tokio::test]
async fn starttls_and_implicit_tls_with_skip_ssl_verify() {
    let starttls = Sink::start(0, &["--tls", "starttls"]).await;
    let implicit = Sink::start(0, &["--tls", "implicit"]).await;
    // STARTTLS is the default of `smtp://` and mandatory.
    let server = keyplane_tests::spawn(
        settings_with_smtp(format!(
            "smtp://127.0.0.1:{}/?skip_ssl_verify=true",
            starttls.port
        ))
        .await,
    )
    .await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let tls = create_project(&cp, "tls").await;
    let verified = create_project(&cp, "verified").await;
    set_project_smtp(
        &server,
        &token,
        &tls.id,
        json!({ "connection_uri": format!("smtps://127.0.0.1:{}/?skip_ssl_verify=true", implicit.port) }),
    )
    .await;
    // Without skip_ssl_verify the self-signed certificate is refused.
    set_project_smtp(
        &server,
        &token,
        &verified.id,
        json!({ "connection_uri": format!("smtps://127.0.0.1:{}/", implicit.port) }),
    )
    .await;
    let plain = create_project(&cp, "plain").await;
    enqueue(&server, &plain.id, "erin@example.com", None).await;
    enqueue(&server, &tls.id, "fred@example.com", None).await;
    enqueue(&server, &verified.id, "gina@example.com", None).await;

    let received = starttls.wait_for(1).await;
    assert_eq!(
        header(&received[0], "X-Sink-Rcpt-To"),
        Some("erin@example.com")
    );
    let received = implicit.wait_for(1).await;
    assert_eq!(
        header(&received[0], "X-Sink-Rcpt-To"),
        Some("fred@example.com")
    );
    let refused = eventually(Duration::from_secs(30), || async {
        outbox_row(&server, "gina@example.com").await.2.is_some()
    })
    .await;
    let (status, _, error) = outbox_row(&server, "gina@example.com").await;
    assert!(refused.is_some() && status != "sent", "{status}");
    assert!(error.unwrap().to_lowercase().contains("certificate"));
    assert_eq!(implicit.messages().len(), 1);
    server.stop().await;
}

/// The text of a received message with quoted-printable soft breaks and
/// escapes undone (lettre encodes long lines that way).
fn decoded(eml: &str) -> String {
    let joined = eml.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first link in `eml` that contains `path`.
fn link_in(eml: &str, path: &str) -> String {
    decoded(eml)
        .split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|w| w.contains(path) && w.starts_with("http"))
        .unwrap_or_else(|| panic!("no {path} link in {eml}"))
        .to_owned()
}

#[tokio::test]
async fn recovery_and_verification_are_completed_from_mail_read_off_smtp() {
    let sink = Sink::start(0, &[]).await;
    // The project's own sink is on loopback, which the default refuses.
    let mut settings = keyplane_tests::test_settings().await;
    settings.courier.allow_private_networks = true;
    let server = keyplane_tests::spawn(settings).await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let project = create_project(&cp, "Mailed").await;
    set_project_smtp(
        &server,
        &token,
        &project.id,
        json!({
            "connection_uri": format!("smtp://127.0.0.1:{}/?disable_starttls=true", sink.port),
            "from_address": "no-reply@mailed.example.com",
            "from_name": "Mailed",
        }),
    )
    .await;
    let (_, base) = tenant_client(&server, &project.slug);
    let client = reqwest::Client::builder()
        .resolve(&tenant_host(&project.slug), server.addr)
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    // The tenant's links are followed as given: its public URL.
    let local = |url: &str| {
        assert!(url.starts_with(&base), "{url} is not on {base}");
        url.to_owned()
    };

    // Registration (API flow) mails a verification link.
    let flow: serde_json::Value = client
        .get(format!("{base}/self-service/registration/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = client
        .post(format!("{base}/self-service/registration?flow={}", flow["id"].as_str().unwrap()))
        .json(&json!({"method": "password", "password": "mailed passphrase 77", "traits": {"email": "mia@example.com"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mails = sink.wait_for(1).await;
    assert_eq!(
        header(&mails[0], "Subject"),
        Some("Please verify your email address")
    );
    assert!(
        header(&mails[0], "From")
            .unwrap()
            .contains("no-reply@mailed.example.com")
    );
    let link = link_in(&mails[0], "/self-service/verification?");
    let res = client.get(local(&link)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let (status, identities) = tenant_call(
        &server,
        &project.slug,
        &token,
        Method::GET,
        "/admin/identities",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let address = &identities[0]["verifiable_addresses"][0];
    assert_eq!(address["verified"], true, "{identities}");
    assert_eq!(address["status"], "completed");

    // Recovery: the link from the mail signs the browser in and opens settings.
    let flow: serde_json::Value = client
        .get(format!("{base}/self-service/recovery/browser"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = flow["ui"]["nodes"][0]["attributes"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = client
        .post(format!(
            "{base}/self-service/recovery?flow={}",
            flow["id"].as_str().unwrap()
        ))
        .header("Accept", "application/json")
        .json(&json!({"method": "link", "email": "mia@example.com", "csrf_token": csrf}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let mails = sink.wait_for(2).await;
    let recovery = mails
        .iter()
        .find(|m| header(m, "Subject") == Some("Recover access to your account"))
        .expect("the recovery mail");
    assert!(recovery.contains("multipart/alternative"));
    let link = link_in(recovery, "/self-service/recovery?");
    let res = client.get(local(&link)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let settings = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(settings.contains("/ui/settings?flow="), "{settings}");
    let me: serde_json::Value = client
        .get(format!("{base}/sessions/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["identity"]["traits"]["email"], "mia@example.com", "{me}");
    assert_eq!(me["authentication_methods"][0]["method"], "link_recovery");
}
