//! The bounded cache of storage clients every remote backend keeps.
//!
//! Clients are expensive (connections, auth), so one is kept per connection-relevant
//! settings. Entries idle longer than `client_expire_seconds` are dropped on the next
//! look-up (no background task), and past [`MAX_CLIENTS`] the least recently used goes.
//! Open streams hold their own handles, so dropping an entry never breaks one. The lock
//! is held only for the map operations: building a client happens outside it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Clients kept at most per backend.
pub const MAX_CLIENTS: usize = 256;

pub struct ClientCache<K, V> {
    entries: Mutex<HashMap<K, (Arc<V>, Instant)>>,
    idle_expiry: Duration,
}

impl<K: Eq + Hash + Clone, V> ClientCache<K, V> {
    pub fn new(idle_expiry: Duration) -> Self {
        ClientCache {
            entries: Mutex::new(HashMap::new()),
            idle_expiry,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, (Arc<V>, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client for `key`, building it with `build` when there is none.
    pub fn get_or_build<E>(
        &self,
        key: &K,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let now = Instant::now();
        {
            let mut entries = self.lock();
            entries.retain(|_, (_, used)| now.duration_since(*used) <= self.idle_expiry);
            if let Some((client, used)) = entries.get_mut(key) {
                *used = now;
                return Ok(client.clone());
            }
        }
        let client = Arc::new(build()?);
        let mut entries = self.lock();
        // Another call may have built the same client meanwhile: keep the first.
        if let Some((existing, used)) = entries.get_mut(key) {
            *used = now;
            return Ok(existing.clone());
        }
        if entries.len() >= MAX_CLIENTS {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key.clone(), (client.clone(), now));
        Ok(client)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_expires_and_bounds() {
        let cache: ClientCache<u32, u32> = ClientCache::new(Duration::from_secs(60));
        let a = cache.get_or_build(&1, || Ok::<_, ()>(10)).unwrap();
        let again = cache.get_or_build(&1, || Ok::<_, ()>(99)).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(
            cache.get_or_build(&2, || Err::<u32, _>("boom")),
            Err("boom")
        );
        for k in 0..(MAX_CLIENTS as u32 + 10) {
            cache.get_or_build(&k, || Ok::<_, ()>(k)).unwrap();
        }
        assert_eq!(cache.len(), MAX_CLIENTS);

        let short: ClientCache<u32, u32> = ClientCache::new(Duration::ZERO);
        let first = short.get_or_build(&1, || Ok::<_, ()>(1)).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let second = short.get_or_build(&1, || Ok::<_, ()>(1)).unwrap();
        assert!(!Arc::ptr_eq(&first, &second), "an idle client is rebuilt");
    }
}
