//! The peer libraries on the same data, ground truth, k, M, ef_construction, sweep and thread
//! counts as Needle: the Python ones through `peers/peers.py` in `bench-harness/.venv`, the native
//! ones (`hnswlib-cpp`: hnswlib's C++ core; no Python in their timed loops) through the drivers
//! `peers/native/build.sh` builds. Every driver prints the same JSON document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::config::Config;
use crate::data::Dataset;
use crate::result::{BuildTime, SweepPoint, SystemKind, SystemResult};

/// `bench-harness/.venv/bin/python` (or `$NEEDLE_PEERS_PYTHON`).
pub fn python(harness: &Path) -> PathBuf {
    std::env::var_os("NEEDLE_PEERS_PYTHON").map(PathBuf::from).unwrap_or_else(|| harness.join(".venv/bin/python"))
}

/// Creates the venv and pip-installs the pinned peers (`peers/setup.sh`).
pub fn install(harness: &Path) -> Result<()> {
    let script = harness.join("peers/setup.sh");
    eprintln!("[bench] installing peers: {}", script.display());
    let status = Command::new("bash").arg(&script).status().with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", script.display());
    }
    Ok(())
}

#[derive(Deserialize)]
struct DriverDoc {
    params: DriverParams,
    dataset: DriverDataset,
    versions: BTreeMap<String, Option<String>>,
    machine: DriverMachine,
    peers: Vec<DriverPeer>,
}

#[derive(Deserialize)]
struct DriverParams {
    k: usize,
    #[serde(rename = "M")]
    m: usize,
    ef_construction: usize,
}

#[derive(Deserialize)]
struct DriverDataset {
    n: usize,
    dim: usize,
    queries: usize,
}

#[derive(Deserialize)]
struct DriverMachine {
    faiss_compile_options: Option<String>,
    usearch_hardware_acceleration: Option<String>,
}

#[derive(Deserialize)]
struct DriverPeer {
    name: String,
    library: Option<String>,
    #[serde(default)]
    build: BTreeMap<String, f64>,
    rss_delta_bytes: Option<i64>,
    reported_memory_bytes: Option<u64>,
    disk_bytes: Option<u64>,
    open_s: Option<f64>,
    #[serde(default)]
    sweep: Vec<SweepPoint>,
    error: Option<String>,
    /// What a native driver was built from and with (version, compiler, flags, SIMD).
    build_description: Option<String>,
}

/// Peers measured by a native driver instead of `peers.py`.
pub const NATIVE: &[&str] = &["hnswlib-cpp"];

/// What the driver reported for one data set.
pub struct PeerRun {
    /// One result per peer.
    pub systems: Vec<SystemResult>,
    /// Library versions.
    pub versions: BTreeMap<String, Option<String>>,
    /// Each driver's whole JSON document, saved beside the results: (file suffix, document).
    pub raw: Vec<(String, String)>,
}

/// Runs every peer in `list`: the Python ones in one `peers.py` run, each native one through its
/// driver; a driver that fails is an error for the whole call.
pub fn run(harness: &Path, ds: &Dataset, cfg: &Config, list: &[String]) -> Result<PeerRun> {
    let (native, python): (Vec<String>, Vec<String>) = list.iter().cloned().partition(|p| NATIVE.contains(&p.as_str()));
    let mut all = PeerRun { systems: Vec::new(), versions: BTreeMap::new(), raw: Vec::new() };
    if !python.is_empty() {
        all.merge(run_python(harness, ds, cfg, &python)?);
    }
    for name in &native {
        all.merge(run_native(harness, ds, cfg, name)?);
    }
    Ok(all)
}

impl PeerRun {
    fn merge(&mut self, other: PeerRun) {
        self.systems.extend(other.systems);
        self.versions.extend(other.versions);
        self.raw.extend(other.raw);
    }
}

/// Builds (if needed) and runs the native driver of `name`.
fn run_native(harness: &Path, ds: &Dataset, cfg: &Config, name: &str) -> Result<PeerRun> {
    let which = name.trim_end_matches("-cpp");
    let script = harness.join("peers/native/build.sh");
    let status = Command::new("bash").arg(&script).arg(which).status().context("running peers/native/build.sh")?;
    if !status.success() {
        bail!("{} {which} failed ({status})", script.display());
    }
    let cache =
        std::env::var_os("NEEDLE_PEERS_CACHE").map(PathBuf::from).unwrap_or_else(|| harness.join(".peers-cache"));
    let exe = cache.join(format!("{which}_driver"));
    let info = std::fs::read_to_string(cache.join(format!("{which}_driver.info"))).unwrap_or_default();
    let scratch = std::env::temp_dir();
    let csv = |v: Vec<String>| v.join(",");
    let mut cmd = Command::new(&exe);
    cmd.arg("--base")
        .arg(&ds.base_path)
        .arg("--query")
        .arg(&ds.query_path)
        .arg("--groundtruth")
        .arg(&ds.truth_path)
        .args(["--queries", &ds.nq().to_string()])
        .args(["--metric", &ds.metric])
        .args(["--k", &cfg.k.to_string()])
        .args(["--M", &cfg.build.m.to_string()])
        .args(["--ef-construction", &cfg.build.ef_construction.to_string()])
        .args(["--ef-search", &csv(cfg.ef_search.iter().map(|e| e.to_string()).collect())])
        .args(["--threads", &cfg.all_threads().to_string()])
        .args(["--build-threads", &csv(cfg.build_thread_counts().iter().map(|t| t.to_string()).collect())])
        .args(["--seed", &cfg.seed.to_string()])
        .args(["--warmup", &cfg.warmup.to_string()])
        .args(["--repeats", &cfg.repeats.to_string()])
        .args(["--recall-targets", &csv(cfg.recall_levels.iter().map(|r| r.to_string()).collect())])
        .arg("--scratch")
        .arg(&scratch)
        .args(["--build-info", info.trim()]);
    if let Some(limit) = ds.limit {
        cmd.args(["--limit", &limit.to_string()]);
    }
    eprintln!("[bench] {}: running native peer {name} ({})", ds.name, info.trim());
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let raw = String::from_utf8(out.stdout).map_err(|_| anyhow!("{name} driver printed non-UTF-8"))?;
    let doc: DriverDoc = serde_json::from_str(&raw)
        .with_context(|| format!("{name} driver exited with {} and printed no JSON document", out.status))?;
    let mut run = convert(doc, raw, ds, cfg);
    run.raw[0].0 = format!("peers-{name}");
    Ok(run)
}

/// Runs `peers.py` on `ds` for the Python peers in `list`; progress goes to this process's stderr.
fn run_python(harness: &Path, ds: &Dataset, cfg: &Config, list: &[String]) -> Result<PeerRun> {
    let py = python(harness);
    if !py.exists() {
        bail!(
            "{} does not exist: run `bench-harness --install-peers` (or bench-harness/peers/setup.sh) first",
            py.display()
        );
    }
    let csv = |v: Vec<String>| v.join(",");
    let mut cmd = Command::new(&py);
    cmd.arg(harness.join("peers/peers.py"))
        .arg("--base")
        .arg(&ds.base_path)
        .arg("--query")
        .arg(&ds.query_path)
        .arg("--groundtruth")
        .arg(&ds.truth_path)
        .args(["--queries", &ds.nq().to_string()])
        .args(["--metric", &ds.metric])
        .args(["--k", &cfg.k.to_string()])
        .args(["--M", &cfg.build.m.to_string()])
        .args(["--ef-construction", &cfg.build.ef_construction.to_string()])
        .args(["--ef-search", &csv(cfg.ef_search.iter().map(|e| e.to_string()).collect())])
        .args(["--threads", &cfg.all_threads().to_string()])
        .args(["--build-threads", &csv(cfg.build_thread_counts().iter().map(|t| t.to_string()).collect())])
        .args(["--peers", &list.join(",")])
        .args(["--seed", &cfg.seed.to_string()])
        .args(["--warmup", &cfg.warmup.to_string()])
        .args(["--repeats", &cfg.repeats.to_string()])
        .args(["--recall-targets", &csv(cfg.recall_levels.iter().map(|r| r.to_string()).collect())]);
    if let Some(limit) = ds.limit {
        cmd.args(["--limit", &limit.to_string()]);
    }
    eprintln!("[bench] {}: running peers {} through {}", ds.name, list.join(", "), py.display());
    let out = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).output().context("running peers.py")?;
    let raw = String::from_utf8(out.stdout).map_err(|_| anyhow!("peers.py printed non-UTF-8"))?;
    let doc: DriverDoc = serde_json::from_str(&raw)
        .with_context(|| format!("peers.py exited with {} and printed no JSON document", out.status))?;
    Ok(convert(doc, raw, ds, cfg))
}

/// Reads a saved driver document (e.g. `results/peers-wordnet-minilm-reference.json`) instead of
/// running the peers; it must describe the same data, k and build parameters.
pub fn load(path: &Path, ds: &Dataset, cfg: &Config) -> Result<PeerRun> {
    let raw = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: DriverDoc = serde_json::from_str(&raw).with_context(|| format!("parsing {}", path.display()))?;
    let (d, p) = (&doc.dataset, &doc.params);
    let mismatch = [
        ("vectors", d.n, ds.n()),
        ("dimensions", d.dim, ds.dim),
        ("queries", d.queries, ds.nq()),
        ("k", p.k, cfg.k),
        ("M", p.m, cfg.build.m),
        ("ef_construction", p.ef_construction, cfg.build.ef_construction),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(what, a, b)| format!("{what} {a} there, {b} here"))
    .collect::<Vec<_>>();
    if !mismatch.is_empty() {
        bail!("{} does not match this run: {}", path.display(), mismatch.join(", "));
    }
    eprintln!("[bench] {}: peers from {} (measured in another run: compare ratios with care)", ds.name, path.display());
    Ok(convert(doc, raw, ds, cfg))
}

fn convert(doc: DriverDoc, raw: String, ds: &Dataset, cfg: &Config) -> PeerRun {
    let systems = doc
        .peers
        .into_iter()
        .map(|p| {
            let library = p.library.clone().unwrap_or_else(|| p.name.clone());
            let mut s = SystemResult::new(&p.name, SystemKind::Peer, &library, ds.n());
            s.all_threads = cfg.all_threads();
            let mut build: Vec<BuildTime> = p
                .build
                .iter()
                .filter_map(|(key, &seconds)| {
                    let t = key.strip_prefix("threads_")?.strip_suffix("_s")?.parse().ok()?;
                    Some(BuildTime { threads: t, seconds })
                })
                .collect();
            build.sort_by_key(|b| b.threads);
            s.build = build;
            s.rss_delta_bytes = p.rss_delta_bytes;
            s.bytes_per_vector = p.rss_delta_bytes.map(|b| b as f64 / ds.n() as f64);
            s.reported_bytes = p.reported_memory_bytes;
            s.disk_bytes = p.disk_bytes;
            s.open_s = p.open_s;
            s.sweep = p.sweep;
            s.error = p.error;
            s.simd_backend = match library.as_str() {
                _ if p.build_description.is_some() => p.build_description.clone(),
                "faiss" => doc.machine.faiss_compile_options.clone().map(|o| o.trim().to_string()),
                "usearch" => doc.machine.usearch_hardware_acceleration.clone(),
                _ => None,
            };
            s.interpolate(&cfg.recall_levels);
            s
        })
        .collect();
    PeerRun { systems, versions: doc.versions, raw: vec![("peers".to_string(), raw)] }
}
