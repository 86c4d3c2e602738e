//! Searching the graph: greedy descent through the upper layers, the beam search of one layer
//! (Malkov & Yashunin, Algorithm 2), and the k-NN query on top of them (Algorithm 5).
//!
//! Hot-path choices:
//! - When a node is expanded, all its unvisited neighbours are gathered first, prefetched, and
//!   scored with **one** [`VectorSource::score`] call, so a SIMD or quantized kernel sees a batch
//!   and the `dyn` call is paid once per node, not per pair.
//! - All mutable state lives in a per-thread [`Scratch`]; a search allocates only for its results.
//! - The layer search is generic over which nodes may be returned ([`Accept`]), so the common
//!   unfiltered case (and every search made while building) compiles to a loop with no per-node
//!   checks.
//!
//! Deleted and filtered-out nodes are traversed (the graph stays navigable through them) but never
//! enter `W`, so `ef` counts returnable results. When `W` cannot be filled because few nodes pass,
//! the search would wander the whole graph; past a budget of distance computations it stops and
//! the query is answered by an exact scan instead, which is also what tiny indexes use.

use super::graph::Graph;
use super::params::Params;
use super::scratch::{with_scratch, Scratch};
use crate::index::bitset::Bitset;
use crate::index::topk::{scan_top_k, Closest, Near};
use crate::{Candidate, IndexSearch, PreparedQuery, SearchStats, VectorSource};

/// An index of at most this many times `ef` live nodes is searched exactly: the graph search would
/// score nearly every node anyway.
const EXACT_BELOW_EF_MULTIPLE: usize = 2;

/// Which visited nodes may enter the result list `W`.
pub trait Accept {
    /// Whether `slot` may be returned.
    fn accept(&self, slot: u32) -> bool;
}

/// Every node (building, or searching an index without tombstones or filter).
#[derive(Debug, Clone, Copy)]
pub struct AcceptAll;

impl Accept for AcceptAll {
    #[inline]
    fn accept(&self, _: u32) -> bool {
        true
    }
}

/// Live nodes that pass the query's filter.
pub struct AcceptLive<'a> {
    /// Tombstones.
    pub deleted: &'a Bitset,
    /// The query's filter, if any.
    pub filter: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
}

impl Accept for AcceptLive<'_> {
    #[inline]
    fn accept(&self, slot: u32) -> bool {
        !self.deleted.get(slot) && self.filter.is_none_or(|f| f(slot))
    }
}

/// The knobs of one layer search.
#[derive(Debug, Clone, Copy)]
pub struct Beam {
    /// The layer searched.
    pub level: usize,
    /// `ef`: how many accepted nodes `W` keeps.
    pub ef: usize,
    /// Give up after this many distance computations (`u64::MAX`: never).
    pub budget: u64,
}

/// What one layer search works on.
pub struct Layer<'a> {
    /// The graph.
    pub graph: &'a Graph,
    /// Distances.
    pub source: &'a dyn VectorSource,
    /// The prepared query.
    pub query: &'a PreparedQuery,
}

impl Layer<'_> {
    /// Scores `slots` (already in `s.batch`) into `s.dists` with one source call.
    #[inline]
    fn score_batch(&self, s: &mut Scratch, stats: &mut SearchStats) {
        for &n in &s.batch {
            self.source.prefetch(n);
        }
        s.dists.resize(s.batch.len(), 0.0);
        self.source.score(self.query, &s.batch, &mut s.dists);
        stats.distance_computations += s.batch.len() as u64;
    }

    /// Distance from the query to one node (the entry point), as a batch of one.
    pub fn score_one(&self, slot: u32, s: &mut Scratch, stats: &mut SearchStats) -> Near {
        s.batch.clear();
        s.batch.push(slot);
        self.score_batch(s, stats);
        Near::new(slot, s.dists[0])
    }

    /// Greedy search (`ef = 1`) from `cur` down through layers `top … bottom + 1`; returns the
    /// closest node found on layer `bottom + 1` (or `cur` when `top ≤ bottom`).
    pub fn descend(&self, mut cur: Near, top: usize, bottom: usize, s: &mut Scratch, stats: &mut SearchStats) -> Near {
        for level in (bottom + 1..=top).rev() {
            stats.layers_traversed += 1;
            loop {
                stats.nodes_visited += 1;
                self.graph.read_links(cur.slot, level, &mut s.batch);
                if s.batch.is_empty() {
                    break;
                }
                self.score_batch(s, stats);
                let best = s.batch.iter().zip(&s.dists).map(|(&n, &d)| Near::new(n, d)).min().expect("non-empty");
                if best < cur {
                    cur = best;
                } else {
                    break;
                }
            }
        }
        cur
    }

    /// Algorithm 2 on `beam.level`: beam search from `entries` keeping the `beam.ef` closest
    /// accepted nodes in `s.results`. Returns false when it stopped because more than
    /// `beam.budget` distances were computed (the results are then incomplete).
    pub fn search<A: Accept>(
        &self,
        accept: &A,
        entries: &[Near],
        beam: Beam,
        s: &mut Scratch,
        stats: &mut SearchStats,
    ) -> bool {
        let Beam { level, ef, budget } = beam;
        s.visited.begin(self.graph.capacity());
        s.candidates.clear();
        s.results.clear();
        for &e in entries {
            if s.visited.insert(e.slot) {
                s.candidates.push(Closest(e));
                if accept.accept(e.slot) {
                    s.results.push(e);
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
        }
        let mut spent = 0u64;
        while let Some(Closest(c)) = s.candidates.pop() {
            if s.results.len() >= ef && s.results.peek().is_some_and(|f| c.dist > f.dist) {
                break; // every remaining candidate is farther than the worst of a full W
            }
            stats.nodes_visited += 1;
            self.graph.read_links(c.slot, level, &mut s.links);
            s.batch.clear();
            for &n in &s.links {
                if s.visited.insert(n) {
                    s.batch.push(n);
                }
            }
            if s.batch.is_empty() {
                continue;
            }
            self.score_batch(s, stats);
            spent += s.batch.len() as u64;
            for (&n, &d) in s.batch.iter().zip(&s.dists) {
                let bound = if s.results.len() < ef {
                    f32::INFINITY
                } else {
                    s.results.peek().map_or(f32::INFINITY, |f| f.dist)
                };
                if d < bound {
                    let near = Near::new(n, d);
                    s.candidates.push(Closest(near));
                    if accept.accept(n) {
                        s.results.push(near);
                        if s.results.len() > ef {
                            s.results.pop();
                        }
                    }
                }
            }
            if spent > budget {
                return false;
            }
        }
        true
    }
}

impl Layer<'_> {
    /// Filtered beam search on layer 0 that scores only nodes passing the filter (two-hop
    /// expansion, in the spirit of ACORN-1): when a node is expanded, its neighbours that pass are
    /// candidates, and for each neighbour that fails, *its* neighbours that pass are candidates too
    /// — so the walk crosses regions where the filter removes most nodes without computing their
    /// distances. Bridges are crossed only while fewer than `graph.m()` candidates were gathered
    /// (a permissive filter walks like an unfiltered search), and at most `graph.m_max0()` are
    /// gathered per expansion (direct neighbours first, then two-hop ones in link order). The entry
    /// point is expanded even when it fails the filter. Returns false when more than `beam.budget`
    /// distances were computed.
    pub fn search_two_hop<A: Accept>(
        &self,
        accept: &A,
        entry: Near,
        beam: Beam,
        s: &mut Scratch,
        stats: &mut SearchStats,
    ) -> bool {
        let Beam { level, ef, budget } = beam;
        let cap = self.graph.m_max0().max(1);
        let enough = self.graph.m().clamp(1, cap);
        let mut hop: Vec<u32> = Vec::with_capacity(cap);
        s.visited.begin(self.graph.capacity());
        s.candidates.clear();
        s.results.clear();
        s.visited.insert(entry.slot);
        s.candidates.push(Closest(entry));
        if accept.accept(entry.slot) {
            s.results.push(entry);
        }
        let mut spent = 0u64;
        while let Some(Closest(c)) = s.candidates.pop() {
            if s.results.len() >= ef && s.results.peek().is_some_and(|f| c.dist > f.dist) {
                break;
            }
            stats.nodes_visited += 1;
            self.graph.read_links(c.slot, level, &mut s.links);
            s.batch.clear();
            // Direct neighbours that pass; remember the ones that fail as bridges.
            let mut bridges = 0;
            for i in 0..s.links.len() {
                let n = s.links[i];
                if accept.accept(n) {
                    if s.batch.len() < cap && s.visited.insert(n) {
                        s.batch.push(n);
                    }
                } else {
                    s.links[bridges] = n;
                    bridges += 1;
                }
            }
            // Two hops through the failing ones, each bridge crossed once per query.
            for i in 0..bridges {
                if s.batch.len() >= enough {
                    break;
                }
                let b = s.links[i];
                if !s.visited.insert(b) {
                    continue;
                }
                self.graph.read_links(b, level, &mut hop);
                for &n in &hop {
                    if accept.accept(n) && s.visited.insert(n) {
                        s.batch.push(n);
                    }
                }
            }
            if s.batch.is_empty() {
                continue;
            }
            self.score_batch(s, stats);
            spent += s.batch.len() as u64;
            for (&n, &d) in s.batch.iter().zip(&s.dists) {
                let full = s.results.len() >= ef;
                if !full || s.results.peek().is_some_and(|f| d < f.dist) {
                    let near = Near::new(n, d);
                    s.candidates.push(Closest(near));
                    s.results.push(near);
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
            if spent > budget {
                return false;
            }
        }
        true
    }
}

/// The k-NN query (Algorithm 5) with tombstones, filter and the exact-scan fallbacks.
pub fn knn(
    graph: &Graph,
    params: &Params,
    source: &dyn VectorSource,
    query: &PreparedQuery,
    search: &IndexSearch<'_>,
    stats: &mut SearchStats,
) -> Vec<Candidate> {
    let k = search.k;
    let live = graph.live();
    if k == 0 || live == 0 {
        return Vec::new();
    }
    let ef = if search.ef == 0 { params.ef_search } else { search.ef }.max(k);
    let accept = AcceptLive { deleted: graph.deleted(), filter: search.filter };
    let exact = |stats: &mut SearchStats| {
        let slots = graph.slots().filter(|&s| accept.accept(s));
        scan_top_k(slots, k, query, source, false, stats)
    };
    let Some(entry) = graph.entry() else {
        return exact(stats);
    };
    if live <= ef.saturating_mul(EXACT_BELOW_EF_MULTIPLE) {
        return exact(stats);
    }
    let plain = search.filter.is_none() && graph.deleted_count() == 0;
    let (complete, found) = with_scratch(|s| {
        let layer = Layer { graph, source, query };
        let start = layer.score_one(entry.slot, s, stats);
        let start = layer.descend(start, entry.level as usize, 0, s, stats);
        stats.layers_traversed += 1;
        let complete = if plain {
            layer.search(&AcceptAll, &[start], Beam { level: 0, ef, budget: u64::MAX }, s, stats)
        } else if search.filter.is_some() {
            // Only matching nodes are scored, so the budget counts useful work.
            let budget = (live as u64 / 4).max(16 * ef as u64);
            layer.search_two_hop(&accept, start, Beam { level: 0, ef, budget }, s, stats)
        } else {
            // Past this many distance computations a scan of the live slots is as cheap.
            let budget = (live as u64 / 4).max(16 * ef as u64);
            layer.search(&accept, &[start], Beam { level: 0, ef, budget }, s, stats)
        };
        let mut found = Vec::with_capacity(s.results.len());
        s.drain_results_sorted(&mut found);
        (complete, found)
    });
    // Without a filter exactly `min(k, live)` results are due; with one, the number of matches is
    // unknown, so a short list is completed (or confirmed) by the exact scan.
    let due = if search.filter.is_some() { k } else { k.min(live) };
    if !complete || found.len() < due {
        return exact(stats);
    }
    found.into_iter().take(k).map(Near::candidate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::hnsw::Hnsw;
    use crate::index::testing::PointSource;
    use crate::Index;

    fn build(n: usize, dim: usize) -> (Hnsw, PointSource) {
        let src = PointSource::random(n, dim, 3);
        let mut h = Hnsw::new(dim, Params::new(8, 64, 32, 7).unwrap());
        for s in 0..n as u32 {
            h.insert(s, &src).unwrap();
        }
        (h, src)
    }

    fn exact(src: &PointSource, q: &PreparedQuery, k: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
        let mut st = SearchStats::default();
        let slots = (0..src.slot_count() as u32).filter(|&s| keep(s));
        scan_top_k(slots, k, q, src, true, &mut st).iter().map(|c| c.slot).collect()
    }

    fn run(h: &Hnsw, src: &PointSource, q: &PreparedQuery, p: IndexSearch<'_>) -> (Vec<u32>, SearchStats) {
        let mut st = SearchStats::default();
        let got = h.search(q, &p, src, &mut st).unwrap();
        assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance), "not sorted");
        (got.iter().map(|c| c.slot).collect(), st)
    }

    fn recall(got: &[u32], want: &[u32]) -> f64 {
        got.iter().filter(|s| want.contains(s)).count() as f64 / want.len() as f64
    }

    #[test]
    fn graph_search_finds_true_neighbours() {
        let (h, src) = build(3000, 8);
        let mut total = 0.0;
        for i in 0..50 {
            let q = src.prepare(&src.point(i * 13).iter().map(|x| x + 0.01).collect::<Vec<_>>());
            let (got, st) = run(&h, &src, &q, IndexSearch { k: 10, ef: 64, filter: None });
            assert_eq!(got.len(), 10);
            assert!(st.layers_traversed >= 1 && st.nodes_visited > 0);
            // The graph was searched, not scanned.
            assert!(st.distance_computations < 3000, "{st:?}");
            total += recall(&got, &exact(&src, &q, 10, |_| true));
        }
        assert!(total / 50.0 >= 0.95, "recall {}", total / 50.0);
    }

    #[test]
    fn k_above_ef_and_above_len() {
        let (h, src) = build(500, 4);
        let q = src.prepare_slot(1);
        let (got, _) = run(&h, &src, &q, IndexSearch { k: 40, ef: 5, filter: None });
        assert_eq!(got.len(), 40);
        let (got, _) = run(&h, &src, &q, IndexSearch { k: 10_000, ef: 0, filter: None });
        assert_eq!(got.len(), 500);
        assert_eq!(got, exact(&src, &q, 500, |_| true));
        assert!(run(&h, &src, &q, IndexSearch { k: 0, ef: 0, filter: None }).0.is_empty());
    }

    #[test]
    fn tombstones_are_walked_through_but_not_returned() {
        let (mut h, src) = build(2000, 6);
        let gone = |s: u32| s % 5 < 3; // 60% deleted
        for s in (0..2000).filter(|&s| gone(s)) {
            h.delete(s).unwrap();
        }
        assert_eq!(h.len(), 800);
        let mut total = 0.0;
        for i in 0..30 {
            let q = src.prepare_slot(i * 31);
            let (got, _) = run(&h, &src, &q, IndexSearch { k: 10, ef: 0, filter: None });
            assert_eq!(got.len(), 10);
            assert!(got.iter().all(|&s| !gone(s)));
            total += recall(&got, &exact(&src, &q, 10, |s| !gone(s)));
        }
        assert!(total / 30.0 >= 0.9, "recall {}", total / 30.0);
        // Everything but four deleted (3, 4, 8, 9): exactly those four come back.
        for s in 0..2000 {
            if !gone(s) && s > 10 {
                h.delete(s).unwrap();
            }
        }
        let q = src.prepare_slot(1999);
        assert_eq!(h.len(), 4);
        assert_eq!(
            run(&h, &src, &q, IndexSearch { k: 10, ef: 0, filter: None }).0,
            exact(&src, &q, 10, |s| s <= 10 && !gone(s))
        );
    }

    #[test]
    fn filters_are_honoured_even_when_few_pass() {
        let (h, src) = build(2000, 6);
        let q = src.prepare_slot(5);
        let third = |s: u32| matches!(s % 3, 0);
        let (got, _) = run(&h, &src, &q, IndexSearch { k: 10, ef: 0, filter: Some(&third) });
        assert!(got.iter().all(|&s| third(s)));
        assert!(recall(&got, &exact(&src, &q, 10, third)) >= 0.8);
        // Seven matches in 2000: all seven, in exact order, though k = 10.
        let rare = |s: u32| s % 300 == 7;
        let (got, _) = run(&h, &src, &q, IndexSearch { k: 10, ef: 0, filter: Some(&rare) });
        assert_eq!(got, exact(&src, &q, 10, rare));
        assert_eq!(got.len(), 7);
        let none = |_: u32| false;
        assert!(run(&h, &src, &q, IndexSearch { k: 10, ef: 0, filter: Some(&none) }).0.is_empty());
    }

    #[test]
    fn batches_not_pairs() {
        let (h, src) = build(2000, 4);
        let q = src.prepare_slot(0);
        let before = src.calls.load(std::sync::atomic::Ordering::Relaxed);
        let (_, st) = run(&h, &src, &q, IndexSearch { k: 10, ef: 32, filter: None });
        let calls = src.calls.load(std::sync::atomic::Ordering::Relaxed) - before;
        // One call per expanded node at most (plus the entry point): never one per distance.
        assert!(calls <= st.nodes_visited + 1, "{calls} calls for {st:?}");
        assert!(st.distance_computations > 2 * calls, "{calls} calls for {st:?}");
    }
}
