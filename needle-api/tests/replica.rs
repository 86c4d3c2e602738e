//! Read replicas: a read-only handle beside a live writer follows its checkpoints with
//! `refresh()`, in the same process and from another process.

use std::io::BufRead;
use std::process::{Command, Stdio};

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode};

fn v(i: usize) -> Vec<f32> {
    vec![i as f32 + 1.0, (i % 7) as f32, (i % 3) as f32, 1.0]
}

fn reader(path: &std::path::Path) -> Database {
    // Threshold 0: the replica maps the file, the case where a changed file could hurt.
    Database::open_with_config(path, DatabaseConfig::new().with_read_only(true).with_mmap_threshold(0)).unwrap()
}

#[test]
fn refresh_follows_checkpoints_and_collection_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.needle");
    let writer = Database::open(&path).unwrap();
    let w = writer
        .create_collection_with_config(CollectionConfig::new("docs", 4).with_distance(DistanceFunction::Euclidean))
        .unwrap();
    for i in 0..10 {
        w.insert(&format!("a{i}"), &v(i), None).unwrap();
    }
    writer.save().unwrap();

    let replica = reader(&path);
    let docs = replica.collection("docs").unwrap();
    assert_eq!(docs.count().unwrap(), 10);
    assert!(!replica.refresh().unwrap(), "nothing new was checkpointed");

    // Writes in the WAL only are not visible; a checkpoint makes them so, through the old handle.
    for i in 10..20 {
        w.insert(&format!("a{i}"), &v(i), None).unwrap();
    }
    assert!(!replica.refresh().unwrap());
    assert_eq!(docs.count().unwrap(), 10);
    writer.save().unwrap();
    assert!(replica.refresh().unwrap());
    assert_eq!(docs.count().unwrap(), 20);
    assert_eq!(docs.search(&v(15), 1).unwrap()[0].id, "a15");
    assert_eq!(docs.get("a19").unwrap().unwrap().vector, v(19));

    // Dropped and recreated with other dimensions: the old handle is gone, a new one works.
    writer.drop_collection("docs").unwrap();
    let w2 = writer.create_collection("docs", 3).unwrap();
    w2.insert("b", &[1.0, 0.0, 0.0], None).unwrap();
    writer.create_collection("other", 2).unwrap();
    writer.save().unwrap();
    assert!(replica.refresh().unwrap());
    assert_eq!(docs.count().unwrap_err().code(), ErrorCode::CollectionNotFound);
    let docs = replica.collection("docs").unwrap();
    assert_eq!((docs.dimensions(), docs.count().unwrap()), (3, 1));
    assert_eq!(replica.list_collections().unwrap(), vec!["docs".to_string(), "other".to_string()]);
    // Still read-only.
    assert_eq!(docs.insert("c", &[0.0, 1.0, 0.0], None).unwrap_err().code(), ErrorCode::ReadOnly);

    // Writable and in-memory handles have nothing to refresh.
    assert_eq!(writer.refresh().unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(Database::in_memory().refresh().unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn replica_child_writer() {
    let Some(path) = std::env::var_os("NEEDLE_REPLICA_DB") else { return };
    let db = Database::open(&path).unwrap();
    let c = db
        .create_collection_with_config(CollectionConfig::new("docs", 4).with_distance(DistanceFunction::Euclidean))
        .unwrap();
    for round in 0..ROUNDS {
        let batch: Vec<_> =
            (0..BATCH).map(|j| (format!("{}", round * BATCH + j), v(round * BATCH + j), None)).collect();
        c.insert_batch(&batch).unwrap();
        db.save().unwrap();
        println!("SAVED {}", (round + 1) * BATCH);
    }
}

const ROUNDS: usize = 40;
const BATCH: usize = 25;

#[test]
fn a_replica_process_sees_only_whole_checkpoints_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.needle");
    // The writer creates the file first, so the replica has something to open.
    drop(Database::open(&path).unwrap());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "replica_child_writer", "--nocapture", "--test-threads=1"])
        .env("NEEDLE_REPLICA_DB", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || std::io::BufReader::new(out).lines().map_while(Result::ok).count());

    let replica = reader(&path);
    let (mut last, mut refreshes) = (0usize, 0usize);
    loop {
        if replica.refresh().unwrap() {
            refreshes += 1;
        }
        let count = match replica.collection("docs") {
            Ok(c) => c.count().unwrap(),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::CollectionNotFound);
                0
            }
        };
        assert!(count >= last, "the replica went back from {last} to {count}");
        assert_eq!(count % BATCH, 0, "the replica saw part of a batch: {count}");
        if count > 0 {
            let c = replica.collection("docs").unwrap();
            let newest = count - 1;
            assert_eq!(c.search(&v(newest), 1).unwrap()[0].id, newest.to_string());
        }
        last = count;
        if count == ROUNDS * BATCH {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the writer failed");
            // One more refresh after the writer's last checkpoint must see everything.
            replica.refresh().unwrap();
            assert_eq!(replica.collection("docs").unwrap().count().unwrap(), ROUNDS * BATCH);
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert!(lines.join().unwrap() >= ROUNDS);
    assert!(refreshes >= 1);
}
