//! Redis cache and pub/sub bus, for several replicas.
//!
//! Redis is an accelerator, never a dependency of correctness: every
//! operation has a short deadline, and a failure is logged and turned into a
//! cache miss (reads fall through to the database) or a local-only publish.
//! The connection manager is lazy and reconnects by itself; the subscriber
//! task resubscribes in a loop and, after a gap, tells local subscribers to
//! drop everything they cached (`bus.resync`), since invalidations published
//! during the gap were missed.

use super::scripts::{FORGIVE_ATTEMPT, TAKE_ATTEMPT, TAKE_TOKEN};
use async_trait::async_trait;
use futures_util::StreamExt;
use kernel::ports::{BusEvent, CacheBus};
use kernel::rate_limit::{BackOff, BucketLimit};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;
use uuid::Uuid;

/// Topic sent to local subscribers after the Redis subscription was lost
/// and re-established: whatever they cached may have missed invalidations.
pub const RESYNC_TOPIC: &str = "bus.resync";

#[derive(Debug, Clone)]
pub struct RedisOptions {
    pub url: String,
    /// Prefix for every key and the pub/sub channel, so several Keyplane
    /// installations can share one Redis.
    pub prefix: String,
    /// Deadline for one Redis command.
    pub op_timeout: Duration,
}

impl RedisOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "keyplane".to_owned(),
            op_timeout: Duration::from_millis(250),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WireEvent {
    origin: Uuid,
    topic: String,
    payload: String,
}

pub struct RedisCacheBus {
    conn: ConnectionManager,
    opts: RedisOptions,
    channel: String,
    /// Identifies this replica, so it does not deliver its own events twice
    /// (they are delivered locally at once, then come back from Redis).
    origin: Uuid,
    local: broadcast::Sender<BusEvent>,
    /// True while the last command failed; used to log the outage once and
    /// the recovery once instead of once per request.
    degraded: Arc<AtomicBool>,
}

impl RedisCacheBus {
    /// Never fails because Redis is down: the connection is made lazily and
    /// the subscriber keeps retrying in the background.
    pub fn connect(opts: RedisOptions) -> Result<Arc<Self>, String> {
        let client = redis::Client::open(opts.url.as_str()).map_err(|e| e.to_string())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.op_timeout))
            .set_response_timeout(Some(opts.op_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| e.to_string())?;
        let (local, _) = broadcast::channel(1024);
        let channel = format!("{}:events", opts.prefix);
        let bus = Arc::new(Self {
            conn,
            opts,
            channel,
            origin: Uuid::new_v4(),
            local,
            degraded: Arc::new(AtomicBool::new(false)),
        });
        tokio::spawn(subscribe_forever(
            client,
            bus.channel.clone(),
            bus.origin,
            bus.local.clone(),
        ));
        Ok(bus)
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.opts.prefix)
    }

    /// Runs one command under the deadline; on failure logs (once per
    /// outage) and returns `None`.
    async fn run<T, F>(&self, what: &str, fut: F) -> Option<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.opts.op_timeout, fut).await {
            Ok(Ok(v)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("redis is reachable again");
                }
                Some(v)
            }
            Ok(Err(e)) => {
                self.note_failure(what, &e.to_string());
                None
            }
            Err(_) => {
                self.note_failure(what, "timed out");
                None
            }
        }
    }

    fn note_failure(&self, what: &str, why: &str) {
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                op = what,
                error = why,
                "redis unavailable; serving from the database"
            );
        }
    }
}

async fn subscribe_forever(
    client: redis::Client,
    channel: String,
    origin: Uuid,
    local: broadcast::Sender<BusEvent>,
) {
    let mut had_subscription = false;
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    if had_subscription {
                        tracing::info!("redis pub/sub resubscribed");
                        let _ = local.send(BusEvent {
                            topic: RESYNC_TOPIC.to_owned(),
                            payload: String::new(),
                        });
                    }
                    had_subscription = true;
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(body) = msg.get_payload::<String>() else {
                            continue;
                        };
                        let Ok(event) = serde_json::from_str::<WireEvent>(&body) else {
                            tracing::warn!("ignoring a malformed bus message");
                            continue;
                        };
                        if event.origin != origin {
                            let _ = local.send(BusEvent {
                                topic: event.topic,
                                payload: event.payload,
                            });
                        }
                    }
                    tracing::warn!("redis pub/sub connection lost; retrying");
                }
                Err(e) => tracing::warn!(error = %e, "redis subscribe failed; retrying"),
            },
            Err(e) => tracing::debug!(error = %e, "redis pub/sub unavailable; retrying"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[async_trait]
impl CacheBus for RedisCacheBus {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.run(
            "get",
            async move { conn.get::<_, Option<Vec<u8>>>(key).await },
        )
        .await
        .flatten()
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run("set", async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut conn)
                .await
        })
        .await;
    }

    async fn delete(&self, key: &str) {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.run("del", async move { conn.del::<_, ()>(key).await })
            .await;
    }

    async fn take_token(&self, key: &str, limit: BucketLimit) -> Option<Result<(), Duration>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        // One round trip, atomic, on Redis' own clock: every replica
        // shares the bucket and nobody's clock skew moves it.
        self.run("take_token", async move {
            TAKE_TOKEN
                .key(key)
                .arg(limit.interval_us())
                .arg(limit.burst.max(1))
                .invoke_async::<u64>(&mut conn)
                .await
        })
        .await
        .map(|wait_us| match wait_us {
            0 => Ok(()),
            wait => Err(Duration::from_micros(wait)),
        })
    }

    async fn take_attempt(
        &self,
        key: &str,
        now_ms: u64,
        policy: BackOff,
    ) -> Option<Result<(), Duration>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        // One round trip, atomic: replicas share the counter, and
        // concurrent attempts are counted one after the other.
        self.run("take_attempt", async move {
            TAKE_ATTEMPT
                .key(key)
                .arg(now_ms)
                .arg(policy.free)
                .arg(policy.base_ms)
                .arg(policy.max_ms)
                .arg(policy.window_ms.max(1))
                .invoke_async::<u64>(&mut conn)
                .await
        })
        .await
        .map(|wait_ms| match wait_ms {
            0 => Ok(()),
            wait => Err(Duration::from_millis(wait)),
        })
    }

    async fn forgive_attempt(&self, key: &str) {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        self.run("forgive_attempt", async move {
            FORGIVE_ATTEMPT
                .key(key)
                .invoke_async::<u64>(&mut conn)
                .await
        })
        .await;
    }

    async fn clear_attempts(&self, key: &str) {
        self.delete(key).await;
    }

    async fn publish(&self, event: BusEvent) {
        // Local subscribers first, so this replica is never stale even when
        // Redis is down.
        let _ = self.local.send(event.clone());
        let wire = WireEvent {
            origin: self.origin,
            topic: event.topic,
            payload: event.payload,
        };
        let Ok(body) = serde_json::to_string(&wire) else {
            return;
        };
        let mut conn = self.conn.clone();
        let channel = self.channel.clone();
        self.run("publish", async move {
            conn.publish::<_, _, ()>(channel, body).await
        })
        .await;
    }

    fn subscribe(&self) -> broadcast::Receiver<BusEvent> {
        self.local.subscribe()
    }

    async fn health(&self) -> Result<(), String> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(
            self.opts.op_timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
