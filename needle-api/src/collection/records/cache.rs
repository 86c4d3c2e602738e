//! [`DocCache`]: the one part of a database's memory that is a cache, bounded by
//! [`DatabaseConfig::cache_size`](crate::DatabaseConfig::cache_size).
//!
//! A collection opened from a mapped file keeps its records section in the map and decodes it on
//! demand (see `mod.rs`). The metadata documents of that section never change while it is mapped
//! (a write only tombstones a slot or appends past it), so a parsed document can always be parsed
//! again from the same bytes: holding it is a cache. Before this cache existed the metadata stage
//! kept every parsed document of the section for as long as the collection was open.
//!
//! One cache per database, shared by its collections, keyed by (owner, slot): an owner is one
//! records section (a fresh id per [`super::Records::lazy`], forgotten when the records are
//! dropped), so a replica's refresh or a dropped collection can never see another's entries.
//! Least recently used entries are evicted once the charged bytes pass the budget; an entry
//! larger than the whole budget is not kept at all (a budget of 0 keeps nothing). Readers get an
//! `Arc` of the document, so evicting it never frees what a reader still holds.
//!
//! What is charged per entry: [`value_bytes`] of the document (as `Docs` charges it) plus
//! [`ENTRY_OVERHEAD`] for the key, the `Arc`, and the two map entries. Not cached, and not
//! charged here (they are the working state, not copies of the file): ids, the filter and text
//! indexes, and the metadata of records written since the section was loaded.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;

use super::docs::value_bytes;

/// Bytes charged per entry beyond its document: the key, the `Arc`'s counts, and one entry in
/// each of the two maps (their tables' share included, approximately).
pub(crate) const ENTRY_OVERHEAD: usize = 96;

/// A cache entry's key: (owner, slot).
type Key = (u64, u32);

struct Entry {
    doc: Arc<Value>,
    bytes: usize,
    /// Its position in `order`.
    tick: u64,
}

#[derive(Default)]
struct Lru {
    map: HashMap<Key, Entry>,
    /// Tick → key, least recently used first.
    order: BTreeMap<u64, Key>,
    next_tick: u64,
    bytes: usize,
    /// Bytes charged by owner (what each collection reports in `needle_memory_bytes`).
    by_owner: HashMap<u64, usize>,
}

impl Lru {
    fn touch(&mut self, key: Key) -> Option<Arc<Value>> {
        let tick = self.next_tick;
        let e = self.map.get_mut(&key)?;
        self.order.remove(&e.tick);
        e.tick = tick;
        self.order.insert(tick, key);
        self.next_tick += 1;
        Some(e.doc.clone())
    }

    fn remove(&mut self, key: Key) {
        if let Some(e) = self.map.remove(&key) {
            self.order.remove(&e.tick);
            self.bytes -= e.bytes;
            let owner = self.by_owner.entry(key.0).or_default();
            *owner -= e.bytes;
            if *owner == 0 {
                self.by_owner.remove(&key.0);
            }
        }
    }

    fn insert(&mut self, key: Key, doc: Arc<Value>, bytes: usize) {
        self.remove(key);
        let tick = self.next_tick;
        self.next_tick += 1;
        self.map.insert(key, Entry { doc, bytes, tick });
        self.order.insert(tick, key);
        self.bytes += bytes;
        *self.by_owner.entry(key.0).or_default() += bytes;
    }

    /// Evicts least recently used entries until at most `budget` bytes are charged.
    fn shrink_to(&mut self, budget: usize) {
        while self.bytes > budget {
            let Some((_, key)) = self.order.pop_first() else { break };
            // `remove` looks the tick up again; it is already gone from `order`, which is fine.
            self.remove(key);
        }
    }
}

/// The bounded cache of parsed metadata documents of mapped records sections (module docs).
pub(crate) struct DocCache {
    budget: usize,
    lru: Mutex<Lru>,
}

impl std::fmt::Debug for DocCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocCache").field("budget", &self.budget).field("bytes", &self.bytes()).finish()
    }
}

/// Owner ids, unique in the process (so two databases sharing nothing can never collide either).
static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

impl DocCache {
    /// A cache that charges at most `budget` bytes.
    pub fn new(budget: u64) -> Arc<DocCache> {
        Arc::new(DocCache { budget: usize::try_from(budget).unwrap_or(usize::MAX), lru: Mutex::default() })
    }

    /// A fresh owner id for one records section.
    pub fn new_owner() -> u64 {
        NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
    }

    /// Bytes charged now, in all (never above the budget).
    pub fn bytes(&self) -> usize {
        self.lru.lock().bytes
    }

    /// Bytes charged now for `owner`'s entries.
    pub fn owner_bytes(&self, owner: u64) -> usize {
        self.lru.lock().by_owner.get(&owner).copied().unwrap_or(0)
    }

    /// The cached document of `slot` of `owner`, marked as just used.
    pub fn get(&self, owner: u64, slot: u32) -> Option<Arc<Value>> {
        self.lru.lock().touch((owner, slot))
    }

    /// Keeps `doc` for `slot` of `owner`, evicting the least recently used entries to stay
    /// within the budget (a document larger than the budget is not kept).
    pub fn insert(&self, owner: u64, slot: u32, doc: Arc<Value>) {
        let bytes = value_bytes(&doc) + ENTRY_OVERHEAD;
        if bytes > self.budget {
            return;
        }
        let mut lru = self.lru.lock();
        lru.insert((owner, slot), doc, bytes);
        lru.shrink_to(self.budget);
    }

    /// Keeps `doc` only if it fits without evicting anything (used while a whole section is
    /// parsed once to build its indexes, so that pass does not churn the cache).
    pub fn offer(&self, owner: u64, slot: u32, doc: &Arc<Value>) {
        let bytes = value_bytes(doc) + ENTRY_OVERHEAD;
        let mut lru = self.lru.lock();
        if lru.bytes.saturating_add(bytes) <= self.budget {
            lru.insert((owner, slot), doc.clone(), bytes);
        }
    }

    /// Drops the entry of `slot` of `owner` (its record was deleted).
    pub fn remove(&self, owner: u64, slot: u32) {
        self.lru.lock().remove((owner, slot));
    }

    /// Drops every entry of `owner` (its records are gone).
    pub fn forget(&self, owner: u64) {
        let mut lru = self.lru.lock();
        if !lru.by_owner.contains_key(&owner) {
            return;
        }
        let keys: Vec<Key> = lru.map.keys().filter(|k| k.0 == owner).copied().collect();
        for k in keys {
            lru.remove(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(i: usize) -> Arc<Value> {
        Arc::new(json!({"i": i, "s": "x".repeat(i % 50)}))
    }

    #[test]
    fn stays_within_its_budget_and_evicts_the_least_recently_used() {
        let c = DocCache::new(4096);
        for i in 0..1000u32 {
            c.insert(1, i, doc(i as usize));
            assert!(c.bytes() <= 4096, "{} bytes after {i}", c.bytes());
            // Slot 0 is used after every insert, so it is never the least recently used.
            assert_eq!(c.get(1, 0).as_deref(), Some(&*doc(0)));
        }
        assert!(c.bytes() > 4096 / 2, "the cache holds something: {}", c.bytes());
        assert!(c.get(1, 1).is_none(), "an old entry was evicted");
        assert_eq!(c.get(1, 999).as_deref(), Some(&*doc(999)));
        assert_eq!(c.owner_bytes(1), c.bytes());
    }

    #[test]
    fn owners_are_charged_and_forgotten_apart() {
        let c = DocCache::new(1 << 20);
        for i in 0..10 {
            c.insert(1, i, doc(1));
            c.insert(2, i, doc(1));
        }
        assert_eq!(c.owner_bytes(1), c.owner_bytes(2));
        c.remove(2, 3);
        c.forget(1);
        assert_eq!(c.owner_bytes(1), 0);
        assert!(c.get(1, 0).is_none());
        assert_eq!(c.bytes(), c.owner_bytes(2));
        assert_eq!(c.get(2, 0).as_deref(), Some(&*doc(1)));
        assert!(c.get(2, 3).is_none());
    }

    #[test]
    fn a_zero_budget_keeps_nothing_and_offer_never_evicts() {
        let c = DocCache::new(0);
        c.insert(1, 0, doc(0));
        c.offer(1, 1, &doc(0));
        assert_eq!(c.bytes(), 0);
        let one = value_bytes(&doc(0)) + ENTRY_OVERHEAD;
        let c = DocCache::new(one as u64 * 2);
        for i in 0..5 {
            c.offer(1, i, &doc(0));
        }
        assert_eq!(c.bytes(), 2 * one);
        assert!(c.get(1, 0).is_some() && c.get(1, 1).is_some() && c.get(1, 2).is_none());
    }
}
