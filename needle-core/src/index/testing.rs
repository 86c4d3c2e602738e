//! Test helpers: a tiny in-memory [`VectorSource`] with squared-Euclidean distances, independent of
//! the distance module, so index tests check the index and nothing else.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::{PreparedQuery, VectorSource};

/// Points in memory; `score` is the squared Euclidean distance and counts its calls.
#[derive(Debug, Default)]
pub struct PointSource {
    points: Vec<Vec<f32>>,
    dim: usize,
    /// Number of `score`/`score_exact` calls so far.
    pub calls: AtomicU64,
}

impl PointSource {
    /// A source over `points` (all of one length).
    pub fn new(points: Vec<Vec<f32>>) -> Self {
        let dim = points.first().map_or(0, Vec::len);
        PointSource { points, dim, calls: AtomicU64::new(0) }
    }

    /// `n` pseudo-random points in `[0, 1)^dim` from a fixed seed.
    pub fn random(n: usize, dim: usize, seed: u64) -> Self {
        let mut rng = crate::index::hnsw::rng::SplitMix64::new(seed);
        PointSource::new((0..n).map(|_| (0..dim).map(|_| rng.next_unit() as f32).collect()).collect())
    }

    /// The point in `slot`.
    pub fn point(&self, slot: u32) -> &[f32] {
        &self.points[slot as usize]
    }
}

impl VectorSource for PointSource {
    fn dim(&self) -> usize {
        self.dim
    }

    fn slot_count(&self) -> usize {
        self.points.len()
    }

    fn prepare(&self, query: &[f32]) -> PreparedQuery {
        PreparedQuery { vector: query.to_vec(), ..PreparedQuery::default() }
    }

    fn prepare_slot(&self, slot: u32) -> PreparedQuery {
        self.prepare(&self.points[slot as usize])
    }

    fn score(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        assert_eq!(slots.len(), out.len());
        self.calls.fetch_add(1, Relaxed);
        for (o, &s) in out.iter_mut().zip(slots) {
            *o = self.points[s as usize].iter().zip(&query.vector).map(|(a, b)| (a - b) * (a - b)).sum();
        }
    }
}
