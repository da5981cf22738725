//! Two permission engines on one database stand for two replicas: a revoke
//! on one of an answer the other holds in its check cache. With the
//! revoke's snaptoken the other never answers from before it, with or
//! without a bus between them (on PostgreSQL a replica answers checks
//! without a token at the position it knows: `permission::positions`);
//! sharing a bus, the other hears of the revoke and catches up without a
//! token too. On both databases (the environment picks).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kernel::clock::{SharedClock, SystemClock};
use kernel::ports::CacheBus;
use kernel::tenant::{NamespaceRef, ProjectState, TenantConfig, TenantCtx};
use permission::PermissionEngine;
use permission::api::RelationQuery;
use permission::changes::Snaptoken;
use permission::feed::FeedSettings;
use permission::model::RelationTuple;
use std::sync::Arc;
use std::time::Duration;

fn tenant() -> TenantCtx {
    let namespaces = vec![NamespaceRef {
        id: 1,
        name: "files".into(),
    }];
    TenantCtx {
        project_id: uuid::Uuid::new_v4(),
        slug: "positions".into(),
        public_url: "http://positions.projects.localhost".into(),
        cookie_domain: None,
        rate_limits: kernel::rate_limit::FREE,
        name: "positions".into(),
        state: ProjectState::Running,
        revision_id: uuid::Uuid::new_v4(),
        config: Arc::new(TenantConfig::new(
            serde_json::json!({}),
            Vec::new(),
            namespaces,
            5,
        )),
    }
}

fn doc_viewer() -> RelationTuple {
    "files:doc#viewer@alice".parse().unwrap()
}

fn doc_query() -> RelationQuery {
    RelationQuery {
        namespace: Some("files".into()),
        object: Some("doc".into()),
        ..RelationQuery::default()
    }
}

/// A check as the REST handler runs it: the token first, then the check.
async fn check(engine: &PermissionEngine, tenant: &TenantCtx, token: Option<Snaptoken>) -> bool {
    engine.require_fresh(tenant, token).await.unwrap();
    engine.check(tenant, &doc_viewer(), None).await.unwrap()
}

/// Grants on `one`, caches the answer on `two`, revokes on `one`: the
/// revoke's token on `two` sees it at once.
async fn revoke_seen_with_token(
    one: &PermissionEngine,
    two: &PermissionEngine,
    tenant: &TenantCtx,
) -> Snaptoken {
    let (_, granted) = one.create(tenant, doc_viewer()).await.unwrap();
    assert!(check(two, tenant, Some(granted)).await);
    assert!(
        check(two, tenant, None).await,
        "answered again, from the cache"
    );
    let (deleted, revoked) = one.delete_matching(tenant, &doc_query()).await.unwrap();
    assert_eq!(deleted, 1);
    assert!(
        !check(two, tenant, Some(revoked)).await,
        "a check with the revoke's token answered from before it"
    );
    revoked
}

#[tokio::test]
async fn replicas_without_a_bus_follow_snaptokens() {
    let db = keyplane_tests::fresh_database(keyplane_tests::database_kind_from_env()).await;
    let clock: SharedClock = Arc::new(SystemClock);
    let one = PermissionEngine::new(db.clone(), clock.clone());
    let two = PermissionEngine::new(db.clone(), clock);
    let tenant = tenant();
    revoke_seen_with_token(&one, &two, &tenant).await;
    // Granted again: the token of the grant, too.
    let (_, granted) = one.create(&tenant, doc_viewer()).await.unwrap();
    assert!(check(&two, &tenant, Some(granted)).await);
    // A neighbour's positions are its own: this tenant's token means
    // nothing there and is refused rather than trusted.
    let neighbour = self::tenant();
    assert!(two.require_fresh(&neighbour, Some(granted)).await.is_err());
}

#[tokio::test]
async fn replicas_sharing_a_bus_catch_up_without_a_token() {
    let db = keyplane_tests::fresh_database(keyplane_tests::database_kind_from_env()).await;
    let clock: SharedClock = Arc::new(SystemClock);
    // One process's bus stands for Redis: what one publishes the other
    // hears, as it would through Redis pub/sub.
    let bus: Arc<dyn CacheBus> = Arc::new(store::cache::MemoryCacheBus::new(10_000));
    let one = PermissionEngine::new(db.clone(), clock.clone()).with_shared_cache(bus.clone());
    let two = PermissionEngine::new(db.clone(), clock).with_shared_cache(bus);
    one.spawn_background(FeedSettings::default());
    two.spawn_background(FeedSettings::default());
    let tenant = tenant();
    revoke_seen_with_token(&one, &two, &tenant).await;
    let (_, granted) = one.create(&tenant, doc_viewer()).await.unwrap();
    // Well inside `positions::MAX_AGE`, so the announcement (not the
    // position's age) is what makes `two` see the grant.
    let caught_up = keyplane_tests::eventually(Duration::from_millis(500), || async {
        check(&two, &tenant, None).await
    })
    .await;
    assert!(caught_up.is_some(), "two never heard of the grant");
    assert!(check(&two, &tenant, Some(granted)).await);
}
