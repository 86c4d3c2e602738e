//! Any bytes as a `.needle` file: opening must give a database or a typed error, never a panic,
//! and an opened database must answer queries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use needle::{Database, DatabaseConfig};

fuzz_target!(|data: &[u8]| {
    let dir = scratch().join(format!("needle-fuzz-file-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("f.needle");
    std::fs::write(&path, data).unwrap();
    if let Ok(db) = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)) {
        for name in db.list_collections().unwrap() {
            let c = db.collection(&name).unwrap();
            let _ = c.count();
            let q = vec![0.5f32; c.dimensions()];
            let _ = c.search(&q, 3);
            if let Ok(ids) = c.ids() {
                for id in ids.iter().take(3) {
                    let _ = c.get(id);
                }
            }
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
