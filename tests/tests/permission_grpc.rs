//! The gRPC API with a client generated from `proto/` (Keto's
//! `ory.keto.relation_tuples.v1alpha2`): write, list with paging, check,
//! expand, delete and version, the tenant chosen by `:authority`, and
//! isolation between tenants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::v0alpha2_api;
use ory_client::models::JsonPatch;
use ory_client::models::json_patch::OpEnum;
use pb::check_service_client::CheckServiceClient;
use pb::expand_service_client::ExpandServiceClient;
use pb::read_service_client::ReadServiceClient;
use pb::relation_tuple_delta::Action;
use pb::version_service_client::VersionServiceClient;
use pb::write_service_client::WriteServiceClient;
use permission::grpc::pb;
use serde_json::json;
use tonic::transport::Channel;
use tonic::{Code, Request};

async fn add_namespaces(cp: &ory_client::apis::configuration::Configuration, id: &str) {
    let mut op = JsonPatch::new(
        OpEnum::Replace,
        "/services/permission/config/namespaces".into(),
    );
    op.value = Some(json!([{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }]));
    v0alpha2_api::patch_project(cp, id, Some(vec![op]))
        .await
        .unwrap();
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

fn tuple(text: &str) -> pb::RelationTuple {
    let t: permission::model::RelationTuple = text.parse().unwrap();
    let subject = match (t.subject_id, t.subject_set) {
        (Some(id), _) => pb::subject::Ref::Id(id),
        (None, Some(s)) => pb::subject::Ref::Set(pb::SubjectSet {
            namespace: s.namespace,
            object: s.object,
            relation: s.relation,
        }),
        (None, None) => panic!("no subject"),
    };
    pb::RelationTuple {
        namespace: t.namespace,
        object: t.object,
        relation: t.relation,
        subject: Some(pb::Subject {
            r#ref: Some(subject),
        }),
    }
}

fn insert(text: &str) -> pb::RelationTupleDelta {
    pb::RelationTupleDelta {
        action: Action::Insert.into(),
        relation_tuple: Some(tuple(text)),
    }
}

async fn check(channel: &Channel, token: &str, text: &str) -> Result<bool, tonic::Status> {
    let req = pb::CheckRequest {
        tuple: Some(tuple(text)),
        ..Default::default()
    };
    CheckServiceClient::new(channel.clone())
        .check(authed(req, token))
        .await
        .map(|r| r.into_inner().allowed)
}

#[tokio::test]
async fn keto_grpc_api_by_authority() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "gRPC A").await;
    let b = create_project(&cp, "gRPC B").await;
    add_namespaces(&cp, &a.id).await;
    add_namespaces(&cp, &b.id).await;
    let chan_a = common::grpc_channel(&server, &tenant_host(&a.slug)).await;
    let chan_b = common::grpc_channel(&server, &tenant_host(&b.slug)).await;

    let mut writes = vec![
        insert("files:readme#viewer@(groups:eng#member)"),
        insert("groups:eng#member@bob"),
    ];
    writes.extend((0..5).map(|i| insert(&format!("files:readme#viewer@user{i}"))));
    WriteServiceClient::new(chan_a.clone())
        .transact_relation_tuples(authed(
            pb::TransactRelationTuplesRequest {
                relation_tuple_deltas: writes,
            },
            &token,
        ))
        .await
        .unwrap();

    // Check: direct, indirect, denied; Keto v0.9 clients' fields 1-4 too.
    assert!(
        check(&chan_a, &token, "files:readme#viewer@user3")
            .await
            .unwrap()
    );
    assert!(
        check(&chan_a, &token, "files:readme#viewer@bob")
            .await
            .unwrap()
    );
    assert!(
        !check(&chan_a, &token, "files:readme#viewer@mallory")
            .await
            .unwrap()
    );
    #[allow(deprecated)]
    let legacy = pb::CheckRequest {
        namespace: "files".into(),
        object: "readme".into(),
        relation: "viewer".into(),
        subject: tuple("files:readme#viewer@bob").subject,
        ..Default::default()
    };
    let answer = CheckServiceClient::new(chan_a.clone())
        .check(authed(legacy, &token))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.allowed);
    // The position the answer is at least as fresh as: a snaptoken any
    // read of this project accepts.
    assert!(!answer.snaptoken.is_empty());
    #[allow(deprecated)]
    let fresh = pb::CheckRequest {
        tuple: Some(tuple("files:readme#viewer@bob")),
        snaptoken: answer.snaptoken,
        ..Default::default()
    };
    assert!(
        CheckServiceClient::new(chan_a.clone())
            .check(authed(fresh, &token))
            .await
            .unwrap()
            .into_inner()
            .allowed
    );

    // List with paging.
    let mut read = ReadServiceClient::new(chan_a.clone());
    let mut seen = 0;
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = read
            .list_relation_tuples(authed(
                pb::ListRelationTuplesRequest {
                    relation_query: Some(pb::RelationQuery {
                        namespace: Some("files".into()),
                        ..Default::default()
                    }),
                    page_size: 4,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        seen += page.relation_tuples.len();
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!((seen, pages), (6, 2));

    // Expand.
    let tree = ExpandServiceClient::new(chan_a.clone())
        .expand(authed(
            pb::ExpandRequest {
                subject: Some(pb::Subject {
                    r#ref: Some(pb::subject::Ref::Set(pb::SubjectSet {
                        namespace: "files".into(),
                        object: "readme".into(),
                        relation: "viewer".into(),
                    })),
                }),
                max_depth: 0,
                snaptoken: String::new(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .tree
        .unwrap();
    assert_eq!(tree.node_type(), pb::NodeType::Union);
    assert_eq!(tree.children.len(), 6);
    assert_eq!(tree.children[0].node_type(), pb::NodeType::Union);
    assert_eq!(tree.children[0].children.len(), 1, "bob, through the group");

    // Tenant B (chosen by authority) sees none of it.
    assert!(
        !check(&chan_b, &token, "files:readme#viewer@user3")
            .await
            .unwrap()
    );

    // Delete by query, then the check is denied.
    WriteServiceClient::new(chan_a.clone())
        .delete_relation_tuples(authed(
            pb::DeleteRelationTuplesRequest {
                relation_query: Some(pb::RelationQuery {
                    namespace: Some("groups".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap();
    assert!(
        !check(&chan_a, &token, "files:readme#viewer@bob")
            .await
            .unwrap()
    );

    // Errors: unknown namespace, no token, unknown host.
    let err = check(&chan_a, &token, "nope:readme#viewer@bob")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("nope"));
    let err = CheckServiceClient::new(chan_a.clone())
        .check(Request::new(pb::CheckRequest {
            tuple: Some(tuple("files:readme#viewer@bob")),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let nowhere = common::grpc_channel(&server, "missing-project.projects.localhost").await;
    let err = check(&nowhere, &token, "files:readme#viewer@bob")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let version = VersionServiceClient::new(chan_a)
        .get_version(Request::new(pb::GetVersionRequest {}))
        .await
        .unwrap()
        .into_inner()
        .version;
    assert!(!version.is_empty());
}

#[tokio::test]
async fn keyplane_lookups_over_grpc() {
    use permission::grpc::lookup_pb::lookup_service_client::LookupServiceClient;
    use permission::grpc::lookup_pb::{BatchCheckRequest, ListObjectsRequest, ListSubjectsRequest};
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "Lookups A").await;
    let b = create_project(&cp, "Lookups B").await;
    add_namespaces(&cp, &a.id).await;
    add_namespaces(&cp, &b.id).await;
    let chan_a = common::grpc_channel(&server, &tenant_host(&a.slug)).await;
    let chan_b = common::grpc_channel(&server, &tenant_host(&b.slug)).await;
    for (channel, texts) in [
        (
            &chan_a,
            vec![
                "files:readme#viewer@(groups:eng#member)",
                "files:plan#viewer@alice",
                "groups:eng#member@alice",
                "groups:eng#member@bob",
            ],
        ),
        (&chan_b, vec!["files:other#viewer@alice"]),
    ] {
        WriteServiceClient::new(channel.clone())
            .transact_relation_tuples(authed(
                pb::TransactRelationTuplesRequest {
                    relation_tuple_deltas: texts.into_iter().map(insert).collect(),
                },
                &token,
            ))
            .await
            .unwrap();
    }
    let mut lookups = LookupServiceClient::new(chan_a.clone());
    let objects = |page_token: &str| ListObjectsRequest {
        namespace: "files".into(),
        relation: "viewer".into(),
        subject: tuple("files:x#viewer@alice").subject,
        page_size: 1,
        page_token: page_token.into(),
        ..Default::default()
    };
    let first = lookups
        .list_objects(authed(objects(""), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.objects, ["plan"]);
    let second = lookups
        .list_objects(authed(objects(&first.next_page_token), &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (second.objects, second.next_page_token),
        (vec!["readme".to_owned()], String::new())
    );

    let subjects = lookups
        .list_subjects(authed(
            ListSubjectsRequest {
                namespace: "files".into(),
                object: "readme".into(),
                relation: "viewer".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(subjects.subject_ids, ["alice", "bob"]);

    let results = lookups
        .batch_check(authed(
            BatchCheckRequest {
                tuples: vec![
                    tuple("files:readme#viewer@bob"),
                    tuple("files:other#viewer@alice"),
                    tuple("folders:x#viewer@bob"),
                ],
                max_depth: 0,
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(
        results.iter().map(|r| r.allowed).collect::<Vec<_>>(),
        [true, false, false],
        "B's tuple does not count in A"
    );
    assert!(results[0].error.is_empty() && results[2].error.contains("folders"));

    // Missing fields, a batch over the limit, no credentials.
    let err = lookups
        .list_subjects(authed(ListSubjectsRequest::default(), &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = lookups
        .batch_check(authed(
            BatchCheckRequest {
                tuples: vec![tuple("files:plan#viewer@alice"); 11],
                max_depth: 0,
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = LookupServiceClient::new(chan_b)
        .list_objects(Request::new(objects("")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
}
