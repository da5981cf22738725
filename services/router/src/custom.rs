//! Active custom hostnames: a map from host to route, read synchronously
//! by the host guard on every request, reloaded from the control plane when
//! the bus says hostnames changed (and every minute, in case a change was
//! missed).

use kernel::ports::CacheBus;
use kernel::tenant::{CUSTOM_HOSTS_CHANGED_TOPIC, CustomHostDirectory, CustomHostRoute};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often the map is reloaded even without a bus event.
const RELOAD_EVERY: Duration = Duration::from_secs(60);

type Routes = HashMap<String, Arc<CustomHostRoute>>;

#[derive(Clone)]
pub struct CustomHosts {
    routes: Arc<RwLock<Arc<Routes>>>,
    directory: Option<Arc<dyn CustomHostDirectory>>,
}

impl std::fmt::Debug for CustomHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomHosts").finish_non_exhaustive()
    }
}

impl Default for CustomHosts {
    /// No custom hostnames (tests of the slug routing alone).
    fn default() -> Self {
        Self {
            routes: Arc::new(RwLock::new(Arc::new(HashMap::new()))),
            directory: None,
        }
    }
}

impl CustomHosts {
    pub fn new(directory: Arc<dyn CustomHostDirectory>) -> Self {
        Self {
            directory: Some(directory),
            ..Self::default()
        }
    }

    /// The route of an active custom hostname (lower case, no port).
    pub fn get(&self, host: &str) -> Option<Arc<CustomHostRoute>> {
        // The map is swapped whole, so readers hold the lock only to
        // clone one Arc.
        let routes = self
            .routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        routes.get(host).cloned()
    }

    /// Reads the active hostnames again.
    pub async fn reload(&self) -> kernel::Result<usize> {
        let Some(directory) = &self.directory else {
            return Ok(0);
        };
        let routes: Routes = directory
            .active_custom_hosts()
            .await?
            .into_iter()
            .map(|route| (route.hostname.clone(), Arc::new(route)))
            .collect();
        let count = routes.len();
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routes);
        Ok(count)
    }

    /// Reloads on every hostname change announced by any replica, after a
    /// bus resync, and every minute.
    pub fn spawn_reloader(&self, bus: Arc<dyn CacheBus>) -> tokio::task::JoinHandle<()> {
        let hosts = self.clone();
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(RELOAD_EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let reload = tokio::select! {
                    _ = ticker.tick() => true,
                    event = events.recv() => match event {
                        Ok(event) => event.topic == CUSTOM_HOSTS_CHANGED_TOPIC
                            || event.topic == store::cache::RESYNC_TOPIC,
                        Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return,
                    },
                };
                if reload && let Err(err) = hosts.reload().await {
                    tracing::warn!(error = %err, "reloading custom hostnames failed");
                }
            }
        })
    }
}

/// Whether `origin` (as a browser sends it) is on a hostname's CORS
/// allow-list: an exact origin, or `https://*.<domain>` for any subdomain.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    allowed
        .iter()
        .any(|pattern| match pattern.strip_prefix("https://*.") {
            Some(suffix) => origin
                .strip_prefix("https://")
                .and_then(|host| host.strip_suffix(suffix))
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => *pattern == origin,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_wildcard_subdomain() {
        let allowed = vec![
            "https://app.example.com".to_owned(),
            "https://*.shop.example".to_owned(),
        ];
        assert!(origin_allowed(&allowed, "https://app.example.com"));
        assert!(origin_allowed(&allowed, "HTTPS://APP.example.com"));
        assert!(origin_allowed(&allowed, "https://eu.shop.example"));
        assert!(origin_allowed(&allowed, "https://a.b.shop.example"));
        assert!(!origin_allowed(&allowed, "https://shop.example"));
        assert!(!origin_allowed(&allowed, "https://evilshop.example"));
        assert!(!origin_allowed(&allowed, "http://app.example.com"));
        assert!(!origin_allowed(&allowed, "https://app.example.com.evil.io"));
        assert!(!origin_allowed(&allowed, "null"));
    }
}
