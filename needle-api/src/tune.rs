//! `auto_tune`: picks HNSW and quantization settings for a collection from a model fitted to
//! measurements, and says what to expect (recall, latency, memory).
//!
//! ```
//! use needle::{auto_tune, PerformanceProfile, TuningConstraints};
//! let t = auto_tune(
//!     &TuningConstraints::new(1_000_000, 384)
//!         .with_profile(PerformanceProfile::Balanced)
//!         .with_memory_budget(4 << 30)
//!         .with_latency_target_ms(10),
//! )
//! .unwrap();
//! assert!(t.estimated_recall >= 0.95);
//! assert!(t.estimated_memory_bytes <= 4 << 30);
//! let config = t.collection_config("docs", 384); // a CollectionConfig with the tuned settings
//! assert_eq!(config.hnsw_m, t.config.hnsw_m);
//! ```
//!
//! # Where the numbers come from
//!
//! `src/tune_table.json` holds bench-harness measurements on wordnet-minilm (384-d sentence
//! embeddings, cosine, recall@10 against exact search): for HNSW M ∈ {8, 16, 32} ×
//! ef_construction ∈ {100, 200} × quantization ∈ {none, sq8}, at 5,000, 20,000 and 50,000
//! vectors, recall and single-thread latency at ef_search from 10 to 512, build time and memory per
//! vector; plus runs at 96 and 768 dimensions for the latency–dimension exponent and a least-squares
//! fit of memory per vector. The table records the commands that produced it (see also
//! `needle-api/tune/README.md`); rerun them to refit on other hardware.
//!
//! The estimates for a candidate setting at `N` vectors and `d` dimensions:
//! - **recall**: the miss rate `1 − recall` interpolated linearly in `log N` between the measured
//!   sizes (beyond them, extrapolated with the least-squares slope over the sizes, never
//!   decreasing with N). Recall depends on the data: these are for embedding data like the one
//!   measured.
//! - **latency**: mean single-thread time per query, interpolated the same way in `log N`
//!   (log–log), times `(d / 384)^e` with `e` fitted from the dimension runs.
//! - **memory**: `N · (bytes_per_dimension · d + per_vector + per_link · M) + fixed`, fitted by least
//!   squares to the process's resident memory growth during the builds (which includes allocator
//!   overhead, so it is above `Collection::info().memory_bytes`), plus the fit's worst relative
//!   error as a margin, so that a budget check errs on the safe side.
//!
//! Among the measured settings, `auto_tune` keeps those within the memory budget and the latency
//! target, then picks by profile: `HighRecall` the highest estimated recall, `Balanced` the lowest
//! latency reaching recall 0.95, `LowLatency` the lowest latency reaching 0.90, `LowMemory` the
//! least memory reaching 0.90 (a `min_recall` replaces the profile's level). When no setting
//! reaches the recall level under the constraints it returns the best recall it can and says so in
//! `notes`; when none fits the memory budget it is an error naming the smallest need.

use std::sync::OnceLock;

use needle_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::config::{CollectionConfig, QuantizationType};

/// What to optimise for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PerformanceProfile {
    /// The highest recall within the constraints.
    HighRecall,
    /// The fastest setting with recall ≥ 0.95 (the default).
    #[default]
    Balanced,
    /// The fastest setting with recall ≥ 0.90.
    LowLatency,
    /// The smallest setting with recall ≥ 0.90.
    LowMemory,
}

impl PerformanceProfile {
    /// The recall level the profile aims for.
    pub fn recall_level(self) -> f64 {
        match self {
            PerformanceProfile::HighRecall => 0.99,
            PerformanceProfile::Balanced => 0.95,
            PerformanceProfile::LowLatency | PerformanceProfile::LowMemory => 0.90,
        }
    }
}

/// What `auto_tune` must respect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningConstraints {
    /// Vectors the collection will hold.
    pub num_vectors: usize,
    /// Their dimensions.
    pub dimensions: usize,
    /// What to optimise for.
    pub profile: PerformanceProfile,
    /// Most memory the collection may use, in bytes.
    pub memory_budget: Option<u64>,
    /// Longest mean single-thread latency per query, in milliseconds.
    pub latency_target_ms: Option<f64>,
    /// Recall@10 to reach (replaces the profile's level).
    pub min_recall: Option<f64>,
}

impl TuningConstraints {
    /// `num_vectors` of `dimensions`, profile `Balanced`, no budget or target.
    pub fn new(num_vectors: usize, dimensions: usize) -> Self {
        TuningConstraints {
            num_vectors,
            dimensions,
            profile: PerformanceProfile::Balanced,
            memory_budget: None,
            latency_target_ms: None,
            min_recall: None,
        }
    }
    /// Sets the profile.
    pub fn with_profile(mut self, profile: PerformanceProfile) -> Self {
        self.profile = profile;
        self
    }
    /// Sets the memory budget in bytes.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }
    /// Sets the latency target in milliseconds.
    pub fn with_latency_target_ms(mut self, ms: impl Into<f64>) -> Self {
        self.latency_target_ms = Some(ms.into());
        self
    }
    /// Sets the recall level to reach.
    pub fn with_min_recall(mut self, recall: f64) -> Self {
        self.min_recall = Some(recall);
        self
    }
}

/// The tuned index settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedIndexConfig {
    /// HNSW M.
    pub hnsw_m: usize,
    /// HNSW ef_construction.
    pub ef_construction: usize,
    /// Default ef_search.
    pub ef_search: usize,
    /// Quantization.
    pub quantization: QuantizationType,
}

/// `auto_tune`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedConfig {
    /// The settings.
    pub config: TunedIndexConfig,
    /// Expected recall@10 against exact search.
    pub estimated_recall: f64,
    /// Expected mean single-thread latency per query (ms).
    pub estimated_latency_ms: f64,
    /// Expected resident memory of the collection (bytes).
    pub estimated_memory_bytes: u64,
    /// Expected build time with every core (seconds; the roughest estimate here).
    pub estimated_build_seconds: f64,
    /// The profile used.
    pub profile: PerformanceProfile,
    /// Constraints that could not all be met, and other caveats.
    pub notes: Vec<String>,
}

impl TunedConfig {
    /// A collection config (cosine, defaults elsewhere) with the tuned settings.
    pub fn collection_config(&self, name: impl Into<String>, dimensions: usize) -> CollectionConfig {
        CollectionConfig::new(name, dimensions)
            .with_hnsw_m(self.config.hnsw_m)
            .with_hnsw_ef_construction(self.config.ef_construction)
            .with_hnsw_ef_search(self.config.ef_search)
            .with_quantization(self.config.quantization.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Debug, Deserialize)]
struct Table {
    dimensions: usize,
    ef_search: Vec<usize>,
    latency_dim_exponent: f64,
    memory_fit: std::collections::BTreeMap<String, MemoryFit>,
    configs: Vec<Measured>,
}

#[derive(Debug, Deserialize)]
struct MemoryFit {
    bytes_per_dimension: f64,
    rss: Linear,
}

#[derive(Debug, Deserialize)]
struct Linear {
    per_vector: f64,
    per_link: f64,
    fixed: f64,
    max_relative_error: f64,
}

#[derive(Debug, Deserialize)]
struct Measured {
    m: usize,
    ef_construction: usize,
    quantization: String,
    sizes: Vec<usize>,
    /// `[size][ef]`.
    recall: Vec<Vec<f64>>,
    latency_us: Vec<Vec<f64>>,
    build_s: Vec<f64>,
}

const TABLE_JSON: &str = include_str!("tune_table.json");

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| serde_json::from_str(TABLE_JSON).expect("src/tune_table.json is valid (checked by tests)"))
}

/// `y(x)` from points `(xs[i], ys[i])` (xs increasing): linear interpolation inside, outside the
/// least-squares slope over all points (at least `min_slope`) from the nearest end.
fn interp(xs: &[f64], ys: &[f64], x: f64, min_slope: f64) -> f64 {
    let n = xs.len();
    if n == 1 {
        return ys[0];
    }
    if x >= xs[0] && x <= xs[n - 1] {
        let i = xs.windows(2).position(|w| x <= w[1]).unwrap_or(n - 2);
        let t = (x - xs[i]) / (xs[i + 1] - xs[i]);
        return ys[i] + t * (ys[i + 1] - ys[i]);
    }
    let mx = xs.iter().sum::<f64>() / n as f64;
    let my = ys.iter().sum::<f64>() / n as f64;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let slope = (sxy / sxx).max(min_slope);
    if x < xs[0] {
        ys[0] - slope * (xs[0] - x)
    } else {
        ys[n - 1] + slope * (x - xs[n - 1])
    }
}

struct Estimate {
    m: usize,
    ef_construction: usize,
    ef_search: usize,
    quantization: QuantizationType,
    recall: f64,
    latency_ms: f64,
    memory: u64,
    build_s: f64,
}

fn estimate(t: &Table, c: &Measured, ei: usize, n: usize, d: usize) -> Estimate {
    let ln_n = (n.max(1) as f64).ln();
    let xs: Vec<f64> = c.sizes.iter().map(|&s| (s as f64).ln()).collect();
    let miss: Vec<f64> = c.recall.iter().map(|r| (1.0 - r[ei]).max(1e-4).ln()).collect();
    let recall = (1.0 - interp(&xs, &miss, ln_n, 0.0).exp()).clamp(0.0, 1.0);
    let lat: Vec<f64> = c.latency_us.iter().map(|l| l[ei].ln()).collect();
    let dim_factor = (d as f64 / t.dimensions as f64).powf(t.latency_dim_exponent);
    let latency_ms = interp(&xs, &lat, ln_n, 0.0).exp() * dim_factor / 1000.0;
    let build: Vec<f64> = c.build_s.iter().map(|b| b.max(1e-3).ln()).collect();
    let build_s = interp(&xs, &build, ln_n, 1.0).exp() * dim_factor;
    let mem = &t.memory_fit[&c.quantization];
    let per_vector = mem.bytes_per_dimension * d as f64 + mem.rss.per_vector + mem.rss.per_link * c.m as f64;
    Estimate {
        m: c.m,
        ef_construction: c.ef_construction,
        ef_search: measured_beam(t.ef_search[ei], &c.quantization),
        quantization: QuantizationType::from_id(&c.quantization),
        recall,
        latency_ms,
        memory: ((per_vector.max(0.0) * n as f64 + mem.rss.fixed.max(0.0))
            * (1.0 + mem.rss.max_relative_error.max(0.0)))
        .ceil() as u64,
        build_s,
    }
}

/// The `ef_search` that reproduces a table row. The SQ8 rows were measured when a quantized search
/// always widened its beam to k × rescore_factor (40 at k = 10, factor 4) and rescored exactly that
/// many; a search now keeps the beam it is given, so the tuned config states that width. At that
/// width a search today rescores at least as many candidates (all of the beam's first 40, then on
/// while one may still enter the top k: `needle_core::quant::rescore`), so its recall is at least
/// the row's: the estimate errs low, never high, and a quantized setting is never capped below the
/// recall its beam allows.
fn measured_beam(ef: usize, quantization: &str) -> usize {
    if quantization == "none" {
        ef
    } else {
        ef.max(MEASURED_K * MEASURED_RESCORE_FACTOR)
    }
}

/// k and rescore factor of the table's quantized measurements.
const MEASURED_K: usize = 10;
const MEASURED_RESCORE_FACTOR: usize = 4;

/// Every measured setting, estimated at `n` vectors of `d` dimensions.
fn candidates(n: usize, d: usize) -> Vec<Estimate> {
    let t = table();
    t.configs.iter().flat_map(|c| (0..t.ef_search.len()).map(move |ei| estimate(t, c, ei, n, d))).collect()
}

fn fmt_bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

/// Picks HNSW M, ef_construction, ef_search and quantization for `constraints` (see the
/// [module documentation](self) for the model and the rules).
pub fn auto_tune(constraints: &TuningConstraints) -> Result<TunedConfig> {
    let TuningConstraints { num_vectors: n, dimensions: d, profile, memory_budget, latency_target_ms, min_recall } =
        constraints.clone();
    if n == 0 || d == 0 {
        return Err(Error::InvalidArgument("auto_tune needs num_vectors and dimensions of at least 1".into()));
    }
    if latency_target_ms.is_some_and(|l| !(l.is_finite() && l > 0.0)) {
        return Err(Error::InvalidArgument("latency_target_ms must be a positive number".into()));
    }
    if min_recall.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(Error::InvalidArgument("min_recall must be within 0..=1".into()));
    }
    let level = min_recall.unwrap_or(profile.recall_level());
    let all = candidates(n, d);
    let mut notes = Vec::new();
    let fits: Vec<&Estimate> = all.iter().filter(|e| memory_budget.is_none_or(|b| e.memory <= b)).collect();
    if fits.is_empty() {
        let least = all.iter().map(|e| e.memory).min().unwrap_or(0);
        return Err(Error::InvalidArgument(format!(
            "memory budget {} is too small for {n} vectors of {d} dimensions: the smallest setting needs about {}",
            fmt_bytes(memory_budget.unwrap_or(0)),
            fmt_bytes(least)
        )));
    }
    let mut fast: Vec<&Estimate> =
        fits.iter().copied().filter(|e| latency_target_ms.is_none_or(|l| e.latency_ms <= l)).collect();
    if fast.is_empty() {
        let best = fits.iter().copied().min_by(|a, b| a.latency_ms.total_cmp(&b.latency_ms)).expect("non-empty");
        notes.push(format!(
            "no setting meets the latency target of {} ms; the fastest is estimated at {:.3} ms",
            latency_target_ms.unwrap_or(0.0),
            best.latency_ms
        ));
        fast = vec![best];
    }
    // Ties: less memory, then cheaper builds.
    let tie = |a: &&Estimate, b: &&Estimate| {
        a.memory.cmp(&b.memory).then(a.ef_construction.cmp(&b.ef_construction)).then(a.m.cmp(&b.m))
    };
    let good: Vec<&Estimate> = fast.iter().copied().filter(|e| e.recall >= level).collect();
    let chosen = if good.is_empty() {
        let best =
            fast.iter().copied().max_by(|a, b| a.recall.total_cmp(&b.recall).then(tie(b, a))).expect("non-empty");
        notes.push(format!(
            "no setting within the constraints reaches recall {level:.2}; the best is estimated at {:.3}",
            best.recall
        ));
        best
    } else {
        match (profile, min_recall) {
            (PerformanceProfile::HighRecall, None) => {
                good.into_iter().max_by(|a, b| a.recall.total_cmp(&b.recall).then(tie(b, a)))
            }
            (PerformanceProfile::LowMemory, _) => good
                .into_iter()
                .min_by(|a, b| a.memory.cmp(&b.memory).then(a.latency_ms.total_cmp(&b.latency_ms)).then(tie(a, b))),
            _ => good.into_iter().min_by(|a, b| a.latency_ms.total_cmp(&b.latency_ms).then(tie(a, b))),
        }
        .expect("non-empty")
    };
    let t = table();
    let measured_max = t.configs.iter().flat_map(|c| c.sizes.iter()).copied().max().unwrap_or(0);
    if n > measured_max * 4 {
        notes.push(format!(
            "{n} vectors is beyond the measured sizes (up to {measured_max}): recall and latency are extrapolated"
        ));
    }
    Ok(TunedConfig {
        config: TunedIndexConfig {
            hnsw_m: chosen.m,
            ef_construction: chosen.ef_construction,
            ef_search: chosen.ef_search,
            quantization: chosen.quantization.clone(),
        },
        estimated_recall: chosen.recall,
        estimated_latency_ms: chosen.latency_ms,
        estimated_memory_bytes: chosen.memory,
        estimated_build_seconds: chosen.build_s,
        profile,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_interpolation_behaves() {
        let t = table();
        assert!(!t.configs.is_empty() && !t.ef_search.is_empty());
        for c in &t.configs {
            assert_eq!(c.recall.len(), c.sizes.len());
            assert!(c.recall.iter().all(|r| r.len() == t.ef_search.len()));
            assert!(t.memory_fit.contains_key(&c.quantization));
        }
        let xs = [0.0, 1.0, 2.0];
        assert_eq!(interp(&xs, &[0.0, 2.0, 3.0], 0.5, 0.0), 1.0);
        assert_eq!(interp(&xs, &[0.0, 1.0, 2.0], 4.0, 0.0), 4.0);
        assert_eq!(interp(&xs, &[2.0, 1.0, 0.0], 4.0, 0.0), 0.0, "slope clamped");
    }

    #[test]
    fn profiles_order_and_constraints() {
        let base = TuningConstraints::new(200_000, 384);
        let hr = auto_tune(&base.clone().with_profile(PerformanceProfile::HighRecall)).unwrap();
        let bal = auto_tune(&base.clone()).unwrap();
        let fast = auto_tune(&base.clone().with_profile(PerformanceProfile::LowLatency)).unwrap();
        assert!(hr.estimated_recall >= bal.estimated_recall && bal.estimated_recall >= 0.95);
        assert!(fast.estimated_latency_ms <= bal.estimated_latency_ms && fast.estimated_recall >= 0.90);
        let small = auto_tune(&base.clone().with_profile(PerformanceProfile::LowMemory)).unwrap();
        assert!(small.estimated_memory_bytes <= bal.estimated_memory_bytes);
        // A budget below the smallest setting is an error that names the need.
        let e = auto_tune(&base.clone().with_memory_budget(1 << 20)).unwrap_err();
        assert!(e.to_string().contains("too small"), "{e}");
        // An impossible latency target is a note, not an error.
        let t = auto_tune(&base.clone().with_latency_target_ms(0.000_001)).unwrap();
        assert!(t.notes.iter().any(|n| n.contains("latency target")), "{:?}", t.notes);
        assert!(auto_tune(&TuningConstraints::new(0, 3)).is_err());
        // Bigger collections never get a better recall estimate for the same settings.
        let t = table();
        let c = &t.configs[0];
        let r1 = estimate(t, c, 2, 10_000, 384).recall;
        let r2 = estimate(t, c, 2, 10_000_000, 384).recall;
        assert!(r2 <= r1);
        // Memory grows with d and M.
        assert!(estimate(t, c, 0, 1000, 768).memory > estimate(t, c, 0, 1000, 384).memory);
    }
}
