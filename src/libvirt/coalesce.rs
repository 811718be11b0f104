//! Concurrent identical reads share one libvirt round trip.
//!
//! Terraform refreshes, plans and applies up to `-parallelism` resources at once, and the volumes
//! of one pool all ask the same questions: does the pool exist, is it active, which domains use
//! which disks. [`Coalesced::get`] lets such callers share one read, and only a read that *started
//! after the caller asked*: what a caller sees is therefore exactly as fresh as what its own read
//! would have returned. Nothing is cached beyond that, so changes made outside Terraform are never
//! hidden.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The last read of one key: when it started (on [`Coalesced`]'s clock) and what it returned.
type Slot<V> = Arc<tokio::sync::Mutex<Option<(u64, V)>>>;

/// One shared read per key at a time; see the module documentation.
pub struct Coalesced<K, V> {
    /// Orders "asked" and "started" events; a read serves callers that asked before it started.
    clock: AtomicU64,
    slots: Mutex<HashMap<K, Slot<V>>>,
}

impl<K, V> Default for Coalesced<K, V> {
    fn default() -> Self {
        Coalesced {
            clock: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Coalesced<K, V> {
    /// The result of `read` for `key`, or that of a read of the same key that started after this
    /// call began. Errors are returned to their own caller only and never shared.
    pub async fn get<E, F, Fut>(&self, key: &K, read: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let asked = self.clock.fetch_add(1, Ordering::SeqCst);
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(key.clone()).or_default().clone()
        };
        let mut last = slot.lock().await;
        if let Some((started, value)) = last.as_ref() {
            if *started > asked {
                return Ok(value.clone());
            }
        }
        let started = self.clock.fetch_add(1, Ordering::SeqCst);
        let value = read().await?;
        *last = Some((started, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::Coalesced;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_reads_that_started_after_they_asked() {
        let c: Arc<Coalesced<&str, usize>> = Arc::default();
        let reads = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (c, reads) = (c.clone(), reads.clone());
            tasks.push(tokio::spawn(async move {
                c.get(&"pool", || async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(reads.fetch_add(1, Ordering::SeqCst) + 1)
                })
                .await
            }));
        }
        for t in tasks {
            assert!(t.await.expect("task").is_ok());
        }
        // 20 callers, all asking within the first read: that read plus at most one more.
        let n = reads.load(Ordering::SeqCst);
        assert!((1..=2).contains(&n), "{n} reads for 20 concurrent callers");
    }

    #[tokio::test]
    async fn a_later_caller_never_sees_an_older_read() {
        let c: Coalesced<&str, u32> = Coalesced::default();
        assert_eq!(c.get(&"k", || async { Ok::<_, ()>(1) }).await, Ok(1));
        // Sequential calls: each asked after the previous read started, so each reads again.
        assert_eq!(c.get(&"k", || async { Ok::<_, ()>(2) }).await, Ok(2));
        assert_eq!(c.get(&"other", || async { Ok::<_, ()>(3) }).await, Ok(3));
    }

    #[tokio::test]
    async fn errors_are_not_shared() {
        let c: Coalesced<&str, u32> = Coalesced::default();
        assert_eq!(c.get(&"k", || async { Err::<u32, _>("boom") }).await, Err("boom"));
        assert_eq!(c.get(&"k", || async { Ok::<_, &str>(5) }).await, Ok(5));
    }
}
