//! A failed open changes no file: the database and its WAL are byte for byte what they were, so
//! nothing acknowledged can be lost by trying to open a database that cannot be opened yet.

use std::path::{Path, PathBuf};

use needle::core::format::wal::{self, WalWriter};
use needle::core::StorageOptions;
use needle::{wal_path, CollectionConfig, Database, DistanceFunction, ErrorCode, Registry};

fn vector(i: usize) -> Vec<f32> {
    (0..8).map(|d| ((i * 31 + d * 7) % 17) as f32 - 8.0 + 0.25).collect()
}

/// A database with a checkpoint of 50 vectors and 50 more only in its WAL, copied while open (as
/// a crash would leave it) to `dest`.
fn crashed_database(dir: &Path, dest: &Path) {
    let live = dir.join("live.needle");
    let db = Database::open(&live).unwrap();
    let c = db
        .create_collection_with_config(CollectionConfig::new("c", 8).with_distance(DistanceFunction::Euclidean))
        .unwrap();
    for i in 0..50 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    db.save().unwrap();
    for i in 50..100 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    std::fs::copy(&live, dest).unwrap();
    std::fs::copy(wal_path(&live), wal_path(dest)).unwrap();
}

/// The binary payload of an insert of one 8-d vector into `collection` (see `docs/format.md`).
fn insert_payload(collection: &str) -> Vec<u8> {
    let mut b = vec![3u8];
    b.extend_from_slice(&(collection.len() as u32).to_le_bytes());
    b.extend_from_slice(collection.as_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.push(b'x');
    b.extend_from_slice(&8u32.to_le_bytes());
    for x in vector(7) {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.push(0);
    b
}

/// Appends a valid record holding `payload` to the WAL of the database at `path`.
fn append_record(path: &Path, payload: &[u8]) {
    let wal_file = wal_path(path);
    let end = wal::replay(&std::fs::read(&wal_file).unwrap()).unwrap().end;
    let backend = Registry::global()
        .storage("mmap")
        .unwrap()
        .open(Some(&wal_file), &StorageOptions { read_only: false, create: false })
        .unwrap();
    let mut w = WalWriter::resume(backend, &end).unwrap();
    w.append(payload).unwrap();
    w.sync().unwrap();
}

/// The database file and its WAL (empty when the WAL is gone).
fn snapshot(path: &Path) -> (Vec<u8>, Vec<u8>) {
    (std::fs::read(path).unwrap(), std::fs::read(wal_path(path)).unwrap_or_default())
}

#[test]
fn a_failed_replay_leaves_the_file_and_the_wal_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("crashed.needle");
    crashed_database(dir.path(), &path);
    // A record replay cannot apply: an insert into a collection that never existed.
    append_record(&path, &insert_payload("never-created"));
    let before = snapshot(&path);
    assert!(before.1.len() > 50 * 40, "the WAL holds the 50 un-checkpointed inserts");

    for attempt in 0..2 {
        let err = Database::open(&path).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Corrupted, "attempt {attempt}: {err}");
        assert!(err.to_string().contains("never-created"), "{err}");
        let after = snapshot(&path);
        assert!(after.0 == before.0, "attempt {attempt}: the database file changed");
        assert!(
            after.1 == before.1,
            "attempt {attempt}: the WAL changed ({} → {} bytes)",
            before.1.len(),
            after.1.len()
        );
    }

    // Once the bad record is removed (here: cut as a torn tail), every acknowledged write is there.
    let good_len = before.1.len() - (16 + insert_payload("never-created").len());
    std::fs::write(wal_path(&path), &before.1[..good_len]).unwrap();
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.count().unwrap(), 100);
    assert_eq!(c.get("v99").unwrap().unwrap().vector, vector(99));
}

#[test]
fn a_replay_failing_after_a_valid_prefix_changes_no_file() {
    // A WAL whose replay fails after a valid prefix: the prefix must stay replayable later.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crashed.needle");
    crashed_database(dir.path(), &path);
    append_record(&path, &insert_payload("c"));
    append_record(&path, &insert_payload("missing"));
    append_record(&path, &insert_payload("c"));
    let before = snapshot(&path);
    assert!(Database::open(&path).is_err());
    assert!(snapshot(&path) == before, "a failed open changed a file");
}
