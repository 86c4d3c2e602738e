//! Configuration of a database ([`DatabaseConfig`]) and of a collection ([`CollectionConfig`]).
//!
//! Both are plain builders. A collection config names its components by registry id, so it can
//! name a component registered at run time (a custom distance, a plugin) as easily as a built-in;
//! the enums [`DistanceFunction`] and [`QuantizationType`] are conveniences for the built-ins.

use std::sync::Arc;

use needle_core::{Components, Registry};

use crate::durability::Durability;
use crate::encryption::EncryptionConfig;
use serde::{Deserialize, Serialize};

/// Default HNSW `M` (links per node per layer).
pub const DEFAULT_HNSW_M: usize = 16;
/// Default HNSW `ef_construction`.
pub const DEFAULT_EF_CONSTRUCTION: usize = 200;
/// Default HNSW `ef_search` (dynamic list size while searching).
pub const DEFAULT_EF_SEARCH: usize = 64;
/// Default WAL size that triggers an automatic checkpoint (64 MiB).
pub const DEFAULT_WAL_AUTOCHECKPOINT: u64 = 64 << 20;
/// Default seed for the HNSW level generator (builds are reproducible).
pub const DEFAULT_SEED: u64 = 0x6e65_6564_6c65; // "needle"

/// The built-in distance functions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DistanceFunction {
    /// `1 − cos(q, v)`; zero vectors are rejected.
    Cosine,
    /// `‖q − v‖₂`.
    Euclidean,
    /// `−(q·v)` (maximum inner product).
    DotProduct,
    /// `Σ |qᵢ − vᵢ|`.
    Manhattan,
    /// A distance registered at run time (or by a plugin) under this id.
    Custom(String),
}

impl DistanceFunction {
    /// The registry id.
    pub fn id(&self) -> &str {
        match self {
            DistanceFunction::Cosine => "cosine",
            DistanceFunction::Euclidean => "euclidean",
            DistanceFunction::DotProduct => "dot",
            DistanceFunction::Manhattan => "manhattan",
            DistanceFunction::Custom(id) => id,
        }
    }

    /// Parses an id or common alias (`l2`, `ip`, `l1`, …); other strings become `Custom`.
    pub fn from_id(s: &str) -> DistanceFunction {
        match needle_core::Metric::from_id(s) {
            Some(needle_core::Metric::Cosine) => DistanceFunction::Cosine,
            Some(needle_core::Metric::Euclidean) => DistanceFunction::Euclidean,
            Some(needle_core::Metric::Dot) => DistanceFunction::DotProduct,
            Some(needle_core::Metric::Manhattan) => DistanceFunction::Manhattan,
            None => DistanceFunction::Custom(s.to_string()),
        }
    }
}

/// The built-in quantizations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum QuantizationType {
    /// Full-precision `f32` vectors only.
    None,
    /// Scalar 8-bit codes (trained min/max per dimension); searched on codes, rescored exactly.
    Scalar,
    /// A quantizer registered at run time (or by a plugin) under this id.
    Custom(String),
}

impl QuantizationType {
    /// The registry id.
    pub fn id(&self) -> &str {
        match self {
            QuantizationType::None => "none",
            QuantizationType::Scalar => "sq8",
            QuantizationType::Custom(id) => id,
        }
    }

    /// Parses an id (`none`, `sq8`/`scalar`, or any other registered id).
    pub fn from_id(s: &str) -> QuantizationType {
        match s.to_ascii_lowercase().as_str() {
            "none" | "f32" => QuantizationType::None,
            "sq8" | "scalar" => QuantizationType::Scalar,
            _ => QuantizationType::Custom(s.to_string()),
        }
    }
}

/// How a collection is built: its name, dimensions and components.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    /// Collection name (1–128 characters of `[A-Za-z0-9_.-]`, not starting with `.`).
    pub name: String,
    /// Vector dimensions.
    pub dimensions: usize,
    /// Distance function.
    pub distance: DistanceFunction,
    /// Index registry id (`hnsw` by default, `flat` for exact search).
    pub index: String,
    /// HNSW `M`.
    pub hnsw_m: usize,
    /// HNSW `ef_construction`.
    pub ef_construction: usize,
    /// Default `ef_search` for queries that do not set one.
    pub ef_search: usize,
    /// Quantization.
    pub quantization: QuantizationType,
    /// Seed for reproducible index builds.
    pub seed: u64,
    /// With quantization: how many candidates (as a multiple of k) are always rescored exactly
    /// (never more than the beam, `max(ef_search, k)`); rescoring continues past them while a
    /// remaining candidate may still be among the k nearest (`needle_core::quant::rescore`).
    pub rescore_factor: usize,
    /// Name of the metadata field holding text for hybrid (BM25) search, if any.
    #[serde(default)]
    pub text_field: Option<String>,
}

impl CollectionConfig {
    /// Defaults: cosine, HNSW with M = 16, ef_construction = 200, ef_search = 64, no quantization.
    pub fn new(name: impl Into<String>, dimensions: usize) -> Self {
        CollectionConfig {
            name: name.into(),
            dimensions,
            distance: DistanceFunction::Cosine,
            index: "hnsw".into(),
            hnsw_m: DEFAULT_HNSW_M,
            ef_construction: DEFAULT_EF_CONSTRUCTION,
            ef_search: DEFAULT_EF_SEARCH,
            quantization: QuantizationType::None,
            seed: DEFAULT_SEED,
            rescore_factor: 4,
            text_field: None,
        }
    }

    /// Sets the distance function.
    pub fn with_distance(mut self, distance: DistanceFunction) -> Self {
        self.distance = distance;
        self
    }
    /// Sets the index by registry id (`hnsw`, `flat`, or a registered one).
    pub fn with_index(mut self, id: impl Into<String>) -> Self {
        self.index = id.into();
        self
    }
    /// Sets HNSW `M`.
    pub fn with_hnsw_m(mut self, m: usize) -> Self {
        self.hnsw_m = m;
        self
    }
    /// Sets HNSW `ef_construction`.
    pub fn with_hnsw_ef_construction(mut self, ef: usize) -> Self {
        self.ef_construction = ef;
        self
    }
    /// Sets the default `ef_search`.
    pub fn with_hnsw_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = ef;
        self
    }
    /// Sets the quantization.
    pub fn with_quantization(mut self, q: QuantizationType) -> Self {
        self.quantization = q;
        self
    }
    /// Sets the quantizer by registry id.
    pub fn with_quantizer(self, id: &str) -> Self {
        self.with_quantization(QuantizationType::from_id(id))
    }
    /// Sets the build seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets how many candidates per result are at least rescored exactly when quantized (≥ 1).
    pub fn with_rescore_factor(mut self, factor: usize) -> Self {
        self.rescore_factor = factor;
        self
    }
    /// Names the metadata field that holds the text used by hybrid search.
    pub fn with_text_field(mut self, field: impl Into<String>) -> Self {
        self.text_field = Some(field.into());
        self
    }

    /// The component ids and parameters this config asks for.
    pub fn components(&self) -> Components {
        let index_params = if self.index == "hnsw" {
            serde_json::json!({
                "m": self.hnsw_m,
                "ef_construction": self.ef_construction,
                "ef_search": self.ef_search,
                "seed": self.seed,
            })
        } else {
            serde_json::json!({})
        };
        Components {
            index: self.index.clone(),
            index_params,
            distance: self.distance.id().to_string(),
            quantizer: self.quantization.id().to_string(),
            quantizer_params: serde_json::json!({}),
        }
    }
}

/// How a database is opened.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Files larger than this are memory-mapped rather than read (bytes).
    pub mmap_threshold: u64,
    /// Bound on the database's document cache (bytes; default 1 GiB, 0 keeps nothing). The
    /// cache holds the metadata documents parsed from mapped files (files of at least
    /// `mmap_threshold` bytes): every search result, `get` and filter that reads a stored
    /// document parses it from the map and keeps it here, least recently used evicted first, and
    /// reads it again from the map once evicted. Each entry counts its JSON value's heap bytes
    /// plus 96 bytes of overhead; the total is [`crate::Database::cache_bytes`] and part of
    /// `needle_memory_bytes`. Not counted, because they are working state rather than copies of
    /// the file: vectors and the index (in the map, paged by the OS, or in memory after a
    /// write), ids, the filter and text indexes, and metadata written since the file was
    /// loaded (in memory until the next open). Files read into memory decode everything at open.
    pub cache_size: u64,
    /// Open without writing; `save` and writes fail with `ReadOnly`.
    pub read_only: bool,
    /// Storage backend id for the file (`mmap` by default).
    pub storage: String,
    /// Registry to resolve component ids (the process-wide one by default).
    pub registry: Option<Arc<Registry>>,
    /// Plugin shared libraries to load into the registry before opening (see [`crate::plugins`]).
    /// Paths come from the program's own configuration only, never from network input.
    pub plugin_paths: Vec<std::path::PathBuf>,
    /// When writes become durable (see [`Durability`]).
    pub durability: Durability,
    /// Encryption at rest (None: plaintext).
    pub encryption: Option<EncryptionConfig>,
    /// Checkpoint automatically once the write-ahead log exceeds this many bytes (0: never;
    /// default [`DEFAULT_WAL_AUTOCHECKPOINT`], 64 MiB). The write that crosses it runs the
    /// checkpoint after it is committed; the log, and so recovery time, stays about this size.
    pub wal_autocheckpoint: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            mmap_threshold: 10 << 20,
            cache_size: 1 << 30,
            read_only: false,
            storage: "mmap".into(),
            registry: None,
            plugin_paths: Vec::new(),
            durability: Durability::Immediate,
            encryption: None,
            wal_autocheckpoint: DEFAULT_WAL_AUTOCHECKPOINT,
        }
    }
}

impl DatabaseConfig {
    /// Defaults: mmap above 10 MiB, 1 GiB cache, read-write, the global registry.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the mmap threshold in bytes.
    pub fn with_mmap_threshold(mut self, bytes: u64) -> Self {
        self.mmap_threshold = bytes;
        self
    }
    /// Bounds the document cache at `bytes` (see [`DatabaseConfig::cache_size`]).
    pub fn with_cache_size(mut self, bytes: u64) -> Self {
        self.cache_size = bytes;
        self
    }
    /// Opens read-only.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }
    /// Uses the storage backend registered under `id`.
    pub fn with_storage(mut self, id: impl Into<String>) -> Self {
        self.storage = id.into();
        self
    }
    /// Resolves component ids in `registry` instead of the global one.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }
    /// Loads the plugin shared library at `path` into the registry when the database opens.
    pub fn with_plugin(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.plugin_paths.push(path.into());
        self
    }

    /// Sets when writes become durable.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
    /// Encrypts the database at rest (every section and WAL record).
    pub fn with_encryption(mut self, encryption: EncryptionConfig) -> Self {
        self.encryption = Some(encryption);
        self
    }
    /// Checkpoints automatically when the WAL grows past `bytes` (0 disables; default 64 MiB).
    pub fn with_wal_autocheckpoint(mut self, bytes: u64) -> Self {
        self.wal_autocheckpoint = bytes;
        self
    }

    pub(crate) fn registry(&self) -> Arc<Registry> {
        self.registry.clone().unwrap_or_else(|| Registry::global().clone())
    }
}
