//! Opened registrations kept in memory, so that the commands after a
//! registration (each loads and folds the whole case) do not open its sealed
//! fields again: no JSON rework, no key lookup, no AEAD per load.
//!
//! An entry is the stored bytes of one event and the payload they open to,
//! for one case. It is served only for exactly those stored bytes (a payload
//! rewritten in the file, e.g. by `leye migrate encrypt`, misses), bounded by
//! [`CAPACITY`] entries (the oldest inserted goes first), and its clear text
//! is zeroed when it leaves (evicted, purged, replaced, dropped).
//!
//! **Erasure.** [`OpenedCache::purge`] drops every entry of the case and
//! moves the erasure generation on, under the same lock; an insert carries
//! the generation read before its payload was opened and is refused when an
//! erasure happened since. So an open that raced an erasure (it found the key
//! live just before it was destroyed) cannot put the person back: once
//! `PersonalData::erase` returns, nothing of the case is served from here.
//! Tests: `personal::tests::an_erased_person_is_never_served_from_the_cache`,
//! `personal::cache::tests::an_open_that_raced_an_erasure_is_not_kept_and_the_cache_stays_bounded`.

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;
use zeroize::Zeroizing;

/// Entries kept at most (≈ 1 KiB each: a registration stored and opened).
pub const CAPACITY: usize = 16_384;

struct Entry {
    case_id: Uuid,
    stored: Vec<u8>,
    opened: Zeroizing<Vec<u8>>,
}

#[derive(Default)]
struct Inner {
    /// Moves on with every erasure.
    generation: u64,
    entries: HashMap<Uuid, Entry>,
    /// Event ids in insertion order (may name entries purged since).
    order: VecDeque<Uuid>,
}

/// See the module documentation.
pub struct OpenedCache {
    inner: std::sync::Mutex<Inner>,
    capacity: usize,
}

impl std::fmt::Debug for OpenedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedCache").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl OpenedCache {
    pub fn new(capacity: usize) -> Self {
        Self { inner: Default::default(), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The erasure generation, to read before opening what will be inserted.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// The opened payload of event `event_id` of `case_id`, if cached for exactly `stored`.
    pub fn get(&self, case_id: Uuid, event_id: Uuid, stored: &[u8]) -> Option<Vec<u8>> {
        let inner = self.lock();
        let e = inner.entries.get(&event_id)?;
        (e.case_id == case_id && e.stored == stored).then(|| e.opened.to_vec())
    }

    /// Keeps `opened` for `stored`, unless an erasure happened since `generation`.
    pub fn insert(&self, generation: u64, case_id: Uuid, event_id: Uuid, stored: Vec<u8>, opened: Vec<u8>) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        let entry = Entry { case_id, stored, opened: Zeroizing::new(opened) };
        if inner.entries.insert(event_id, entry).is_none() {
            inner.order.push_back(event_id);
        }
        while inner.entries.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else { break };
            inner.entries.remove(&oldest);
        }
        // Ids of purged entries: dropped once they outnumber the live ones.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|id| entries.contains_key(id));
        }
    }

    /// Drops every entry of `case_id` and refuses inserts opened before now.
    pub fn purge(&self, case_id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, e| e.case_id != case_id);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_that_raced_an_erasure_is_not_kept_and_the_cache_stays_bounded() {
        let cache = OpenedCache::new(3);
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
        let g = cache.generation();
        for (i, id) in ids.iter().enumerate() {
            cache.insert(g, if i % 2 == 0 { a } else { b }, *id, vec![i as u8], vec![10 + i as u8]);
        }
        assert_eq!(cache.len(), 3, "bounded");
        assert_eq!(cache.get(a, ids[0], &[0]), None, "the oldest went first");
        assert_eq!(cache.get(b, ids[1], &[1]), Some(vec![11]));
        assert_eq!(cache.get(a, ids[1], &[1]), None, "another case's entry is not served");
        assert_eq!(cache.get(b, ids[1], &[9]), None, "other stored bytes miss");
        cache.purge(a);
        assert_eq!(cache.get(a, ids[2], &[2]), None, "purged");
        assert_eq!(cache.get(b, ids[3], &[3]), Some(vec![13]), "other cases stay");
        cache.insert(g, a, ids[2], vec![2], vec![12]);
        assert_eq!(cache.get(a, ids[2], &[2]), None, "an insert opened before the erasure is refused");
        for _ in 0..20 {
            let g = cache.generation();
            cache.insert(g, a, Uuid::new_v4(), vec![1], vec![1]);
            cache.purge(a);
        }
        assert!(cache.lock().order.len() <= 6, "ids of purged entries do not pile up");
    }
}
