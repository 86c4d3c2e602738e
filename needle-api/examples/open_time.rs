//! Measures how long `Database::open` takes on a large file (default: 1,000,000 × 128, flat
//! index so the build is quick). Usage:
//! `cargo run --release -p needle --example open_time [n] [dim] [index]` (`index`: flat or hnsw).

use std::time::Instant;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction};

fn main() -> needle::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dim: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(128);
    let index = args.next().unwrap_or_else(|| "flat".to_string());
    let dir = std::env::temp_dir().join(format!("needle-open-time-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("big.needle");
    {
        let db = Database::open_with_config(&path, DatabaseConfig::new())?;
        let c = db.create_collection_with_config(
            CollectionConfig::new("big", dim).with_distance(DistanceFunction::Euclidean).with_index(index.as_str()),
        )?;
        let t = Instant::now();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
            let items: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let v: Vec<f32> = (0..dim)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            (state % 1000) as f32 / 1000.0
                        })
                        .collect();
                    (format!("v{i}"), v, None)
                })
                .collect();
            c.insert_batch(&items)?;
        }
        db.save()?;
        println!("built {n} x {dim} ({index}) in {:.1} s", t.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(&path)?.len();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let db = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true))?;
        let count = db.collection("big")?.count()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(count, n);
    }
    // What the open deferred: the first search (rows read through the map) and the first id lookup
    // (decodes every record and builds the id map).
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true))?;
    let c = db.collection("big")?;
    let t = Instant::now();
    let hits = c.search(&vec![0.5; dim], 10)?;
    let first_search = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    let found = c.get(&hits[0].id)?.is_some();
    let first_get = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    db.check_integrity()?;
    let verified = t.elapsed().as_secs_f64() * 1000.0;
    assert!(found);
    println!(
        "after open: first search {first_search:.0} ms, first id lookup {first_get:.0} ms, \
         background checksum check done {verified:.0} ms later"
    );
    drop((c, db));
    times.sort_by(f64::total_cmp);
    println!(
        "file {:.0} MiB; read-only open: median {:.0} ms (min {:.0}, max {:.0}) over 5 opens",
        size as f64 / (1 << 20) as f64,
        times[2],
        times[0],
        times[4]
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
