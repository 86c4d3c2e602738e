//! What a run measures, as written to the JSON result file, and the statistics over it
//! (percentiles, recall, QPS interpolated at equal recall, Needle/peer ratios).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Combo;
use crate::machine::Machine;
use crate::target::TargetOutcome;

/// Version of the result file layout.
pub const SCHEMA: &str = "needle-bench/1";

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// Config name.
    pub name: String,
    /// Config description.
    pub description: String,
    /// Config file path.
    pub config_path: String,
    /// The config as run (after `--quick` / `--peers` overrides).
    pub config: serde_json::Value,
    /// UTC start time (RFC 3339).
    pub started: String,
    /// Wall time of the whole run.
    pub elapsed_s: f64,
    /// Load averages when the run ended.
    pub load_average_end: Option<[f64; 3]>,
    /// Every seed used.
    pub seeds: BTreeMap<String, u64>,
    /// Where it ran.
    pub machine: Machine,
    /// Per data set.
    pub datasets: Vec<DatasetResult>,
    /// Every target checked.
    pub targets: Vec<TargetOutcome>,
    /// Errors that did not stop the run (a failed peer driver, a skipped combination).
    pub warnings: Vec<String>,
}

/// One data set's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetResult {
    /// Name from the config.
    pub name: String,
    /// Base vectors file.
    pub base: String,
    /// Base vectors used.
    pub n: usize,
    /// Dimensions.
    pub dim: usize,
    /// Queries used.
    pub queries: usize,
    /// Neighbours per query.
    pub k: usize,
    /// Metric of the ground truth.
    pub metric: String,
    /// Where the ground truth came from (file, or brute force on the slice).
    pub groundtruth: String,
    /// Needle combinations, then peers.
    pub systems: Vec<SystemResult>,
    /// Where the peers' numbers come from: measured in this run, or a saved driver document.
    pub peers_source: Option<String>,
    /// Peer library versions, when peers ran.
    pub peer_versions: BTreeMap<String, Option<String>>,
    /// Needle / peer QPS at equal recall: `ratios[needle][peer][recall]`.
    pub ratios: BTreeMap<String, BTreeMap<String, BTreeMap<String, Option<f64>>>>,
    /// SVG file with the recall–QPS curves (relative to the result directory).
    pub plot: Option<String>,
}

/// Whose numbers these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemKind {
    /// A Needle component combination.
    Needle,
    /// A peer library through the Python driver.
    Peer,
}

/// One build time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildTime {
    /// Threads used.
    pub threads: usize,
    /// Wall seconds.
    pub seconds: f64,
}

/// One system (combination or peer) on one data set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SystemResult {
    /// Combination name or peer name.
    pub name: String,
    /// Needle or peer.
    pub kind: SystemKind,
    /// `needle`, `hnswlib`, `faiss`, `usearch`.
    pub library: String,
    /// The component ids, for Needle.
    pub components: Option<Combo>,
    /// Vectors indexed.
    pub n: usize,
    /// Build wall times, in the order run.
    pub build: Vec<BuildTime>,
    /// "All threads" for this run.
    pub all_threads: usize,
    /// Process RSS growth during the first build.
    pub rss_delta_bytes: Option<i64>,
    /// The library's own figure for its size in memory, if it reports one.
    pub reported_bytes: Option<u64>,
    /// `rss_delta_bytes / n`.
    pub bytes_per_vector: Option<f64>,
    /// Bytes on disk after save.
    pub disk_bytes: Option<u64>,
    /// Time to reopen the saved file until searchable.
    pub open_s: Option<f64>,
    /// Growth of anonymous resident memory (RssAnon) from before the reopen to the end of the
    /// search sweep: what the reopened index really holds (Needle's mapped rows are not in it).
    /// A lower bound: the allocator may hand the reopen pages the build freed but kept.
    #[serde(default)]
    pub reopen_anon_bytes: Option<i64>,
    /// The library's own figure for its owned (heap) memory after the reopen and the sweep.
    #[serde(default)]
    pub reopen_reported_bytes: Option<u64>,
    /// Growth of file-backed resident memory (RssFile) over the same span: mapped pages the
    /// searches touched (page cache, reclaimable).
    #[serde(default)]
    pub reopen_file_bytes: Option<i64>,
    /// The SIMD backend in use, when the library says.
    pub simd_backend: Option<String>,
    /// One point per `ef_search` (one point for exact search).
    pub sweep: Vec<SweepPoint>,
    /// QPS interpolated at each configured recall level (None when the curve never gets there).
    pub qps_at_recall: BTreeMap<String, Option<f64>>,
    /// Why there are no numbers.
    pub error: Option<String>,
    /// True when the combination cannot run through the API yet (not a failure).
    pub skipped: bool,
}

/// One `ef_search` setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// `ef_search` (None for exact search).
    pub ef_search: Option<usize>,
    /// Mean recall@k over the queries.
    pub recall: f64,
    /// Single thread, one query per call.
    pub qps: f64,
    /// All threads, all queries in one batch call.
    pub batch_qps: Option<f64>,
    /// Latency of single-query calls, µs.
    pub p50_us: f64,
    /// µs.
    pub p95_us: f64,
    /// µs.
    pub p99_us: f64,
}

impl SystemResult {
    /// An empty result to fill in.
    pub fn new(name: &str, kind: SystemKind, library: &str, n: usize) -> Self {
        SystemResult {
            name: name.to_string(),
            kind,
            library: library.to_string(),
            components: None,
            n,
            build: Vec::new(),
            all_threads: 0,
            rss_delta_bytes: None,
            reported_bytes: None,
            bytes_per_vector: None,
            disk_bytes: None,
            open_s: None,
            reopen_anon_bytes: None,
            reopen_reported_bytes: None,
            reopen_file_bytes: None,
            simd_backend: None,
            sweep: Vec::new(),
            qps_at_recall: BTreeMap::new(),
            error: None,
            skipped: false,
        }
    }

    /// Build time on one thread.
    pub fn build_1t_s(&self) -> Option<f64> {
        self.build.iter().find(|b| b.threads == 1).map(|b| b.seconds)
    }

    /// Build time on all threads.
    pub fn build_all_s(&self) -> Option<f64> {
        self.build.iter().find(|b| b.threads == self.all_threads).map(|b| b.seconds)
    }

    /// Fills `qps_at_recall` for these levels.
    pub fn interpolate(&mut self, levels: &[f64]) {
        self.qps_at_recall = levels.iter().map(|&r| (recall_key(r), qps_at_recall(&self.sweep, r))).collect();
    }
}

/// `0.95` → `"0.95"`.
pub fn recall_key(r: f64) -> String {
    format!("{r:.2}")
}

/// Nearest-rank percentile of ascending values (`p` in 0..=100); same definition as peers.py.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Mean recall@k: the share of each query's true top-k found in its returned top-k.
pub fn recall_at_k(found: &[Vec<u32>], truth: &[Vec<u32>], k: usize) -> f64 {
    if found.is_empty() {
        return 0.0;
    }
    let mut hits = 0usize;
    for (f, t) in found.iter().zip(truth) {
        let t = &t[..k.min(t.len())];
        hits += f.iter().take(k).filter(|id| t.contains(id)).count();
    }
    hits as f64 / (k * found.len()) as f64
}

/// QPS at `target` recall: log(QPS) interpolated linearly in recall between the two sweep points
/// that bracket the target; when every point is above the target, the fastest of them (a lower
/// bound); None when no point reaches it. Same rule as peers.py.
pub fn qps_at_recall(points: &[SweepPoint], target: f64) -> Option<f64> {
    let mut pts: Vec<(f64, f64)> = points.iter().filter(|p| p.qps > 0.0).map(|p| (p.recall, p.qps)).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if pts.last()?.0 < target {
        return None;
    }
    for w in pts.windows(2) {
        let ((r0, q0), (r1, q1)) = (w[0], w[1]);
        if r0 <= target && target <= r1 {
            if r1 == r0 {
                return Some(q0.max(q1));
            }
            let t = (target - r0) / (r1 - r0);
            return Some((q0.ln() + t * (q1.ln() - q0.ln())).exp());
        }
    }
    pts.iter().filter(|p| p.0 >= target).map(|p| p.1).reduce(f64::max)
}

/// Fills `ds.ratios` from the interpolated QPS of each Needle combination and each peer.
pub fn compute_ratios(ds: &mut DatasetResult, levels: &[f64]) {
    let mut ratios = BTreeMap::new();
    for n in ds.systems.iter().filter(|s| s.kind == SystemKind::Needle && s.error.is_none()) {
        let mut per_peer = BTreeMap::new();
        for p in ds.systems.iter().filter(|s| s.kind == SystemKind::Peer && s.error.is_none()) {
            let cells = levels
                .iter()
                .map(|&r| {
                    let key = recall_key(r);
                    let a = n.qps_at_recall.get(&key).copied().flatten();
                    let b = p.qps_at_recall.get(&key).copied().flatten();
                    (key, a.zip(b).map(|(a, b)| a / b))
                })
                .collect();
            per_peer.insert(p.name.clone(), cells);
        }
        ratios.insert(n.name.clone(), per_peer);
    }
    ds.ratios = ratios;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(recall: f64, qps: f64) -> SweepPoint {
        SweepPoint { ef_search: None, recall, qps, batch_qps: None, p50_us: 0.0, p95_us: 0.0, p99_us: 0.0 }
    }

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn recall_counts_overlap() {
        let truth = vec![vec![1, 2, 3], vec![4, 5, 6]];
        assert_eq!(recall_at_k(&[vec![3, 2, 1], vec![4, 9, 8]], &truth, 3), 4.0 / 6.0);
        assert_eq!(recall_at_k(&[vec![1, 2], vec![4, 5]], &truth, 2), 1.0);
    }

    #[test]
    fn interpolates_log_qps() {
        // The shared README's hnswlib row: 0.916 / 9163 and 0.966 / 6267 give about 7,100 at 0.95.
        let pts = [p(0.916, 9163.0), p(0.966, 6267.0), p(0.989, 3743.0)];
        let q = qps_at_recall(&pts, 0.95).unwrap();
        assert!((q - 7080.0).abs() < 30.0, "{q}");
        assert_eq!(qps_at_recall(&pts, 0.995), None);
        assert_eq!(qps_at_recall(&pts, 0.5), Some(9163.0));
        assert_eq!(qps_at_recall(&[p(1.0, 80.0)], 0.99), Some(80.0));
    }
}
