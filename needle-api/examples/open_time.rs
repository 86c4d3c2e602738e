//! Measures how long `Database::open` takes on a large file (default: 1,000,000 × 128, flat
//! index so the build is quick), and the resident memory an open adds. Usage:
//! `cargo run --release -p needle --example open_time [n] [dim] [index] [file]` (`index`: flat or
//! hnsw). With `file`, the database is built there unless it exists and is kept afterwards, so a
//! slow HNSW build is paid once (`NEEDLE_OPEN_TIME_RESAVE=1` checkpoints it first, rewriting it in
//! this build's format).

use std::time::Instant;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction};

fn main() -> needle::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dim: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(128);
    let index = args.next().unwrap_or_else(|| "flat".to_string());
    let keep = args.next().map(std::path::PathBuf::from);
    let dir = std::env::temp_dir().join(format!("needle-open-time-{}", std::process::id()));
    let path = match &keep {
        Some(p) => p.clone(),
        None => {
            std::fs::create_dir_all(&dir)?;
            dir.join("big.needle")
        }
    };
    if path.exists() {
        if std::env::var_os("NEEDLE_OPEN_TIME_RESAVE").is_some() {
            let t = Instant::now();
            Database::open(&path)?.save()?;
            println!("rewrote {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
        }
    } else {
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
    // What the open deferred: the first search (rows read through the map) and the first id lookup
    // (decodes every record and builds the id map). Resident memory is read around this first open
    // of the process (later opens reuse heap pages the allocator kept), right after it, before the
    // background checksum check has read much of the map.
    let rss0 = rss_kib();
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true))?;
    let c = db.collection("big")?;
    let rss1 = rss_kib();
    let t = Instant::now();
    let hits = c.search(&vec![0.5; dim], 10)?;
    let first_search = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    c.search(&vec![0.25; dim], 10)?;
    let second_search = t.elapsed().as_secs_f64() * 1000.0;
    let rss2 = rss_kib();
    let info = c.info()?;
    let t = Instant::now();
    let found = c.get(&hits[0].id)?.is_some();
    let first_get = t.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    db.check_integrity()?;
    let verified = t.elapsed().as_secs_f64() * 1000.0;
    assert!(found);
    println!(
        "after open: first search {first_search:.1} ms (second {second_search:.1} ms), first id lookup \
         {first_get:.0} ms, background checksum check done {verified:.0} ms later"
    );
    let mib = |kib: i64| kib as f64 / 1024.0;
    println!(
        "open added RSS anon {:+.1} MiB, file {:+.1} MiB; after two searches anon {:+.1}, file {:+.1} MiB; \
         collection reports {:.1} MiB owned",
        mib(rss1.0 - rss0.0),
        mib(rss1.1 - rss0.1),
        mib(rss2.0 - rss0.0),
        mib(rss2.1 - rss0.1),
        info.memory_bytes as f64 / (1 << 20) as f64
    );
    drop((c, db));
    let size = std::fs::metadata(&path)?.len();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let db = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true))?;
        let count = db.collection("big")?.count()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(count, n);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "file {:.0} MiB; read-only open: median {:.1} ms (min {:.1}, max {:.1}) over 5 opens",
        size as f64 / (1 << 20) as f64,
        times[2],
        times[0],
        times[4]
    );
    if keep.is_none() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// `(RssAnon, RssFile)` of this process in KiB (zeros where `/proc` is missing).
fn rss_kib() -> (i64, i64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("RssAnon:"), field("RssFile:"))
}
