//! The in-process side of the server benchmark (`needle-api/bench/REPORT.md`): what a search
//! costs without HTTP, on the same file `needle serve` then serves.
//!
//! ```text
//! NEEDLE_DATA_DIR=shared/data cargo run --release -p needle --example server_baseline -- build FILE [N]
//! cargo run --release -p needle --example server_baseline -- bodies OUT_DIR [Q]
//! cargo run --release -p needle --example server_baseline -- measure FILE [K] [EF] [SECONDS]
//! ```
//!
//! * `build`: the first `N` (default 20,000) rows of `wordnet-minilm/base.fvecs` into collection
//!   `w` of a new database file (HNSW, cosine, default M / ef), ids `0..N`, no metadata.
//! * `bodies`: the first `Q` (default 1,000) rows of `wordnet-minilm/query.fvecs` as request
//!   bodies for `bench/post.lua`: `queries.jsonl` (one JSON search body a line) and `queries.f32`
//!   (the same vectors as little-endian f32, back to back).
//! * `measure`: over those queries, single-thread search latency (median and p99 µs of
//!   `search_with`), then 2-thread `batch_search` QPS (a rayon pool of 2 threads, the whole query
//!   set per call, for `SECONDS`, default 10), at `k` (default 10) and `ef` (default: the
//!   collection's), without metadata — what the server's `POST /collections/w/search` runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use needle::core::fvecs::{read_fvecs, Matrix};
use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, SearchParams};

/// The collection the benchmark serves.
const COLLECTION: &str = "w";

fn data(file: &str, rows: usize) -> needle::Result<Matrix<f32>> {
    let dir = std::env::var_os("NEEDLE_DATA_DIR").map_or_else(|| PathBuf::from("shared/data"), PathBuf::from);
    read_fvecs(dir.join("wordnet-minilm").join(file), Some(rows))
}

/// CPU time this process has used (user + system), from `/proc/self/stat` (Linux; clock ticks
/// of 10 ms, so measure over seconds). The machine may be shared: CPU per query does not depend
/// on how much of the CPU the process got, wall-clock rates do.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (which may hold spaces and parentheses) field N is at index N - 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / 100.0 // utime (14) + stime (15)
}

fn build(path: &Path, n: usize) -> needle::Result<()> {
    let base = data("base.fvecs", n)?;
    let db = Database::open_with_config(path, DatabaseConfig::new())?;
    let c = db.create_collection_with_config(
        CollectionConfig::new(COLLECTION, base.dim).with_distance(DistanceFunction::Cosine),
    )?;
    let t = Instant::now();
    for start in (0..base.len()).step_by(1000) {
        let end = (start + 1000).min(base.len());
        let items: Vec<_> = (start..end).map(|i| (i.to_string(), base.row(i).to_vec(), None)).collect();
        c.insert_batch(&items)?;
    }
    db.save()?;
    println!("built {} x {} into {} in {:.1} s", base.len(), base.dim, path.display(), t.elapsed().as_secs_f64());
    Ok(())
}

fn bodies(out: &Path, q: usize) -> needle::Result<()> {
    let queries = data("query.fvecs", q)?;
    std::fs::create_dir_all(out)?;
    let mut lines = String::new();
    let mut raw = Vec::with_capacity(queries.data.len() * 4);
    for i in 0..queries.len() {
        let body = serde_json::json!({ "vector": queries.row(i), "k": 10, "include_metadata": false });
        lines.push_str(&body.to_string());
        lines.push('\n');
        raw.extend(queries.row(i).iter().flat_map(|x| x.to_le_bytes()));
    }
    std::fs::write(out.join("queries.jsonl"), lines)?;
    std::fs::write(out.join("queries.f32"), raw)?;
    println!("{} queries of {} dimensions in {}", queries.len(), queries.dim, out.display());
    Ok(())
}

fn measure(path: &Path, k: usize, ef: Option<usize>, seconds: f64) -> needle::Result<()> {
    let db = Database::open_with_config(path, DatabaseConfig::new().with_read_only(true))?;
    let c = db.collection(COLLECTION)?;
    let queries = data("query.fvecs", 1000)?;
    let qs: Vec<Vec<f32>> = (0..queries.len()).map(|i| queries.row(i).to_vec()).collect();
    let mut params = SearchParams::new(k).with_include_metadata(false);
    if let Some(ef) = ef {
        params = params.with_ef_search(ef);
    }
    // Warm-up pass (page cache, allocator), then three timed passes.
    for q in &qs {
        c.search_with(q, &params)?;
    }
    let mut lat: Vec<Duration> = Vec::with_capacity(3 * qs.len());
    let cpu0 = cpu_seconds();
    for _ in 0..3 {
        for q in &qs {
            let t = Instant::now();
            std::hint::black_box(c.search_with(q, &params)?);
            lat.push(t.elapsed());
        }
    }
    let single_cpu_us = (cpu_seconds() - cpu0) * 1e6 / lat.len() as f64;
    lat.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (p50, p99) = (us(lat[lat.len() / 2]), us(lat[lat.len() * 99 / 100]));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .map_err(|e| needle::Error::Internal(format!("thread pool: {e}")))?;
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    let mut done = 0usize;
    while t.elapsed().as_secs_f64() < seconds {
        let r = pool.install(|| c.batch_search(&qs, k, Some(&params)))?;
        done += r.len();
    }
    let qps = done as f64 / t.elapsed().as_secs_f64();
    let batch_cpu_us = (cpu_seconds() - cpu0) * 1e6 / done as f64;
    println!(
        "{{\"queries\": {}, \"k\": {k}, \"ef\": {}, \"single_p50_us\": {p50:.1}, \"single_p99_us\": {p99:.1}, \
         \"single_cpu_us\": {single_cpu_us:.1}, \"batch2_qps\": {qps:.0}, \"batch2_cpu_us\": {batch_cpu_us:.1}}}",
        qs.len(),
        ef.map_or("null".to_string(), |e| e.to_string()),
    );
    Ok(())
}

fn main() -> needle::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize| arg(i).and_then(|a| a.parse::<usize>().ok());
    let usage = || {
        needle::Error::Internal(
            "usage: server_baseline build FILE [N] | bodies OUT_DIR [Q] | measure FILE [K] [EF] [SECONDS]".into(),
        )
    };
    let path = PathBuf::from(arg(1).ok_or_else(usage)?);
    match arg(0) {
        Some("build") => build(&path, num(2).unwrap_or(20_000)),
        Some("bodies") => bodies(&path, num(2).unwrap_or(1000)),
        Some("measure") => {
            measure(&path, num(2).unwrap_or(10), num(3), arg(4).and_then(|a| a.parse().ok()).unwrap_or(10.0))
        }
        _ => Err(usage()),
    }
}
