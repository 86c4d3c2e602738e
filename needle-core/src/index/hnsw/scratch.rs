//! Per-thread search state, reused across queries so the search loop never allocates.
//!
//! `search(&self)` runs on many threads at once, so the mutable state of one search (the visited
//! set, the two heaps of Algorithm 2, the batch buffers) cannot live in the index. Each thread
//! keeps one [`Scratch`] in a thread-local and borrows it per call; a re-entrant call on the same
//! thread (which the index never makes, but a `VectorSource` could) gets a fresh one instead of a
//! panic.
//!
//! The visited set is an array of 16-bit generation stamps: starting a search bumps the generation
//! instead of clearing the array, so its cost is independent of the index size except once every
//! 65,535 searches. A thread keeps its scratch — about 2 bytes per slot of the largest index it
//! searched, plus `ef`-sized heaps — until it exits.

use std::cell::RefCell;
use std::collections::BinaryHeap;

use super::select::SelectTmp;
use crate::index::topk::{Closest, Near};

/// Which slots the current search has already scored.
#[derive(Debug, Default)]
pub struct Visited {
    stamps: Vec<u16>,
    generation: u16,
}

impl Visited {
    /// Starts a new search over slots `0..n`: everything becomes unvisited.
    pub fn begin(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `slot` visited; returns true when it was not visited yet. `slot` must be below the
    /// `n` given to [`Visited::begin`] (slots beyond it read as already visited).
    #[inline]
    pub fn insert(&mut self, slot: u32) -> bool {
        match self.stamps.get_mut(slot as usize) {
            Some(s) if *s != self.generation => {
                *s = self.generation;
                true
            }
            _ => false,
        }
    }
}

/// Everything one search (or one insertion) mutates.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Slots already scored in the current layer search.
    pub visited: Visited,
    /// `C` in Algorithm 2: candidates still to expand, closest on top.
    pub candidates: BinaryHeap<Closest>,
    /// `W` in Algorithm 2: the best `ef` accepted nodes so far, farthest on top.
    pub results: BinaryHeap<Near>,
    /// Neighbour list of the node being expanded.
    pub links: Vec<u32>,
    /// Unvisited neighbours gathered for one scoring call.
    pub batch: Vec<u32>,
    /// Distances returned for `batch`.
    pub dists: Vec<f32>,
    /// Insertion only: `W` of the layer just searched, closest first.
    pub found: Vec<Near>,
    /// Insertion only: the neighbours the selection heuristic kept.
    pub chosen: Vec<Near>,
    /// Insertion only: the neighbours chosen on each layer, published once all are chosen.
    pub plan: Vec<Vec<u32>>,
    /// Insertion only: a neighbour's list re-ranked by distance to that neighbour.
    pub ranked: Vec<Near>,
    /// Insertion only: what the heuristic kept of `ranked`.
    pub kept: Vec<Near>,
    /// Buffers of the selection heuristic.
    pub select: SelectTmp,
}

impl Scratch {
    /// Moves `W` out as a list sorted closest first (the heap is left empty, capacity kept).
    pub fn drain_results_sorted(&mut self, out: &mut Vec<Near>) {
        out.clear();
        out.extend(self.results.drain());
        out.sort_unstable();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch (or a fresh one if it is already borrowed).
pub fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visited_generations_and_wraparound() {
        let mut v = Visited::default();
        v.begin(10);
        assert!(v.insert(3));
        assert!(!v.insert(3));
        assert!(!v.insert(10)); // out of range counts as visited
        v.begin(10);
        assert!(v.insert(3));
        // Force many generations through the wrap to 0.
        for _ in 0..70_000 {
            v.begin(10);
        }
        assert!(v.insert(3));
        assert!(v.insert(4));
        assert!(!v.insert(4));
    }

    #[test]
    fn scratch_is_reentrant() {
        let r = with_scratch(|a| {
            a.links.push(1);
            with_scratch(|b| b.links.len())
        });
        assert_eq!(r, 0);
    }
}
