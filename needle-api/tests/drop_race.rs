//! Dropping (and recreating) a collection while other threads write to it: no write may reach the
//! WAL after the drop that removed its collection, so a crash at any moment reopens to exactly the
//! state the live database had — never `corrupted`, never an old vector in the new collection.

mod wal_records;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use needle::{wal_path, CollectionConfig, Database, DistanceFunction, ErrorCode};

use wal_records::{append_record, crashed_database, drop_payload, insert_payload, vector};

fn config() -> CollectionConfig {
    CollectionConfig::new("c", 8).with_distance(DistanceFunction::Euclidean).with_index("flat")
}

/// Copies the database and its WAL while it is open: what a crash at this moment leaves.
fn crash_copy(live: &Path, dest: &Path) {
    std::fs::copy(live, dest).unwrap();
    std::fs::copy(wal_path(live), wal_path(dest)).unwrap();
}

fn ids(db: &Database) -> BTreeSet<String> {
    db.collection("c").unwrap().ids().unwrap().into_iter().collect()
}

#[test]
fn dropping_a_collection_under_concurrent_inserts_keeps_the_log_replayable() {
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let mut raced = 0;
    for round in 0..12 {
        let live = dir.path().join(format!("live{round}.needle"));
        let db = Database::open(&live).unwrap();
        db.create_collection_with_config(config()).unwrap();
        let stop = AtomicBool::new(false);
        let stale_refusals = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let Ok(c) = db.collection("c") else { continue };
                        // Several batches through the same handle: the collection may be dropped
                        // (and recreated) between them.
                        for _ in 0..4 {
                            let first = next.fetch_add(16, Ordering::Relaxed);
                            let batch: Vec<_> =
                                (first..first + 16).map(|i| (format!("v{i}"), vector(i), None)).collect();
                            match c.insert_batch(&batch) {
                                Ok(()) => {}
                                Err(e) if e.code() == ErrorCode::CollectionNotFound => {
                                    stale_refusals.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => panic!("insert failed: {e}"),
                            }
                        }
                    }
                });
            }
            for _ in 0..15 {
                std::thread::sleep(std::time::Duration::from_millis(2));
                db.drop_collection("c").unwrap();
                std::thread::sleep(std::time::Duration::from_micros(300));
                db.create_collection_with_config(config()).unwrap();
            }
            stop.store(true, Ordering::Relaxed);
        });
        raced += stale_refusals.load(Ordering::Relaxed);
        let expected = ids(&db);
        let copy = dir.path().join(format!("crash{round}.needle"));
        crash_copy(&live, &copy);
        drop(db);

        let reopened = Database::open(&copy).unwrap_or_else(|e| panic!("round {round}: the crash copy must open: {e}"));
        let got = ids(&reopened);
        assert_eq!(got.len(), expected.len(), "round {round}: vectors of a dropped collection came back");
        assert_eq!(got, expected, "round {round}");
        let c = reopened.collection("c").unwrap();
        for id in got.iter().take(50) {
            let i: usize = id[1..].parse().unwrap();
            assert_eq!(c.get(id).unwrap().unwrap().vector, vector(i));
        }
    }
    assert!(raced > 0, "the test never wrote through a handle of a dropped collection");
}

#[test]
fn a_write_logged_after_its_collection_was_dropped_is_skipped_on_replay() {
    // What an older version could leave: [.., drop c, insert c]. The database must open; the
    // leftover write is proven stale by the drop before it and changes nothing.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.needle");
    crashed_database(dir.path(), &path);
    append_record(&path, &drop_payload("c"));
    append_record(&path, &insert_payload("c", "late"));
    let db = Database::open(&path).unwrap();
    assert_eq!(db.collection("c").unwrap_err().code(), ErrorCode::CollectionNotFound);
    assert!(db.list_collections().unwrap().is_empty());
    drop(db);
    // The close checkpointed the replayed state: it reopens the same.
    assert!(Database::open(&path).unwrap().list_collections().unwrap().is_empty());

    // A write to a collection that was never dropped in this log is still an error, not skipped.
    let path = dir.path().join("bad.needle");
    let live2 = tempfile::tempdir().unwrap();
    crashed_database(live2.path(), &path);
    append_record(&path, &insert_payload("other", "x"));
    assert_eq!(Database::open(&path).unwrap_err().code(), ErrorCode::Corrupted);
}
