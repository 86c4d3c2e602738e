//! Measures the resident memory a collection's records (ids, metadata, id map, filter indexes)
//! cost per vector: inserts `n` vectors of dimension 8 with ids `i.to_string()` into a flat
//! collection of an in-memory database and prints the growth of the process's resident set
//! (`VmRSS` of `/proc/self/status`) per vector, minus the bytes of the vector rows themselves.
//! Usage: `cargo run --release -p needle --example records_memory [n] [none|meta]` (`meta`: every
//! vector gets the metadata `{"n": i}`). Linux only (reads `/proc`).

use needle::{CollectionConfig, Database, DistanceFunction};
use needle_core::arena::VectorStore;

const DIM: usize = 8;

/// Resident set size in bytes.
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().strip_suffix("kB"));
    kb.and_then(|v| v.trim().parse::<usize>().ok()).map_or(0, |kb| kb * 1024)
}

fn main() -> needle::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let with_meta = args.next().is_some_and(|a| a == "meta");
    let db = Database::in_memory();
    let c = db.create_collection_with_config(
        CollectionConfig::new("m", DIM).with_distance(DistanceFunction::Euclidean).with_index("flat"),
    )?;
    // Warm up the allocator and the collection's first allocations outside the measurement.
    c.insert("warm-up", &[1.0; DIM], None)?;
    c.delete("warm-up")?;
    let before = rss();
    let mut v = [0f32; DIM];
    for i in 0..n {
        v[0] = i as f32;
        v[1] = 1.0;
        let meta = with_meta.then(|| serde_json::json!({ "n": i }));
        c.insert(&i.to_string(), &v, meta)?;
    }
    let grown = rss().saturating_sub(before) as f64 / n as f64;
    // Rows are stored padded to 64-byte lines; Euclidean keeps no norms.
    let row = (VectorStore::stride_for(DIM) * 4) as f64;
    let info = c.info()?;
    println!(
        "{n} vectors, dim {DIM}, {}: RSS growth {grown:.1} B/vector, minus {row:.0} B of vector row: \
         records {:.1} B/vector (library's own estimate of all owned memory: {:.1} B/vector)",
        if with_meta { "metadata {\"n\": i}" } else { "no metadata" },
        grown - row,
        info.memory_bytes as f64 / n as f64,
    );
    Ok(())
}
