//! Any bytes as the WAL beside a valid database: replay must give a database or a typed error,
//! never a panic. When the first byte is odd, the first 48 bytes are replaced by the valid WAL
//! header so the fuzzer reaches the record decoder.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use needle::{CollectionConfig, Database, DistanceFunction};

/// A checkpointed database file and the valid WAL written after it.
fn template() -> &'static (Vec<u8>, Vec<u8>) {
    static T: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch().join(format!("needle-fuzz-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.needle");
        let db = Database::open(&path).unwrap();
        let c = db
            .create_collection_with_config(CollectionConfig::new("c", 3).with_distance(DistanceFunction::Euclidean))
            .unwrap();
        c.insert("a", &[1.0, 2.0, 3.0], None).unwrap();
        db.save().unwrap();
        let file = std::fs::read(&path).unwrap();
        c.insert("b", &[1.0, 2.0, 4.0], Some(serde_json::json!({"k": 1}))).unwrap();
        c.delete("a").unwrap();
        let wal = std::fs::read(needle::wal_path(&path)).unwrap();
        (file, wal)
    })
}

fuzz_target!(|data: &[u8]| {
    let (file, valid_wal) = template();
    let dir = scratch().join(format!("needle-fuzz-wal-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("w.needle");
    std::fs::write(&path, file).unwrap();
    let mut wal = data.to_vec();
    if data.first().is_some_and(|b| b & 1 == 1) && wal.len() >= 48 {
        wal[..48].copy_from_slice(&valid_wal[..48]);
    }
    std::fs::write(needle::wal_path(&path), &wal).unwrap();
    if let Ok(db) = Database::open(&path) {
        if let Ok(c) = db.collection("c") {
            let _ = c.search(&[1.0, 2.0, 3.0], 2);
        }
    }
});

/// /dev/shm when there is one: the fuzzer measures the decoder, not the disk.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
