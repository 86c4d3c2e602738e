//! The write-ahead log, locking, checkpoints, compaction and backups, seen through the API.

use std::os::unix::fs::PermissionsExt;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability, ErrorCode};

fn vector(i: usize) -> Vec<f32> {
    (0..8).map(|d| ((i * 31 + d * 7) % 17) as f32 - 8.0 + 0.25).collect()
}

fn config(name: &str) -> CollectionConfig {
    CollectionConfig::new(name, 8).with_distance(DistanceFunction::Euclidean)
}

/// Runs `body` in a child process that is killed (SIGKILL) when it prints "READY": the
/// database is abandoned without any checkpoint or clean close.
fn in_killed_child(test: &str, path: &std::path::Path) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("NEEDLE_DURABILITY_CHILD", path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "child exited before READY");
        if line.contains("READY") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn child_writes_then_waits_to_be_killed() {
    let Some(path) = std::env::var_os("NEEDLE_DURABILITY_CHILD") else { return };
    let db = Database::open(&path).unwrap();
    let c = db.create_collection_with_config(config("c")).unwrap();
    for i in 0..100 {
        c.insert(&format!("v{i}"), &vector(i), Some(serde_json::json!({"i": i}))).unwrap();
    }
    db.save().unwrap();
    for i in 100..150 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    c.delete("v3").unwrap();
    c.upsert("v4", &vector(1000), Some(serde_json::json!({"v": "new"}))).unwrap();
    let d = db.create_collection("later", 4).unwrap();
    d.insert("x", &[1.0, 2.0, 3.0, 4.0], None).unwrap();
    println!("READY");
    std::thread::sleep(std::time::Duration::from_secs(60));
}

#[test]
fn acknowledged_writes_survive_a_killed_process_via_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.needle");
    in_killed_child("child_writes_then_waits_to_be_killed", &path);
    assert!(needle::wal_path(&path).exists(), "the WAL holds the un-checkpointed writes");

    // A read-only open sees the last checkpoint only.
    let ro = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    assert_eq!(ro.collection("c").unwrap().count().unwrap(), 100);
    assert!(ro.collection("later").is_err());
    drop(ro);

    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(c.count().unwrap(), 149);
    assert!(c.get("v3").unwrap().is_none());
    assert_eq!(c.get("v4").unwrap().unwrap().vector, vector(1000));
    assert_eq!(c.get("v4").unwrap().unwrap().metadata, Some(serde_json::json!({"v": "new"})));
    assert_eq!(c.get("v149").unwrap().unwrap().vector, vector(149));
    assert_eq!(c.get("v7").unwrap().unwrap().metadata, Some(serde_json::json!({"i": 7})));
    assert_eq!(db.collection("later").unwrap().count().unwrap(), 1);
    assert_eq!(c.search(&vector(1000), 1).unwrap()[0].distance, 0.0);
    drop(c);
    drop(db);
    // Closing checkpointed the replayed writes and removed the empty WAL.
    assert!(!needle::wal_path(&path).exists());
    let ro = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    assert_eq!(ro.collection("c").unwrap().count().unwrap(), 149);
}

#[test]
fn one_writer_many_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.needle");
    let db = Database::open(&path).unwrap();
    db.create_collection_with_config(config("c")).unwrap().insert("a", &vector(1), None).unwrap();
    let e = Database::open(&path).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Locked);
    assert!(e.to_string().contains("locked"), "{e}");
    db.save().unwrap();
    let r1 = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    let r2 = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    assert_eq!(r1.collection("c").unwrap().count().unwrap(), 1);
    assert_eq!(r2.collection("c").unwrap().count().unwrap(), 1);
    drop(db);
    // The lock goes with the writer.
    Database::open(&path).unwrap();
}

#[test]
fn new_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.needle");
    let db = Database::open(&path).unwrap();
    db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
    db.save().unwrap();
    for p in [path.clone(), needle::wal_path(&path)] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}", p.display());
    }
}

#[test]
fn every_durability_policy_keeps_acknowledged_writes() {
    for durability in [Durability::Immediate, Durability::Batched(5), Durability::OnSave] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.needle");
        {
            let db = Database::open_with_config(&path, DatabaseConfig::new().with_durability(durability)).unwrap();
            let c = db.create_collection_with_config(config("c")).unwrap();
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let c = c.clone();
                    std::thread::spawn(move || {
                        for i in 0..50 {
                            let n = t * 1000 + i;
                            c.insert(&format!("v{n}"), &vector(n), None).unwrap();
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            assert!(db.wal_bytes() > 0, "{durability:?}: writes went to the WAL");
        }
        let db = Database::open(&path).unwrap();
        assert_eq!(db.collection("c").unwrap().count().unwrap(), 200, "{durability:?}");
    }
}

#[test]
fn compact_shrinks_the_file_and_keeps_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.needle");
    let db = Database::open(&path).unwrap();
    let c = db.create_collection_with_config(config("c").with_index("flat")).unwrap();
    let h = db.create_collection_with_config(config("h")).unwrap();
    for i in 0..2000 {
        c.insert(&format!("v{i}"), &vector(i), Some(serde_json::json!({"i": i}))).unwrap();
        h.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    for i in (0..2000).filter(|i| i % 4 != 0) {
        c.delete(&format!("v{i}")).unwrap();
        h.delete(&format!("v{i}")).unwrap();
    }
    db.save().unwrap();
    let before_size = std::fs::metadata(&path).unwrap().len();
    let queries: Vec<Vec<f32>> = (0..30).map(|i| vector(i * 7 + 5000)).collect();
    let before: Vec<_> = queries.iter().map(|q| c.search(q, 10).unwrap()).collect();
    let before_h: Vec<_> = queries.iter().map(|q| h.search(q, 10).unwrap()).collect();
    db.compact().unwrap();
    let after_size = std::fs::metadata(&path).unwrap().len();
    assert!(after_size * 2 < before_size, "file went from {before_size} to {after_size} bytes");
    assert_eq!(c.info().unwrap().slots, 500);
    let after: Vec<_> = queries.iter().map(|q| c.search(q, 10).unwrap()).collect();
    assert_eq!(before, after, "exact search must return the same results after compaction");
    // HNSW: the same distances (the vectors are many-way tied, so ids may differ among equals).
    for (b, a) in before_h.iter().zip(queries.iter().map(|q| h.search(q, 10).unwrap())) {
        let bd: Vec<f32> = b.iter().map(|r| r.distance).collect();
        let ad: Vec<f32> = a.iter().map(|r| r.distance).collect();
        assert_eq!(bd, ad);
    }
    drop((c, h, db));
    let db = Database::open(&path).unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 500);
    assert_eq!(db.collection("c").unwrap().get("v8").unwrap().unwrap().metadata, Some(serde_json::json!({"i": 8})));
}

#[test]
fn backup_is_a_consistent_copy_of_a_database_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.needle");
    let copy = dir.path().join("copy.needle");
    let db = Database::open(&path).unwrap();
    let c = db.create_collection_with_config(config("c")).unwrap();
    for i in 0..300 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    db.save().unwrap();
    for i in 300..400 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
    }
    db.backup_to(&copy).unwrap();
    c.insert("after", &vector(5), None).unwrap();
    assert_eq!(db.backup_to(&path).unwrap_err().code(), ErrorCode::InvalidArgument);
    let b = Database::open(&copy).unwrap();
    let bc = b.collection("c").unwrap();
    assert_eq!(bc.count().unwrap(), 400);
    assert!(bc.get("after").unwrap().is_none());
    assert_eq!(bc.search(&vector(350), 1).unwrap()[0].distance, 0.0);
}

#[test]
fn wal_damage_loses_only_the_damaged_tail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.needle");
    in_killed_child("child_writes_then_waits_to_be_killed", &path);
    let wal = needle::wal_path(&path);
    let good = std::fs::read(&wal).unwrap();
    let probe_dir = tempfile::tempdir().unwrap();
    let probe = probe_dir.path().join("w.needle");
    let mut counts = std::collections::BTreeSet::new();
    for cut in (0..good.len()).step_by(97).chain([good.len() - 1]) {
        std::fs::copy(&path, &probe).unwrap();
        std::fs::write(needle::wal_path(&probe), &good[..cut]).unwrap();
        let db = Database::open(&probe).unwrap();
        let n = db.collection("c").unwrap().count().unwrap();
        assert!((100..=150).contains(&n), "cut at {cut}: {n} vectors");
        counts.insert(n);
        drop(db);
        std::fs::remove_file(&probe).unwrap();
    }
    assert!(counts.len() > 5, "truncations should expose many prefixes: {counts:?}");
}
