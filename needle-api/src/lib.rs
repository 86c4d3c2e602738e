//! # Needle — an embedded vector database
//!
//! One `.needle` file holds collections of embeddings with JSON metadata; an HNSW index answers
//! nearest-neighbour queries. Everything runs inside your process.
//!
//! ```
//! use needle::{Database, CollectionConfig, DistanceFunction, SearchParams};
//! # fn main() -> needle::Result<()> {
//! let db = Database::in_memory();
//! db.create_collection_with_config(
//!     CollectionConfig::new("docs", 3).with_distance(DistanceFunction::Cosine),
//! )?;
//! let docs = db.collection("docs")?;
//! docs.insert("a", &[1.0, 0.0, 0.0], Some(serde_json::json!({"title": "first"})))?;
//! docs.insert("b", &[0.0, 1.0, 0.0], None)?;
//! let hits = docs.search_with(&[0.9, 0.1, 0.0], &SearchParams::new(1).with_ef_search(32))?;
//! assert_eq!(hits[0].id, "a");
//! assert_eq!(hits[0].metadata, Some(serde_json::json!({"title": "first"})));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod collection;
mod config;
mod database;
mod durability;
mod encryption;
mod explain;
#[cfg(feature = "hybrid")]
mod hybrid;
mod integrity;
mod locks;
mod paths;
mod persist;
mod plan;
pub mod plugins;
mod random;
mod search;
mod tune;
mod validate;
mod wal_ops;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod server;

pub use collection::{BatchRow, Collection, CollectionInfo, VectorRecord};
pub use config::{
    CollectionConfig, DatabaseConfig, DistanceFunction, QuantizationType, DEFAULT_EF_CONSTRUCTION, DEFAULT_EF_SEARCH,
    DEFAULT_HNSW_M, DEFAULT_WAL_AUTOCHECKPOINT,
};
pub use database::{lock_path, wal_path, Database};
pub use durability::Durability;
pub use encryption::EncryptionConfig;
pub use explain::{Explained, PhaseTimes, SearchProfile};
#[cfg(feature = "hybrid")]
pub use hybrid::{HybridParams, HybridResult, DEFAULT_CANDIDATES, DEFAULT_RRF_K};
pub use needle_core::filter::Filter;
pub use needle_core::{ComponentKind, Error, ErrorCode, Registry, Result};
pub use search::{SearchParams, SearchResult, Strategy};
pub use tune::{auto_tune, PerformanceProfile, TunedConfig, TunedIndexConfig, TuningConstraints};
pub use validate::{collection_name as validate_collection_name, MAX_ID_BYTES, MAX_K, MAX_VECTOR_NORM};

/// The engine crate, for implementing custom components.
pub use needle_core as core;

/// Which distance kernel backend this process uses (`avx512`, `avx2`, `neon`, `scalar`).
pub fn simd_backend() -> String {
    Registry::global().distance("euclidean").map(|d| d.backend_name().to_string()).unwrap_or_else(|_| "unknown".into())
}
