//! The check and expand algorithms, table-driven with tuples written as
//! text (`files:readme#viewer@(groups:eng#member)`), each case run over the
//! in-memory reader and over the SQL reader on this run's database (SQLite
//! or PostgreSQL). A second tenant holding tuples that would change every
//! answer proves the SQL reader never crosses tenants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kernel::tenant::NamespaceRef;
use keyplane_tests::{database_kind_from_env, fresh_database};
use permission::check::check;
use permission::expand::{NodeType, Tree, expand};
use permission::model::{RelationTuple, Subject, Tuple};
use permission::namespace::Namespaces;
use permission::reader::{MemoryTuples, TupleReader};
use permission::tuple_store::{self, SqlTuples, SqliteTuples};
use uuid::Uuid;

fn namespaces() -> Vec<NamespaceRef> {
    ["files", "groups", "folders"]
        .iter()
        .zip(1..)
        .map(|(name, id)| NamespaceRef {
            id,
            name: (*name).to_owned(),
        })
        .collect()
}

fn tuple(text: &str) -> Tuple {
    let ns = namespaces();
    Namespaces(&ns)
        .tuple(&text.parse::<RelationTuple>().unwrap())
        .unwrap()
}

struct CheckCase {
    name: &'static str,
    tuples: &'static [&'static str],
    query: &'static str,
    depth: u32,
    allowed: bool,
}

const CHAIN: &[&str] = &[
    "files:doc#viewer@(groups:l1#member)",
    "groups:l1#member@(groups:l2#member)",
    "groups:l2#member@(groups:l3#member)",
    "groups:l3#member@(groups:l4#member)",
    "groups:l4#member@(groups:l5#member)",
    "groups:l5#member@dave",
];

const CHECKS: &[CheckCase] = &[
    CheckCase {
        name: "direct",
        tuples: &["files:readme#viewer@alice"],
        query: "files:readme#viewer@alice",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "denied: another subject",
        tuples: &["files:readme#viewer@alice"],
        query: "files:readme#viewer@bob",
        depth: 5,
        allowed: false,
    },
    CheckCase {
        name: "denied: another relation",
        tuples: &["files:readme#owner@alice"],
        query: "files:readme#viewer@alice",
        depth: 5,
        allowed: false,
    },
    CheckCase {
        name: "denied: another object",
        tuples: &["files:other#viewer@alice"],
        query: "files:readme#viewer@alice",
        depth: 5,
        allowed: false,
    },
    CheckCase {
        name: "denied: same names in another namespace",
        tuples: &["folders:readme#viewer@alice"],
        query: "files:readme#viewer@alice",
        depth: 5,
        allowed: false,
    },
    CheckCase {
        name: "through a subject set",
        tuples: &[
            "files:readme#viewer@(groups:eng#member)",
            "groups:eng#member@alice",
        ],
        query: "files:readme#viewer@alice",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "through nested subject sets",
        tuples: &[
            "files:readme#viewer@(groups:eng#member)",
            "groups:eng#member@(groups:backend#member)",
            "groups:backend#member@carol",
        ],
        query: "files:readme#viewer@carol",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "computed userset: editors are viewers",
        tuples: &[
            "files:readme#viewer@(files:readme#editor)",
            "files:readme#editor@frank",
        ],
        query: "files:readme#viewer@frank",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "a subject set as the subject, directly",
        tuples: &["files:readme#viewer@(groups:eng#member)"],
        query: "files:readme#viewer@(groups:eng#member)",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "a subject set as the subject, through another set",
        tuples: &[
            "files:readme#viewer@(folders:root#viewer)",
            "folders:root#viewer@(groups:eng#member)",
        ],
        query: "files:readme#viewer@(groups:eng#member)",
        depth: 5,
        allowed: true,
    },
    CheckCase {
        name: "a member of the set is not the set",
        tuples: &["groups:eng#member@alice"],
        query: "files:readme#viewer@(groups:eng#member)",
        depth: 5,
        allowed: false,
    },
    // Keto v0.9: depth d reads d levels of tuples; dave's is the sixth.
    CheckCase {
        name: "five hops at depth 6",
        tuples: CHAIN,
        query: "files:doc#viewer@dave",
        depth: 6,
        allowed: true,
    },
    CheckCase {
        name: "five hops at depth 5",
        tuples: CHAIN,
        query: "files:doc#viewer@dave",
        depth: 5,
        allowed: false,
    },
    CheckCase {
        name: "a cycle ends",
        tuples: &[
            "groups:a#member@(groups:b#member)",
            "groups:b#member@(groups:a#member)",
        ],
        query: "groups:a#member@eve",
        depth: 50,
        allowed: false,
    },
    CheckCase {
        name: "a cycle with a way out",
        tuples: &[
            "groups:a#member@(groups:b#member)",
            "groups:b#member@(groups:a#member)",
            "groups:b#member@(groups:c#member)",
            "groups:c#member@eve",
        ],
        query: "groups:a#member@eve",
        depth: 5,
        allowed: true,
    },
];

/// `b` is reachable from `r` directly and through `a`.
const DIAMOND: &[&str] = &[
    "groups:r#member@(groups:a#member)",
    "groups:r#member@(groups:b#member)",
    "groups:a#member@(groups:b#member)",
    "groups:b#member@eve",
];

struct ExpandCase {
    name: &'static str,
    tuples: &'static [&'static str],
    root: &'static str,
    depth: u32,
    tree: &'static str,
}

const EXPANDS: &[ExpandCase] = &[
    ExpandCase {
        name: "ids and a nested set",
        tuples: &[
            "files:readme#viewer@alice",
            "files:readme#viewer@(groups:eng#member)",
            "groups:eng#member@bob",
        ],
        root: "files:readme#viewer",
        depth: 5,
        tree: "union(files:readme#viewer)[leaf(alice) union(groups:eng#member)[leaf(bob)]]",
    },
    ExpandCase {
        name: "depth 2 stops at the children",
        tuples: &[
            "files:readme#viewer@(groups:eng#member)",
            "groups:eng#member@bob",
        ],
        root: "files:readme#viewer",
        depth: 2,
        tree: "union(files:readme#viewer)[leaf(groups:eng#member)]",
    },
    ExpandCase {
        name: "depth 1 is the root alone",
        tuples: &["files:readme#viewer@alice"],
        root: "files:readme#viewer",
        depth: 1,
        tree: "leaf(files:readme#viewer)",
    },
    ExpandCase {
        name: "a cycle is expanded once",
        tuples: &[
            "groups:a#member@(groups:b#member)",
            "groups:b#member@(groups:a#member)",
            "groups:b#member@eve",
        ],
        root: "groups:a#member",
        depth: 10,
        tree: "union(groups:a#member)[union(groups:b#member)[leaf(groups:a#member) leaf(eve)]]",
    },
    ExpandCase {
        name: "an empty set below the root is a leaf",
        tuples: &["files:readme#viewer@(groups:empty#member)"],
        root: "files:readme#viewer",
        depth: 5,
        tree: "union(files:readme#viewer)[leaf(groups:empty#member)]",
    },
    ExpandCase {
        // Keto walks depth first: b, met under a, is a leaf the second time.
        name: "a set met earlier in the walk is a leaf",
        tuples: DIAMOND,
        root: "groups:r#member",
        depth: 5,
        tree: "union(groups:r#member)[union(groups:a#member)[union(groups:b#member)[leaf(eve)]] leaf(groups:b#member)]",
    },
    ExpandCase {
        name: "a set first met at the depth limit stays a leaf",
        tuples: DIAMOND,
        root: "groups:r#member",
        depth: 3,
        tree: "union(groups:r#member)[union(groups:a#member)[leaf(groups:b#member)] leaf(groups:b#member)]",
    },
    ExpandCase {
        name: "an empty set",
        tuples: &[],
        root: "files:nothing#viewer",
        depth: 5,
        tree: "union(files:nothing#viewer)",
    },
];

fn render_subject(subject: &Subject) -> String {
    let ns = namespaces();
    match subject {
        Subject::Id(id) => id.clone(),
        Subject::Set(set) => Namespaces(&ns).named_set(set).unwrap().to_string(),
    }
}

fn render(tree: &Tree) -> String {
    let kind = match tree.node_type {
        NodeType::Union => "union",
        NodeType::Leaf => "leaf",
    };
    let mut out = format!("{kind}({})", render_subject(&tree.subject));
    if !tree.children.is_empty() {
        let children: Vec<String> = tree.children.iter().map(render).collect();
        out.push_str(&format!("[{}]", children.join(" ")));
    }
    out
}

/// Tuples that would flip every case above, stored for another tenant.
const NEIGHBOUR: &[&str] = &[
    "files:readme#viewer@bob",
    "files:readme#viewer@(groups:a#member)",
    "groups:a#member@eve",
    "groups:eng#member@alice",
    "files:doc#viewer@dave",
    "files:nothing#viewer@mallory",
    "files:readme#viewer@(groups:eng#member)",
];

async fn run_checks(reader: &dyn TupleReader, case: &CheckCase, backend: &str) {
    let allowed = check(reader, &tuple(case.query), case.depth).await.unwrap();
    assert_eq!(allowed, case.allowed, "{backend}: {}", case.name);
}

#[tokio::test]
async fn check_cases_on_memory_and_sql() {
    let db = fresh_database(database_kind_from_env()).await;
    assert_eq!(
        db.sqlite_reads.is_some(),
        db.kind == store::DatabaseKind::Sqlite,
        "test databases on SQLite are files, so the direct reader runs too"
    );
    let neighbour = Uuid::new_v4();
    for text in NEIGHBOUR {
        tuple_store::insert(&db.conn, neighbour, &tuple(text), chrono::Utc::now())
            .await
            .unwrap();
    }
    for case in CHECKS {
        let memory: MemoryTuples = case.tuples.iter().map(|t| tuple(t)).collect();
        run_checks(&memory, case, "memory").await;
        // One read per level at most: never one per node.
        assert!(
            memory.reads() <= case.depth as usize + 1,
            "{}: {} reads",
            case.name,
            memory.reads()
        );

        let nid = Uuid::new_v4();
        for text in case.tuples {
            tuple_store::insert(&db.conn, nid, &tuple(text), chrono::Utc::now())
                .await
                .unwrap();
        }
        run_checks(
            &SqlTuples {
                conn: &db.conn,
                nid,
            },
            case,
            "sql",
        )
        .await;
        // On SQLite, also the reader on the calling thread the engine uses.
        if let Some(reads) = &db.sqlite_reads {
            run_checks(&SqliteTuples { reads, nid }, case, "sqlite direct").await;
        }
    }
}

#[tokio::test]
async fn expand_cases_on_memory_and_sql() {
    let db = fresh_database(database_kind_from_env()).await;
    let neighbour = Uuid::new_v4();
    for text in NEIGHBOUR {
        tuple_store::insert(&db.conn, neighbour, &tuple(text), chrono::Utc::now())
            .await
            .unwrap();
    }
    for case in EXPANDS {
        let root = tuple(&format!("{}@x", case.root)).userset;
        let memory: MemoryTuples = case.tuples.iter().map(|t| tuple(t)).collect();
        let tree = expand(&memory, &root, case.depth).await.unwrap();
        assert_eq!(render(&tree), case.tree, "memory: {}", case.name);

        let nid = Uuid::new_v4();
        for text in case.tuples {
            tuple_store::insert(&db.conn, nid, &tuple(text), chrono::Utc::now())
                .await
                .unwrap();
        }
        let tree = expand(
            &SqlTuples {
                conn: &db.conn,
                nid,
            },
            &root,
            case.depth,
        )
        .await
        .unwrap();
        assert_eq!(render(&tree), case.tree, "sql: {}", case.name);
        if let Some(reads) = &db.sqlite_reads {
            let tree = expand(&SqliteTuples { reads, nid }, &root, case.depth)
                .await
                .unwrap();
            assert_eq!(render(&tree), case.tree, "sqlite direct: {}", case.name);
        }
    }
}

#[tokio::test]
async fn inserts_are_idempotent_and_deletes_exact() {
    let db = fresh_database(database_kind_from_env()).await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let t = tuple("files:readme#viewer@(groups:eng#member)");
    for _ in 0..3 {
        tuple_store::insert(&db.conn, a, &t, chrono::Utc::now())
            .await
            .unwrap();
    }
    tuple_store::insert(&db.conn, b, &t, chrono::Utc::now())
        .await
        .unwrap();
    let all = tuple_store::TupleFilter::default();
    let listed = tuple_store::list(&db.conn, a, &all, 0, 100).await.unwrap();
    assert_eq!(listed.len(), 1, "three inserts, one tuple");

    // Deleting in tenant B leaves tenant A's copy.
    assert_eq!(tuple_store::delete(&db.conn, b, &t).await.unwrap(), 1);
    assert_eq!(tuple_store::delete(&db.conn, b, &t).await.unwrap(), 0);
    let listed = tuple_store::list(&db.conn, a, &all, 0, 100).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        tuple_store::list(&db.conn, b, &all, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
