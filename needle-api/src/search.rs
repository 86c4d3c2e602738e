//! Per-query knobs ([`SearchParams`]) and results ([`SearchResult`]).

use needle_core::filter::Filter;
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
    /// With quantization: candidates always rescored exactly, as a multiple of k (collection default
    /// when `None`); more are rescored while one may still be among the k nearest.
    pub rescore_factor: Option<usize>,
    /// Only vectors whose metadata matches (see [`Filter`]); results are `min(k, matches)`.
    pub filter: Option<Filter>,
    /// Overrides the planner's choice (`Exact` scans exactly; `Graph`/`FilteredGraph` walk the
    /// index). `None`: chosen per query from the filter's selectivity (see `needle::filter`).
    pub strategy: Option<Strategy>,
}

impl SearchParams {
    /// `k` results, collection defaults for everything else.
    pub fn new(k: usize) -> Self {
        SearchParams { k, ef_search: None, include_metadata: true, rescore_factor: None, filter: None, strategy: None }
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
    /// Keeps only vectors whose metadata matches `filter`.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }
    /// Forces a search strategy instead of letting the planner choose.
    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = Some(strategy);
        self
    }
}

/// How a query was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// The HNSW graph, unfiltered.
    #[default]
    Graph,
    /// The HNSW graph, walking through non-matching nodes but returning only matches.
    FilteredGraph,
    /// Every candidate (all live vectors, or the filter's matches) scored exactly.
    Exact,
}

impl Strategy {
    /// `graph`, `filtered-graph` or `exact`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Graph => "graph",
            Strategy::FilteredGraph => "filtered-graph",
            Strategy::Exact => "exact",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
