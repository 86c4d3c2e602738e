//! Any bytes as the WAL beside a valid database: replay must give a database or a typed error,
//! never a panic. When the first byte is odd, the first 48 bytes are replaced by the valid WAL
//! header so the fuzzer reaches the record decoder.
//!
//! The database is `seeds/wal_base.needle`, embedded: a WAL only replays onto the file whose id
//! and generation its header names, so the committed WAL seeds (`seeds/replay_wal/`, written by
//! `src/gen_seeds.rs` against that same file) reach the record decoder from the first run.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use needle::Database;

/// The base file the WAL seeds were written against (collection `c`: 3 dims, holding `a`).
const BASE: &[u8] = include_bytes!("../seeds/wal_base.needle");

/// The scratch database path (its directory made once) and a valid WAL header for `BASE`.
fn setup() -> &'static (PathBuf, Vec<u8>) {
    static T: OnceLock<(PathBuf, Vec<u8>)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = scratch().join(format!("needle-fuzz-wal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.needle");
        std::fs::write(&path, BASE).unwrap();
        let db = Database::open(&path).unwrap();
        db.collection("c").unwrap().insert("b", &[1.0, 2.0, 4.0], None).unwrap();
        let wal = std::fs::read(needle::wal_path(&path)).unwrap();
        drop(db);
        (path, wal[..48].to_vec())
    })
}

fuzz_target!(|data: &[u8]| {
    let (path, header) = setup();
    std::fs::write(path, BASE).unwrap();
    let mut wal = data.to_vec();
    if data.first().is_some_and(|b| b & 1 == 1) && wal.len() >= 48 {
        wal[..48].copy_from_slice(header);
    }
    std::fs::write(needle::wal_path(path), &wal).unwrap();
    if let Ok(db) = Database::open(path) {
        if let Ok(c) = db.collection("c") {
            let _ = c.search(&[1.0, 2.0, 3.0], 2);
        }
    }
});

/// /dev/shm when there is one: the fuzzer measures the decoder, not the disk.
fn scratch() -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
