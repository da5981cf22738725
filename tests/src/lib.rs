//! The test harness: fresh databases, in-process servers, and a private
//! Redis that tests may stop and start.
//!
//! Backends come from the environment so the same suite runs on each:
//! `TEST_DATABASE=sqlite|postgres` (default sqlite), `TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`), `TEST_CACHE=memory|redis`
//! (default memory) and `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).
//! Every test gets its own database, so tests run in parallel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod dns_fake;
pub mod mail;
pub mod npm;
pub mod oauth2_stub;
pub mod oidc_provider;
pub mod stripe_fake;

use keyplane_server::{RunningServer, Services, Settings, bind, start_on};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use store::{Database, DatabaseKind};

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn database_kind_from_env() -> DatabaseKind {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => DatabaseKind::Postgres,
        _ => DatabaseKind::Sqlite,
    }
}

pub fn use_redis_from_env() -> bool {
    matches!(std::env::var("TEST_CACHE").as_deref(), Ok("redis"))
}

/// A fresh, empty database URL of the given kind.
pub async fn fresh_database_url(kind: DatabaseKind) -> String {
    let name = format!("kp_{}", uuid::Uuid::new_v4().simple());
    match kind {
        DatabaseKind::Sqlite => {
            let dir = std::env::temp_dir().join("keyplane-tests");
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}/{name}.db?mode=rwc", dir.display())
        }
        DatabaseKind::Postgres => {
            use store::sea_orm::ConnectionTrait;
            let admin = store::connect(&postgres_admin_url(), 1).await.unwrap();
            admin
                .conn
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let base = postgres_admin_url();
            let (prefix, _) = base.rsplit_once('/').unwrap();
            format!("{prefix}/{name}")
        }
    }
}

/// A fresh, migrated database.
pub async fn fresh_database(kind: DatabaseKind) -> Database {
    store::connect_migrated(&fresh_database_url(kind).await, 4)
        .await
        .unwrap()
}

/// Settings for an in-process server on a free loopback port, with a fresh
/// database and the cache backend chosen by the environment.
pub async fn test_settings() -> Settings {
    let mut settings = Settings::default();
    settings.serve.host = "127.0.0.1".into();
    settings.serve.port = 0;
    settings.serve.grpc_port = 0;
    settings.serve.workers = 2;
    settings.serve.shutdown_timeout_secs = 5;
    use_database(
        &mut settings,
        fresh_database_url(database_kind_from_env()).await,
    );
    settings.database.max_connections = 8;
    // Fast hashing keeps the suite quick (production default: cost 12), and
    // breach checks go to a closed local port instead of the internet (the
    // default revision ignores network errors). Tests of either set their own.
    // Mail goes to a directory of the test's own; the outbox table is in
    // the test's database anyway.
    settings.courier.file_dir = std::env::temp_dir()
        .join("keyplane-tests")
        .join(format!("mail-{}", uuid::Uuid::new_v4().simple()))
        .display()
        .to_string();
    settings.courier.poll_interval_ms = 100;
    settings.identity.hasher.bcrypt_cost = 6;
    settings.identity.haveibeenpwned_url = "http://127.0.0.1:9".into();
    settings.identity.haveibeenpwned_timeout_secs = 1;
    // Web hooks go to receivers on loopback, and Jsonnet is rendered by the
    // real binary (this process is a test harness, not `keyplane`).
    settings.webhook.allow_private_networks = true;
    settings.webhook.jsonnet_worker = Some(keyplane_binary().display().to_string());
    if use_redis_from_env() {
        settings.redis.url = Some(redis_url());
        // A private key space per test, so parallel tests never share keys.
        settings.redis.prefix = Some(format!("kptest-{}", uuid::Uuid::new_v4().simple()));
    }
    settings
}

pub async fn spawn(settings: Settings) -> RunningServer {
    spawn_with_clock(settings, std::sync::Arc::new(kernel::clock::SystemClock)).await
}

/// A server whose services all read `clock`. The listener is bound first,
/// so the URLs the server hands out carry its real port.
pub async fn spawn_with_clock(
    mut settings: Settings,
    clock: kernel::clock::SharedClock,
) -> RunningServer {
    let listener = bind(&settings.serve.host, settings.serve.port).unwrap();
    settings.serve.port = listener.local_addr().unwrap().port();
    let services = Services::connect_with_clock(settings, clock).await.unwrap();
    start_on(listener, services, false).await.unwrap()
}

/// A server on default test settings.
pub async fn spawn_default() -> RunningServer {
    spawn(test_settings().await).await
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// GETs `url` and reads the answer as JSON (whatever the status).
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// A redis-server of the test's own on a free port, so the test can take
/// it away and bring it back without disturbing other tests.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> Self {
        let port = free_port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (see .ci/services)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("private redis did not start on port {}", self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Polls `check` until it is true or `within` passes; returns how long it took.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while started.elapsed() < within {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// A raw SQL statement for `db`, written with PostgreSQL's `$1, $2, …`
/// placeholders; on SQLite they become `?` (positional, in the same order).
pub fn statement(
    db: &Database,
    sql: &str,
    values: impl IntoIterator<Item = store::sea_orm::Value>,
) -> store::sea_orm::Statement {
    use store::sea_orm::DatabaseBackend;
    let backend = db.conn.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_owned(),
        _ => {
            let mut out = String::with_capacity(sql.len());
            let mut chars = sql.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
    };
    store::sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// The `keyplane` binary `make test` builds (the `bin` target) before the
/// tests that run it as a real process.
pub fn keyplane_binary() -> std::path::PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("debug/keyplane")
}

/// A Keyplane server a test talks to: in-process (`RunningServer`) or a
/// real `keyplane serve` process (`KeyplaneProcess`).
pub trait Served {
    fn addr(&self) -> std::net::SocketAddr;

    fn url(&self) -> String {
        format!("http://{}", self.addr())
    }
}

impl Served for RunningServer {
    fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Served for KeyplaneProcess {
    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// A `keyplane` binary run as a real process on loopback, configured only
/// through `KEYPLANE_*` environment variables, as a container would be.
/// Killed when dropped.
pub struct KeyplaneProcess {
    pub port: u16,
    child: Option<Child>,
}

/// Points `settings` at the database `url`. As in production, PostgreSQL
/// needs the encryption keys set (every replica the same), while SQLite
/// makes its own key file next to the database, as `make run` does.
pub fn use_database(settings: &mut Settings, url: String) {
    settings.encryption.keys = if url.starts_with("postgres") {
        vec![POSTGRES_ENCRYPTION_KEY.to_owned()]
    } else {
        Vec::new()
    };
    settings.database.url = url;
}

/// The encryption key of test servers on PostgreSQL: one for every
/// process, as replicas must share it.
pub const POSTGRES_ENCRYPTION_KEY: &str = "keyplane-tests-postgres-encryption-key-0001";

/// The environment of a `keyplane` process: `database_url` and, for
/// replicas, Redis; fast hashing and no breach checks, as `test_settings`.
pub fn process_env(database_url: &str, redis: Option<(&str, &str)>) -> Vec<(String, String)> {
    let mail = std::env::temp_dir()
        .join("keyplane-tests")
        .join(format!("mail-{}", uuid::Uuid::new_v4().simple()));
    let mut env: Vec<(String, String)> = [
        ("KEYPLANE_DATABASE__URL", database_url),
        ("KEYPLANE_SERVE__HOST", "127.0.0.1"),
        ("KEYPLANE_SERVE__GRPC_PORT", "0"),
        ("KEYPLANE_SERVE__WORKERS", "2"),
        ("KEYPLANE_LOG__LEVEL", "warn"),
        ("KEYPLANE_IDENTITY__HASHER__BCRYPT_COST", "6"),
        (
            "KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL",
            "http://127.0.0.1:9",
        ),
        ("KEYPLANE_COURIER__FILE_DIR", &mail.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if database_url.starts_with("postgres") {
        env.push((
            "KEYPLANE_ENCRYPTION__KEYS".into(),
            format!("[{POSTGRES_ENCRYPTION_KEY}]"),
        ));
    }
    if let Some((url, prefix)) = redis {
        env.push(("KEYPLANE_REDIS__URL".into(), url.into()));
        env.push(("KEYPLANE_REDIS__PREFIX".into(), prefix.into()));
    }
    env
}

fn keyplane_command(env: &[(String, String)]) -> Command {
    let bin = keyplane_binary();
    assert!(
        bin.exists(),
        "build the binary first (`make test` does): {}",
        bin.display()
    );
    let mut cmd = Command::new(bin);
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("KEYPLANE_CONFIG_FILE");
    cmd
}

/// Runs a `keyplane` command to its end (`migrate up`, `token create`, …)
/// and returns what it printed; panics when it fails.
pub fn keyplane_run(env: &[(String, String)], args: &[&str]) -> String {
    let out = keyplane_command(env).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "keyplane {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A `keyplane serve` process on a fresh, migrated database of the
/// environment's kind (no Redis), and a personal access token of the
/// account `owner_email`.
pub async fn serve_with_owner(owner_email: &str) -> (KeyplaneProcess, String) {
    let database = fresh_database_url(database_kind_from_env()).await;
    let env = process_env(&database, None);
    keyplane_run(&env, &["migrate", "up"]);
    let token = keyplane_run(&env, &["token", "create", "--email", owner_email]);
    (KeyplaneProcess::serve(&env, &["--no-migrate"]).await, token)
}

impl KeyplaneProcess {
    /// Starts `keyplane serve <args>` on a free port and waits until
    /// `/health/alive` answers.
    pub async fn serve(env: &[(String, String)], args: &[&str]) -> Self {
        let port = free_port();
        let child = keyplane_command(env)
            .env("KEYPLANE_SERVE__PORT", port.to_string())
            .arg("serve")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let process = Self {
            port,
            child: Some(child),
        };
        let http = client();
        let alive = eventually(Duration::from_secs(20), || {
            let probe = http.get(format!("{}/health/alive", process.url())).send();
            async move { probe.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        assert!(alive.is_some(), "keyplane serve did not start on {port}");
        process
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends `signal` (`TERM`, `KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid().expect("the process runs").to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
    }

    /// Waits for the process to exit and returns its status.
    pub async fn wait(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("the process runs");
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap()
    }
}

impl Drop for KeyplaneProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
