//! Three `keyplane serve` processes sharing one PostgreSQL and one Redis, as
//! the Helm chart runs them: migrated once by `keyplane migrate up` (the
//! chart's hook Job), then served with `--no-migrate`. What one replica
//! commits every other one uses within a second, and killing a replica
//! mid-load loses no write it acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{control_plane, default_schema_id, tenant};
use keyplane_tests::{
    KeyplaneProcess, eventually, fresh_database_url, keyplane_run, process_env, redis_url,
};
use ory_client::apis::configuration::Configuration;
use ory_client::apis::v0alpha2_api as api;
use ory_client::models::json_patch::OpEnum;
use ory_client::models::{JsonPatch, SubmitSelfServiceRegistrationFlowBody as RegistrationBody};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::DatabaseKind;

const WITHIN: Duration = Duration::from_secs(1);

/// How long until `check` holds on every one of `cfgs` (None: not within 1 s).
async fn on_all_within_a_second<F, Fut>(cfgs: &[Configuration], check: F) -> Option<Duration>
where
    F: Fn(Configuration) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    for cfg in cfgs {
        let left = WITHIN.checked_sub(started.elapsed())?;
        eventually(left, || check(cfg.clone())).await?;
    }
    Some(started.elapsed())
}

struct Cluster {
    replicas: Vec<KeyplaneProcess>,
    token: String,
}

async fn three_replicas() -> Cluster {
    let database = fresh_database_url(DatabaseKind::Postgres).await;
    let prefix = format!("kptest-{}", uuid::Uuid::new_v4().simple());
    let redis = redis_url();
    let env = process_env(&database, Some((&redis, &prefix)));
    keyplane_run(&env, &["migrate", "up"]);
    let token = keyplane_run(&env, &["token", "create", "--email", "ops@example.com"]);
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(KeyplaneProcess::serve(&env, &["--no-migrate"]).await);
    }
    // Let every replica's Redis subscription settle before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Cluster { replicas, token }
}

#[tokio::test]
async fn three_replicas_share_projects_config_and_sessions_within_a_second() {
    let cluster = three_replicas().await;
    let [one, two, three] = &cluster.replicas[..] else {
        unreachable!()
    };
    let cp = control_plane(one, &cluster.token);

    // A tenant created on one replica is routable on all of them.
    let created = Instant::now();
    let project = api::create_project(
        &cp,
        Some(ory_client::models::CreateProjectBody::new(
            "three replicas".into(),
        )),
    )
    .await
    .unwrap();
    let tenants: Vec<Configuration> = cluster
        .replicas
        .iter()
        .map(|r| tenant(r, &project.slug))
        .collect();
    let routable = on_all_within_a_second(&tenants, |cfg| async move {
        default_schema_id(&cfg).await.as_deref() == Some("default")
    })
    .await
    .expect("the new tenant was not routable on every replica within 1 s");
    eprintln!(
        "tenant routable on all three after {routable:?} ({:?} since create)",
        created.elapsed()
    );
    // The projects list agrees everywhere too.
    for replica in &cluster.replicas {
        let listed = api::list_projects(&control_plane(replica, &cluster.token))
            .await
            .unwrap();
        assert!(listed.iter().any(|p| p.id == project.id));
    }

    // A config patch through replica 1 is used by replicas 2 and 3 (which
    // hold the old tenant context) within a second.
    let committed = Instant::now();
    api::patch_project(
        &cp,
        &project.id,
        Some(vec![JsonPatch {
            from: None,
            op: OpEnum::Replace,
            path: "/services/identity/config/identity".into(),
            value: Some(json!({
                "default_schema_id": "users",
                "schemas": [{ "id": "users", "url": "preset://username" }]
            })),
        }]),
    )
    .await
    .unwrap();
    let others = [tenants[1].clone(), tenants[2].clone()];
    let patched = on_all_within_a_second(&others, |cfg| async move {
        default_schema_id(&cfg).await.as_deref() == Some("users")
    })
    .await
    .expect("replicas 2 and 3 did not use the patched config within 1 s");
    eprintln!(
        "patch used by replicas 2 and 3 after {patched:?} ({:?} since commit)",
        committed.elapsed()
    );

    // A session revoked on one replica is refused by the others within a
    // second, although both had it cached.
    let flow = api::initialize_self_service_registration_flow_without_browser(&tenants[0])
        .await
        .unwrap();
    let registered = api::submit_self_service_registration_flow(
        &tenants[0],
        &flow.id,
        RegistrationBody::SubmitSelfServiceRegistrationFlowWithPasswordMethodBody {
            csrf_token: None,
            password: "three replica passphrase".into(),
            traits: json!({ "username": "rita" }),
        },
        None,
    )
    .await
    .unwrap();
    let session_token = registered.session_token.unwrap();
    for cfg in &tenants {
        for _ in 0..3 {
            api::to_session(cfg, Some(&session_token), None)
                .await
                .expect("every replica accepts the new session");
        }
    }
    let revoked = Instant::now();
    api::submit_self_service_logout_flow_without_browser(
        &tenants[0],
        ory_client::models::SubmitSelfServiceLogoutFlowWithoutBrowserBody::new(
            session_token.clone(),
        ),
    )
    .await
    .unwrap();
    let token = session_token.clone();
    let refused = on_all_within_a_second(&others, |cfg| {
        let token = token.clone();
        async move {
            matches!(
                api::to_session(&cfg, Some(&token), None).await,
                Err(ory_client::apis::Error::ResponseError(r)) if r.status == 401
            )
        }
    })
    .await
    .expect("replicas 2 and 3 still accepted the revoked session after 1 s");
    eprintln!(
        "revoked session refused by replicas 2 and 3 after {refused:?} ({:?} since logout)",
        revoked.elapsed()
    );
    let _ = (two, three);
}

/// One acknowledged write of the load: a relation tuple or an identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Acknowledged {
    Tuple(String),
    Identity(String),
}

#[tokio::test]
async fn killing_a_replica_mid_load_loses_no_acknowledged_write() {
    let mut cluster = three_replicas().await;
    let cp = control_plane(&cluster.replicas[0], &cluster.token);
    let project = api::create_project(
        &cp,
        Some(ory_client::models::CreateProjectBody::new(
            "kill one".into(),
        )),
    )
    .await
    .unwrap();
    let mut namespace = JsonPatch::new(
        OpEnum::Add,
        "/services/permission/config/namespaces/-".into(),
    );
    namespace.value = Some(json!({ "id": 1, "name": "files" }));
    api::patch_project(&cp, &project.id, Some(vec![namespace]))
        .await
        .unwrap();
    let admins: Vec<Configuration> = cluster
        .replicas
        .iter()
        .map(|r| {
            // The owner's token, for the admin APIs.
            let mut admin = tenant(r, &project.slug);
            admin.bearer_access_token = Some(cluster.token.clone());
            admin
        })
        .collect();
    let with_namespace = on_all_within_a_second(&admins, |cfg| async move {
        let res = cfg
            .client
            .get(format!("{}/relation-tuples?namespace=files", cfg.base_path))
            .bearer_auth(cfg.bearer_access_token.as_deref().unwrap_or_default())
            .send()
            .await;
        res.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(
        with_namespace.is_some(),
        "every replica knows the namespace"
    );

    // Eight writers, each sending to the three replicas in turn, for ~3 s;
    // the third replica is SIGKILLed after one second.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let after_kill = Arc::new(Mutex::new(0usize));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..8usize {
        let admins = admins.clone();
        let acknowledged = acknowledged.clone();
        let after_kill = after_kill.clone();
        let killed = killed.clone();
        writers.push(tokio::spawn(async move {
            let mut failures = [0usize; 3];
            let mut n = 0usize;
            while started.elapsed() < Duration::from_secs(3) {
                n += 1;
                let replica = (writer + n) % admins.len();
                let cfg = &admins[replica];
                let ack = if n.is_multiple_of(4) {
                    let body = ory_client::models::AdminCreateIdentityBody::new(
                        "default".into(),
                        json!({ "email": format!("w{writer}-{n}@example.com") }),
                    );
                    api::admin_create_identity(cfg, Some(body))
                        .await
                        .ok()
                        .map(|identity| Acknowledged::Identity(identity.id))
                } else {
                    let object = format!("w{writer}-{n}");
                    let body = ory_client::models::RelationQuery {
                        namespace: Some("files".into()),
                        object: Some(object.clone()),
                        relation: Some("viewer".into()),
                        subject_id: Some("rita".into()),
                        subject_set: None,
                    };
                    ory_client::apis::write_api::create_relation_tuple(cfg, Some(body))
                        .await
                        .ok()
                        .map(|_| Acknowledged::Tuple(object))
                };
                match ack {
                    Some(ack) => {
                        acknowledged.lock().unwrap().insert(ack);
                        if killed.load(std::sync::atomic::Ordering::SeqCst) {
                            *after_kill.lock().unwrap() += 1;
                        }
                    }
                    None => failures[replica] += 1,
                }
            }
            failures
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.replicas[2].signal("KILL");
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut failures = [0usize; 3];
    for writer in writers {
        for (total, of_writer) in failures.iter_mut().zip(writer.await.unwrap()) {
            *total += of_writer;
        }
    }
    let status = cluster.replicas[2].wait().await;
    assert!(
        !status.success(),
        "the third replica was killed: {status:?}"
    );

    let acknowledged = acknowledged.lock().unwrap().clone();
    let after_kill = *after_kill.lock().unwrap();
    eprintln!(
        "{} writes acknowledged ({after_kill} after the kill), failed per replica: {failures:?}",
        acknowledged.len()
    );
    assert_eq!(
        failures[..2],
        [0, 0],
        "the surviving replicas answered every write"
    );
    assert!(
        after_kill > 0,
        "the surviving replicas kept acknowledging writes"
    );
    assert!(failures[2] > 0, "writes to the killed replica failed");

    // Every acknowledged write is there, read through another replica.
    let reader = &admins[1];
    let mut stored = BTreeSet::new();
    let mut page_token = None::<String>;
    loop {
        let mut url = format!(
            "{}/relation-tuples?namespace=files&page_size=500",
            reader.base_path
        );
        if let Some(page) = &page_token {
            url.push_str(&format!("&page_token={page}"));
        }
        let page: Value = reader
            .client
            .get(url)
            .bearer_auth(&cluster.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for tuple in page["relation_tuples"].as_array().unwrap() {
            stored.insert(Acknowledged::Tuple(
                tuple["object"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => page_token = Some(next.to_owned()),
            _ => break,
        }
    }
    for ack in &acknowledged {
        match ack {
            Acknowledged::Tuple(_) => {
                assert!(stored.contains(ack), "acknowledged {ack:?} is lost")
            }
            Acknowledged::Identity(id) => {
                api::admin_get_identity(reader, id, None)
                    .await
                    .unwrap_or_else(|e| panic!("acknowledged identity {id} is lost: {e:?}"));
            }
        }
    }
}
