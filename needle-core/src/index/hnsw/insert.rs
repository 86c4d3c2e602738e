//! Inserting a node (Malkov & Yashunin, Algorithm 1), serially or from many threads at once.
//!
//! The node's level is drawn and its (empty) lists allocated beforehand through `&mut Graph`;
//! [`Builder::insert`] then only links it, through `&Graph`:
//! 1. greedy descent from the entry point down to the node's level + 1;
//! 2. on each layer from `min(level, L)` down to 0, a beam search with `efConstruction` gives `W`
//!    and the heuristic picks `M` neighbours from it; then, from layer 0 up, the node's list is
//!    written and each neighbour gets a reverse link — shrunk back to `M_max` (layer 0: `M_max0`) by the same heuristic when
//!    that overfills it (with `keepPrunedConnections`, by dropping the one candidate the heuristic
//!    would drop, found directly: see `select::redundant_index`); `W` seeds the next layer down.
//!    Publishing bottom up is what makes the parallel build safe, see [`Builder::insert`];
//! 3. a node above the current top layer becomes the entry point.
//!
//! Concurrency: searches read lists without locks (see `graph.rs` for why that is sound); every
//! change to a list — the new node's own, or a neighbour's read-modify-write — happens under that
//! node's lock (a striped array of mutexes; a thread never holds two list locks at once, so there
//! is no lock ordering to get wrong). The entry point sits behind its own mutex, held for a whole
//! insertion only by a node that raises the top layer — about `log_M(n)` times in a whole build —
//! and otherwise just long enough to read it.

use parking_lot::{Mutex, MutexGuard};

use super::graph::{Entry, Graph};
use super::params::Params;
use super::scratch::Scratch;
use super::search::{AcceptAll, Beam, Layer};
use super::select::{redundant_index, select_neighbours};
use crate::index::topk::Near;
use crate::{SearchStats, VectorSource};

/// Number of lock stripes (a power of two). Contention needs two threads on the same stripe at the
/// same moment, which with a few threads and thousands of stripes is rare.
const STRIPES: usize = 4096;

/// Striped locks guarding neighbour lists while building.
pub struct LinkLocks {
    stripes: Box<[Mutex<()>]>,
}

impl std::fmt::Debug for LinkLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkLocks").field("stripes", &self.stripes.len()).finish()
    }
}

impl Default for LinkLocks {
    fn default() -> Self {
        LinkLocks { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }
}

impl LinkLocks {
    /// Locks the lists of `slot` (all its layers).
    #[inline]
    pub fn lock(&self, slot: u32) -> MutexGuard<'_, ()> {
        self.stripes[slot as usize & (STRIPES - 1)].lock()
    }

    /// Heap bytes in use.
    pub fn memory_bytes(&self) -> usize {
        self.stripes.len() * std::mem::size_of::<Mutex<()>>()
    }
}

/// Links nodes into a graph; shared by every thread of a build.
pub struct Builder<'a> {
    /// The graph (nodes already added, not yet linked).
    pub graph: &'a Graph,
    /// `M`, `efConstruction`, ….
    pub params: &'a Params,
    /// Distances.
    pub source: &'a dyn VectorSource,
    /// List locks.
    pub locks: &'a LinkLocks,
    /// The entry point, `None` while no node is linked.
    pub entry: &'a Mutex<Option<Entry>>,
}

impl Builder<'_> {
    /// Links `slot`, which the graph already holds with its level.
    pub fn insert(&self, slot: u32, s: &mut Scratch) {
        let level = self.graph.level(slot).expect("node added before linking");
        let mut top_guard = self.entry.lock();
        let Some(ep) = *top_guard else {
            *top_guard = Some(Entry { slot, level });
            return;
        };
        // Keep the entry lock for the whole insertion only if this node will become the entry.
        let top_guard = if level > ep.level {
            Some(top_guard)
        } else {
            drop(top_guard);
            None
        };

        let query = self.source.prepare_slot(slot);
        let layer = Layer { graph: self.graph, source: self.source, query: &query };
        let mut stats = SearchStats::default();
        let start = layer.score_one(ep.slot, s, &mut stats);
        let start = layer.descend(start, ep.level as usize, level as usize, s, &mut stats);

        let mut found = std::mem::take(&mut s.found);
        let mut chosen = std::mem::take(&mut s.chosen);
        let mut plan = std::mem::take(&mut s.plan);
        let top = level.min(ep.level) as usize;
        plan.resize_with(top + 1, Vec::new);
        found.clear();
        found.push(start);
        let ef = self.params.build_ef();
        // Phase 1, read-only: choose the node's neighbours on every layer, top down.
        for lc in (0..=top).rev() {
            layer.search(&AcceptAll, &found, Beam { level: lc, ef, budget: u64::MAX }, s, &mut stats);
            s.drain_results_sorted(&mut found);
            // A concurrent insertion may already have linked back to this node.
            found.retain(|n| n.slot != slot);
            select_neighbours(self.source, &found, self.params.m, self.params.keep_pruned, &mut chosen, &mut s.select);
            plan[lc].clear();
            plan[lc].extend(chosen.iter().map(|n| n.slot));
        }
        // Phase 2: publish bottom up. Other threads can reach this node on layer `l` only through
        // a reverse link written here, so by then its lists on `l` and every layer below are in
        // place: nobody walks into an empty list, and no reverse link another insertion adds to
        // this node is overwritten by the node's own list (publishing top down lost both).
        for (lc, links) in plan.iter().enumerate().take(top + 1) {
            {
                let _guard = self.locks.lock(slot);
                self.graph.write_links(slot, lc, links);
            }
            for &e in links {
                self.link_back(e, slot, lc, s);
            }
        }
        s.found = found;
        s.chosen = chosen;
        s.plan = plan;
        if let Some(mut g) = top_guard {
            *g = Some(Entry { slot, level });
        }
    }

    /// Adds `q` to the list of `e` on `level`, shrinking the list with the heuristic if it is full.
    fn link_back(&self, e: u32, q: u32, level: usize, s: &mut Scratch) {
        let _guard = self.locks.lock(e);
        self.graph.read_links(e, level, &mut s.batch);
        if s.batch.contains(&q) {
            return;
        }
        s.batch.push(q);
        if s.batch.len() <= self.graph.cap(level) {
            self.graph.write_links(e, level, &s.batch);
            return;
        }
        // Overfull: rank e's neighbours (and q) by distance to e, keep what the heuristic keeps.
        s.dists.resize(s.batch.len(), 0.0);
        self.source.score_slot(e, &s.batch, &mut s.dists);
        s.ranked.clear();
        s.ranked.extend(s.batch.iter().zip(&s.dists).map(|(&n, &d)| Near::new(n, d)));
        s.ranked.sort_unstable();
        s.batch.clear();
        if self.params.keep_pruned {
            // Refilled from the pruned candidates, the list loses exactly one: find it directly.
            let drop = redundant_index(self.source, &s.ranked, &mut s.select);
            s.ranked.remove(drop);
            s.batch.extend(s.ranked.iter().map(|n| n.slot));
        } else {
            select_neighbours(self.source, &s.ranked, self.graph.cap(level), false, &mut s.kept, &mut s.select);
            s.batch.extend(s.kept.iter().map(|n| n.slot));
        }
        self.graph.write_links(e, level, &s.batch);
    }
}
