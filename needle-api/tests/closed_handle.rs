//! A `Collection` handle that outlives its `Database`: every call fails with `closed`, nothing is
//! written anywhere, and the file (whose lock is released) is exactly what the close left.

use needle::{
    wal_path, Collection, CollectionConfig, Database, DistanceFunction, ErrorCode, Filter, Result, SearchParams,
};
use serde_json::json;

fn vector(i: usize) -> Vec<f32> {
    (0..4).map(|d| (i * 3 + d) as f32 + 1.0).collect()
}

/// Calls every fallible public method of `c` and returns each one's outcome, named.
fn every_call(c: &Collection) -> Vec<(&'static str, Result<()>)> {
    let q = vector(1);
    let filter = Filter::parse(&json!({"i": {"$gte": 0}})).unwrap();
    let batch = vec![("b1".to_string(), vector(5), None), ("b2".to_string(), vector(6), Some(json!({"i": 6})))];
    #[cfg_attr(not(feature = "hybrid"), allow(unused_mut))]
    let mut calls: Vec<(&'static str, Result<()>)> = vec![
        ("count", c.count().map(drop)),
        ("is_empty", c.is_empty().map(drop)),
        ("insert", c.insert("new", &vector(9), None)),
        ("insert_batch", c.insert_batch(&batch)),
        ("upsert", c.upsert("v1", &vector(8), None).map(drop)),
        ("get", c.get("v1").map(drop)),
        ("delete", c.delete("v2").map(drop)),
        ("compact", c.compact()),
        ("contains", c.contains("v1").map(drop)),
        ("check", c.check("v9", &q)),
        ("ids", c.ids().map(drop)),
        ("search", c.search(&q, 3).map(drop)),
        ("search_with", c.search_with(&q, &SearchParams::new(3)).map(drop)),
        ("search_with_filter", c.search_with_filter(&q, 3, &filter).map(drop)),
        ("search_explain", c.search_explain(&q, 3).map(drop)),
        ("search_explain_with", c.search_explain_with(&q, &SearchParams::new(3)).map(drop)),
        ("batch_search", c.batch_search(std::slice::from_ref(&q), 3, None).map(drop)),
        ("batch_search_with_filter", c.batch_search_with_filter(std::slice::from_ref(&q), 3, &filter).map(drop)),
        ("info", c.info().map(drop)),
    ];
    #[cfg(feature = "hybrid")]
    {
        calls.push(("text_search", c.text_search("word", 3, None).map(drop)));
        calls.push(("hybrid_search", c.hybrid_search("word", &q, 3).map(drop)));
        calls.push(("hybrid_search_with", c.hybrid_search_with("word", &q, &needle::HybridParams::new(3)).map(drop)));
    }
    calls
}

fn fill(db: &Database) -> Collection {
    let c = db
        .create_collection_with_config(
            CollectionConfig::new("c", 4).with_distance(DistanceFunction::Euclidean).with_text_field("text"),
        )
        .unwrap();
    for i in 0..10 {
        c.insert(&format!("v{i}"), &vector(i), Some(json!({"i": i, "text": "a word"}))).unwrap();
    }
    c
}

fn assert_all_closed(c: &Collection) {
    for (name, outcome) in every_call(c) {
        match outcome {
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::Closed, "{name}: {e}");
                assert_eq!(e.code().name(), "closed");
            }
            Ok(()) => panic!("{name} succeeded on a handle whose database was dropped"),
        }
    }
}

#[test]
fn every_call_on_a_handle_of_a_dropped_database_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.needle");
    let db = Database::open(&path).unwrap();
    let c = fill(&db);
    // Every call works while the database is open.
    for (name, outcome) in every_call(&c) {
        assert!(outcome.is_ok(), "{name} failed on an open database: {:?}", outcome.err());
    }
    let ids = c.ids().unwrap();
    drop(db);
    assert_all_closed(&c);
    let clone = c.clone();
    assert_all_closed(&clone);
    // Nothing reached the files: the WAL was removed by the close, and another handle (the lock is
    // free) sees exactly what the close saved.
    assert!(!wal_path(&path).exists());
    let again = Database::open(&path).unwrap();
    let c2 = again.collection("c").unwrap();
    assert_eq!(c2.ids().unwrap(), ids);
    // The old handle stays closed even while the file is open again.
    assert_all_closed(&c);
}

#[test]
fn every_call_on_a_handle_of_a_dropped_in_memory_database_is_closed() {
    let db = Database::in_memory();
    let c = fill(&db);
    drop(db);
    assert_all_closed(&c);
}

#[test]
fn a_handle_kept_by_a_clone_of_the_database_stays_open() {
    let db = Database::in_memory();
    let c = fill(&db);
    let other = db.clone();
    drop(db);
    assert_eq!(c.count().unwrap(), 10);
    drop(other);
    assert_eq!(c.count().unwrap_err().code(), ErrorCode::Closed);
}
