//! The cache/bus suite, run on the in-process backend and on Redis, plus
//! cross-replica delivery and Redis outages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kernel::ports::{BusEvent, CacheBus};
use kernel::rate_limit::{BackOff, BucketLimit};
use keyplane_tests::{PrivateRedis, eventually, free_port, redis_url};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::cache::{MemoryCacheBus, RedisCacheBus, RedisOptions};

fn redis_bus(url: &str, prefix: &str) -> Arc<RedisCacheBus> {
    let mut opts = RedisOptions::new(url);
    opts.prefix = prefix.to_owned();
    RedisCacheBus::connect(opts).unwrap()
}

fn unique_prefix() -> String {
    format!("kptest-{}", uuid::Uuid::new_v4().simple())
}

fn event(topic: &str, payload: &str) -> BusEvent {
    BusEvent {
        topic: topic.to_owned(),
        payload: payload.to_owned(),
    }
}

async fn cache_contract(cache: Arc<dyn CacheBus>) {
    assert_eq!(cache.get("missing").await, None);
    cache
        .set("k", b"v1".to_vec(), Duration::from_secs(60))
        .await;
    assert_eq!(cache.get("k").await.as_deref(), Some(&b"v1"[..]));
    cache
        .set("k", b"v2".to_vec(), Duration::from_secs(60))
        .await;
    assert_eq!(
        cache.get("k").await.as_deref(),
        Some(&b"v2"[..]),
        "set overwrites"
    );
    cache.delete("k").await;
    assert_eq!(cache.get("k").await, None, "delete removes");

    cache
        .set("short", b"x".to_vec(), Duration::from_millis(100))
        .await;
    assert!(cache.get("short").await.is_some());
    let expired = eventually(Duration::from_secs(3), || {
        let cache = cache.clone();
        async move { cache.get("short").await.is_none() }
    })
    .await;
    assert!(expired.is_some(), "entries expire after their ttl");

    let mut rx = cache.subscribe();
    cache.publish(event("t", "p")).await;
    let got = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, event("t", "p"), "a replica hears its own events");
    assert!(cache.health().await.is_ok());

    // Token buckets (rate limits): a full bucket gives its burst, then
    // makes the caller wait about one interval; keys are apart.
    let limit = BucketLimit::new(60, 3);
    for _ in 0..3 {
        assert_eq!(cache.take_token("bucket:a", limit).await, Some(Ok(())));
    }
    match cache.take_token("bucket:a", limit).await {
        Some(Err(wait)) => assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        ),
        other => panic!("the fourth token: {other:?}"),
    }
    assert_eq!(cache.take_token("bucket:b", limit).await, Some(Ok(())));
    // A fast bucket refills within the test.
    let fast = BucketLimit::new(600, 1);
    assert_eq!(cache.take_token("bucket:c", fast).await, Some(Ok(())));
    assert!(matches!(
        cache.take_token("bucket:c", fast).await,
        Some(Err(_))
    ));
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cache.take_token("bucket:c", fast).await, Some(Ok(())));

    attempts_contract(cache.as_ref()).await;
}

/// Back-off counters (failed logins), on the caller's clock: `free`
/// attempts, then a doubling wait; refusals are not counted; forgiving
/// takes one back, clearing forgets them all; keys are apart.
async fn attempts_contract(cache: &dyn CacheBus) {
    let policy = BackOff {
        free: 2,
        base_ms: 1_000,
        max_ms: 60_000,
        window_ms: 3_600_000,
    };
    let now = 1_800_000_000_000;
    let take = |key: &'static str, at: u64| cache.take_attempt(key, at, policy);
    assert_eq!(take("att:a", now).await, Some(Ok(())));
    assert_eq!(take("att:a", now).await, Some(Ok(())));
    assert_eq!(
        take("att:a", now + 400).await,
        Some(Err(Duration::from_millis(600)))
    );
    assert_eq!(
        take("att:a", now + 999).await,
        Some(Err(Duration::from_millis(1)))
    );
    assert_eq!(
        take("att:a", now + 1_000).await,
        Some(Ok(())),
        "refusals did not count"
    );
    assert_eq!(
        take("att:a", now + 1_000).await,
        Some(Err(Duration::from_secs(2))),
        "the third doubled the wait"
    );
    assert_eq!(take("att:b", now).await, Some(Ok(())), "keys are apart");
    cache.forgive_attempt("att:a").await;
    assert_eq!(
        take("att:a", now + 2_000).await,
        Some(Ok(())),
        "one taken back: the wait after two is one second"
    );
    cache.clear_attempts("att:a").await;
    assert_eq!(take("att:a", now + 2_000).await, Some(Ok(())));
    assert_eq!(take("att:a", now + 2_000).await, Some(Ok(())), "cleared");
    // Forgiving a counter that does not exist creates nothing.
    cache.forgive_attempt("att:none").await;
    assert_eq!(take("att:none", now).await, Some(Ok(())));
    // A counter idle for the window starts over; waits are capped.
    let mut at = now;
    for _ in 0..10 {
        if let Some(Err(wait)) = take("att:c", at).await {
            at += u64::try_from(wait.as_millis()).unwrap();
            assert_eq!(take("att:c", at).await, Some(Ok(())));
        }
    }
    assert_eq!(take("att:c", at).await, Some(Err(Duration::from_secs(60))));
    assert_eq!(take("att:c", at + 3_600_000).await, Some(Ok(())));
}

#[tokio::test]
async fn memory_backend_honours_the_contract() {
    let cache = Arc::new(MemoryCacheBus::default());
    assert_eq!(cache.backend(), "memory");
    cache_contract(cache).await;
}

#[tokio::test]
async fn redis_backend_honours_the_contract() {
    let cache = redis_bus(&redis_url(), &unique_prefix());
    assert_eq!(cache.backend(), "redis");
    cache_contract(cache).await;
}

#[tokio::test]
async fn redis_keys_are_shared_between_replicas_and_isolated_by_prefix() {
    let prefix = unique_prefix();
    let a = redis_bus(&redis_url(), &prefix);
    let b = redis_bus(&redis_url(), &prefix);
    let other = redis_bus(&redis_url(), &unique_prefix());
    a.set("shared", b"1".to_vec(), Duration::from_secs(60))
        .await;
    assert_eq!(b.get("shared").await.as_deref(), Some(&b"1"[..]));
    assert_eq!(
        other.get("shared").await,
        None,
        "another installation sees nothing"
    );
    // Token buckets are shared too: one limit across replicas.
    let limit = BucketLimit::new(60, 2);
    assert_eq!(a.take_token("rl", limit).await, Some(Ok(())));
    assert_eq!(b.take_token("rl", limit).await, Some(Ok(())));
    assert!(matches!(a.take_token("rl", limit).await, Some(Err(_))));
    assert!(matches!(b.take_token("rl", limit).await, Some(Err(_))));
    assert_eq!(other.take_token("rl", limit).await, Some(Ok(())));
}

#[tokio::test]
async fn redis_events_reach_other_replicas_once_within_a_second() {
    let prefix = unique_prefix();
    let a = redis_bus(&redis_url(), &prefix);
    let b = redis_bus(&redis_url(), &prefix);
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    // Subscriptions are made in the background: publish until b hears one.
    let started = Instant::now();
    let heard = loop {
        a.publish(event("project.revision", "p1")).await;
        if let Ok(Ok(ev)) = tokio::time::timeout(Duration::from_millis(100), on_b.recv()).await {
            break Some(ev);
        }
        if started.elapsed() > Duration::from_secs(5) {
            break None;
        }
    };
    assert_eq!(heard, Some(event("project.revision", "p1")));

    // Steady state: one publish, delivered to b within 1 s, and to a
    // exactly once (locally, not again through Redis).
    while on_a.try_recv().is_ok() {}
    tokio::time::sleep(Duration::from_millis(200)).await;
    while on_b.try_recv().is_ok() {}
    let sent = Instant::now();
    a.publish(event("project.revision", "p2")).await;
    let got = tokio::time::timeout(Duration::from_secs(1), on_b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.payload, "p2");
    assert!(sent.elapsed() < Duration::from_secs(1));
    assert_eq!(on_a.recv().await.unwrap().payload, "p2");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        on_a.try_recv().is_err(),
        "the publisher does not hear its own event twice"
    );
}

#[tokio::test]
async fn a_dead_redis_degrades_to_misses_and_local_events_quickly() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let cache = redis_bus(&dead, &unique_prefix());
    let started = Instant::now();
    cache.set("k", b"v".to_vec(), Duration::from_secs(60)).await;
    assert_eq!(cache.get("k").await, None, "a miss, not an error");
    assert_eq!(
        cache.take_token("rl", BucketLimit::new(60, 1)).await,
        None,
        "no answer: rate limits fail open"
    );
    let policy = BackOff {
        free: 1,
        base_ms: 1_000,
        max_ms: 1_000,
        window_ms: 1_000,
    };
    assert_eq!(
        cache.take_attempt("att", 0, policy).await,
        None,
        "no answer: login throttling fails open"
    );
    cache.forgive_attempt("att").await;
    cache.clear_attempts("att").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "failures are fast: {:?}",
        started.elapsed()
    );
    assert!(cache.health().await.is_err());
    let mut rx = cache.subscribe();
    cache.publish(event("t", "local")).await;
    let got = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.payload, "local",
        "this replica still hears its own events"
    );
}

#[tokio::test]
async fn redis_comes_back_by_itself_after_an_outage() {
    let mut redis = PrivateRedis::start().await;
    let prefix = unique_prefix();
    let a = redis_bus(&redis.url(), &prefix);
    let b = redis_bus(&redis.url(), &prefix);
    let mut on_b = b.subscribe();
    a.set("k", b"before".to_vec(), Duration::from_secs(60))
        .await;
    assert_eq!(b.get("k").await.as_deref(), Some(&b"before"[..]));

    redis.stop();
    assert_eq!(a.get("k").await, None);
    assert!(a.health().await.is_err());

    redis.restart().await;
    let healthy = eventually(Duration::from_secs(10), || {
        let a = a.clone();
        async move { a.health().await.is_ok() }
    })
    .await;
    assert!(healthy.is_some(), "the connection manager reconnects");
    // Each replica's first command after the outage may still fail (that
    // is what notices the broken connection); soon both are back.
    let shared_again = eventually(Duration::from_secs(10), || {
        let (a, b) = (a.clone(), b.clone());
        async move {
            a.set("k", b"after".to_vec(), Duration::from_secs(60)).await;
            b.get("k").await.as_deref() == Some(&b"after"[..])
        }
    })
    .await;
    assert!(
        shared_again.is_some(),
        "both replicas share the cache again"
    );

    // The subscriber resubscribes and tells local caches to resync.
    let mut saw_resync = false;
    let mut saw_event = false;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) && !saw_event {
        a.publish(event("after", "outage")).await;
        while let Ok(ev) = on_b.try_recv() {
            saw_resync |= ev.topic == store::cache::RESYNC_TOPIC;
            saw_event |= ev.topic == "after";
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(saw_event, "events flow again after the outage");
    assert!(
        saw_resync,
        "local subscribers were told to drop what they cached"
    );
}
