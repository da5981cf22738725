//! Parameters of the permission APIs read as Keto v0.9 reads them. REST: an
//! empty `max-depth`, `page_size` or `page_token` is absent, an empty tuple
//! key is the empty string (so it narrows a list or delete, never widens
//! it), unknown keys are ignored, a repeated key counts once, integers take
//! Go's forms, and a bad value is a 400 in Ory's error JSON. gRPC: proto3
//! defaults (0, "") are "not given", and a bad value is `INVALID_ARGUMENT`,
//! never `INTERNAL`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use ory_client::apis::v0alpha2_api;
use ory_client::models::JsonPatch;
use ory_client::models::json_patch::OpEnum;
use permission::grpc::pb;
use serde_json::{Value, json};
use tonic::transport::Channel;
use tonic::{Code, Request};

struct Tenant {
    client: reqwest::Client,
    base: String,
    token: String,
    grpc: Channel,
}

impl Tenant {
    async fn new() -> (keyplane_server::RunningServer, Tenant) {
        let (server, token, cp) = owner().await;
        let project = create_project(&cp, "Params").await;
        let mut op = JsonPatch::new(
            OpEnum::Replace,
            "/services/permission/config/namespaces".into(),
        );
        op.value = Some(json!([{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }]));
        v0alpha2_api::patch_project(&cp, &project.id, Some(vec![op]))
            .await
            .unwrap();
        let (client, base) = tenant_client(&server, &project.slug);
        let grpc = common::grpc_channel(&server, &tenant_host(&project.slug)).await;
        let tenant = Tenant {
            client,
            base,
            token,
            grpc,
        };
        let deltas: Vec<Value> = [
            "files:doc#viewer@alice",
            "files:doc#viewer@(groups:eng#member)",
            "groups:eng#member@(groups:ops#member)",
            "groups:ops#member@bob",
            "files:other#viewer@alice",
        ]
        .iter()
        .map(|t| json!({"action": "insert", "relation_tuple": t.parse::<permission::model::RelationTuple>().unwrap()}))
        .collect();
        let (status, _) = tenant
            .call("PATCH", "/admin/relation-tuples", Some(json!(deltas)))
            .await;
        assert_eq!(status, 204);
        (server, tenant)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn listed(&self, query: &str) -> Vec<String> {
        let (status, body) = self
            .call("GET", &format!("/relation-tuples?{query}"), None)
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        body["relation_tuples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                serde_json::from_value::<permission::model::RelationTuple>(t.clone())
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    fn authed<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        let bearer = format!("Bearer {}", self.token).parse().unwrap();
        req.metadata_mut().insert("authorization", bearer);
        req
    }
}

const BOB: &str = "namespace=files&object=doc&relation=viewer&subject_id=bob";

#[tokio::test]
async fn rest_query_strings_as_keto_reads_them() {
    let (_server, t) = Tenant::new().await;
    let allowed = |path: String| {
        let t = &t;
        async move {
            let (status, body) = t.call("GET", &path, None).await;
            assert_eq!(status, 200, "{path}: {body}");
            body["allowed"].as_bool().unwrap()
        }
    };
    let check = "/relation-tuples/check/openapi";
    // Empty max-depth is absent (the limit, 5): bob is three levels down.
    assert!(allowed(format!("{check}?max-depth=&{BOB}")).await);
    assert!(allowed(format!("{check}?{BOB}&max-depth=&unknown=1&page_size=")).await);
    // Go's integer forms: 0x3 is 3, 010 is octal 8 (above the limit: 5).
    assert!(allowed(format!("{check}?{BOB}&max-depth=0x3")).await);
    assert!(!allowed(format!("{check}?{BOB}&max-depth=0b10")).await);
    assert!(allowed(format!("{check}?{BOB}&max-depth=010")).await);
    // A repeated key counts once, with its first value.
    assert!(!allowed(format!("{check}?{BOB}&max-depth=2&max-depth=3")).await);
    assert!(
        allowed(format!(
            "{check}?namespace=files&object=doc&object=other&relation=viewer&subject_id=bob"
        ))
        .await
    );
    // An empty subject id is the id "", which nobody is.
    assert!(
        !allowed(format!(
            "{check}?namespace=files&object=doc&relation=viewer&subject_id="
        ))
        .await
    );

    // Expand and the POST check read max-depth the same way.
    let (status, tree) = t
        .call(
            "GET",
            "/relation-tuples/expand?namespace=files&object=doc&relation=viewer&max-depth=",
            None,
        )
        .await;
    assert_eq!(
        (status, tree["type"].as_str()),
        (200, Some("union")),
        "{tree}"
    );
    let (status, tree) = t
        .call(
            "GET",
            "/relation-tuples/expand?namespace=files&object=doc&relation=viewer&max-depth=0x1",
            None,
        )
        .await;
    assert_eq!(
        (status, tree["type"].as_str()),
        (200, Some("leaf")),
        "{tree}"
    );
    let body = json!({"namespace": "files", "object": "doc", "relation": "viewer", "subject_id": "bob", "max-depth": 1});
    let (status, res) = t
        .call("POST", &format!("{check}?max-depth="), Some(body.clone()))
        .await;
    assert_eq!(
        (status, res["allowed"].as_bool()),
        (200, Some(true)),
        "a body max-depth is not Keto's: ignored"
    );
    let (status, res) = t
        .call("POST", &format!("{check}?max-depth=2"), Some(body))
        .await;
    assert_eq!((status, res["allowed"].as_bool()), (200, Some(false)));

    // Lists: empty paging keys are absent; an empty tuple key narrows.
    assert_eq!(
        t.listed("namespace=files&page_size=&page_token=")
            .await
            .len(),
        3
    );
    assert_eq!(t.listed("namespace=files&page_size=0x2").await.len(), 2);
    assert!(t.listed("namespace=files&subject_id=").await.is_empty());
    assert!(t.listed("namespace=files&object=").await.is_empty());
    assert_eq!(
        t.listed("namespace=files&subject_id=alice&subject_set.namespace=groups")
            .await
            .len(),
        2
    );

    // A delete with an empty key deletes nothing, not the whole namespace.
    let (status, _) = t
        .call(
            "DELETE",
            "/admin/relation-tuples?namespace=files&subject_id=",
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(t.listed("namespace=files").await.len(), 3);
    let (status, _) = t
        .call(
            "DELETE",
            "/admin/relation-tuples?namespace=files&object=other&object=doc",
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        t.listed("namespace=files").await,
        [
            "files:doc#viewer@alice",
            "files:doc#viewer@(groups:eng#member)"
        ]
    );

    // Bad values: 400 in Ory's error JSON, never a 500.
    for path in [
        format!("{check}?{BOB}&max-depth=deep"),
        format!("{check}?{BOB}&max-depth=08"),
        format!("{check}?{BOB}&max-depth=99999999999999999999"),
        format!("/relation-tuples/check?{BOB}&max-depth=1.5"),
        "/relation-tuples/expand?namespace=files&object=doc&relation=viewer&max-depth=x".to_owned(),
        "/relation-tuples?namespace=files&page_size=ten".to_owned(),
        "/relation-tuples?namespace=files&page_size=-1".to_owned(),
        "/relation-tuples?namespace=files&subject=alice".to_owned(),
        "/relation-tuples?namespace=files&subject_set.namespace=groups".to_owned(),
        "/relation-tuples?namespace=files&page_token=%FF".to_owned(),
        format!("{check}?namespace=files&object=doc&relation=viewer"),
    ] {
        let (status, err) = t.call("GET", &path, None).await;
        assert_eq!(
            (status, &err["error"]["code"]),
            (400, &json!(400)),
            "{path}: {err}"
        );
    }
    // Keto reads max-depth only where it uses it: a list ignores it.
    assert_eq!(t.listed("namespace=files&max-depth=deep").await.len(), 2);
}

#[tokio::test]
async fn grpc_fields_as_keto_reads_them() {
    let (_server, t) = Tenant::new().await;
    let bob = |max_depth: i32| pb::CheckRequest {
        tuple: Some(pb::RelationTuple {
            namespace: "files".into(),
            object: "doc".into(),
            relation: "viewer".into(),
            subject: Some(pb::Subject {
                r#ref: Some(pb::subject::Ref::Id("bob".into())),
            }),
        }),
        max_depth,
        ..Default::default()
    };
    let check = |req: pb::CheckRequest| {
        let mut client = pb::check_service_client::CheckServiceClient::new(t.grpc.clone());
        let req = t.authed(req);
        async move { client.check(req).await.map(|r| r.into_inner().allowed) }
    };
    // max_depth: 0 (unset), negative and huge are the limit; 2 is too shallow.
    for depth in [0, -1, i32::MIN, 3, 5, i32::MAX] {
        assert!(check(bob(depth)).await.unwrap(), "max_depth {depth}");
    }
    assert!(!check(bob(2)).await.unwrap());

    // Empty strings are values: an empty namespace is unknown, not "any".
    let mut empty = bob(0);
    empty.tuple.as_mut().unwrap().namespace = String::new();
    assert_eq!(check(empty).await.unwrap_err().code(), Code::NotFound);
    let mut no_ref = bob(0);
    no_ref.tuple.as_mut().unwrap().subject = Some(pb::Subject { r#ref: None });
    assert_eq!(
        check(no_ref).await.unwrap_err().code(),
        Code::InvalidArgument
    );
    // An all-default request names the namespace "", which is unknown.
    assert_eq!(
        check(pb::CheckRequest::default()).await.unwrap_err().code(),
        Code::NotFound
    );

    let mut expand = pb::expand_service_client::ExpandServiceClient::new(t.grpc.clone());
    let err = expand
        .expand(t.authed(pb::ExpandRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Paging: 0 is the default size, negative a bad argument, huge capped;
    // an empty token is the first page, a forged one a bad argument.
    let list = |page_size: i32, page_token: &str| {
        let mut client = pb::read_service_client::ReadServiceClient::new(t.grpc.clone());
        let req = t.authed(pb::ListRelationTuplesRequest {
            relation_query: Some(pb::RelationQuery {
                namespace: Some("files".into()),
                ..Default::default()
            }),
            page_size,
            page_token: page_token.to_owned(),
            ..Default::default()
        });
        async move {
            client
                .list_relation_tuples(req)
                .await
                .map(|r| r.into_inner())
        }
    };
    assert_eq!(list(0, "").await.unwrap().relation_tuples.len(), 3);
    assert_eq!(list(i32::MAX, "").await.unwrap().relation_tuples.len(), 3);
    let first = list(2, "").await.unwrap();
    assert_eq!(
        list(2, &first.next_page_token)
            .await
            .unwrap()
            .relation_tuples
            .len(),
        1
    );
    for (size, token) in [(-1, ""), (i32::MIN, ""), (0, "forged"), (0, "\u{0}")] {
        let err = list(size, token).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{size} {token:?}: {err}");
    }
    // The deprecated `query` has plain strings: there "" is "any", as in
    // Keto's `deprecatedQueryWrapper`.
    #[allow(deprecated)]
    let legacy = pb::ListRelationTuplesRequest {
        query: Some(pb::list_relation_tuples_request::Query {
            namespace: "files".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut client = pb::read_service_client::ReadServiceClient::new(t.grpc.clone());
    let page = client.list_relation_tuples(t.authed(legacy)).await.unwrap();
    assert_eq!(page.into_inner().relation_tuples.len(), 3);
    // A present but empty namespace filters on "" (unknown), as in Keto.
    let mut client = pb::read_service_client::ReadServiceClient::new(t.grpc.clone());
    let req = pb::ListRelationTuplesRequest {
        relation_query: Some(pb::RelationQuery {
            namespace: Some(String::new()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = client
        .list_relation_tuples(t.authed(req))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}
