//! Snaptokens and the change feed: every write answers a snaptoken; the
//! feed lists each insert and delete once, in commit order, paged and
//! resumable; a long-poll wakes on a write; a token is checked against the
//! project (another project's is refused); retention turns old tokens into
//! 410s; the gRPC stream follows writes; and two `keyplane serve`
//! processes on one database share the feed, which outlives a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;
use keyplane_tests::{KeyplaneProcess, Served, keyplane_run, process_env, use_redis_from_env};
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api;
use ory_client::models::JsonPatch;
use ory_client::models::json_patch::OpEnum;
use reqwest::Method;
use serde_json::{Value, json};

async fn add_namespaces(cp: &Configuration, project_id: &str) {
    let mut op = JsonPatch::new(OpEnum::Replace, "/services/permission/config".into());
    op.value = Some(
        json!({ "namespaces": [{ "id": 1, "name": "files" }, { "id": 2, "name": "groups" }] }),
    );
    v0alpha2_api::patch_project(cp, project_id, Some(vec![op]))
        .await
        .unwrap();
}

/// A tenant call answering `(status, body, Keyplane-Snaptoken header)`.
async fn call(
    server: &impl Served,
    slug: &str,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, Option<String>) {
    let (client, base) = tenant_client(server, slug);
    let mut req = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let snaptoken = res
        .headers()
        .get("keyplane-snaptoken")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        snaptoken,
    )
}

fn tuple(text: &str) -> Value {
    serde_json::to_value(relation_query(text)).unwrap()
}

/// A feed page's changes as `op text` strings.
fn changes_of(page: &Value) -> Vec<String> {
    page["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no changes in {page}"))
        .iter()
        .map(|c| {
            let t = &c["relation_tuple"];
            let subject = match t["subject_id"].as_str() {
                Some(id) => id.to_owned(),
                None => format!(
                    "({}:{}#{})",
                    t["subject_set"]["namespace"].as_str().unwrap(),
                    t["subject_set"]["object"].as_str().unwrap(),
                    t["subject_set"]["relation"].as_str().unwrap()
                ),
            };
            format!(
                "{} {}:{}#{}@{subject}",
                c["operation"].as_str().unwrap(),
                t["namespace"].as_str().unwrap(),
                t["object"].as_str().unwrap(),
                t["relation"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn writes_answer_snaptokens_and_the_feed_lists_each_change_once() {
    let (server, token, cp) = owner().await;
    let a = create_project(&cp, "Feed A").await;
    let b = create_project(&cp, "Feed B").await;
    add_namespaces(&cp, &a.id).await;
    add_namespaces(&cp, &b.id).await;
    let slug = a.slug.as_str();
    let put = |text: &'static str| {
        call(
            &server,
            slug,
            &token,
            Method::PUT,
            "/admin/relation-tuples",
            Some(tuple(text)),
        )
    };

    let (status, _, t1) = put("files:a#viewer@alice").await;
    assert_eq!(status, 201);
    let t1 = t1.expect("a write answers its snaptoken");
    // Writing it again changes nothing: the same position.
    let (_, _, again) = put("files:a#viewer@alice").await;
    assert_eq!(again.as_deref(), Some(t1.as_str()));
    let deltas = json!([
        { "action": "insert", "relation_tuple": tuple("files:b#viewer@bob") },
        { "action": "insert", "relation_tuple": tuple("files:c#viewer@(groups:eng#member)") },
        { "action": "delete", "relation_tuple": tuple("files:a#viewer@alice") },
        { "action": "delete", "relation_tuple": tuple("files:zz#viewer@nobody") },
    ]);
    let (status, _, t2) = call(
        &server,
        slug,
        &token,
        Method::PATCH,
        "/admin/relation-tuples",
        Some(deltas),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, t3) = call(
        &server,
        slug,
        &token,
        Method::DELETE,
        "/admin/relation-tuples?namespace=files&relation=viewer&subject_id=bob",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (t2, t3) = (t2.unwrap(), t3.unwrap());
    assert!(t1 != t2 && t2 != t3);

    let all = [
        "insert files:a#viewer@alice",
        "insert files:b#viewer@bob",
        "insert files:c#viewer@(groups:eng#member)",
        "delete files:a#viewer@alice",
        "delete files:b#viewer@bob",
    ];
    let feed = |query: String| {
        let server = &server;
        let token = token.clone();
        async move {
            let (status, body, _) = call(
                server,
                slug,
                &token,
                Method::GET,
                &format!("/relation-tuples/changes?{query}"),
                None,
            )
            .await;
            (status, body)
        }
    };
    let (status, page) = feed(String::new()).await;
    assert_eq!(
        (status, changes_of(&page)),
        (200, all.map(str::to_owned).to_vec())
    );
    assert_eq!(
        page["snaptoken"],
        json!(t3),
        "resume where the last write left"
    );
    let (_, page) = feed(format!("since={t1}")).await;
    assert_eq!(changes_of(&page), all[1..]);
    let (_, page) = feed(format!("since={t3}")).await;
    assert_eq!(
        (changes_of(&page).len(), &page["snaptoken"]),
        (0, &json!(t3))
    );
    // Pages of two, resumed from each page's token: every change once.
    let mut seen = Vec::new();
    let mut since = String::new();
    loop {
        let (_, page) = feed(format!("page_size=2&since={since}")).await;
        let changes = changes_of(&page);
        if changes.is_empty() {
            break;
        }
        assert!(changes.len() <= 2);
        seen.extend(changes);
        since = page["snaptoken"].as_str().unwrap().to_owned();
    }
    assert_eq!(seen, all);

    // Reads take a snaptoken: this project's, not another's, not a forgery.
    let check = |slug: &'static str, snaptoken: String| {
        let server = &server;
        let token = token.clone();
        async move {
            call(
                server,
                slug,
                &token,
                Method::GET,
                &format!("/relation-tuples/check/openapi?namespace=files&object=c&relation=viewer&subject_id=x&snaptoken={snaptoken}"),
                None,
            )
            .await
            .0
        }
    };
    let slug_a: &'static str = Box::leak(a.slug.clone().into_boxed_str());
    let slug_b: &'static str = Box::leak(b.slug.clone().into_boxed_str());
    assert_eq!(check(slug_a, t2.clone()).await, 200);
    assert_eq!(check(slug_a, "forged".into()).await, 400);
    assert_eq!(
        check(slug_b, t3.clone()).await,
        400,
        "A's position is ahead of B's"
    );
    let (status, page, _) = call(
        &server,
        slug_b,
        &token,
        Method::GET,
        "/relation-tuples/changes",
        None,
    )
    .await;
    assert_eq!(
        (status, changes_of(&page).len()),
        (200, 0),
        "B sees none of A's changes"
    );
    for bad in ["since=forged", "wait=61", "wait=-1", "page_size=-2"] {
        assert_eq!(feed(bad.to_owned()).await.0, 400, "{bad}");
    }

    // Cached answers never outlive a write: allowed, revoked, allowed again,
    // each checked twice (the second from the cache).
    let allowed = |text: &'static str| {
        let admin = tenant_admin(&server, slug, &token);
        async move {
            ory_client::apis::read_api::post_check(&admin, None, Some(relation_query(text)))
                .await
                .unwrap()
                .allowed
        }
    };
    for (write, expected) in [
        (Method::PUT, true),
        (Method::DELETE, false),
        (Method::PUT, true),
    ] {
        let path = match write {
            Method::PUT => "/admin/relation-tuples".to_owned(),
            _ => "/admin/relation-tuples?namespace=files&object=e".to_owned(),
        };
        let body = (write == Method::PUT).then(|| tuple("files:e#viewer@(groups:eng#member)"));
        call(&server, slug, &token, write, &path, body).await;
        for _ in 0..2 {
            assert_eq!(
                allowed("files:e#viewer@(groups:eng#member)").await,
                expected
            );
        }
    }
    let (_, page) = feed(String::new()).await;
    let t3 = page["snaptoken"].as_str().unwrap().to_owned();

    // A long-poll wakes on the next write.
    let waiting = tokio::spawn({
        let (client, base) = tenant_client(&server, slug);
        let (token, t3) = (token.clone(), t3.clone());
        async move {
            client
                .get(format!("{base}/relation-tuples/changes?since={t3}&wait=20"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, _, t4) = put("files:d#viewer@dave").await;
    let page = waiting.await.unwrap();
    assert_eq!(changes_of(&page), ["insert files:d#viewer@dave"]);
    assert_eq!(page["snaptoken"], json!(t4.unwrap()));
}

#[tokio::test]
async fn retention_prunes_the_feed_and_old_tokens_are_gone() {
    let clock = kernel::clock::ManualClock::starting_now();
    let server = keyplane_tests::spawn_with_clock(
        keyplane_tests::test_settings().await,
        std::sync::Arc::new(clock.clone()),
    )
    .await;
    let token = token_for(&server, "owner@example.com").await;
    let cp = control_plane(&server, &token);
    let project = create_project(&cp, "Retention").await;
    add_namespaces(&cp, &project.id).await;
    let slug = project.slug.as_str();
    let put = |text: &'static str| {
        call(
            &server,
            slug,
            &token,
            Method::PUT,
            "/admin/relation-tuples",
            Some(tuple(text)),
        )
    };
    let (_, _, t1) = put("files:a#viewer@alice").await;
    let (_, _, t2) = put("files:b#viewer@bob").await;
    // The default keeps a week.
    clock.advance(chrono::Duration::days(8));
    let (_, _, t3) = put("files:c#viewer@carol").await;
    let settings = permission::feed::FeedSettings::default();
    assert_eq!(
        server
            .services
            .permission
            .prune_changes(&settings)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        server
            .services
            .permission
            .prune_changes(&settings)
            .await
            .unwrap(),
        0
    );
    let feed = |query: String| {
        let server = &server;
        let token = token.clone();
        async move {
            let path = format!("/relation-tuples/changes?{query}");
            let (status, body, _) = call(server, slug, &token, Method::GET, &path, None).await;
            (status, body)
        }
    };
    let (status, body) = feed(format!("since={}", t1.unwrap())).await;
    assert_eq!(status, 410, "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("retention"),
        "{body}"
    );
    for query in [String::new(), format!("since={}", t2.unwrap())] {
        let (status, page) = feed(query).await;
        assert_eq!(
            (status, changes_of(&page)),
            (200, vec!["insert files:c#viewer@carol".to_owned()])
        );
        assert_eq!(page["snaptoken"].as_str(), t3.as_deref());
    }
    server.stop().await;
}

#[tokio::test]
async fn the_grpc_stream_follows_writes() {
    use permission::grpc::lookup_pb::WatchChangesRequest;
    use permission::grpc::lookup_pb::lookup_service_client::LookupServiceClient;
    use permission::grpc::lookup_pb::tuple_change::Operation;
    let (server, token, cp) = owner().await;
    let project = create_project(&cp, "Stream").await;
    add_namespaces(&cp, &project.id).await;
    let slug = project.slug.as_str();
    let (_, _, t1) = call(
        &server,
        slug,
        &token,
        Method::PUT,
        "/admin/relation-tuples",
        Some(tuple("files:a#viewer@alice")),
    )
    .await;
    let channel = grpc_channel(&server, &tenant_host(slug)).await;
    let mut req = tonic::Request::new(WatchChangesRequest {
        since: String::new(),
    });
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let mut stream = LookupServiceClient::new(channel.clone())
        .watch_changes(req)
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].operation(), Operation::Insert);
    assert_eq!(Some(first.snaptoken), t1);
    call(
        &server,
        slug,
        &token,
        Method::DELETE,
        "/admin/relation-tuples?namespace=files&object=a",
        None,
    )
    .await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), stream.message())
        .await
        .expect("the stream sends the delete")
        .unwrap()
        .unwrap();
    assert_eq!(next.changes.len(), 1);
    assert_eq!(next.changes[0].operation(), Operation::Delete);
    assert_eq!(next.changes[0].relation_tuple.as_ref().unwrap().object, "a");
    // A bad `since` fails the call itself.
    let mut req = tonic::Request::new(WatchChangesRequest {
        since: "forged".into(),
    });
    req.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let err = LookupServiceClient::new(channel)
        .watch_changes(req)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn two_processes_share_snaptokens_and_the_feed_outlives_a_restart() {
    let database =
        keyplane_tests::fresh_database_url(keyplane_tests::database_kind_from_env()).await;
    let prefix = format!("kptest-{}", uuid::Uuid::new_v4().simple());
    let redis = keyplane_tests::redis_url();
    let env = process_env(
        &database,
        use_redis_from_env().then_some((redis.as_str(), prefix.as_str())),
    );
    keyplane_run(&env, &["migrate", "up"]);
    let token = keyplane_run(&env, &["token", "create", "--email", "ops@example.com"]);
    let one = KeyplaneProcess::serve(&env, &["--no-migrate"]).await;
    let two = KeyplaneProcess::serve(&env, &["--no-migrate"]).await;
    let cp = control_plane(&one, &token);
    let project = create_project(&cp, "Two processes").await;
    add_namespaces(&cp, &project.id).await;
    let slug = project.slug.as_str();

    // Written on one, checked on two with the write's token: never stale.
    for i in 0..10 {
        let text = format!("files:doc{i}#viewer@alice");
        let (status, _, written) = call(
            &one,
            slug,
            &token,
            Method::PUT,
            "/admin/relation-tuples",
            Some(tuple(&text)),
        )
        .await;
        assert_eq!(status, 201);
        let path = format!(
            "/relation-tuples/check/openapi?namespace=files&object=doc{i}&relation=viewer&subject_id=alice&snaptoken={}",
            written.unwrap()
        );
        let (status, body, _) = call(&two, slug, &token, Method::GET, &path, None).await;
        assert_eq!((status, &body["allowed"]), (200, &json!(true)), "doc{i}");
    }
    // Revoked on one while two holds the answer cached: with the revoke's
    // token two never answers from before it; without one, two catches up
    // (at once through Redis; on PostgreSQL without a shared bus within
    // `positions::MAX_AGE`; on SQLite it reads the position every check).
    let check_doc0 = |snaptoken: Option<String>| {
        let query = snaptoken.map_or(String::new(), |t| format!("&snaptoken={t}"));
        let path = format!(
            "/relation-tuples/check/openapi?namespace=files&object=doc0&relation=viewer&subject_id=alice{query}"
        );
        let two = &two;
        let (slug, token) = (slug, token.as_str());
        async move { call(two, slug, token, Method::GET, &path, None).await.1["allowed"].clone() }
    };
    assert_eq!(check_doc0(None).await, json!(true));
    let (status, _, revoked) = call(
        &one,
        slug,
        &token,
        Method::DELETE,
        "/admin/relation-tuples?namespace=files&object=doc0",
        None,
    )
    .await;
    assert_eq!(status, 204);
    let revoked = revoked.unwrap();
    assert_eq!(check_doc0(Some(revoked.clone())).await, json!(false));
    // A check answers the position it is at least as fresh as: here the
    // revoke's, nothing was written since.
    let (_, _, answered_at) = call(
        &two,
        slug,
        &token,
        Method::GET,
        "/relation-tuples/check/openapi?namespace=files&object=doc0&relation=viewer&subject_id=alice",
        None,
    )
    .await;
    assert_eq!(answered_at, Some(revoked));
    let mut caught_up = false;
    for _ in 0..50 {
        if check_doc0(None).await == json!(false) {
            caught_up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(caught_up, "a check without a token still allowed after 5 s");
    let (_, page, _) = call(
        &two,
        slug,
        &token,
        Method::GET,
        "/relation-tuples/changes",
        None,
    )
    .await;
    assert_eq!(changes_of(&page).len(), 11, "ten inserts and the revoke");
    let resume = page["snaptoken"].as_str().unwrap().to_owned();

    // Both stop; a new process resumes the feed where it was left.
    drop(one);
    drop(two);
    let three = KeyplaneProcess::serve(&env, &["--no-migrate"]).await;
    let (_, _, _) = call(
        &three,
        slug,
        &token,
        Method::PUT,
        "/admin/relation-tuples",
        Some(tuple("files:after#viewer@bob")),
    )
    .await;
    let (status, page, _) = call(
        &three,
        slug,
        &token,
        Method::GET,
        &format!("/relation-tuples/changes?since={resume}"),
        None,
    )
    .await;
    assert_eq!(
        (status, changes_of(&page)),
        (200, vec!["insert files:after#viewer@bob".to_owned()])
    );
    let (_, page, _) = call(
        &three,
        slug,
        &token,
        Method::GET,
        "/relation-tuples/changes",
        None,
    )
    .await;
    assert_eq!(
        changes_of(&page).len(),
        12,
        "the earlier changes are rows, not memory"
    );
}
