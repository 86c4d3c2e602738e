//! `search_explain`: a search's results together with a profile of how it ran.
//!
//! ```
//! use needle::{Database, Strategy};
//! # fn main() -> needle::Result<()> {
//! let db = Database::in_memory();
//! let c = db.create_collection("docs", 2)?;
//! c.insert("a", &[1.0, 0.0], None)?;
//! let e = c.search_explain(&[1.0, 0.1], 1)?;
//! assert_eq!(e.results[0].id, "a");
//! assert_eq!(e.profile.strategy, Strategy::Exact); // tiny collections are scanned
//! println!("{}", serde_json::to_string_pretty(&e.profile).unwrap());
//! # Ok(()) }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::search::{SearchResult, Strategy};

impl std::str::FromStr for Strategy {
    type Err = needle_core::Error;
    fn from_str(s: &str) -> needle_core::Result<Strategy> {
        match s {
            "graph" => Ok(Strategy::Graph),
            "filtered-graph" | "filtered_graph" => Ok(Strategy::FilteredGraph),
            "exact" => Ok(Strategy::Exact),
            other => Err(needle_core::Error::InvalidArgument(format!(
                "unknown strategy '{other}' (graph, filtered-graph, exact)"
            ))),
        }
    }
}

/// Wall time of each phase of one search, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseTimes {
    /// Resolving the filter to its matching slots (0 without a filter; shared by a batch).
    pub filter_us: f64,
    /// Choosing the strategy and preparing the query (norm, quantized form).
    pub plan_us: f64,
    /// The index walk or the exact scan.
    pub search_us: f64,
    /// Rescoring quantized candidates at full precision.
    pub rescore_us: f64,
    /// Looking up ids and metadata of the results.
    pub fetch_us: f64,
    /// Everything, including taking the lock.
    pub total_us: f64,
}

pub(crate) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// How one search ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchProfile {
    /// The strategy used (`graph`, `filtered-graph`, `exact`).
    pub strategy: Strategy,
    /// The index that answered (`hnsw`, `flat`, …).
    pub index: String,
    /// Results asked for.
    pub k: usize,
    /// `ef` used by the graph search (`max(ef_search, candidates)`; 0 for exact scans).
    pub ef: usize,
    /// Live vectors in the collection.
    pub live: usize,
    /// Vectors matching the filter (None without a filter).
    pub filter_matches: Option<usize>,
    /// `filter_matches / live`.
    pub selectivity: Option<f64>,
    /// Graph layers walked (0 for an exact scan).
    pub layers_traversed: u32,
    /// Graph nodes whose neighbours were expanded.
    pub nodes_visited: u64,
    /// Distances computed (on codes when quantized, plus exact rescoring).
    pub distance_computations: u64,
    /// Whether the index searched quantized codes.
    pub quantized: bool,
    /// Candidates rescored at full precision (0 unless quantized).
    pub candidates_rescored: usize,
    /// Results returned.
    pub returned: usize,
    /// Time per phase.
    pub phases: PhaseTimes,
}

/// Results and the profile of the search that produced them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explained {
    /// The results, as `search_with` returns them.
    pub results: Vec<SearchResult>,
    /// How they were found.
    pub profile: SearchProfile,
}
