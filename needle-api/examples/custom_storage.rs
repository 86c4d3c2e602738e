//! A custom `StorageBackend` registered at run time and chosen by id in the database config.
//! This one keeps files with plain `std::fs` calls and counts the bytes it reads, writes and the
//! syncs it makes — the shape of a backend that adds metrics, throttling or a remote copy.
//!
//! Run: `cargo run -p needle --example custom_storage`

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use needle::core::{Error, StorageBackend, StorageFactory, StorageOptions};
use needle::{CollectionConfig, Database, DatabaseConfig, Registry};

#[derive(Debug, Default)]
struct Counters {
    read: AtomicU64,
    written: AtomicU64,
    syncs: AtomicU64,
}

#[derive(Debug)]
struct CountingFile {
    file: Mutex<File>,
    read_only: bool,
    counters: Arc<Counters>,
}

fn io(e: std::io::Error) -> Error {
    Error::Io(e)
}

impl StorageBackend for CountingFile {
    fn id(&self) -> &str {
        "counting-file"
    }
    fn len(&self) -> needle::Result<u64> {
        Ok(self.file.lock().unwrap().metadata().map_err(io)?.len())
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> needle::Result<()> {
        let mut f = self.file.lock().unwrap();
        let len = f.metadata().map_err(io)?.len();
        if offset.checked_add(buf.len() as u64).is_none_or(|end| end > len) {
            return Err(Error::corrupted("file", offset, format!("read of {} bytes past the end ({len})", buf.len())));
        }
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        f.read_exact(buf).map_err(io)?;
        self.counters.read.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> needle::Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("opened read-only".into()));
        }
        let mut f = self.file.lock().unwrap();
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        f.write_all(data).map_err(io)?;
        self.counters.written.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(())
    }
    fn set_len(&self, len: u64) -> needle::Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("opened read-only".into()));
        }
        self.file.lock().unwrap().set_len(len).map_err(io)
    }
    fn sync(&self) -> needle::Result<()> {
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        self.file.lock().unwrap().sync_all().map_err(io)
    }
}

#[derive(Debug, Default)]
struct CountingFactory {
    counters: Arc<Counters>,
}

impl StorageFactory for CountingFactory {
    fn id(&self) -> &str {
        "counting-file"
    }
    fn version(&self) -> u32 {
        1
    }
    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> needle::Result<Box<dyn StorageBackend>> {
        let path = path.ok_or_else(|| Error::InvalidArgument("counting-file needs a path".into()))?;
        let file = OpenOptions::new()
            .read(true)
            .write(!options.read_only)
            .create(options.create && !options.read_only)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        Ok(Box::new(CountingFile {
            file: Mutex::new(file),
            read_only: options.read_only,
            counters: self.counters.clone(),
        }))
    }
}

fn main() -> needle::Result<()> {
    let factory = Arc::new(CountingFactory::default());
    let counters = factory.counters.clone();
    let registry = Arc::new(Registry::with_builtins());
    registry.register_storage(factory)?;

    let dir = std::env::temp_dir().join(format!("needle-custom-storage-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("counted.needle");
    let config = || DatabaseConfig::new().with_registry(registry.clone()).with_storage("counting-file");

    let db = Database::open_with_config(&path, config())?;
    let c = db.create_collection_with_config(CollectionConfig::new("docs", 4))?;
    for i in 0..100 {
        let v = [1.0 + i as f32, (i % 7) as f32, 0.5, -(i as f32)];
        c.insert(&format!("doc-{i}"), &v, Some(serde_json::json!({ "n": i })))?;
    }
    db.save()?;
    drop((c, db));

    let db = Database::open_with_config(&path, config())?;
    let c = db.collection("docs")?;
    assert_eq!(c.count()?, 100);
    let hit = &c.search(&[43.0, 0.0, 0.5, -42.0], 1)?[0];
    println!("nearest: {} (metadata {:?})", hit.id, hit.metadata);
    assert_eq!(hit.id, "doc-42");
    drop((c, db));

    let (r, w, s) = (
        counters.read.load(Ordering::Relaxed),
        counters.written.load(Ordering::Relaxed),
        counters.syncs.load(Ordering::Relaxed),
    );
    println!("counting-file: {w} bytes written, {r} bytes read, {s} syncs");
    assert!(w > 0 && r > 0 && s > 0, "the database went through the custom backend");
    std::fs::remove_dir_all(&dir)?;
    println!("custom_storage: ok");
    Ok(())
}
