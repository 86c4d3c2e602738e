//! A storage backend that fails the N-th write, truncation or sync, for every N across a
//! workload: every failure is an error (never a panic), and reopening gives every acknowledged
//! write back (the failed operation itself may or may not have landed: it was never acknowledged).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use needle::core::{Error, Result, StorageBackend, StorageFactory, StorageOptions};
use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Registry};

#[derive(Debug, Default)]
struct Faults {
    ops: AtomicU64,
    fail_at: AtomicU64,
    failed: AtomicU64,
}

impl Faults {
    fn tick(&self, what: &str) -> Result<()> {
        let n = self.ops.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_at.load(Ordering::SeqCst) {
            self.failed.fetch_add(1, Ordering::SeqCst);
            return Err(Error::Io(std::io::Error::other(format!("injected failure of {what} (operation {n})"))));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct FaultyStorage {
    inner: Box<dyn StorageBackend>,
    faults: Arc<Faults>,
}

impl StorageBackend for FaultyStorage {
    fn id(&self) -> &str {
        "faulty"
    }
    fn len(&self) -> Result<u64> {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_at(offset, buf)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.faults.tick(&format!("write {} bytes at {offset}", data.len()))?;
        self.inner.write_at(offset, data)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.faults.tick("set_len")?;
        self.inner.set_len(len)
    }
    fn sync(&self) -> Result<()> {
        self.faults.tick("sync")?;
        self.inner.sync()
    }
}

#[derive(Debug)]
struct FaultyFactory {
    mmap: Arc<dyn StorageFactory>,
    faults: Arc<Faults>,
}

impl StorageFactory for FaultyFactory {
    fn id(&self) -> &str {
        "faulty"
    }
    fn version(&self) -> u32 {
        1
    }
    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        Ok(Box::new(FaultyStorage { inner: self.mmap.open(path, options)?, faults: self.faults.clone() }))
    }
}

fn vector(i: usize) -> Vec<f32> {
    vec![i as f32 + 1.0, (i % 7) as f32, -(i as f32) * 0.5, 2.0]
}

/// What the workload got acknowledged, and what the one failing call may have done anyway
/// (it was written before its sync failed, so it may replay: it was never acknowledged, and it is
/// the only write whose outcome is open).
#[derive(Default, Debug)]
struct Acked {
    present: BTreeSet<usize>,
    may_exist: BTreeSet<usize>,
    may_be_gone: BTreeSet<usize>,
    collection: bool,
}

impl Acked {
    fn attempt_insert(&mut self, ids: impl IntoIterator<Item = usize>) {
        self.may_exist = ids.into_iter().collect();
        self.may_be_gone.clear();
    }
    fn attempt_delete(&mut self, id: usize) {
        self.may_exist.clear();
        self.may_be_gone = [id].into();
    }
    fn acked_insert(&mut self) {
        self.present.extend(std::mem::take(&mut self.may_exist));
    }
    fn acked_delete(&mut self) {
        for id in std::mem::take(&mut self.may_be_gone) {
            self.present.remove(&id);
        }
    }
}

fn workload(path: &Path, registry: Arc<Registry>, acked: &mut Acked) -> Result<()> {
    let config = DatabaseConfig::new().with_registry(registry).with_storage("faulty");
    let db = Database::open_with_config(path, config)?;
    let c = match db.collection("c") {
        Ok(c) => c,
        Err(_) => {
            db.create_collection_with_config(CollectionConfig::new("c", 4).with_distance(DistanceFunction::Euclidean))?
        }
    };
    acked.collection = true;
    let result = (|| -> Result<()> {
        for i in 0..12 {
            acked.attempt_insert([i]);
            c.insert(&i.to_string(), &vector(i), None)?;
            acked.acked_insert();
        }
        db.save()?;
        let batch: Vec<_> = (12..30).map(|i| (i.to_string(), vector(i), None)).collect();
        acked.attempt_insert(12..30);
        c.insert_batch(&batch)?;
        acked.acked_insert();
        for i in [3usize, 17] {
            acked.attempt_delete(i);
            c.delete(&i.to_string())?;
            acked.acked_delete();
        }
        db.save()?;
        for i in 30..36 {
            acked.attempt_insert([i]);
            c.upsert(&i.to_string(), &vector(i), None)?;
            acked.acked_insert();
        }
        Ok(())
    })();
    if let Err(e) = result {
        // After a failure the handle keeps answering: a write either works or is refused.
        match c.insert("999", &vector(999), None) {
            Ok(()) => {
                acked.present.insert(999);
            }
            Err(e2) => {
                assert!(matches!(e2.code(), needle::ErrorCode::ReadOnly | needle::ErrorCode::Io), "after {e}: {e2}")
            }
        }
        return Err(e);
    }
    Ok(())
}

#[test]
fn every_failed_write_or_sync_is_an_error_and_loses_nothing_acknowledged() {
    let faults = Arc::new(Faults::default());
    let registry = Arc::new(Registry::with_builtins());
    registry
        .register_storage(Arc::new(FaultyFactory { mmap: registry.storage("mmap").unwrap(), faults: faults.clone() }))
        .unwrap();

    // A clean run counts the operations.
    let dir = tempfile::tempdir().unwrap();
    workload(&dir.path().join("clean.needle"), registry.clone(), &mut Acked::default()).unwrap();
    let total = faults.ops.load(Ordering::SeqCst);
    assert!(total > 50, "the workload should do many storage operations ({total})");
    println!("fault injection over {total} storage operations");

    let mut errors = 0;
    for n in 1..=total + 5 {
        faults.ops.store(0, Ordering::SeqCst);
        faults.fail_at.store(n, Ordering::SeqCst);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.needle");
        let mut acked = Acked::default();
        let result = workload(&path, registry.clone(), &mut acked);
        if result.is_err() {
            errors += 1;
        }
        faults.fail_at.store(0, Ordering::SeqCst);
        let db = match Database::open(&path) {
            Ok(db) => db,
            Err(e) => panic!("failure at operation {n}: reopen failed: {e} (workload said {result:?})"),
        };
        let Ok(c) = db.collection("c") else {
            assert!(!acked.collection, "failure at {n}: an acknowledged collection is missing");
            continue;
        };
        let ids: BTreeSet<usize> = c.ids().unwrap().iter().map(|s| s.parse().unwrap()).collect();
        let lost: Vec<_> =
            acked.present.iter().filter(|i| !ids.contains(i) && !acked.may_be_gone.contains(i)).collect();
        assert!(lost.is_empty(), "failure at {n}: acknowledged {lost:?} lost ({result:?}, {acked:?})");
        for i in &ids {
            let written = acked.present.contains(i) || acked.may_exist.contains(i);
            assert!(written, "failure at {n}: {i} was never acknowledged ({result:?}, {acked:?})");
            assert_eq!(c.get(&i.to_string()).unwrap().unwrap().vector, vector(*i));
        }
    }
    assert!(errors as u64 >= total / 2, "most injected failures should surface as errors ({errors} of {total})");
}
