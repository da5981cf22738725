//! Keto v0.9's depth rules, table-driven: a chain puts `u1` one level down
//! (a direct tuple), `u2` two levels down (through one subject set), and so
//! on to `u6`. A subject `n` levels down is allowed exactly when `n` is at
//! most the effective depth, which is the request's `max-depth` unless that
//! is absent, 0 or less, or above the project's `limit.max_read_depth` (then
//! the limit). Expand's tree has as many levels as the effective depth. Run
//! on the engine's three readers, then over REST and gRPC with the project's
//! limit at its default and lowered through the project config.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use kernel::tenant::NamespaceRef;
use keyplane_tests::{database_kind_from_env, fresh_database};
use ory_client::apis::v0alpha2_api;
use ory_client::models::JsonPatch;
use ory_client::models::json_patch::OpEnum;
use permission::engine::effective_depth;
use permission::grpc::pb;
use permission::model::{RelationTuple, Tuple};
use permission::namespace::Namespaces;
use permission::reader::{MemoryTuples, TupleReader};
use permission::tuple_store::{self, SqlTuples, SqliteTuples};
use serde_json::{Value, json};
use tonic::Request;
use uuid::Uuid;

/// `u{n}` is `n` levels down from `files:doc#viewer`.
const CHAIN: &[&str] = &[
    "files:doc#viewer@u1",
    "files:doc#viewer@(groups:g1#member)",
    "groups:g1#member@u2",
    "groups:g1#member@(groups:g2#member)",
    "groups:g2#member@u3",
    "groups:g2#member@(groups:g3#member)",
    "groups:g3#member@(groups:g4#member)",
    "groups:g4#member@u5",
    "groups:g4#member@(groups:g5#member)",
    "groups:g5#member@u6",
];
const LEVELS: [u32; 5] = [1, 2, 3, 5, 6];
/// The chain's tree at full depth: `g5`'s `u6` is on level 7.
const CHAIN_LEVELS: u32 = 7;
/// Requested depths: absent, 0, negative, within, at and above the limit.
const REQUESTS: [Option<i64>; 9] = [
    None,
    Some(0),
    Some(-1),
    Some(1),
    Some(2),
    Some(5),
    Some(7),
    Some(0x7fff_ffff),
    Some(i64::MAX),
];

fn tuple(text: &str) -> Tuple {
    let ns = [("files", 1), ("groups", 2)].map(|(name, id)| NamespaceRef {
        id,
        name: name.into(),
    });
    Namespaces(&ns)
        .tuple(&text.parse::<RelationTuple>().unwrap())
        .unwrap()
}

fn levels(tree: &permission::expand::Tree) -> u32 {
    1 + tree.children.iter().map(levels).max().unwrap_or(0)
}

async fn walk(reader: &dyn TupleReader, backend: &str) {
    for depth in [1, 2, 3, 5, 6, 7] {
        for n in LEVELS {
            let query = tuple(&format!("files:doc#viewer@u{n}"));
            let allowed = permission::check::check(reader, &query, depth)
                .await
                .unwrap();
            assert_eq!(allowed, n <= depth, "{backend}: u{n} at depth {depth}");
        }
        let root = tuple("files:doc#viewer@x").userset;
        let tree = permission::expand::expand(reader, &root, depth)
            .await
            .unwrap();
        assert_eq!(
            levels(&tree),
            depth.min(CHAIN_LEVELS),
            "{backend}: depth {depth}"
        );
    }
}

#[tokio::test]
async fn depth_on_every_reader() {
    let memory: MemoryTuples = CHAIN.iter().map(|t| tuple(t)).collect();
    walk(&memory, "memory").await;
    // A check reads at most one level per unit of depth; an expand one
    // level fewer (the last level's sets are leaves, read or not).
    let before = memory.reads();
    let query = tuple("files:doc#viewer@nobody");
    permission::check::check(&memory, &query, 3).await.unwrap();
    assert_eq!(memory.reads() - before, 3);
    let before = memory.reads();
    permission::expand::expand(&memory, &query.userset, 3)
        .await
        .unwrap();
    assert_eq!(memory.reads() - before, 2);

    let db = fresh_database(database_kind_from_env()).await;
    let (nid, neighbour) = (Uuid::new_v4(), Uuid::new_v4());
    for text in CHAIN {
        tuple_store::insert(&db.conn, nid, &tuple(text), chrono::Utc::now())
            .await
            .unwrap();
    }
    // Another tenant's shortcut to every user must change nothing.
    for n in LEVELS {
        let shortcut = tuple(&format!("files:doc#viewer@u{n}"));
        tuple_store::insert(&db.conn, neighbour, &shortcut, chrono::Utc::now())
            .await
            .unwrap();
    }
    walk(
        &SqlTuples {
            conn: &db.conn,
            nid,
        },
        "sql",
    )
    .await;
    if let Some(reads) = &db.sqlite_reads {
        walk(&SqliteTuples { reads, nid }, "sqlite direct").await;
    }
}

/// Sets the project's namespaces and, when given, its read depth limit.
async fn configure(
    cp: &ory_client::apis::configuration::Configuration,
    id: &str,
    limit: Option<i64>,
) {
    let mut namespaces = JsonPatch::new(
        OpEnum::Replace,
        "/services/permission/config/namespaces".into(),
    );
    namespaces.value = Some(json!([{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }]));
    let mut ops = vec![namespaces];
    if let Some(depth) = limit {
        let mut op = JsonPatch::new(OpEnum::Add, "/services/permission/config/limit".into());
        op.value = Some(json!({ "max_read_depth": depth }));
        ops.push(op);
    }
    v0alpha2_api::patch_project(cp, id, Some(ops))
        .await
        .unwrap();
}

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    grpc: tonic::transport::Channel,
}

impl Api {
    fn authed<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        let bearer = format!("Bearer {}", self.token).parse().unwrap();
        req.metadata_mut().insert("authorization", bearer);
        req
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        let res = res.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }

    /// The answer of every REST check form and of gRPC, which must agree.
    async fn allowed(&self, user: &str, depth: Option<i64>) -> bool {
        let keys = format!("namespace=files&object=doc&relation=viewer&subject_id={user}");
        let depth_key = depth.map(|d| format!("&max-depth={d}")).unwrap_or_default();
        let (status, body) = self
            .get(&format!("/relation-tuples/check/openapi?{keys}{depth_key}"))
            .await;
        assert_eq!(status, 200, "{body}");
        let allowed = body["allowed"].as_bool().unwrap();
        let (status, body) = self
            .get(&format!("/relation-tuples/check?{keys}{depth_key}"))
            .await;
        assert_eq!(
            (status, body["allowed"].as_bool()),
            (if allowed { 200 } else { 403 }, Some(allowed))
        );
        let post = self.client.post(format!(
            "{}/relation-tuples/check/openapi?{}",
            self.base,
            depth_key.trim_start_matches('&')
        ));
        let body: Value = post
            .bearer_auth(&self.token)
            .json(&json!({"namespace": "files", "object": "doc", "relation": "viewer", "subject_id": user}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["allowed"].as_bool(),
            Some(allowed),
            "POST {user} {depth:?}"
        );
        let grpc = pb::check_service_client::CheckServiceClient::new(self.grpc.clone())
            .check(self.authed(pb::CheckRequest {
                tuple: Some(pb::RelationTuple {
                    namespace: "files".into(),
                    object: "doc".into(),
                    relation: "viewer".into(),
                    subject: Some(pb::Subject {
                        r#ref: Some(pb::subject::Ref::Id(user.into())),
                    }),
                }),
                max_depth: grpc_depth(depth),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .allowed;
        assert_eq!(grpc, allowed, "gRPC {user} {depth:?}");
        allowed
    }

    /// Expand's number of levels over REST and gRPC, which must agree.
    async fn expand_levels(&self, depth: Option<i64>) -> u32 {
        let depth_key = depth.map(|d| format!("&max-depth={d}")).unwrap_or_default();
        let (status, tree) = self
            .get(&format!(
                "/relation-tuples/expand?namespace=files&object=doc&relation=viewer{depth_key}"
            ))
            .await;
        assert_eq!(status, 200, "{tree}");
        let rest = json_levels(&tree);
        let set = pb::SubjectSet {
            namespace: "files".into(),
            object: "doc".into(),
            relation: "viewer".into(),
        };
        let tree = pb::expand_service_client::ExpandServiceClient::new(self.grpc.clone())
            .expand(self.authed(pb::ExpandRequest {
                subject: Some(pb::Subject {
                    r#ref: Some(pb::subject::Ref::Set(set)),
                }),
                max_depth: grpc_depth(depth),
                snaptoken: String::new(),
            }))
            .await
            .unwrap()
            .into_inner()
            .tree
            .unwrap();
        assert_eq!(pb_levels(&tree), rest, "gRPC and REST trees at {depth:?}");
        rest
    }
}

/// gRPC's `max_depth` is an int32 where 0 is "not given".
fn grpc_depth(depth: Option<i64>) -> i32 {
    depth.map_or(0, |d| i32::try_from(d).unwrap_or(i32::MAX))
}

fn json_levels(tree: &Value) -> u32 {
    let children = tree["children"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    1 + children.iter().map(json_levels).max().unwrap_or(0)
}

fn pb_levels(tree: &pb::SubjectTree) -> u32 {
    1 + tree.children.iter().map(pb_levels).max().unwrap_or(0)
}

async fn assert_keto_answers(api: &Api, limit: i64) {
    for depth in REQUESTS {
        let effective = effective_depth(limit, depth);
        for n in LEVELS {
            let want = n <= effective;
            assert_eq!(
                api.allowed(&format!("u{n}"), depth).await,
                want,
                "u{n}, max-depth {depth:?}, limit {limit}"
            );
        }
        let want = effective.min(CHAIN_LEVELS);
        assert_eq!(
            api.expand_levels(depth).await,
            want,
            "expand at {depth:?}, limit {limit}"
        );
    }
}

#[tokio::test]
async fn depth_over_rest_and_grpc_with_the_project_limit() {
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Depth").await;
    configure(&cp, &project.id, None).await;
    let (client, base) = tenant_client(&server, &project.slug);
    let grpc = common::grpc_channel(&server, &tenant_host(&project.slug)).await;
    let api = Api {
        client,
        base,
        token,
        grpc,
    };
    let deltas: Vec<Value> = CHAIN
        .iter()
        .map(|text| json!({"action": "insert", "relation_tuple": text.parse::<RelationTuple>().unwrap()}))
        .collect();
    let res = api
        .client
        .patch(format!("{}/admin/relation-tuples", api.base))
        .bearer_auth(&api.token)
        .json(&deltas);
    assert_eq!(res.send().await.unwrap().status(), 204);

    // Keto's known answers at the default limit (5), spelled out once.
    assert!(api.allowed("u1", Some(1)).await);
    assert!(
        !api.allowed("u2", Some(1)).await,
        "depth 1 reads the direct tuples only"
    );
    assert!(api.allowed("u2", Some(2)).await);
    assert!(api.allowed("u5", None).await && !api.allowed("u6", None).await);
    assert!(
        !api.allowed("u6", Some(7)).await,
        "a request cannot raise the limit"
    );
    assert_keto_answers(&api, 5).await;

    // The limit lowered through the project config applies at once.
    configure(&cp, &project.id, Some(2)).await;
    assert!(api.allowed("u2", None).await && !api.allowed("u3", Some(5)).await);
    assert_keto_answers(&api, 2).await;
}
