//! Background jobs (billing sweep, hostname checks, audit-log retention,
//! the permission change feed's retention): each runs on a timer for the
//! life of the process.

use std::future::Future;
use std::time::Duration;

/// Runs `job` every `every` (the first run at once) on a background task.
/// A failed run is logged and retried at the next tick; a slow run delays
/// the next one rather than letting ticks bunch up.
pub fn spawn_every<F, Fut>(every: Duration, what: &'static str, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = crate::Result<()>> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = job().await {
                tracing::warn!(error = %err, "{what} failed; retrying next tick");
            }
        }
    });
}
