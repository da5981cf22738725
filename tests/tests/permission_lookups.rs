//! List-objects and list-subjects against brute force: on random graphs
//! (cycles, self-loops, chains longer than the depth), every answer of the
//! two walks equals checking every candidate one by one, at depths 1 to 4
//! and 6, over the in-memory reader and the SQL readers of this
//! run's database (SQLite or PostgreSQL; there also the one-statement
//! recursive check). A neighbouring tenant holds a
//! denser graph over the same names, so any read crossing tenants would
//! change the answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use keyplane_tests::{database_kind_from_env, fresh_database};
use permission::check::check;
use permission::model::{Subject, SubjectSet, Tuple};
use permission::reader::{MemoryTuples, TupleReader};
use permission::tuple_store::{self, SqlTuples, SqliteTuples};
use permission::walk;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use uuid::Uuid;

const NAMESPACES: [i64; 2] = [1, 2];
const OBJECTS: [&str; 5] = ["a", "b", "c", "d", "e"];
const RELATIONS: [&str; 2] = ["member", "viewer"];
const USERS: [&str; 4] = ["u0", "u1", "u2", "u3"];

fn every_userset() -> Vec<SubjectSet> {
    let mut all = Vec::new();
    for namespace in NAMESPACES {
        for object in OBJECTS {
            for relation in RELATIONS {
                all.push(SubjectSet {
                    namespace,
                    object: object.to_owned(),
                    relation: relation.to_owned(),
                });
            }
        }
    }
    all
}

fn every_subject() -> Vec<Subject> {
    USERS
        .iter()
        .map(|u| Subject::Id((*u).to_owned()))
        .chain(every_userset().into_iter().map(Subject::Set))
        .collect()
}

fn random_graph(rng: &mut StdRng, tuples: usize) -> Vec<Tuple> {
    let usersets = every_userset();
    (0..tuples)
        .map(|_| {
            let userset = usersets[rng.random_range(0..usersets.len())].clone();
            let subject = if rng.random_bool(0.4) {
                Subject::Id(USERS[rng.random_range(0..USERS.len())].to_owned())
            } else {
                Subject::Set(usersets[rng.random_range(0..usersets.len())].clone())
            };
            Tuple { userset, subject }
        })
        .collect()
}

/// Both walks on `reader` equal a check of every candidate on `truth`.
async fn compare(reader: &dyn TupleReader, truth: &MemoryTuples, label: &str) {
    for depth in [1, 2, 3, 4, 6] {
        for subject in every_subject() {
            for namespace in NAMESPACES {
                for relation in RELATIONS {
                    let listed = walk::objects(reader, namespace, relation, &subject, depth)
                        .await
                        .unwrap();
                    let mut expected = BTreeSet::new();
                    for object in OBJECTS {
                        let query = Tuple {
                            userset: SubjectSet {
                                namespace,
                                object: object.to_owned(),
                                relation: relation.to_owned(),
                            },
                            subject: subject.clone(),
                        };
                        if check(truth, &query, depth).await.unwrap() {
                            expected.insert(object.to_owned());
                        }
                    }
                    assert_eq!(
                        listed, expected,
                        "{label}: objects {namespace}#{relation} of {subject:?} at depth {depth}"
                    );
                }
            }
        }
        for root in every_userset() {
            let listed = walk::subjects(reader, &root, depth).await.unwrap();
            let mut expected = BTreeSet::new();
            for user in USERS {
                let query = Tuple {
                    userset: root.clone(),
                    subject: Subject::Id(user.to_owned()),
                };
                if check(truth, &query, depth).await.unwrap() {
                    expected.insert(user.to_owned());
                }
            }
            assert_eq!(
                listed, expected,
                "{label}: subjects of {root:?} at depth {depth}"
            );
        }
    }
}

#[tokio::test]
async fn lookups_equal_brute_force_checks_on_random_graphs() {
    let db = fresh_database(database_kind_from_env()).await;
    let now = chrono::Utc::now();
    let mut rng = StdRng::seed_from_u64(0x6b65_7970_6c61_6e65);
    let neighbour = Uuid::new_v4();
    tuple_store::insert_many(&db.conn, neighbour, &random_graph(&mut rng, 120), now)
        .await
        .unwrap();
    for round in 0..8 {
        let graph = random_graph(&mut rng, 6 + round * 2);
        let truth: MemoryTuples = graph.iter().cloned().collect();
        compare(&truth, &truth, &format!("round {round}, memory")).await;
        let nid = Uuid::new_v4();
        tuple_store::insert_many(&db.conn, nid, &graph, now)
            .await
            .unwrap();
        let sql = SqlTuples {
            conn: &db.conn,
            nid,
        };
        compare(&sql, &truth, &format!("round {round}, sql")).await;
        if let Some(reads) = &db.sqlite_reads {
            let direct = SqliteTuples { reads, nid };
            compare(&direct, &truth, &format!("round {round}, sqlite direct")).await;
        }
        compare_cte(&db, nid, &truth, round).await;
    }
}

/// The one-statement check (through the pool on both databases, and on
/// the calling thread on a SQLite file) answers as the level-by-level walk.
async fn compare_cte(db: &store::Database, nid: Uuid, truth: &MemoryTuples, round: usize) {
    for depth in [1, 2, 3, 6] {
        for userset in every_userset() {
            for subject in every_subject() {
                let query = Tuple {
                    userset: userset.clone(),
                    subject,
                };
                let walked = check(truth, &query, depth).await.unwrap();
                assert_eq!(
                    permission::cte::check(&db.conn, nid, &query, depth)
                        .await
                        .unwrap(),
                    walked,
                    "round {round}: {query:?} at depth {depth}"
                );
                if let Some(reads) = &db.sqlite_reads {
                    assert_eq!(
                        permission::cte::check_sqlite(reads, nid, &query, depth).unwrap(),
                        walked,
                        "round {round}, sqlite direct: {query:?} at depth {depth}"
                    );
                }
            }
        }
    }
}
