//! Ranking slots by distance: the ordered `(distance, slot)` pair every index sorts by, and the
//! exact top-k scan the flat index runs and HNSW falls back to.
//!
//! The scan scores slots in chunks of [`CHUNK`] through one `VectorSource` call each, so the
//! distance kernel sees long batches, and keeps only a bounded max-heap of the best `k`.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::{Candidate, PreparedQuery, SearchStats, VectorSource};

/// Slots scored per `VectorSource` call in an exact scan.
pub const CHUNK: usize = 256;

/// A slot and its distance to the current query. Ordered by distance, then slot (so ties break the
/// same way every time); NaN sorts after every number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    /// Distance to the query (smaller is closer).
    pub dist: f32,
    /// The slot.
    pub slot: u32,
}

impl Near {
    /// Shorthand constructor.
    #[inline]
    pub fn new(slot: u32, dist: f32) -> Self {
        Near { dist, slot }
    }

    /// As the engine's public result type.
    #[inline]
    pub fn candidate(self) -> Candidate {
        Candidate { slot: self.slot, distance: self.dist }
    }
}

impl Eq for Near {}

impl Ord for Near {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist.total_cmp(&other.dist).then(self.slot.cmp(&other.slot))
    }
}

impl PartialOrd for Near {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// [`Near`] with the order reversed, so a `BinaryHeap` pops the closest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closest(pub Near);

impl Ord for Closest {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

impl PartialOrd for Closest {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `k` slots of `slots` closest to `query`, closest first. `exact` chooses
/// [`VectorSource::score_exact`] over [`VectorSource::score`].
pub fn scan_top_k(
    slots: impl Iterator<Item = u32>,
    k: usize,
    query: &PreparedQuery,
    source: &dyn VectorSource,
    exact: bool,
    stats: &mut SearchStats,
) -> Vec<Candidate> {
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Near> = BinaryHeap::with_capacity(k + 1);
    let mut ids = Vec::with_capacity(CHUNK);
    let mut dists = vec![0.0f32; CHUNK];
    let mut slots = slots.peekable();
    while slots.peek().is_some() {
        ids.clear();
        ids.extend(slots.by_ref().take(CHUNK));
        let out = &mut dists[..ids.len()];
        let consecutive = ids.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
        if exact && consecutive {
            source.score_exact_run(query, ids[0], out);
        } else if exact {
            source.score_exact(query, &ids, out);
        } else {
            source.score(query, &ids, out);
        }
        stats.distance_computations += ids.len() as u64;
        for (&slot, &dist) in ids.iter().zip(out.iter()) {
            let n = Near::new(slot, dist);
            if heap.len() < k {
                heap.push(n);
            } else if heap.peek().is_some_and(|w| n < *w) {
                heap.pop();
                heap.push(n);
            }
        }
    }
    heap.into_sorted_vec().into_iter().map(Near::candidate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;

    #[test]
    fn orders_by_distance_then_slot_nan_last() {
        let mut w = BinaryHeap::new();
        let mut c = BinaryHeap::new();
        for (s, d) in [(1, 0.5), (2, 0.1), (3, 0.9), (0, 0.5), (4, f32::NAN)] {
            w.push(Near::new(s, d));
            c.push(Closest(Near::new(s, d)));
        }
        assert!(w.pop().unwrap().dist.is_nan());
        let far_first: Vec<u32> = std::iter::from_fn(|| w.pop().map(|x| x.slot)).collect();
        assert_eq!(far_first, vec![3, 1, 0, 2]);
        let near_first: Vec<u32> = std::iter::from_fn(|| c.pop().map(|x| x.0.slot)).collect();
        assert_eq!(near_first, vec![2, 0, 1, 3, 4]);
    }

    #[test]
    fn scan_matches_sorting_everything() {
        // 1-d points 0..1000 (more than one chunk), query at 500.3.
        let src = PointSource::new((0..1000).map(|i| vec![i as f32]).collect());
        let q = src.prepare(&[500.3]);
        let mut stats = SearchStats::default();
        let got = scan_top_k(0..1000u32, 5, &q, &src, true, &mut stats);
        let slots: Vec<u32> = got.iter().map(|c| c.slot).collect();
        assert_eq!(slots, vec![500, 501, 499, 502, 498]);
        assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance));
        assert_eq!(stats.distance_computations, 1000);
        // Fewer slots than k: all of them.
        assert_eq!(scan_top_k([7u32, 3].into_iter(), 10, &q, &src, false, &mut stats).len(), 2);
        assert!(scan_top_k(0..10u32, 0, &q, &src, true, &mut stats).is_empty());
    }

    /// Runs of consecutive slots take the streaming path (`score_exact_run`), anything else the
    /// by-id path; on a real store both must give the same distances, for every built-in metric.
    #[test]
    fn consecutive_runs_and_scattered_slots_agree() {
        use crate::arena::{Scorer, VectorStore};
        use crate::Registry;
        let registry = Registry::with_builtins();
        for metric in ["cosine", "euclidean", "dot", "manhattan"] {
            let distance = registry.distance(metric).unwrap();
            let mut store = VectorStore::new(37, distance.needs_norms());
            for i in 0..700u32 {
                let v: Vec<f32> = (0..37).map(|d| ((i * 31 + d * 7) % 101) as f32 / 50.0 - 1.0).collect();
                store.push(&v, None);
            }
            let scorer = Scorer::new(&store, &*distance, None);
            let q = scorer.prepare(&(0..37).map(|d| (d as f32 * 0.37).sin()).collect::<Vec<_>>());
            let mut stats = SearchStats::default();
            let everything = scan_top_k(0..700u32, 700, &q, &scorer, true, &mut stats);
            // Odd slots only: never a run, so every chunk goes by id.
            let odd = scan_top_k((1..700u32).step_by(2), 350, &q, &scorer, true, &mut stats);
            let mut by_id = vec![0f32; 700];
            scorer.score_exact(&q, &(0..700).collect::<Vec<_>>(), &mut by_id);
            for c in everything.iter().chain(&odd) {
                assert_eq!(c.distance.to_bits(), by_id[c.slot as usize].to_bits(), "{metric} slot {}", c.slot);
            }
            assert_eq!((everything.len(), odd.len()), (700, 350));
        }
    }
}
