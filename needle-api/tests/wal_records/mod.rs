//! Writing WAL records by hand (the byte layout of `docs/format.md`), to build logs the API can no
//! longer produce: records that cannot replay, or writes an older version let slip after a drop.
#![allow(dead_code)]

use std::path::Path;

use needle::core::format::wal::{self, WalWriter};
use needle::core::StorageOptions;
use needle::{wal_path, CollectionConfig, Database, DistanceFunction, Registry};

pub fn vector(i: usize) -> Vec<f32> {
    (0..8).map(|d| ((i * 31 + d * 7) % 17) as f32 - 8.0 + 0.25).collect()
}

/// A database with a checkpoint of 50 vectors in collection `c` and 50 more only in its WAL,
/// copied while open (as a crash would leave it) to `dest`.
pub fn crashed_database(dir: &Path, dest: &Path) {
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

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

/// The payload of an insert of one 8-d vector, `id`, into `collection`.
pub fn insert_payload(collection: &str, id: &str) -> Vec<u8> {
    let mut b = vec![3u8];
    put_str(&mut b, collection);
    b.extend_from_slice(&1u32.to_le_bytes());
    put_str(&mut b, id);
    b.extend_from_slice(&8u32.to_le_bytes());
    for x in vector(7) {
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.push(0);
    b
}

/// The payload of a drop of `collection`.
pub fn drop_payload(collection: &str) -> Vec<u8> {
    let mut b = vec![2u8];
    put_str(&mut b, collection);
    b
}

/// Appends a valid record holding `payload` to the WAL of the (unencrypted) database at `path`.
pub fn append_record(path: &Path, payload: &[u8]) {
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
pub fn snapshot(path: &Path) -> (Vec<u8>, Vec<u8>) {
    (std::fs::read(path).unwrap(), std::fs::read(wal_path(path)).unwrap_or_default())
}
