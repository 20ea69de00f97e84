//! Per-key async locks, so that check-then-act sequences (is there a ticket channel already? no:
//! create one) cannot interleave for the same key while different keys proceed in parallel.

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Weak},
};

use parking_lot::Mutex;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A lazily created async mutex per key; entries vanish once nobody holds or waits for them.
#[derive(Debug)]
pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Weak<AsyncMutex<()>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone> KeyedLocks<K> {
    /// Waits until no one else holds `key`, then holds it until the guard is dropped.
    pub async fn lock(&self, key: K) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock();
            // Dropping dead entries here keeps the map as small as the set of keys in use.
            locks.retain(|_, weak| weak.strong_count() > 0);
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(AsyncMutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Keys currently held or waited for (the tests check that entries vanish).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let locks = self.locks.lock();
        locks
            .values()
            .filter(|weak| weak.strong_count() > 0)
            .count()
    }

    /// No key is held.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn same_key_waits_other_key_does_not() {
        let locks = Arc::new(KeyedLocks::default());
        let held = locks.lock(1).await;
        // A different key is free at once.
        let other = locks.lock(2).await;
        drop(other);
        let waiter = {
            let locks = Arc::clone(&locks);
            tokio::spawn(async move {
                let _guard = locks.lock(1).await;
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("waiter gets the lock once released")
            .unwrap();
        assert!(locks.is_empty());
    }
}
