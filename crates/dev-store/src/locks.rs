//! One async lock per object, taken by every request that reads or writes it.
//!
//! The table holds an entry only while some request holds or awaits the key's lock, so
//! it stays as small as the number of keys in use at once.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError};

use tokio::sync::Mutex;

#[derive(Default)]
pub(crate) struct KeyLocks {
    table: std::sync::Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

impl KeyLocks {
    /// Runs `work` while holding the lock of every `(bucket, key)` in `keys`. Keys are
    /// locked once each and in one global order, so two requests that need the same
    /// two keys (a copy and its reverse) never wait on each other.
    pub(crate) async fn with<F, T>(&self, keys: &[(&str, &str)], work: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T>,
    {
        let mut slots: Vec<Slot<'_>> = keys.iter().map(|(b, k)| self.slot(b, k)).collect();
        slots.sort_by(|a, b| a.name.cmp(&b.name));
        slots.dedup_by(|a, b| a.name == b.name);
        let mut guards = Vec::with_capacity(slots.len());
        for slot in &slots {
            guards.push(slot.mutex().lock().await);
        }
        let out = work().await;
        drop(guards);
        out
    }

    fn slot(&self, bucket: &str, key: &str) -> Slot<'_> {
        let name = lock_name(bucket, key);
        let mutex = self
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.clone())
            .or_default()
            .clone();
        Slot {
            locks: self,
            name,
            mutex: Some(mutex),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// The file a key names, as s3s-fs resolves it (`{bucket}/{key}` under its root): the
/// lock belongs to the file, so `a//b`, `a/./b` and `x/../a/b` share the lock of `a/b`.
fn lock_name(bucket: &str, key: &str) -> PathBuf {
    let mut name = PathBuf::new();
    for part in Path::new(bucket).join(key).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                name.pop();
            }
            other => name.push(other),
        }
    }
    name
}

/// A request's claim on a key's lock: while it lives, the table keeps the key's entry.
struct Slot<'a> {
    locks: &'a KeyLocks,
    name: PathBuf,
    /// Always `Some` until dropped.
    mutex: Option<Arc<Mutex<()>>>,
}

impl Slot<'_> {
    fn mutex(&self) -> &Mutex<()> {
        self.mutex
            .as_ref()
            .expect("a slot's mutex lives as long as the slot")
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut table = self
            .locks
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Counts change only under the table's lock, so once this slot's reference is
        // gone a count of one means no request holds or awaits the key any more.
        drop(self.mutex.take());
        if table
            .get(&self.name)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            table.remove(&self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_file_share_a_lock() {
        assert_eq!(lock_name("b", "a/b"), lock_name("b", "a//b"));
        assert_eq!(lock_name("b", "a/b"), lock_name("b", "a/./b"));
        assert_eq!(lock_name("b", "a/b"), lock_name("b", "x/../a/b"));
        assert_eq!(lock_name("b", "a/b"), lock_name("b", "a/b/"));
        assert_ne!(lock_name("b", "a/b"), lock_name("c", "a/b"));
        assert_ne!(lock_name("b", "a/b"), lock_name("b", "a/bc"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_lock_excludes_and_its_entry_goes_with_the_last_user() {
        let locks = Arc::new(KeyLocks::default());
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (locks, inside) = (locks.clone(), inside.clone());
            tasks.push(tokio::spawn(async move {
                // Half take the key alone, half with another key, in either order.
                let keys: &[(&str, &str)] = match i % 4 {
                    0 | 1 => &[("b", "k")],
                    2 => &[("b", "k"), ("b", "other")],
                    _ => &[("b", "other"), ("b", "k"), ("b", "k")],
                };
                locks
                    .with(keys, || async {
                        let n = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert_eq!(n, 0, "two requests inside one key's lock");
                        tokio::task::yield_now().await;
                        inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    })
                    .await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(locks.len(), 0);

        // A request given up while it waits leaves nothing behind either.
        let held = locks.clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let holder =
            tokio::spawn(async move { held.with(&[("b", "k")], || async { rx.await.ok() }).await });
        tokio::task::yield_now().await;
        while locks.len() == 0 {
            tokio::task::yield_now().await;
        }
        let waiter = locks.with(&[("b", "k")], || async {});
        let gave_up = tokio::time::timeout(std::time::Duration::from_millis(20), waiter).await;
        assert!(gave_up.is_err(), "the key is held");
        tx.send(()).unwrap();
        holder.await.unwrap();
        assert_eq!(locks.len(), 0);
    }
}
