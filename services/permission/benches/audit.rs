//! What the audit log costs, on a SQLite file with the real schema (and on
//! PostgreSQL when `BENCH_POSTGRES_URL` names a database to use):
//!
//! - `audit-write/tuple-insert/{autocommit,bare,with-event}`: the smallest
//!   admin write there is, one relation tuple: as `PUT /admin/relation-tuples`
//!   wrote it before the audit log (one autocommit statement), in a write
//!   transaction, and in a write transaction with its event (what
//!   `PermissionEngine::create` does now);
//! - `audit-write/patch-10/{bare,with-event}`: ten tuples in one transaction
//!   (`PATCH /admin/relation-tuples`), without and with the one event.
//!   The issue's bound: with ≤ 1.15 × without.
//! - `interleaved …` (printed): the single-tuple write again, the
//!   variants in alternating rounds, medians and ratios; the figure to
//!   quote on a shared machine. `feed-bare`/`feed-with-event` are the write
//!   as the engine makes it since the change feed (with its change row and
//!   position), without and with the event.
//! - `audit-read/newest-page/{1k,1m}`: the newest page (100 events) of a
//!   project with a thousand events and of one with a million (in the same
//!   database, next to each other): keyset paging on
//!   `(nid, created_at, id)` keeps it flat. `AUDIT_BENCH_EVENTS` overrides
//!   the million.

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use kernel::tenant::NamespaceRef;
use keyplane_permission::changes::{self, Operation};
use keyplane_permission::model::{RelationTuple, Tuple};
use keyplane_permission::namespace::Namespaces;
use keyplane_permission::tuple_store;
use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde_json::json;
use store::audit::{self, Change, Filter};
use store::entity::audit_events::{Column, Entity};
use uuid::Uuid;

fn tuple(n: u64) -> (String, Tuple) {
    let namespaces = [NamespaceRef {
        id: 1,
        name: "files".into(),
    }];
    let text = format!("files:doc{n}#viewer@user{n}");
    let parsed: RelationTuple = text.parse().unwrap_or_else(|e| panic!("{e}"));
    let resolved = Namespaces(&namespaces)
        .tuple(&parsed)
        .unwrap_or_else(|e| panic!("{e}"));
    (text, resolved)
}

/// Inserts `count` events of project `nid`, a thousand rows a statement.
async fn seed(db: &store::Database, nid: Uuid, count: u64) {
    let start = Utc::now() - Duration::days(30);
    let mut done = 0;
    while done < count {
        let batch = (count - done).min(1000);
        let mut insert = Query::insert();
        insert.into_table(Entity).columns([
            Column::Id,
            Column::Nid,
            Column::CreatedAt,
            Column::ActorType,
            Column::ActorName,
            Column::Action,
            Column::Target,
            Column::Diff,
        ]);
        for i in 0..batch {
            let n = done + i;
            let at = start + Duration::milliseconds(i64::try_from(n).unwrap_or(0));
            insert.values_panic([
                Uuid::now_v7().into(),
                nid.into(),
                at.into(),
                "api_key".into(),
                "seed".into(),
                "relation_tuple.create".into(),
                format!("files:doc{n}#viewer@user{n}").into(),
                r#"[{"op":"add","path":"/relation_tuples/-","value":"files:doc#viewer@user"}]"#
                    .into(),
            ]);
        }
        let txn = db.conn.begin().await.unwrap_or_else(|e| panic!("{e}"));
        txn.execute_raw(txn.get_database_backend().build(&insert))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
        done += batch;
    }
}

fn run(c: &mut Criterion, label: &str, url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let db = runtime.block_on(async {
        store::connect_migrated(url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let nid = Uuid::new_v4();
    let mut next = 0u64;
    let mut group = c.benchmark_group(format!("audit-write/{label}"));
    // The single tuple of `PUT /admin/relation-tuples`: as it was before
    // the audit log (one autocommit statement), in a transaction, and in a
    // transaction with its event.
    group.bench_function("tuple-insert/autocommit", |b| {
        b.iter(|| {
            next += 1;
            let (_, resolved) = tuple(next);
            runtime.block_on(async {
                tuple_store::insert(&db.conn, nid, &resolved, Utc::now())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            })
        })
    });
    // What `PermissionEngine::create` runs now: the insert and its event in
    // one call (`audit::execute_with_event`), in a transaction.
    group.bench_function("tuple-insert/with-event-one-call", |b| {
        b.iter(|| {
            next += 1;
            let (text, resolved) = tuple(next);
            runtime.block_on(async {
                let now = Utc::now();
                let txn = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
                let change = Change::project(nid, "relation_tuple.create", &text).with_patch(
                    json!([{ "op": "add", "path": "/relation_tuples/-", "value": text }]),
                );
                let insert = tuple_store::insert_statement(nid, &resolved, now)
                    .unwrap_or_else(|e| panic!("{e}"));
                audit::execute_with_event(&txn, &insert, change, now)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
            })
        })
    });
    for (name, deltas, with_event) in [
        ("tuple-insert/bare", 1, false),
        ("tuple-insert/with-event", 1, true),
        ("patch-10/bare", 10, false),
        ("patch-10/with-event", 10, true),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let tuples: Vec<_> = (0..deltas)
                    .map(|_| {
                        next += 1;
                        tuple(next)
                    })
                    .collect();
                runtime.block_on(async {
                    let now = Utc::now();
                    let txn = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
                    let mut ops = Vec::new();
                    for (text, resolved) in &tuples {
                        if tuple_store::insert(&txn, nid, resolved, now)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"))
                        {
                            ops.push(
                                json!({ "op": "add", "path": "/relation_tuples/-", "value": text }),
                            );
                        }
                    }
                    if with_event {
                        let change =
                            Change::project(nid, "relation_tuple.patch", "relation-tuples")
                                .with_patch(serde_json::Value::Array(ops));
                        audit::append(&txn, change, now)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
                })
            })
        });
    }
    group.finish();

    let large: u64 = std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (small_nid, large_nid) = (Uuid::new_v4(), Uuid::new_v4());
    runtime.block_on(async {
        seed(&db, small_nid, 1_000).await;
        seed(&db, large_nid, large).await;
    });
    let mut group = c.benchmark_group(format!("audit-read/{label}"));
    for (name, project) in [("1k", small_nid), ("1m", large_nid)] {
        let filter = Filter {
            nid: Some(project),
            ..Filter::default()
        };
        group.bench_function(format!("newest-page/{name}"), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let (events, next) = audit::list(&db.conn, &filter, None, 100)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(events.len(), 100);
                    assert!(next.is_some());
                })
            })
        });
    }
    group.finish();
}

fn audit_log(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("keyplane-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    run(
        c,
        "sqlite",
        &format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
    );
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        run(c, "postgres", &url);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The write comparison again, interleaved (autocommit, in a transaction,
/// with the event in the same statement, with the event as a statement of
/// its own): rounds of 200 writes of each variant in turn, the median per-write time of each variant over the
/// rounds, and the ratio. Criterion measures one variant after the other,
/// so on a shared machine a load spike lands on one of them; here each
/// round sees the same machine. Printed as `interleaved …` lines.
/// Rounds of the interleaved comparison (odd: the median is one round).
const ROUNDS: usize = 31;

fn interleaved(label: &str, url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let db = runtime.block_on(async {
        store::connect_migrated(url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let nid = Uuid::new_v4();
    let mut next = 1_000_000_000u64;
    let variants = [
        "autocommit",
        "bare",
        "with-event",
        "separate-event",
        "feed-bare",
        "feed-with-event",
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for _ in 0..ROUNDS {
        for (v, variant) in variants.iter().enumerate() {
            let started = std::time::Instant::now();
            for _ in 0..200 {
                next += 1;
                let (text, resolved) = tuple(next);
                runtime.block_on(async {
                    let now = Utc::now();
                    if *variant == "autocommit" {
                        tuple_store::insert(&db.conn, nid, &resolved, now)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                        return;
                    }
                    let txn = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
                    let insert = tuple_store::insert_statement(nid, &resolved, now)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let change = Change::project(nid, "relation_tuple.create", &text).with_patch(
                        json!([{ "op": "add", "path": "/relation_tuples/-", "value": text }]),
                    );
                    if variant.ends_with("with-event") {
                        audit::execute_with_event(&txn, &insert, change, now)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                    } else {
                        txn.execute_raw(txn.get_database_backend().build(&insert))
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                        if *variant == "separate-event" {
                            audit::append(&txn, change, now)
                                .await
                                .unwrap_or_else(|e| panic!("{e}"));
                        }
                    }
                    if variant.starts_with("feed-") {
                        // The write as `PermissionEngine::create` makes it
                        // since the change feed: its change row too.
                        changes::record(&txn, nid, &[(Operation::Insert, &resolved)], now)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
                });
            }
            samples[v].push(started.elapsed().as_secs_f64() * 1e6 / 200.0);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Each round's own ratio (its two variants ran next to each other),
    // then the median of those: a load spike moves a round, not a ratio.
    let mut paired: Vec<f64> = samples[5]
        .iter()
        .zip(&samples[4])
        .map(|(with, without)| with / without)
        .collect();
    let paired = median(&mut paired);
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    println!(
        "interleaved {label}: autocommit {:.0} µs, bare {:.0} µs, with-event {:.0} µs (one statement), separate-event {:.0} µs; with-event / bare ×{:.2}, separate / bare ×{:.2}, with-event / autocommit ×{:.2}",
        medians[0],
        medians[1],
        medians[2],
        medians[3],
        medians[2] / medians[1],
        medians[3] / medians[1],
        medians[2] / medians[0]
    );
    println!(
        "interleaved {label} with the change row: feed-bare {:.0} µs, feed-with-event {:.0} µs; ×{:.2} (median of the rounds' own ratios ×{paired:.2})",
        medians[4],
        medians[5],
        medians[5] / medians[4]
    );
}

fn interleaved_all(_: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("keyplane-audit-mix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    interleaved(
        "sqlite",
        &format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
    );
    if let Ok(url) = std::env::var("BENCH_POSTGRES_URL") {
        interleaved("postgres", &url);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, audit_log, interleaved_all);
criterion_main!(benches);
