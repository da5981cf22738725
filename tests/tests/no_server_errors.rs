//! No request gets a 5xx or a dropped connection (issue 20, point 2): a
//! property test over every operation of Ory's OpenAPI document and every
//! route Keyplane adds (a Rust take on schemathesis).
//!
//! Operations come from `tests/data/ory-openapi.json` — Ory's public API
//! document of the v0.2.0-alpha client SDKs (github.com/ory/sdk,
//! `spec/client/`, Apache-2.0; see `tests/data/README.md`) — and the table
//! in `no_server_errors/extra.rs`. The routes the server registers come
//! from the router itself (`keyplane_server::routing::table`); one that
//! neither covers fails the test.
//!
//! Each operation gets `NO5XX_CASES` requests (default 64) from a seeded
//! generator (`NO5XX_SEED`, default 20; `NO5XX_OPS=id,id` runs only the
//! operations whose id contains one of these; `NO5XX_SHOW=1` prints every
//! request and its answer). Case 0 is the plain request; the others use
//! path parameters that are known ids, random UUIDs, garbage, oversized or
//! oddly percent-encoded; query values at the edges of their types; JSON
//! bodies from the operation's schema, mutated (wrong types, missing or
//! extra fields, deep nesting, long strings, huge numbers, null), sent as
//! forms, with wrong content types, empty, cut short or not UTF-8; the
//! right credential, none, or someone else's; now and then the wrong host.
//! Requests go byte for byte over a fresh connection. Reads run first,
//! then writes, then deletions; then the tenant operations run again on
//! the project whose configuration the control-plane cases rewrote.
//!
//! Every answer must arrive, be below 500, and — when it is a non-2xx
//! JSON answer — be Ory's error (`{"error":{"code","message",…}}`) unless
//! the spec gives that status another body (a self-service flow, a
//! check's `{"allowed":false}`). All failures are collected and printed
//! with a reproducer before the test fails. Afterwards the server must
//! still work, and a project of another account must be unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cases;
mod edges;
mod extra;
mod routes;
mod spec;
mod values;
mod wire;
mod world;

use rand::SeedableRng;
use serde_json::Value;
use spec::{Alt, Operation, Side};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use wire::{Answer, Raw};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What is wrong with an answer, if anything.
fn verdict(op: &Operation, answer: &Answer) -> Option<String> {
    let status = answer.status;
    let body = || {
        let text = String::from_utf8_lossy(&answer.body);
        text.chars().take(600).collect::<String>()
    };
    if status >= 500 {
        return Some(format!("answered {status}: {}", body()));
    }
    if (200..300).contains(&status) || !answer.is_json() {
        return None;
    }
    let Ok(json) = serde_json::from_slice::<Value>(&answer.body) else {
        return Some(format!("a {status} labelled JSON is not JSON: {}", body()));
    };
    let error = &json["error"];
    if error.is_object()
        && error["code"].as_u64() == Some(status.into())
        && error["message"].is_string()
    {
        return None;
    }
    let alt = op
        .alt
        .iter()
        .find(|(code, _)| *code == status)
        .map(|(_, a)| *a);
    match alt {
        Some(Alt::Flow) if json["id"].is_string() && json["ui"].is_object() => None,
        Some(Alt::Check) if json["allowed"].is_boolean() => None,
        Some(Alt::Redirect) if json["redirect_browser_to"].is_string() => None,
        _ => Some(format!(
            "a {status} that is not Ory's error JSON: {}",
            body()
        )),
    }
}

/// Every route the server registers has an operation.
async fn assert_covered(ops: &[Operation]) -> usize {
    let have: HashSet<(String, String)> = ops
        .iter()
        .map(|o| (o.method.clone(), routes::normalize(&o.path)))
        .collect();
    let registered = routes::registered().await;
    let missing: Vec<_> = registered.iter().filter(|r| !have.contains(*r)).collect();
    assert!(
        missing.is_empty(),
        "registered routes in neither ory-openapi.json nor no_server_errors/extra.rs: \
         {missing:?}"
    );
    let served: HashSet<_> = registered.iter().collect();
    for op in ops {
        if !served.contains(&(op.method.clone(), routes::normalize(&op.path))) {
            eprintln!("note: {} {} ({}) is not served", op.method, op.path, op.id);
        }
    }
    registered.len()
}

struct Failure {
    op: String,
    case: usize,
    problem: String,
    request: String,
}

#[derive(Default)]
struct Tally {
    requests: usize,
    by_status: BTreeMap<u16, usize>,
    /// Non-2xx answers of API routes that are not JSON, by operation.
    not_json: BTreeMap<String, BTreeMap<u16, usize>>,
    /// Refusals by the HTTP parser (an URI over 64 KiB, headers over the
    /// limit): empty, before any route.
    by_parser: usize,
    failures: Vec<Failure>,
}

impl Tally {
    fn record(&mut self, op: &Operation, case: usize, raw: &Raw, outcome: &Result<Answer, String>) {
        self.requests += 1;
        let problem = match outcome {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(answer) => {
                *self.by_status.entry(answer.status).or_default() += 1;
                let api = !op.path.starts_with("/ui") && op.path != "/";
                let head: usize = raw.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
                let oversized = raw.target.len() > 65_534 || head > 6_000;
                if oversized && matches!(answer.status, 400 | 414 | 431) && answer.body.is_empty() {
                    self.by_parser += 1;
                } else if api && !(200..400).contains(&answer.status) && !answer.is_json() {
                    let seen = self
                        .not_json
                        .entry(format!("{} {}", op.method, op.path))
                        .or_default();
                    *seen.entry(answer.status).or_default() += 1;
                }
                verdict(op, answer)
            }
        };
        if let Some(problem) = problem {
            self.failures.push(Failure {
                op: format!("{} {} ({})", op.method, op.path, op.id),
                case,
                problem,
                request: raw.show(),
            });
        }
    }
}

/// Flow ids from successful flow creations on the project under test
/// join the known values, so the submissions that run later use fresh
/// flows too.
fn harvest(world: &mut world::World, op: &Operation, raw: &Raw, outcome: &Result<Answer, String>) {
    let Ok(answer) = outcome else { return };
    if raw.host != world.hosts.tenant {
        return;
    }
    let Some(kind) = op
        .path
        .strip_prefix("/self-service/")
        .and_then(|rest| rest.strip_suffix("/api").or(rest.strip_suffix("/browser")))
    else {
        return;
    };
    if answer.status != 200 || !answer.is_json() {
        return;
    }
    if let Ok(flow) = serde_json::from_slice::<Value>(&answer.body)
        && let Some(id) = flow["id"].as_str()
    {
        let pool = world.known.entry(format!("flow:{kind}")).or_default();
        if pool.len() < 8 {
            pool.push(id.to_owned());
        }
    }
}

/// Runs `cases` cases of `op` (on `on`, or wherever the generator sends
/// them).
async fn run(
    world: &mut world::World,
    doc: &Value,
    tally: &mut Tally,
    op: &Operation,
    cases: usize,
    seed: u64,
    on: Option<&str>,
) {
    let mut hash = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in op.id.bytes().chain(on.unwrap_or_default().bytes()) {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let raws: Vec<Raw> = {
        let mut generator = cases::Cases {
            values: values::Values {
                rng: rand::rngs::StdRng::seed_from_u64(hash),
                plain: false,
                doc,
                known: &world.known,
            },
            hosts: &world.hosts,
            creds: &world.creds,
        };
        (0..cases).map(|n| generator.case(op, n, on)).collect()
    };
    let addr = world.server.addr;
    for (n, raw) in raws.iter().enumerate() {
        let outcome = wire::send(addr, raw, Duration::from_secs(20)).await;
        if std::env::var_os("NO5XX_SHOW").is_some() {
            let answer = outcome.as_ref().map(|a| {
                let body = String::from_utf8_lossy(&a.body);
                format!(
                    "{} {}",
                    a.status,
                    body.chars().take(300).collect::<String>()
                )
            });
            eprintln!("\n{} case {n} → {answer:?}\n{}", op.id, raw.show());
        }
        tally.record(op, n, raw, &outcome);
        harvest(world, op, raw, &outcome);
    }
}

#[tokio::test]
async fn no_request_gets_a_server_error() {
    let cases = env_number("NO5XX_CASES", 64) as usize;
    let seed = env_number("NO5XX_SEED", 20);
    let only: Vec<String> = std::env::var("NO5XX_OPS")
        .map(|v| v.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let doc = spec::document();
    let mut ops = spec::spec_operations(&doc);
    ops.extend(extra::operations());
    let registered = assert_covered(&ops).await;
    ops.retain(|op| only.is_empty() || only.iter().any(|o| op.id.contains(o.as_str())));
    let from_table = ops.iter().filter(|o| o.id.starts_with("keyplane:")).count();
    ops.sort_by_key(Operation::phase);

    let started = Instant::now();
    let mut world = world::build().await;
    let before = world.bystander_state().await;
    let setup = started.elapsed();
    let mut tally = Tally::default();
    for op in ops.iter().filter(|op| op.phase() < 4) {
        run(&mut world, &doc, &mut tally, op, cases, seed, None).await;
    }
    // The scratch project's configuration has been rewritten by now: its
    // tenant must still answer every public and admin operation.
    let scratch = world.hosts.scratch.clone();
    for op in ops
        .iter()
        .filter(|op| op.side != Side::ControlPlane && op.phase() < 2)
    {
        run(&mut world, &doc, &mut tally, op, 2, seed, Some(&scratch)).await;
    }
    for op in ops.iter().filter(|op| op.phase() == 4) {
        run(&mut world, &doc, &mut tally, op, cases, seed, None).await;
    }
    let ran = started.elapsed() - setup;

    eprintln!(
        "{} operations ({} from the spec, {from_table} from the table; \
         {registered} registered routes), {cases} cases each, {} requests in {ran:.1?} \
         after a {setup:.1?} setup; seed {seed}",
        ops.len(),
        ops.len() - from_table,
        tally.requests,
    );
    eprintln!(
        "answers by status: {:?}; {} refused by the HTTP parser (URI or headers too long)",
        tally.by_status, tally.by_parser
    );
    for (route, statuses) in &tally.not_json {
        eprintln!("note: non-JSON error answers from {route}: {statuses:?}");
    }
    let mut shown: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &tally.failures {
        let count = shown.entry(&f.op).or_default();
        *count += 1;
        if *count <= 5 {
            eprintln!(
                "\nFAILURE {} case {}: {}\n{}",
                f.op, f.case, f.problem, f.request
            );
        }
    }
    for (op, count) in shown.iter().filter(|(_, c)| **c > 5) {
        eprintln!("\n… and {} more failures of {op}", count - 5);
    }
    world.still_works().await;
    let after = world.bystander_state().await;
    assert_eq!(before, after, "the other account's project changed");
    assert!(
        tally.failures.is_empty(),
        "{} of {} requests failed (printed above)",
        tally.failures.len(),
        tally.requests
    );
}
