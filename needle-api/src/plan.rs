//! The query planner: resolves a filter to the exact set of matching slots and picks how a query
//! runs (exact scan, graph walk, filtered graph walk).
//!
//! It reads a collection only through a read-only view — the field indexes and a way to look up a
//! slot's metadata — and imports nothing from `collection/`, which calls it. The indexes themselves
//! are plain data owned by the collection's records (`collection/meta_index.rs`).
//!
//! # How a filtered query runs
//!
//! 1. The filter becomes the exact set of matching live slots ([`FieldIndex::matching`]: posting
//!    lists merged as bitmaps, documents read only for values the index cannot answer). Its size is
//!    the filter's selectivity — measured, not guessed.
//! 2. No match: no results. Few matches: the matches are scanned exactly (full precision), which is
//!    exact and cheaper than any walk. Otherwise the HNSW graph is walked with the set as the
//!    filter: only matching nodes are scored and returned; when a node's neighbour fails the
//!    filter, the walk looks at that neighbour's own neighbours (two hops), so it crosses regions
//!    the filter empties without scoring them. If the walk ends with fewer than `k` results (a
//!    disconnected set of matches) or runs out of budget, HNSW answers by an exact scan of the
//!    matches — so a filtered search always returns `min(k, matches)` results.
//! 3. "Few" is a cost model: the walk computes about 15–22 distances per unit of `ef` whatever the
//!    selectivity `s` (measured on wordnet-minilm 20k at 50% and 10%); it is charged
//!    [`GRAPH_COST_PER_EF`]` · ef / √s` to account for the link reads and filter checks of two-hop
//!    bridging and for the lower recall of walks in sparse match sets. A scan costs one distance per
//!    match; the cheaper one wins. [`SearchParams::with_strategy`] overrides the choice.
//!
//! The set is computed once per call, so [`Collection::batch_search`] shares it across queries.
//!
//! [`SearchParams::with_strategy`]: crate::SearchParams::with_strategy
//! [`Collection::batch_search`]: crate::Collection::batch_search

use needle_core::filter::{FieldIndex, Filter, SlotSet};
use serde_json::Value;

use crate::search::Strategy;

/// Cost charged to a filtered graph walk per unit of `ef` at selectivity 1 (scaled by
/// `1 / √selectivity`), in distance computations. The walk measured 15–22 per unit of `ef` with
/// `search_explain` on wordnet-minilm (`tests/filter_recall.rs`); the margin favours exact scans.
pub const GRAPH_COST_PER_EF: f64 = 24.0;

/// A filter resolved against a collection: the exact set of matching live slots.
#[derive(Debug, Clone)]
pub(crate) struct Matches {
    pub set: SlotSet,
    pub count: usize,
}

/// The live slots matching `filter`, from a collection's field indexes and its metadata by slot
/// (read for values the indexes cannot answer).
pub(crate) fn matching<D: std::ops::Deref<Target = Value>>(
    fields: &FieldIndex,
    doc: &dyn Fn(u32) -> Option<D>,
    filter: &Filter,
) -> Matches {
    let set = fields.matching(filter, doc);
    let count = set.len();
    Matches { set, count }
}

/// Picks the strategy for a query: `forced` when given, otherwise exact for indexes that are exact
/// anyway (`exact_index`: [`Index::is_exact`](needle_core::Index::is_exact)) or when scanning the
/// matches is cheaper than the estimated graph walk.
pub(crate) fn plan(
    forced: Option<Strategy>,
    exact_index: bool,
    live: usize,
    matches: Option<&Matches>,
    ef: usize,
) -> Strategy {
    if let Some(s) = forced {
        return match (s, matches) {
            (Strategy::Exact, _) => Strategy::Exact,
            (_, Some(_)) => Strategy::FilteredGraph,
            (_, None) => Strategy::Graph,
        };
    }
    if exact_index {
        return Strategy::Exact;
    }
    let Some(m) = matches else { return Strategy::Graph };
    if m.count == 0 || live == 0 {
        return Strategy::Exact;
    }
    let selectivity = m.count as f64 / live as f64;
    let graph_cost = (GRAPH_COST_PER_EF * ef as f64 / selectivity.sqrt()).min(live as f64);
    if (m.count as f64) <= graph_cost {
        Strategy::Exact
    } else {
        Strategy::FilteredGraph
    }
}
