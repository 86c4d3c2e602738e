//! A failed open changes no file: the database and its WAL are byte for byte what they were, so
//! nothing acknowledged can be lost by trying to open a database that cannot be opened yet.

mod wal_records;

use std::path::PathBuf;

use needle::{wal_path, Database, ErrorCode};
use wal_records::{append_record, crashed_database, insert_payload, snapshot, vector};

#[test]
fn a_failed_replay_leaves_the_file_and_the_wal_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("crashed.needle");
    crashed_database(dir.path(), &path);
    // A record replay cannot apply: an insert into a collection that never existed.
    append_record(&path, &insert_payload("never-created", "x"));
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
    let good_len = before.1.len() - (16 + insert_payload("never-created", "x").len());
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
    append_record(&path, &insert_payload("c", "x"));
    append_record(&path, &insert_payload("missing", "x"));
    append_record(&path, &insert_payload("c", "x"));
    let before = snapshot(&path);
    assert!(Database::open(&path).is_err());
    assert!(snapshot(&path) == before, "a failed open changed a file");
}
