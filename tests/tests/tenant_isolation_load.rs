//! Resource isolation between tenants under load (issue 20, point 3): while
//! project A floods the server's expensive work (password hashing, Jsonnet
//! rendering of its web hook bodies) far past its per-project share,
//! project B's registration through the real HTTP API stays within twice
//! its latency alone. Server settings are the defaults (shares included);
//! only what makes the work expensive enough to matter is set here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use base64::Engine as _;
use common::{call, create_project, tenant};
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::SubmitSelfServiceRegistrationFlowBody as RegistrationBody;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The two tests measure latency on the same two cores: run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// B's registrations timed in each phase; the median shrugs off one
/// registration that a neighbour's process happened to delay.
const SAMPLES: usize = 5;

/// The load may add this much to B's median on top of doubling it. The
/// machine is a shared 2-core VM running a debug build: a scheduling hiccup
/// there costs tens of milliseconds whatever the server does, as much as
/// B's whole Jsonnet-hooked registration (~30-60 ms). Without the shares B
/// waits behind A's queue, far beyond it. Measured on SQLite with other
/// builds loading the box (load 4-7), B's median alone → under the flood:
/// - default shares: hashing 430-750 ms → 660-1420 ms (×1.4-1.9), Jsonnet
///   30-65 ms → 35-105 ms (×1.0-2.0): passes;
/// - no per-project limit: hashing 620-700 ms → 4.2-5.0 s (×6-8), Jsonnet
///   33 ms → 790-840 ms (×23-25): fails;
/// - a share of every hashing thread: ×2.3-2.8, fails. (A Jsonnet share
///   of one worker per core: ×2.6-3.9, within the bound on the slack only
///   or not at all, which is why the default is half the cores.)
///
/// On a box whose cores are all taken by other processes, the two tenants'
/// hashes split what is left and B can approach 2× from CPU sharing alone;
/// CI runs one test binary at a time, so this test has the cores.
const SLACK: Duration = Duration::from_millis(50);

/// The flood never outlives this, even if a test fails midway.
const FLOOD_LIMIT: Duration = Duration::from_secs(120);

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One API-flow registration on `cfg`, timed from the flow's start to the
/// identity's creation.
async fn timed_registration(cfg: &Configuration, email: &str) -> Duration {
    let started = Instant::now();
    let flow = api::initialize_self_service_registration_flow_without_browser(cfg)
        .await
        .unwrap();
    let body = RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
        csrf_token: None,
        password: "isolated tenant passphrase 7".into(),
        traits: json!({ "email": email }),
    };
    api::submit_self_service_registration_flow(cfg, &flow.id, body, None)
        .await
        .unwrap();
    started.elapsed()
}

/// `SAMPLES` registrations of B (fresh addresses each).
async fn registrations(cfg: &Configuration, phase: &str) -> Vec<Duration> {
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        times.push(timed_registration(cfg, &format!("{phase}-{i}@b.example.com")).await);
    }
    println!("B's registrations {phase}: {times:?}");
    times
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// B's registrations alone, then under `flood`, then alone again; the
/// median alone is over both rounds, so a load that the machine's other
/// work puts on one phase (a neighbour's process) is not taken for the
/// flood's. Returns (alone, loaded).
async fn alone_and_under<F, Fut>(b: &Configuration, flood: F) -> (Duration, Duration)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Flood>,
{
    let mut alone = registrations(b, "alone").await;
    let flood = flood().await;
    let loaded = registrations(b, "loaded").await;
    let answered = flood.stop().await;
    println!("A's flood: {answered} requests answered");
    alone.extend(registrations(b, "again").await);
    (median(alone), median(loaded))
}

/// `clients` tasks, each repeating `request` (with a number no other
/// request gets) until stopped or `FLOOD_LIMIT`: a flood that keeps
/// `clients` requests in flight.
struct Flood {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Flood {
    fn start<F, Fut>(clients: usize, request: F) -> Self
    where
        F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let until = Instant::now() + FLOOD_LIMIT;
        let next = Arc::new(AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|_| {
                let (stop, done, next) = (stop.clone(), done.clone(), next.clone());
                let request = request.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
                        request(next.fetch_add(1, Ordering::Relaxed)).await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Self { stop, done, tasks }
    }

    /// Waits until the flood has answered `count` requests, so it is in
    /// full flow before anything is measured.
    async fn running(&self, count: usize) {
        let started = Instant::now();
        while self.done.load(Ordering::Relaxed) < count {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the flood does not get answers"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        self.done.load(Ordering::Relaxed)
    }
}

/// A server on `settings` and an account on it: `(server, token, SDK)`.
async fn server_and_owner(
    settings: keyplane_server::Settings,
) -> (keyplane_server::RunningServer, String, Configuration) {
    let server = keyplane_tests::spawn(settings).await;
    let token = common::token_for(&server, "owner@example.com").await;
    let cp = common::control_plane(&server, &token);
    (server, token, cp)
}

fn assert_within_bound(alone: Duration, loaded: Duration, what: &str) {
    println!("{what}: B's median alone {alone:?}, under A's flood {loaded:?}");
    assert!(
        loaded <= alone * 2 + SLACK,
        "{what}: B's registration took {loaded:?} under A's flood, more than 2 × {alone:?} + {SLACK:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_hashing_flood_on_one_project_does_not_slow_another_ones_registration() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut settings = keyplane_tests::test_settings().await;
    // The harness' cost 6 hashes in a millisecond, too fast for a queue of
    // them to show; production's default (cost 12, ~0.2 s) makes hashing
    // the bottleneck a flood really meets.
    settings.identity.hasher.bcrypt_cost = identity::hash::HasherSettings::default().bcrypt_cost;
    let (server, _token, cp) = server_and_owner(settings).await;
    let a = tenant(&server, &create_project(&cp, "Flooder").await.slug);
    let b = tenant(&server, &create_project(&cp, "Neighbour").await.slug);
    timed_registration(&b, "warm-up@b.example.com").await;

    // The default share is half the hashing threads (one per core): eight
    // times that many sign-ups in flight keep A's share full with a queue
    // behind it. Sign-ups, not logins of one identity: repeated logins
    // are the login throttle's to stop, a flood of new accounts is not.
    let share = (cores() / 2).max(1);
    let (alone, loaded) = alone_and_under(&b, || async {
        let flood = Flood::start(8 * share, move |n| {
            let a = a.clone();
            async move {
                timed_registration(&a, &format!("flood-{n}@a.example.com")).await;
            }
        });
        flood.running(2 * share).await;
        flood
    })
    .await;
    assert_within_bound(alone, loaded, "password hashing");
}

/// A local web hook target answering every request with 200.
async fn hook_target() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // Read the head and the body it announces, then answer.
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_lowercase();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        let answer =
                            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
                        let _ = socket.write_all(answer.as_bytes()).await;
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Sets a blocking `web_hook` with the Jsonnet `body` as the `before` hook
/// of `project`'s registration: every registration flow renders it.
async fn hook_registration(
    server: &keyplane_server::RunningServer,
    token: &str,
    project: &str,
    url: &str,
    body: &str,
) {
    let body = base64::engine::general_purpose::STANDARD.encode(body);
    let hooks = json!([{"hook": "web_hook", "config": {
        "url": url, "method": "POST", "body": format!("base64://{body}"),
    }}]);
    let (status, answer) = call(
        server,
        token,
        reqwest::Method::PATCH,
        &format!("/projects/{project}"),
        Some(json!([{
            "op": "add",
            "path": "/services/identity/config/selfservice/flows/registration/before",
            "value": {"hooks": hooks},
        }])),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsonnet_flood_on_one_project_does_not_slow_another_ones_registration() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (server, token, cp) = server_and_owner(keyplane_tests::test_settings().await).await;
    let (a_project, b_project) = (
        create_project(&cp, "Heavy hooks").await,
        create_project(&cp, "Light hooks").await,
    );
    let url = hook_target().await;
    // A's body costs the worker ~0.2 s of CPU (debug build); B's is light,
    // as most are: what B waits for is a worker, not its own rendering.
    let heavy = "function(ctx) { n: std.foldl(function(acc, x) acc + x, std.range(1, 100000), 0) }";
    hook_registration(&server, &token, &a_project.id, &url, heavy).await;
    let light = "function(ctx) { flow: ctx.flow.id }";
    hook_registration(&server, &token, &b_project.id, &url, light).await;
    let (a, b) = (
        tenant(&server, &a_project.slug),
        tenant(&server, &b_project.slug),
    );
    timed_registration(&b, "warm-up@b.example.com").await;

    // The default share is half the cores: eight times that many sign-ups
    // in flight keep A's share full with a queue behind it. A's flows that
    // wait past the render deadline fail: that is A's own queue
    // overflowing, and the flood goes on.
    let share = (cores() / 2).max(1);
    let (alone, loaded) = alone_and_under(&b, || async {
        let flood = Flood::start(8 * share, move |_| {
            let a = a.clone();
            async move {
                let _ = api::initialize_self_service_registration_flow_without_browser(&a).await;
            }
        });
        flood.running(2 * share).await;
        flood
    })
    .await;
    assert_within_bound(alone, loaded, "Jsonnet rendering");
}
