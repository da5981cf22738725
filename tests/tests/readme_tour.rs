//! The README's quick tour, run as written (issue 19): the ```sh block under
//! "## Quick tour" is read out of README.md at test time, so an edit to the
//! README is what gets tested, and run with `bash -euo pipefail` against a
//! real `keyplane serve` process.
//!
//! The server runs as `make run` runs it: the built binary with the default
//! settings, in a fresh empty working directory (so `./data` — SQLite, the
//! mail folder — is new), reachable at `target/debug/keyplane` there for the
//! tour's `token create`. Four settings differ, only because tests share the
//! machine and its closed network: the listening port is a free one
//! (substituted for every `:4000` of the script, answers included), the gRPC
//! port is picked by the server, the listener is on loopback only, and the
//! password breach check goes to a closed loopback port (its network errors
//! are ignored by default) instead of the public API. The tour's `make run &`
//! line stands for this already started server. The tour is about `make
//! run`'s defaults, so it runs on SQLite and the in-process cache under
//! `TEST_DATABASE=postgres TEST_CACHE=redis` too.
//!
//! Checking: every `# → answer` comment — at the end of a command or on a
//! comment line of its own right after it — is what that command prints.
//! After each such line the test adds a marker line to the script, splits the
//! output at the markers, and wants one output line of each step to match its
//! answer (`…` matches any text, the rest literally, whole line). The script
//! must reach every marker and exit 0; `curl` without `-f` lets error bodies
//! through, so a wrong answer shows up in the `jq` filter's output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::{client, eventually, free_port, keyplane_binary};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The marker the test puts after each answered command.
const MARKER: &str = "@@readme-tour-step";

/// How long the whole tour may take (it takes a few seconds).
const TOUR_DEADLINE: Duration = Duration::from_secs(120);

/// The lines of the first ```sh block after the "## Quick tour" heading.
fn tour_block(readme: &str) -> Vec<String> {
    let mut lines = readme.lines().skip_while(|l| l.trim() != "## Quick tour");
    assert!(
        lines.next().is_some(),
        "README.md has no \"## Quick tour\" heading"
    );
    let mut lines = lines.skip_while(|l| l.trim() != "```sh");
    assert!(
        lines.next().is_some(),
        "no ```sh block under \"## Quick tour\""
    );
    let block: Vec<String> = lines
        .take_while(|l| l.trim() != "```")
        .map(str::to_owned)
        .collect();
    assert!(!block.is_empty(), "the quick tour's block is empty");
    block
}

/// One answered command of the tour: the README line carrying its `# →`
/// comment (with the test's port) and the answer it expects.
#[derive(Debug)]
struct Step {
    line: String,
    expected: String,
}

/// The script to run and its steps: the tour with `:4000` replaced by
/// `:{port}`, the `make run &` line replaced by a no-op (the server is
/// already up) and a marker printed after every answered command.
fn instrument(block: &[String], port: u16) -> (String, Vec<Step>) {
    let mut script = String::new();
    let mut steps = Vec::new();
    let mut make_run = 0;
    let mut last_command = String::new();
    for line in block {
        let line = line.replace(":4000", &format!(":{port}"));
        if line.trim_start().starts_with("make run") {
            make_run += 1;
            script.push_str("true # make run: the test started keyplane serve already\n");
            continue;
        }
        script.push_str(&line);
        script.push('\n');
        if !line.trim_start().starts_with('#') {
            line.trim().clone_into(&mut last_command);
        }
        if let Some((_, expected)) = line.split_once("# →") {
            // An answer on a line of its own belongs to the command above.
            let shown = if line.trim_start().starts_with('#') {
                format!("{last_command}\n  {}", line.trim())
            } else {
                line.trim().to_owned()
            };
            steps.push(Step {
                line: shown,
                expected: expected.trim().to_owned(),
            });
            script.push_str(&format!("printf '\\n{MARKER} %d\\n' {}\n", steps.len()));
        }
    }
    assert_eq!(
        make_run, 1,
        "the tour starts the server with one `make run &` line"
    );
    assert!(!steps.is_empty(), "the tour shows no `# →` answer");
    (script, steps)
}

/// Whether `text` is `pattern` with each `…` standing for any text.
fn matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('…');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[test]
fn wildcards_match_whole_lines() {
    assert!(matches("72h", "72h"));
    assert!(!matches("72h", "172h"));
    assert!(!matches("72h", "72h0"));
    assert!(matches(
        "http://…-….projects.localhost:4000",
        "http://brave-curie-x1.projects.localhost:4000"
    ));
    assert!(!matches(
        "http://…-….projects.localhost:4000",
        "http://null.projects.localhost:4000"
    ));
    assert!(matches("a…b…", "a-b"));
    assert!(!matches("ab…ba", "aba"));
}

/// A `keyplane serve` child killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A command whose environment holds nothing of the test's own Keyplane,
/// database, Redis or proxy settings: the tour sees what a new user has.
fn clean_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("KEYPLANE_")
            || [
                "DATABASE_URL",
                "REDIS_URL",
                "RUST_LOG",
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ]
            .contains(&key.as_str())
            || key.to_ascii_lowercase().ends_with("_proxy")
        {
            cmd.env_remove(&key);
        }
    }
    cmd
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test]
async fn the_readme_tour_runs_as_written() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new(tool).arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "the tour needs `{tool}` (`make test` installs jq through .ci/services)"
        );
    }
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let port = free_port();
    let (script, steps) = instrument(&tour_block(&readme), port);

    // A fresh clone's working directory: nothing but the built binary.
    let dir = std::env::temp_dir().join(format!("kp-tour-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("target/debug")).unwrap();
    let bin = keyplane_binary();
    assert!(
        bin.exists(),
        "build the binary first (`make test` does): {}",
        bin.display()
    );
    std::os::unix::fs::symlink(&bin, dir.join("target/debug/keyplane")).unwrap();
    let tour = dir.join("tour.sh");
    std::fs::write(&tour, &script).unwrap();

    let server_log = dir.join("serve.log");
    let log = std::fs::File::create(&server_log).unwrap();
    let server = Server(
        clean_command(&bin, &dir)
            .env("KEYPLANE_SERVE__PORT", port.to_string())
            .env("KEYPLANE_SERVE__HOST", "127.0.0.1")
            .env("KEYPLANE_SERVE__GRPC_PORT", "0")
            .env(
                "KEYPLANE_IDENTITY__HAVEIBEENPWNED_URL",
                "http://127.0.0.1:9",
            )
            .arg("serve")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let http = client();
    let alive = eventually(Duration::from_secs(30), || {
        let probe = http
            .get(format!("http://127.0.0.1:{port}/health/alive"))
            .send();
        async move { probe.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    assert!(
        alive.is_some(),
        "keyplane serve did not start on {port}:\n{}",
        read(&server_log)
    );

    let out_path = dir.join("tour.out");
    let err_path = dir.join("tour.err");
    let mut bash = clean_command("bash", &dir)
        // No ~/.curlrc of whoever runs the tests.
        .env("CURL_HOME", &dir)
        .args(["-euo", "pipefail"])
        .arg(&tour)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = bash.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > TOUR_DEADLINE {
            let _ = bash.kill();
            let _ = bash.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let exit = status.map_or_else(
        || format!("killed after {} s", TOUR_DEADLINE.as_secs()),
        |s| s.to_string(),
    );
    let stdout = read(&out_path);
    let stderr = read(&err_path);
    let log = read(&server_log);
    let log: Vec<&str> = log.lines().collect();
    let context = format!(
        "--- script output:\n{stdout}\n--- script stderr:\n{stderr}\n--- server log (tail):\n{}\n\
         --- kept for a look: {}",
        log[log.len().saturating_sub(30)..].join("\n"),
        dir.display()
    );

    // The output between two markers is the answer of the step whose
    // marker closes it.
    let mut outputs: Vec<Vec<String>> = Vec::new();
    let mut current = Vec::new();
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix(MARKER) {
            outputs.push(std::mem::take(&mut current));
            assert_eq!(n.trim(), outputs.len().to_string(), "markers in order");
        } else {
            current.push(line.trim().to_owned());
        }
    }
    for (n, step) in steps.iter().enumerate() {
        let Some(output) = outputs.get(n) else {
            panic!(
                "the tour stopped before step {} ({:?}), {exit}:\n  {}\n{context}",
                n + 1,
                step.expected,
                step.line
            );
        };
        assert!(
            output.iter().any(|l| matches(&step.expected, l)),
            "step {} answered {output:?}, the README says {:?}:\n  {}\n{context}",
            n + 1,
            step.expected,
            step.line
        );
    }
    assert!(
        status.is_some_and(|s| s.success()),
        "the tour did not finish cleanly ({exit})\n{context}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
