//! Per-query knobs ([`SearchParams`]) and results ([`SearchResult`]).

use serde::{Deserialize, Serialize};

/// One search hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The vector's id.
    pub id: String,
    /// Distance to the query (smaller is closer; see `DistanceFunction`).
    pub distance: f32,
    /// The vector's metadata (None when it has none or when not requested).
    pub metadata: Option<serde_json::Value>,
}

/// Per-query parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    /// Number of results wanted (≥ 1).
    pub k: usize,
    /// HNSW `ef_search` for this query (the collection's default when `None`).
    pub ef_search: Option<usize>,
    /// Whether results carry metadata (default true).
    pub include_metadata: bool,
    /// With quantization: candidates rescored exactly, as a multiple of k (collection default when `None`).
    pub rescore_factor: Option<usize>,
}

impl SearchParams {
    /// `k` results, collection defaults for everything else.
    pub fn new(k: usize) -> Self {
        SearchParams { k, ef_search: None, include_metadata: true, rescore_factor: None }
    }
    /// Sets `ef_search` for this query.
    pub fn with_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = Some(ef);
        self
    }
    /// Whether to return metadata.
    pub fn with_include_metadata(mut self, include: bool) -> Self {
        self.include_metadata = include;
        self
    }
    /// Sets the rescore factor for this query.
    pub fn with_rescore_factor(mut self, factor: usize) -> Self {
        self.rescore_factor = Some(factor);
        self
    }
}
