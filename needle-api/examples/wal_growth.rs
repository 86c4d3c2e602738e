//! How big the WAL gets, and how long recovery takes, after millions of single inserts with
//! automatic checkpoints (`DatabaseConfig::wal_autocheckpoint`, 64 MiB by default).
//!
//! ```text
//! cargo run --release -p needle --example wal_growth -- [inserts] [durability: onsave|immediate]
//! ```
//! Defaults: 2,000,000 single inserts of 8-d vectors into a flat collection, `OnSave` durability
//! (the WAL's size and replay do not depend on when it is synced; `Immediate` adds one `fsync` per
//! insert). Prints the largest WAL seen, then copies the open database as a crash would leave it
//! and times opening the copy (checkpoint + WAL replay), and times a clean reopen.

use std::time::Instant;

use needle::{wal_path, CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability};

fn vector(i: usize) -> [f32; 8] {
    std::array::from_fn(|d| ((i * 31 + d * 7) % 17) as f32 - 8.0 + (i % 1000) as f32 * 1e-3)
}

fn main() -> needle::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let durability = match args.next().as_deref() {
        Some("immediate") => Durability::Immediate,
        _ => Durability::OnSave,
    };
    let dir = std::env::temp_dir().join(format!("needle-wal-growth-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("w.needle");
    let config = DatabaseConfig::new().with_durability(durability);
    println!("{n} single inserts, 8-d, flat, {durability:?}, wal_autocheckpoint {} bytes", config.wal_autocheckpoint);
    let db = Database::open_with_config(&path, config)?;
    let c = db.create_collection_with_config(
        CollectionConfig::new("c", 8).with_distance(DistanceFunction::Euclidean).with_index("flat"),
    )?;
    let t = Instant::now();
    let (mut largest, mut checkpoints, mut last) = (0u64, 0usize, 0u64);
    for i in 0..n {
        c.insert(&format!("v{i}"), &vector(i), None)?;
        let w = db.wal_bytes();
        if w < last {
            checkpoints += 1;
        }
        last = w;
        largest = largest.max(w);
    }
    let insert_s = t.elapsed().as_secs_f64();
    println!(
        "inserted in {insert_s:.1} s ({:.0} inserts/s); automatic checkpoints: {checkpoints}; largest WAL {:.1} MiB; WAL now {:.1} MiB",
        n as f64 / insert_s,
        largest as f64 / (1 << 20) as f64,
        db.wal_bytes() as f64 / (1 << 20) as f64,
    );

    // A crash now: copy the file and its WAL while the database is open, then open the copy.
    let crash = dir.join("crash.needle");
    std::fs::copy(&path, &crash)?;
    std::fs::copy(wal_path(&path), wal_path(&crash))?;
    let file_mib = std::fs::metadata(&crash)?.len() as f64 / (1 << 20) as f64;
    let wal_mib = std::fs::metadata(wal_path(&crash))?.len() as f64 / (1 << 20) as f64;
    let t = Instant::now();
    let recovered = Database::open(&crash)?;
    let count = recovered.collection("c")?.count()?;
    println!(
        "recovery open (file {file_mib:.1} MiB + WAL {wal_mib:.1} MiB): {:.2} s, {count} vectors",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count, n);
    drop(recovered);
    drop(c);
    drop(db);
    let t = Instant::now();
    let reopened = Database::open(&path)?;
    let count = reopened.collection("c")?.count()?;
    println!("clean reopen: {:.2} s, {count} vectors", t.elapsed().as_secs_f64());
    drop(reopened);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
