//! The check engine on its own, over the in-memory reader and over SQLite
//! (a file database with the real schema), with 10,000 unrelated tuples
//! around each fixture:
//!
//! - `computed-userset`: `doc#viewer@(doc#editor)`, `doc#editor@(doc#owner)`,
//!   `doc#owner@alice`; checking viewer walks three levels (Keto's own
//!   benchmark reports 81 µs per check on this shape);
//! - `chain-5`: five subject-set hops;
//! - `parents-200`: the subject is reachable only through the last of 200
//!   parent sets (Ory Keto issue #1519);
//! - `wide-10k`: a userset of 10,000 direct members and one subject set,
//!   the subject in the set (what a walk must not scan).
//!
//! Each walk costs one read per level; the fixture asserts it before timing.
//! Each check runs at the fixture's own depth, its number of levels (Keto
//! v0.9 reads one level per unit of depth, so `chain-5`, whose tuple is the
//! sixth level, needs depth 6).
//! `driver-floor/select-1` is `SELECT 1` through the same connection: the
//! least any one SQL read can cost through sqlx (`-held`: on one connection
//! held by a transaction; `postgres-select-1`: one round trip to
//! PostgreSQL, the least any check there costs that is not cached). `…/sqlite-direct` is the reader the engine uses
//! on a SQLite file: the same statements on the calling thread
//! (`store::sqlite_reads`); `…/sqlite-cte` is the whole walk as one
//! recursive statement there.
//!
//! `…/cached-sqlite-direct` is what a hot check costs the engine with the
//! check cache: the tenant's position read on the calling thread and one
//! cache lookup (no walk). With `BENCH_POSTGRES_URL` set (a database this
//! bench may migrate and fill), `…/postgres` walks through the pool on
//! PostgreSQL and `…/cached-postgres` is the hot path there (the position
//! read through the pool, one cache lookup); `…/postgres-cte` is the whole
//! walk as one recursive statement; `…/cached-postgres-known` is the hot
//! path the engine takes there: the position as the replica knows it
//! (`positions`, read again once a second), one cache lookup.

use criterion::{Criterion, criterion_group, criterion_main};
use kernel::tenant::NamespaceRef;
use keyplane_permission::changes;
use keyplane_permission::check::check;
use keyplane_permission::check_cache::{self, CheckCache};
use keyplane_permission::cte;
use keyplane_permission::model::{RelationTuple, Tuple};
use keyplane_permission::namespace::Namespaces;
use keyplane_permission::positions::KnownPositions;
use keyplane_permission::reader::{MemoryTuples, TupleReader};
use keyplane_permission::tuple_store::{self, SqlTuples, SqliteTuples};

fn tuple(text: &str) -> Tuple {
    let namespaces = [
        NamespaceRef {
            id: 1,
            name: "files".into(),
        },
        NamespaceRef {
            id: 2,
            name: "groups".into(),
        },
    ];
    let parsed: RelationTuple = text.parse().unwrap_or_else(|e| panic!("{e}"));
    Namespaces(&namespaces)
        .tuple(&parsed)
        .unwrap_or_else(|e| panic!("{e}"))
}

struct Fixture {
    name: &'static str,
    tuples: Vec<String>,
    query: &'static str,
    levels: usize,
}

fn fixtures() -> Vec<Fixture> {
    let mut parents: Vec<String> = (0..200)
        .map(|i| format!("files:deep#viewer@(groups:parent{i}#member)"))
        .collect();
    parents.push("groups:parent199#member@erin".into());
    vec![
        Fixture {
            name: "computed-userset",
            tuples: vec![
                "files:doc#viewer@(files:doc#editor)".into(),
                "files:doc#editor@(files:doc#owner)".into(),
                "files:doc#owner@alice".into(),
            ],
            query: "files:doc#viewer@alice",
            levels: 3,
        },
        Fixture {
            name: "chain-5",
            tuples: (1..=5)
                .map(|i| {
                    if i == 1 {
                        "files:chain#viewer@(groups:c1#member)".to_owned()
                    } else {
                        format!("groups:c{}#member@(groups:c{i}#member)", i - 1)
                    }
                })
                .chain(["groups:c5#member@dave".to_owned()])
                .collect(),
            query: "files:chain#viewer@dave",
            levels: 6,
        },
        Fixture {
            name: "parents-200",
            tuples: parents,
            query: "files:deep#viewer@erin",
            levels: 2,
        },
        Fixture {
            name: "wide-10k",
            tuples: (0..10_000)
                .map(|i| format!("files:wide#viewer@member{i}"))
                .chain([
                    "files:wide#viewer@(groups:team#member)".to_owned(),
                    "groups:team#member@frank".to_owned(),
                ])
                .collect(),
            query: "files:wide#viewer@frank",
            levels: 2,
        },
    ]
}

/// Tuples of other objects and users, so indexes have something to skip.
fn noise() -> impl Iterator<Item = String> {
    (0..10_000).map(|i| format!("files:other{}#viewer@user{i}", i % 1000))
}

fn engine(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = std::env::temp_dir().join(format!("keyplane-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let db = runtime.block_on(async {
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.display());
        store::connect_migrated(&url, 4)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let postgres = std::env::var("BENCH_POSTGRES_URL").ok().map(|url| {
        runtime.block_on(async {
            store::connect_migrated(&url, 4)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    let cache = CheckCache::default();
    let mut group = c.benchmark_group("check");
    for (name, database) in std::iter::once(("select-1", &db))
        .chain(postgres.as_ref().map(|pg| ("postgres-select-1", pg)))
    {
        group.bench_function(format!("driver-floor/{name}"), |b| {
            use sea_orm::ConnectionTrait;
            b.iter(|| {
                runtime.block_on(async {
                    database
                        .conn
                        .query_one_raw(sea_orm::Statement::from_string(
                            database.conn.get_database_backend(),
                            "SELECT 1",
                        ))
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            })
        });
    }
    // The same, on one connection held across iterations (a transaction
    // holds it): what a read costs without the pool's checkout and return.
    let held = runtime.block_on(async {
        use sea_orm::TransactionTrait;
        db.conn.begin().await.unwrap_or_else(|e| panic!("{e}"))
    });
    group.bench_function("driver-floor/select-1-held", |b| {
        use sea_orm::ConnectionTrait;
        b.iter(|| {
            runtime.block_on(async {
                held.query_one_raw(sea_orm::Statement::from_string(
                    held.get_database_backend(),
                    "SELECT 1",
                ))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            })
        })
    });
    runtime.block_on(async { held.rollback().await.unwrap_or_else(|e| panic!("{e}")) });
    for fixture in fixtures() {
        let nid = uuid::Uuid::new_v4();
        let memory: MemoryTuples = fixture
            .tuples
            .iter()
            .cloned()
            .chain(noise())
            .map(|t| tuple(&t))
            .collect();
        for database in std::iter::once(&db).chain(postgres.as_ref()) {
            runtime.block_on(async {
                use sea_orm::TransactionTrait;
                let txn = database
                    .conn
                    .begin()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let all: Vec<Tuple> = fixture
                    .tuples
                    .iter()
                    .cloned()
                    .chain(noise())
                    .map(|t| tuple(&t))
                    .collect();
                tuple_store::insert_many(&txn, nid, &all, chrono::Utc::now())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                txn.commit().await.unwrap_or_else(|e| panic!("{e}"));
            });
        }
        let query = tuple(fixture.query);
        let depth = u32::try_from(fixture.levels).unwrap_or_else(|e| panic!("{e}"));
        let allowed = runtime
            .block_on(check(&memory, &query, depth))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(allowed, "{}: the fixture must allow", fixture.name);
        assert_eq!(
            memory.reads(),
            fixture.levels,
            "{}: one read per level",
            fixture.name
        );

        group.bench_function(format!("{}/memory", fixture.name), |b| {
            b.iter(|| runtime.block_on(check(&memory, &query, depth)))
        });
        let sql = SqlTuples {
            conn: &db.conn,
            nid,
        };
        let reader: &dyn TupleReader = &sql;
        group.bench_function(format!("{}/sqlite", fixture.name), |b| {
            b.iter(|| runtime.block_on(check(reader, &query, depth)))
        });
        // What the engine uses on a SQLite file: the same statements read
        // on the calling thread.
        let reads = db
            .sqlite_reads
            .as_ref()
            .unwrap_or_else(|| panic!("a SQLite file has direct reads"));
        let direct = SqliteTuples { reads, nid };
        let direct: &dyn TupleReader = &direct;
        assert!(
            runtime
                .block_on(check(direct, &query, depth))
                .unwrap_or_else(|e| panic!("{e}")),
            "{}: the direct reader must allow",
            fixture.name
        );
        group.bench_function(format!("{}/sqlite-direct", fixture.name), |b| {
            b.iter(|| runtime.block_on(check(direct, &query, depth)))
        });
        // The whole walk as one recursive statement, on the calling thread.
        assert!(
            cte::check_sqlite(reads, nid, &query, depth).unwrap_or_else(|e| panic!("{e}")),
            "{}: the recursive query must allow on SQLite",
            fixture.name
        );
        group.bench_function(format!("{}/sqlite-cte", fixture.name), |b| {
            b.iter(|| cte::check_sqlite(reads, nid, &query, depth))
        });
        // The hot path with the cache: the position, then one lookup.
        let tuple_key = query.key();
        let position = changes::position_direct(reads, nid).unwrap_or_else(|e| panic!("{e}"));
        runtime.block_on(cache.put(check_cache::key(nid, position, depth, &tuple_key), true));
        group.bench_function(format!("{}/cached-sqlite-direct", fixture.name), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let position =
                        changes::position_direct(reads, nid).unwrap_or_else(|e| panic!("{e}"));
                    cache
                        .get(&check_cache::key(nid, position, depth, &tuple_key))
                        .await
                        .unwrap_or_else(|| panic!("cached"))
                })
            })
        });
        if let Some(pg) = &postgres {
            let sql = SqlTuples {
                conn: &pg.conn,
                nid,
            };
            let reader: &dyn TupleReader = &sql;
            assert!(
                runtime
                    .block_on(check(reader, &query, depth))
                    .unwrap_or_else(|e| panic!("{e}")),
                "{}: PostgreSQL must allow",
                fixture.name
            );
            group.bench_function(format!("{}/postgres", fixture.name), |b| {
                b.iter(|| runtime.block_on(check(reader, &query, depth)))
            });
            assert!(
                runtime
                    .block_on(cte::check(&pg.conn, nid, &query, depth))
                    .unwrap_or_else(|e| panic!("{e}")),
                "{}: the recursive query must allow",
                fixture.name
            );
            group.bench_function(format!("{}/postgres-cte", fixture.name), |b| {
                b.iter(|| runtime.block_on(cte::check(&pg.conn, nid, &query, depth)))
            });
            group.bench_function(format!("{}/cached-postgres", fixture.name), |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let (position, _) = changes::positions(&pg.conn, nid)
                            .await
                            .unwrap_or_else(|e| panic!("{e}"));
                        cache
                            .get(&check_cache::key(nid, position, depth, &tuple_key))
                            .await
                            .unwrap_or_else(|| panic!("cached"))
                    })
                })
            });
            // What the engine does on PostgreSQL: the position as this
            // replica knows it, read again once its reading is a second old.
            // The engine reads it beside the checks (`check_position`); here
            // the iteration that finds it old waits for it, one read a second
            // among some hundred thousand iterations.
            let known = KnownPositions::default();
            group.bench_function(format!("{}/cached-postgres-known", fixture.name), |b| {
                b.iter(|| {
                    runtime.block_on(async {
                        let position = match known.recent(nid) {
                            Some(position) => position,
                            None => {
                                let (position, _) = changes::positions(&pg.conn, nid)
                                    .await
                                    .unwrap_or_else(|e| panic!("{e}"));
                                known.exact(nid, position);
                                position
                            }
                        };
                        cache
                            .get(&check_cache::key(nid, position, depth, &tuple_key))
                            .await
                            .unwrap_or_else(|| panic!("cached"))
                    })
                })
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, engine);
criterion_main!(benches);
