//! The document cache under `DatabaseConfig::cache_size`, through the public API: the cache's own
//! accounting stays within the budget while far more is read, evicted documents read back the
//! same, what it holds is in the collection's memory (so in `needle_memory_bytes`), and readers
//! racing eviction and deletes always see each record's own metadata.

use serde_json::{json, Value};

use super::cache::ENTRY_OVERHEAD;
use super::docs::value_bytes;
use crate::{Collection, CollectionConfig, Database, DatabaseConfig, Durability, Filter};

const N: usize = 2000;

fn vector(i: usize) -> Vec<f32> {
    vec![i as f32, (i % 13) as f32, 1.0]
}

fn meta(i: usize) -> Value {
    json!({"i": i, "group": i % 10, "note": format!("record {i} {}", "x".repeat(i % 64))})
}

/// A saved file of `N` records, each with metadata.
fn build(path: &std::path::Path) {
    let db = Database::open(path).unwrap();
    let c = db.create_collection_with_config(CollectionConfig::new("c", 3).with_index("flat")).unwrap();
    let items: Vec<_> = (0..N).map(|i| (format!("v{i}"), vector(i), Some(meta(i)))).collect();
    c.insert_batch(&items).unwrap();
    db.save().unwrap();
}

fn open(path: &std::path::Path, budget: u64) -> Database {
    let config =
        DatabaseConfig::new().with_mmap_threshold(0).with_cache_size(budget).with_durability(Durability::OnSave);
    Database::open_with_config(path, config).unwrap()
}

/// Whether slot `slot`'s document is in the cache now.
fn cached(c: &Collection, slot: u32) -> bool {
    let st = c.shared.state.read();
    let l = st.records.lazy.as_ref().unwrap();
    l.cache.get(l.owner, slot).is_some()
}

/// The collection's memory as `info()` and the metrics gauge report it, and its cache share.
fn memory(c: &Collection) -> (usize, usize) {
    let total = c.info().unwrap().memory_bytes;
    let st = c.shared.state.read();
    let l = st.records.lazy.as_ref().unwrap();
    (total, l.cache.owner_bytes(l.owner))
}

fn check_group(c: &Collection, g: usize) {
    let f = Filter::parse(&json!({"group": g})).unwrap();
    let hits = c.search_with_filter(&vector(0), N, &f).unwrap();
    assert_eq!(hits.len(), N / 10);
    for h in hits {
        let i: usize = h.id[1..].parse().unwrap();
        assert_eq!((i % 10, h.metadata), (g, Some(meta(i))), "{}", h.id);
    }
}

#[test]
fn reading_more_than_the_budget_stays_within_it_and_evicted_documents_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.needle");
    build(&path);
    const BUDGET: u64 = 16 << 10;
    let charged: usize = (0..N).map(|i| value_bytes(&meta(i)) + ENTRY_OVERHEAD).sum();
    assert!(charged > 10 * BUDGET as usize, "the test reads {charged} bytes of documents");
    let db = open(&path, BUDGET);
    let c = db.collection("c").unwrap();
    for round in 0..2 {
        for i in 0..N {
            let got = c.get(&format!("v{i}")).unwrap().unwrap();
            assert_eq!(got.metadata, Some(meta(i)), "round {round}");
            assert!(db.cache_bytes() <= BUDGET, "{} bytes cached", db.cache_bytes());
        }
        assert!(!cached(&c, 0) && cached(&c, N as u32 - 1), "the least recently used went first");
        // Filters build the indexes from every document (kept only while there is room), and
        // their results read documents through the cache too.
        for g in 0..10 {
            check_group(&c, g);
            assert!(db.cache_bytes() <= BUDGET, "{} bytes cached", db.cache_bytes());
        }
    }
    assert!(db.cache_bytes() > BUDGET / 2, "the cache is used: {}", db.cache_bytes());
    // What the cache holds is part of the collection's memory (info() and needle_memory_bytes),
    // and nothing else changes with it.
    let (total, cached_bytes) = memory(&c);
    assert_eq!(cached_bytes as u64, db.cache_bytes());
    let rest = total - cached_bytes;
    c.get("v0").unwrap();
    let (total, cached_bytes) = memory(&c);
    assert_eq!(total - cached_bytes, rest);
    // Deleting a record drops its cached document; a budget of 0 keeps nothing and reads the same.
    assert!(cached(&c, 0));
    assert!(c.delete("v0").unwrap() && !cached(&c, 0));
    check_group(&c, 1);
    drop((c, db));
    let db = open(&path, 0);
    let c = db.collection("c").unwrap();
    for g in [0, 5] {
        let f = Filter::parse(&json!({"group": g})).unwrap();
        let hits = c.search_with_filter(&vector(0), N, &f).unwrap();
        assert_eq!(hits.len(), N / 10 - usize::from(g == 0));
        assert!(hits.iter().all(|h| h.metadata == Some(meta(h.id[1..].parse().unwrap()))));
    }
    assert_eq!(c.get("v17").unwrap().unwrap().metadata, Some(meta(17)));
    assert_eq!(db.cache_bytes(), 0);
}

#[test]
fn readers_racing_eviction_and_deletes_see_each_records_own_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.needle");
    build(&path);
    // Room for a handful of documents: nearly every read evicts another.
    let budget = 4 * (value_bytes(&meta(63)) + ENTRY_OVERHEAD) as u64;
    let db = open(&path, budget);
    let c = db.collection("c").unwrap();
    check_group(&c, 3); // the metadata stage is built, so deletes update its indexes
    let deleted = |i: usize| i.is_multiple_of(5);
    std::thread::scope(|s| {
        for t in 0..3u64 {
            let (c, db) = (c.clone(), db.clone());
            s.spawn(move || {
                let mut x = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..4000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x % N as u64) as usize;
                    match c.get(&format!("v{i}")).unwrap() {
                        Some(r) => assert_eq!(r.metadata, Some(meta(i)), "v{i}"),
                        None => assert!(deleted(i), "v{i} vanished"),
                    }
                    assert!(db.cache_bytes() <= budget);
                }
            });
        }
        let c2 = c.clone();
        s.spawn(move || {
            for round in 0..3 {
                for g in 0..10 {
                    let f = Filter::parse(&json!({"group": g})).unwrap();
                    for h in c2.search_with_filter(&vector(round), N, &f).unwrap() {
                        let i: usize = h.id[1..].parse().unwrap();
                        assert_eq!((i % 10, h.metadata), (g, Some(meta(i))), "{}", h.id);
                    }
                }
            }
        });
        let c3 = c.clone();
        s.spawn(move || {
            for i in (0..N).filter(|&i| deleted(i)) {
                assert!(c3.delete(&format!("v{i}")).unwrap());
            }
        });
    });
    assert!(db.cache_bytes() <= budget);
    for i in 0..N {
        let got = c.get(&format!("v{i}")).unwrap().map(|r| r.metadata);
        assert_eq!(got, (!deleted(i)).then(|| Some(meta(i))), "v{i}");
    }
    let f = Filter::parse(&json!({"group": 5})).unwrap();
    assert!(c.search_with_filter(&vector(0), N, &f).unwrap().is_empty(), "deleted records left the indexes");
}
