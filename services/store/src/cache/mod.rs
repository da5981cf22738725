//! The two `CacheBus` implementations: in-process (one replica) and Redis
//! (many replicas). `server` picks one from the settings.

mod memory;
mod redis;
mod scripts;

pub use memory::MemoryCacheBus;
pub use redis::{RESYNC_TOPIC, RedisCacheBus, RedisOptions};
