//! The bounded cache of storage clients every remote backend keeps.
//!
//! Clients are expensive (connections, auth), so one is kept per connection-relevant
//! settings. Entries idle longer than `client_expire_seconds` are dropped on the next
//! look-up or [`sweep`](ClientCache::sweep), and past [`MAX_CLIENTS`] the least recently
//! used goes.
//! An entry may also carry a maximum age (secured clients: `kerberos_token_expire_seconds`)
//! past which it is rebuilt however busy it is.
//! Open streams hold their own handles, so dropping an entry never breaks one. The lock
//! is held only for the map operations: building a client happens outside it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Clients kept at most per backend.
pub const MAX_CLIENTS: usize = 256;

pub struct ClientCache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    idle_expiry: Duration,
    /// Wakes a sweeper waiting for the first entry (see [`ClientCache::sweep`]).
    added: tokio::sync::Notify,
}

struct Entry<V> {
    client: Arc<V>,
    used: Instant,
    /// Rebuilt from this instant on, however often it is used.
    expires: Option<Instant>,
}

impl<K: Eq + Hash + Clone, V> ClientCache<K, V> {
    pub fn new(idle_expiry: Duration) -> Self {
        ClientCache {
            entries: Mutex::new(HashMap::new()),
            idle_expiry,
            added: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client for `key`, building it with `build` when there is none.
    pub fn get_or_build<E>(
        &self,
        key: &K,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        self.get_or_build_aged(key, None, build)
    }

    /// As [`get_or_build`](Self::get_or_build); a client built here is rebuilt once it is
    /// `max_age` old.
    pub fn get_or_build_aged<E>(
        &self,
        key: &K,
        max_age: Option<Duration>,
        build: impl FnOnce() -> Result<V, E>,
    ) -> Result<Arc<V>, E> {
        let now = Instant::now();
        let live = |e: &Entry<V>| self.live(e, now);
        {
            let mut entries = self.lock();
            entries.retain(|_, e| live(e));
            if let Some(entry) = entries.get_mut(key) {
                entry.used = now;
                return Ok(entry.client.clone());
            }
        }
        let client = Arc::new(build()?);
        let mut entries = self.lock();
        // Another call may have built the same client meanwhile: keep the first.
        if let Some(entry) = entries.get_mut(key).filter(|e| live(e)) {
            entry.used = now;
            return Ok(entry.client.clone());
        }
        if entries.len() >= MAX_CLIENTS {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        let expires = max_age.map(|age| now + age);
        entries.insert(
            key.clone(),
            Entry {
                client: client.clone(),
                used: now,
                expires,
            },
        );
        drop(entries);
        self.added.notify_one();
        Ok(client)
    }

    fn live(&self, e: &Entry<V>, now: Instant) -> bool {
        now < self.deadline(e)
    }

    /// When an entry stops being live: idle too long, or too old.
    fn deadline(&self, e: &Entry<V>) -> Instant {
        let idle = e.used + self.idle_expiry + Duration::from_nanos(1);
        e.expires.map_or(idle, |t| t.min(idle))
    }

    /// Drops the entries that are too idle or too old now, without waiting for a look-up.
    /// Returns how long until the next one may expire (`None`: the cache is empty), so a
    /// sweeper sleeps exactly that long, or until [`ClientCache::added`] while empty.
    pub fn sweep(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, e| self.live(e, now));
        let next = entries.values().map(|e| self.deadline(e)).min()?;
        Some(next.saturating_duration_since(now))
    }

    /// Resolves once an entry may have been added since the cache was last seen empty.
    pub async fn added(&self) {
        self.added.notified().await
    }

    /// Drops entries as they expire, for as long as the task runs: sleeps until the next
    /// one may expire, or while the cache is empty until one is added.
    pub async fn run_sweeper(&self) {
        loop {
            match self.sweep() {
                // A client added meanwhile may expire sooner (a short max age).
                Some(next) => tokio::select! {
                    _ = tokio::time::sleep(next) => {}
                    _ = self.added() => {}
                },
                None => self.added().await,
            }
        }
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

        let aged: ClientCache<u32, u32> = ClientCache::new(Duration::from_secs(60));
        let age = Some(Duration::from_millis(30));
        let first = aged.get_or_build_aged(&1, age, || Ok::<_, ()>(1)).unwrap();
        let again = aged.get_or_build_aged(&1, age, || Ok::<_, ()>(1)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "a young client is reused");
        std::thread::sleep(Duration::from_millis(40));
        let later = aged.get_or_build_aged(&1, age, || Ok::<_, ()>(1)).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &later),
            "an old client is rebuilt, busy or not"
        );
        let next = aged.sweep().expect("one client cached");
        assert!(
            next <= Duration::from_millis(30),
            "the sweeper wakes at its max age"
        );
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(aged.len(), 1);
        assert_eq!(aged.sweep(), None, "nothing left: the sweeper may sleep");
        assert_eq!(aged.len(), 0, "swept without a look-up");
    }
}
