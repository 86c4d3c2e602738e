//! The run configuration (TOML or JSON under `bench-harness/configs/`): data sets, component
//! combinations, build parameters, the `ef_search` sweep, k, threads, peers and targets.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::target::Target;

/// One benchmark run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Names the result files (`results/<name>.json`, `.md`, `-<dataset>.svg`).
    pub name: String,
    /// Free text shown at the top of the report.
    #[serde(default)]
    pub description: String,
    /// Seed for the HNSW level generator (Needle and hnswlib) and any sampling.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Neighbours per query; recall is recall@k.
    #[serde(default = "default_k")]
    pub k: usize,
    /// "All threads": 0 means every core the process may use.
    #[serde(default)]
    pub threads: usize,
    /// Build thread counts to time, e.g. `[1, 0]` (0 = all threads). The first build also
    /// measures memory; the last one is saved, reopened and searched.
    #[serde(default = "default_build_threads")]
    pub build_threads: Vec<usize>,
    /// Queries run untimed before each sweep point.
    #[serde(default = "default_warmup")]
    pub warmup: usize,
    /// Timed passes per sweep point; the fastest is kept (shared machines only ever slow a pass).
    #[serde(default = "default_repeats")]
    pub repeats: usize,
    /// Vectors per `insert_batch` call (0 = all at once).
    #[serde(default)]
    pub insert_batch: usize,
    /// HNSW construction parameters.
    #[serde(default)]
    pub build: BuildParams,
    /// The `ef_search` values to sweep.
    #[serde(default = "default_ef_sweep")]
    pub ef_search: Vec<usize>,
    /// Data sets.
    pub datasets: Vec<DatasetConfig>,
    /// Component combinations; each field may list several ids and the product is taken.
    pub combos: Vec<ComboSpec>,
    /// Peer libraries run through the Python driver.
    #[serde(default)]
    pub peers: PeersConfig,
    /// Targets such as `"recall@10 >= 0.95 with p99 <= 2 ms"`, optionally scoped to combinations
    /// by a name glob: `"hnsw-*-sq8-*: recall@10 >= 0.95"`.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Recall levels at which QPS is interpolated for the headline ratios.
    #[serde(default = "default_recall_levels")]
    pub recall_levels: Vec<f64>,
}

/// HNSW construction parameters (the paper's M and efConstruction).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildParams {
    /// Links per node per layer.
    #[serde(default = "default_m")]
    pub m: usize,
    /// Candidate list size while inserting.
    #[serde(default = "default_ef_construction")]
    pub ef_construction: usize,
}

impl Default for BuildParams {
    fn default() -> Self {
        BuildParams { m: default_m(), ef_construction: default_ef_construction() }
    }
}

/// One data set in TEXMEX format.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Short name used in reports.
    pub name: String,
    /// Directory holding the files; `$NEEDLE_DATA_DIR` is expanded (default `<workspace>/../shared/data`)
    /// and relative paths are taken from the workspace root.
    pub dir: String,
    /// Base vectors file name.
    #[serde(default = "default_base")]
    pub base: String,
    /// Query vectors file name.
    #[serde(default = "default_query")]
    pub query: String,
    /// Exact neighbours file name; when absent (or when `limit` is set) the harness computes the
    /// ground truth by brute force.
    #[serde(default)]
    pub groundtruth: Option<String>,
    /// Use only the first `limit` base vectors (ground truth is then recomputed on the slice).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Use only the first `queries` queries.
    #[serde(default)]
    pub queries: Option<usize>,
    /// The metric the ground truth is defined by (`cosine`, `euclidean`, `dot`).
    #[serde(default = "default_metric")]
    pub metric: String,
}

/// Component ids by registry, each a single id or a list (the product of all lists is run).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComboSpec {
    /// Index ids (`hnsw`, `flat`, …).
    #[serde(default = "default_index")]
    pub index: OneOrMany,
    /// Distance ids (`cosine`, `euclidean`, `dot`, `manhattan`, …).
    #[serde(default = "default_distance")]
    pub distance: OneOrMany,
    /// Quantizer ids (`none`, `sq8`, …).
    #[serde(default = "default_none")]
    pub quantizer: OneOrMany,
    /// Storage ids (`mmap`, `memory`, …).
    #[serde(default = "default_storage")]
    pub storage: OneOrMany,
    /// Cipher ids (`none`, `aes-256-gcm`, …).
    #[serde(default = "default_none")]
    pub cipher: OneOrMany,
    /// With a quantizer: candidates rescored exactly, as a multiple of k (API default when absent).
    #[serde(default)]
    pub rescore_factor: Option<usize>,
    /// Plugin shared libraries to load (paths relative to the workspace root, or absolute), so
    /// the ids above can name plugin components (e.g. `target/release/libneedle_plugin_ivf.so`).
    #[serde(default)]
    pub plugins: Vec<String>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One id.
    One(String),
    /// Several ids.
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One concrete component combination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combo {
    /// `index-distance-quantizer-storage-cipher`, used in reports and target scopes.
    pub name: String,
    /// Index id.
    pub index: String,
    /// Distance id.
    pub distance: String,
    /// Quantizer id.
    pub quantizer: String,
    /// Storage id.
    pub storage: String,
    /// Cipher id.
    pub cipher: String,
    /// Rescore factor, if set.
    pub rescore_factor: Option<usize>,
    /// Plugin libraries the database loads.
    #[serde(default)]
    pub plugins: Vec<String>,
}

/// The peers run through `peers/peers.py`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersConfig {
    /// Whether peers run without `--peers`.
    #[serde(default)]
    pub enabled: bool,
    /// Which peers (names known to peers.py).
    #[serde(default = "default_peer_list")]
    pub list: Vec<String>,
}

impl Default for PeersConfig {
    fn default() -> Self {
        PeersConfig { enabled: false, list: default_peer_list() }
    }
}

fn default_seed() -> u64 {
    42
}
fn default_k() -> usize {
    10
}
fn default_build_threads() -> Vec<usize> {
    vec![1, 0]
}
fn default_warmup() -> usize {
    100
}
fn default_repeats() -> usize {
    1
}
fn default_m() -> usize {
    16
}
fn default_ef_construction() -> usize {
    200
}
fn default_ef_sweep() -> Vec<usize> {
    vec![10, 16, 24, 32, 48, 64, 96, 128, 192, 256]
}
fn default_recall_levels() -> Vec<f64> {
    vec![0.90, 0.95, 0.99]
}
fn default_base() -> String {
    "base.fvecs".into()
}
fn default_query() -> String {
    "query.fvecs".into()
}
fn default_metric() -> String {
    "cosine".into()
}
fn default_index() -> OneOrMany {
    OneOrMany::One("hnsw".into())
}
fn default_distance() -> OneOrMany {
    OneOrMany::One("cosine".into())
}
fn default_none() -> OneOrMany {
    OneOrMany::One("none".into())
}
fn default_storage() -> OneOrMany {
    OneOrMany::One("mmap".into())
}
fn default_peer_list() -> Vec<String> {
    ["hnswlib", "faiss-hnsw", "faiss-flat", "usearch-f32", "usearch-bf16"].iter().map(|s| s.to_string()).collect()
}

impl Config {
    /// Reads a `.toml` or `.json` config and checks it.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let cfg: Config = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
            _ => toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?,
        };
        cfg.validate().with_context(|| format!("checking {}", path.display()))?;
        Ok(cfg)
    }

    /// Rejects configs that cannot run, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 {
            bail!("k must be at least 1");
        }
        if self.datasets.is_empty() {
            bail!("no datasets");
        }
        if self.combos.is_empty() {
            bail!("no combos");
        }
        if self.ef_search.is_empty() || self.ef_search.contains(&0) {
            bail!("ef_search must list positive values");
        }
        if self.build_threads.is_empty() {
            bail!("build_threads must list at least one count (0 = all threads)");
        }
        if self.build.m < 2 || self.build.ef_construction == 0 {
            bail!("build.m must be >= 2 and build.ef_construction >= 1");
        }
        for d in &self.datasets {
            if !matches!(d.metric.as_str(), "cosine" | "euclidean" | "dot") {
                bail!("dataset {}: metric must be cosine, euclidean or dot, not {:?}", d.name, d.metric);
            }
        }
        for t in &self.targets {
            let t = Target::parse(t)?;
            t.check_k(self.k)?;
        }
        let combos = self.combos();
        let mut names: Vec<&str> = combos.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!("combination {} is listed twice", w[0]);
        }
        Ok(())
    }

    /// Every concrete combination, in config order.
    pub fn combos(&self) -> Vec<Combo> {
        let mut out = Vec::new();
        for spec in &self.combos {
            for index in spec.index.items() {
                for distance in spec.distance.items() {
                    for quantizer in spec.quantizer.items() {
                        for storage in spec.storage.items() {
                            for cipher in spec.cipher.items() {
                                let mut name = format!("{index}-{distance}-{quantizer}-{storage}-{cipher}");
                                if let Some(r) = spec.rescore_factor {
                                    name.push_str(&format!("-r{r}"));
                                }
                                out.push(Combo {
                                    name,
                                    index: index.clone(),
                                    distance: distance.clone(),
                                    quantizer: quantizer.clone(),
                                    storage: storage.clone(),
                                    cipher: cipher.clone(),
                                    rescore_factor: spec.rescore_factor,
                                    plugins: spec.plugins.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The thread count meant by "all threads".
    pub fn all_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        }
    }

    /// Build thread counts with 0 resolved, duplicates removed, order kept.
    pub fn build_thread_counts(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for &t in &self.build_threads {
            let t = if t == 0 { self.all_threads() } else { t };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }
}

impl DatasetConfig {
    /// Resolves `dir` (with `$NEEDLE_DATA_DIR`) against the workspace root.
    pub fn resolve_dir(&self, workspace: &Path) -> PathBuf {
        let data_dir = std::env::var("NEEDLE_DATA_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace.join("..").join("shared").join("data"));
        let data_dir = data_dir.to_string_lossy().into_owned();
        let dir = self.dir.replace("${NEEDLE_DATA_DIR}", &data_dir).replace("$NEEDLE_DATA_DIR", &data_dir);
        let p = PathBuf::from(dir);
        if p.is_absolute() {
            p
        } else {
            workspace.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_config_parses_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml" || e == "json") {
                let config = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                config.validate().unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 3, "expected the committed configs, found {seen}");
        let plugins = Config::load(&dir.join("plugins.toml")).unwrap();
        let combos = plugins.combos();
        assert!(combos.iter().any(|c| c.index == "ivf" && c.plugins.len() == 1));
        assert!(combos.iter().any(|c| c.cipher == "aes-256-gcm"));
    }

    const SAMPLE: &str = r#"
        name = "t"
        k = 10
        ef_search = [16, 32]
        targets = ["recall@10 >= 0.9", "hnsw-*: recall@10 >= 0.95 with p99 <= 2 ms"]
        [[datasets]]
        name = "d"
        dir = "$NEEDLE_DATA_DIR/x"
        limit = 100
        [[combos]]
        quantizer = ["none", "sq8"]
        [[combos]]
        index = "flat"
    "#;

    #[test]
    fn parses_and_expands_product() {
        let cfg: Config = toml::from_str(SAMPLE).unwrap();
        cfg.validate().unwrap();
        let names: Vec<String> = cfg.combos().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["hnsw-cosine-none-mmap-none", "hnsw-cosine-sq8-mmap-none", "flat-cosine-none-mmap-none"]);
        assert_eq!(cfg.build.m, 16);
        assert_eq!(cfg.build_threads, [1, 0]);
    }

    #[test]
    fn rejects_duplicates_and_bad_targets() {
        let dup = SAMPLE.replace("index = \"flat\"", "index = \"hnsw\"");
        let cfg: Config = toml::from_str(&dup).unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("twice"));
        let bad = SAMPLE.replace("recall@10 >= 0.9\"", "recall@5 >= 0.9\"");
        let cfg: Config = toml::from_str(&bad).unwrap();
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn json_configs_and_checked_in_configs_load() {
        let json = r#"{"name": "j", "datasets": [{"name": "d", "dir": "x"}],
                       "combos": [{"index": "flat", "quantizer": ["none"]}], "targets": ["recall@10 >= 0.99"]}"#;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, json).unwrap();
        let cfg = Config::load(&p).unwrap();
        assert_eq!(cfg.combos()[0].name, "flat-cosine-none-mmap-none");
        assert_eq!(cfg.ef_search, default_ef_sweep());
        let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
        for name in ["default.toml", "quick.toml"] {
            Config::load(&configs.join(name)).unwrap();
        }
        std::fs::write(&p, json.replace("\"name\": \"j\"", "\"name\": \"j\", \"typo\": 1")).unwrap();
        assert!(Config::load(&p).is_err(), "unknown fields are rejected");
    }

    #[test]
    fn expands_data_dir() {
        let cfg: Config = toml::from_str(SAMPLE).unwrap();
        let d = &cfg.datasets[0];
        if std::env::var_os("NEEDLE_DATA_DIR").is_none() {
            assert_eq!(d.resolve_dir(Path::new("/w/main")), PathBuf::from("/w/main/../shared/data/x"));
        }
    }
}
