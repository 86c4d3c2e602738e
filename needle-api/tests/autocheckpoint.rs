//! A bounded WAL: automatic checkpoints keep the log near `wal_autocheckpoint` bytes under a
//! stream of single `Immediate` writes, and recovery reads a large log through a bounded window.

mod wal_records;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use needle::core::format::wal::READ_WINDOW;
use needle::core::{Result, StorageBackend, StorageFactory, StorageOptions};
use needle::{wal_path, CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability, Registry};
use wal_records::vector;

fn config() -> CollectionConfig {
    CollectionConfig::new("c", 8).with_distance(DistanceFunction::Euclidean).with_index("flat")
}

fn crash_copy(live: &Path, dest: &Path) {
    std::fs::copy(live, dest).unwrap();
    std::fs::copy(wal_path(live), wal_path(dest)).unwrap();
}

#[test]
fn single_immediate_inserts_keep_the_wal_near_the_threshold() {
    const LIMIT: u64 = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.needle");
    let db = Database::open_with_config(
        &path,
        DatabaseConfig::new().with_durability(Durability::Immediate).with_wal_autocheckpoint(LIMIT),
    )
    .unwrap();
    let c = db.create_collection_with_config(config()).unwrap();
    let mut largest = 0;
    for i in 0..4000 {
        c.insert(&format!("v{i}"), &vector(i), None).unwrap();
        if i % 3 == 0 {
            c.delete(&format!("v{}", i / 2)).ok();
        }
        largest = largest.max(db.wal_bytes());
    }
    // One record past the threshold at most (each is under 100 bytes here).
    assert!(largest <= LIMIT + 200, "the WAL reached {largest} bytes with a {LIMIT}-byte threshold");
    let expected: Vec<String> = c.ids().unwrap();
    assert!(expected.len() > 2000);

    // A crash now (no close) recovers everything from the last automatic checkpoint plus its WAL.
    let copy = dir.path().join("crash.needle");
    crash_copy(&path, &copy);
    let reopened = Database::open(&copy).unwrap();
    let rc = reopened.collection("c").unwrap();
    let mut got = rc.ids().unwrap();
    let mut want = expected.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for id in got.iter().step_by(97) {
        let i: usize = id[1..].parse().unwrap();
        assert_eq!(rc.get(id).unwrap().unwrap().vector, vector(i));
    }
}

/// Wraps the file backend and remembers the largest single read of any `-wal` file.
#[derive(Debug)]
struct CountingFactory {
    mmap: Arc<dyn StorageFactory>,
    largest_wal_read: Arc<AtomicU64>,
}

#[derive(Debug)]
struct Counting {
    inner: Box<dyn StorageBackend>,
    largest: Option<Arc<AtomicU64>>,
}

impl StorageBackend for Counting {
    fn id(&self) -> &str {
        "counting"
    }
    fn len(&self) -> Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if let Some(l) = &self.largest {
            l.fetch_max(buf.len() as u64, Ordering::Relaxed);
        }
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.inner.write_at(offset, data)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.inner.set_len(len)
    }
    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
}

impl StorageFactory for CountingFactory {
    fn id(&self) -> &str {
        "counting"
    }
    fn version(&self) -> u32 {
        1
    }
    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        let is_wal = path.is_some_and(|p| p.to_string_lossy().ends_with("-wal"));
        Ok(Box::new(Counting {
            inner: self.mmap.open(path, options)?,
            largest: is_wal.then(|| self.largest_wal_read.clone()),
        }))
    }
}

#[test]
fn recovery_reads_a_large_wal_through_a_bounded_window() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("big.needle");
    let db = Database::open_with_config(
        &live,
        DatabaseConfig::new().with_durability(Durability::OnSave).with_wal_autocheckpoint(0),
    )
    .unwrap();
    let c = db.create_collection_with_config(config()).unwrap();
    for b in 0..150 {
        let batch: Vec<_> = (b * 1000..(b + 1) * 1000).map(|i| (format!("v{i}"), vector(i), None)).collect();
        c.insert_batch(&batch).unwrap();
    }
    let wal_len = db.wal_bytes();
    assert!(wal_len > 6 * READ_WINDOW as u64, "the WAL is {wal_len} bytes");
    let copy = dir.path().join("crash.needle");
    crash_copy(&live, &copy);
    drop(c);
    drop(db);

    let registry = Arc::new(Registry::with_builtins());
    let largest = Arc::new(AtomicU64::new(0));
    registry
        .register_storage(Arc::new(CountingFactory {
            mmap: registry.storage("mmap").unwrap(),
            largest_wal_read: largest.clone(),
        }))
        .unwrap();
    let db = Database::open_with_config(&copy, DatabaseConfig::new().with_registry(registry).with_storage("counting"))
        .unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 150_000);
    let largest = largest.load(Ordering::Relaxed);
    assert!(largest > 0 && largest <= READ_WINDOW as u64, "largest WAL read {largest} of a {wal_len}-byte log");
}
