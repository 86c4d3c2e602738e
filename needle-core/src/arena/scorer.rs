//! [`Scorer`]: a store + its distance (+ its quantizer) seen as an index's [`VectorSource`].

use super::VectorStore;
use crate::traits::distance::l2_norm;
use crate::traits::QuerySlot;
use crate::{Distance, Metric, PreparedQuery, Quantizer, VectorSource};

/// Scores queries against a [`VectorStore`]: on codes when a trained quantizer is present (and
/// the store holds codes), on `f32` rows otherwise. `score_exact` always uses `f32` rows.
#[derive(Debug, Clone, Copy)]
pub struct Scorer<'a> {
    store: &'a VectorStore,
    distance: &'a dyn Distance,
    quantizer: Option<(&'a dyn Quantizer, Metric)>,
}

impl<'a> Scorer<'a> {
    /// A scorer. The quantizer is used only when it is trained, the distance has a built-in
    /// metric the quantizer supports, and the store holds codes.
    pub fn new(store: &'a VectorStore, distance: &'a dyn Distance, quantizer: Option<&'a dyn Quantizer>) -> Self {
        let quantizer = match (quantizer, distance.metric()) {
            (Some(q), Some(m))
                if q.code_len() > 0 && q.is_trained() && q.supports(m) && store.code_len() == q.code_len() =>
            {
                Some((q, m))
            }
            _ => None,
        };
        Scorer { store, distance, quantizer }
    }

    /// Whether scores come from quantized codes.
    pub fn is_quantized(&self) -> bool {
        self.quantizer.is_some()
    }

    /// The store.
    pub fn store(&self) -> &'a VectorStore {
        self.store
    }
}

/// How much of a row a graph step prefetches for every neighbour at once (the gather loop then
/// prefetches whole rows one block ahead): a few lines each, so that a node's 32 neighbours of
/// 784 dimensions do not queue 1,500 prefetches that stall the core.
const PREFETCH_FLOATS: usize = 64;

impl Scorer<'_> {
    /// The norm a query passes to the distance: `‖v‖₂` when the distance uses norms (read from the
    /// store for a stored vector, which keeps them then), 0 otherwise. A build prepares every
    /// candidate it weighs as a query, and a 784-dimension norm nobody reads cost 7% of it.
    fn query_norm(&self, v: &[f32], stored: Option<u32>) -> f32 {
        if !self.distance.needs_norms() {
            return 0.0;
        }
        let rows = self.store.rows();
        match stored {
            Some(slot) if !rows.norms.is_empty() => rows.norm(slot as usize),
            _ => l2_norm(v),
        }
    }
}

/// Makes every distance that is not a finite number `+inf`, so it ranks after every real one.
///
/// `total_cmp` puts a NaN with its sign bit set (x86's `inf / inf`) before every number, and a
/// dot distance that overflowed is `-inf`: either would rank one bad vector first in every search
/// and pull it into every neighbour list of the graph. Inserts and queries reject vectors that can
/// overflow (a norm limit), but files written before it and plugin distances are not bound by it.
#[inline]
fn far_unless_finite(out: &mut [f32]) {
    for x in out {
        if !x.is_finite() {
            *x = f32::INFINITY;
        }
    }
}

impl VectorSource for Scorer<'_> {
    fn dim(&self) -> usize {
        self.store.dim()
    }

    fn slot_count(&self) -> usize {
        self.store.len()
    }

    fn prepare(&self, query: &[f32]) -> PreparedQuery {
        let code = match self.quantizer {
            Some((q, m)) => q.prepare_query(query, m),
            None => Vec::new(),
        };
        PreparedQuery { vector: query.to_vec(), norm: self.query_norm(query, None), code, slot: QuerySlot::NONE }
    }

    fn prepare_slot(&self, slot: u32) -> PreparedQuery {
        let vector = self.store.vector(slot);
        let code = match self.quantizer {
            Some((q, m)) => q.prepare_query(vector, m),
            None => Vec::new(),
        };
        PreparedQuery {
            vector: vector.to_vec(),
            norm: self.query_norm(vector, Some(slot)),
            code,
            slot: QuerySlot::NONE,
        }
    }

    fn score_slot(&self, slot: u32, slots: &[u32], out: &mut [f32]) {
        if self.quantizer.is_some() {
            return self.score(&self.prepare_slot(slot), slots, out);
        }
        let vector = self.store.vector(slot);
        self.distance.distances_to_ids(vector, self.query_norm(vector, Some(slot)), &self.store.rows(), slots, out);
        far_unless_finite(out);
    }

    fn score(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        match self.quantizer {
            Some((q, m)) => {
                q.distances_to_ids(&query.code, m, &self.store.codes(), slots, out);
                far_unless_finite(out);
            }
            None => self.score_exact(query, slots, out),
        }
    }

    fn prefetch(&self, slot: u32) {
        match self.quantizer {
            Some(_) => {
                let codes = self.store.codes();
                let start = slot as usize * codes.code_len;
                if let Some(code) = codes.data.get(start..start + codes.code_len) {
                    crate::distance::prefetch_slice(code);
                }
            }
            None => {
                let s = slot as usize;
                if s < self.store.len() {
                    let v = self.store.vector(slot);
                    crate::distance::prefetch_slice(&v[..v.len().min(PREFETCH_FLOATS)]);
                }
            }
        }
    }

    fn error_scales(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        match self.quantizer {
            Some((q, m)) => q.error_scales(&query.code, m, &self.store.codes(), slots, out),
            None => out.fill(1.0),
        }
    }

    fn score_exact(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        self.distance.distances_to_ids(&query.vector, query.norm, &self.store.rows(), slots, out);
        far_unless_finite(out);
    }

    fn score_exact_run(&self, query: &PreparedQuery, first: u32, out: &mut [f32]) {
        let rows = self.store.rows().range(first as usize, out.len());
        self.distance.distances_to_all(&query.vector, query.norm, &rows, out);
        far_unless_finite(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::topk::scan_top_k;
    use crate::{IndexSearch, Registry, SearchStats};

    /// One vector stored before the norm limit (finite components, an `f32` squared norm of inf)
    /// among ordinary ones: for every built-in metric, through the exact scan and the HNSW graph,
    /// it is never ranked first and no distance handed out is NaN or -inf.
    #[test]
    fn an_overflowing_vector_never_ranks_first() {
        let registry = Registry::with_builtins();
        for metric in ["cosine", "euclidean", "dot", "manhattan"] {
            let distance = registry.distance(metric).unwrap();
            let mut store = VectorStore::new(4, distance.needs_norms());
            store.push(&[3e38, 3e38, 3e38, 3e38], None);
            for i in 1..200u32 {
                let v: Vec<f32> = (0..4).map(|d| ((i * 13 + d * 7) % 17) as f32 / 8.0 - 1.0).collect();
                store.push(&v, None);
            }
            let scorer = Scorer::new(&store, &*distance, None);
            // A query overflowing too (its dot product with slot 0 is inf, a dot distance of -inf;
            // its Euclidean distance to everything is inf, so only the NaN/-inf part applies).
            for (query, ordinary) in [([0.5, -0.25, 1.0, 0.0], true), ([-3e38, -3e38, -3e38, -3e38], false)] {
                let q = scorer.prepare(&query);
                let mut stats = SearchStats::default();
                let scanned = scan_top_k(0..200u32, 200, &q, &scorer, true, &mut stats);
                assert!(!ordinary || scanned[0].slot != 0, "{metric}: the overflowing vector ranked first");
                assert!(scanned.iter().all(|c| !c.distance.is_nan() && c.distance != f32::NEG_INFINITY), "{metric}");
                let mut index = registry.index("hnsw").unwrap().create(4, &serde_json::json!({})).unwrap();
                index.insert_batch(&(0..200).collect::<Vec<_>>(), &scorer).unwrap();
                let found = index.search(&q, &IndexSearch { k: 10, ef: 64, filter: None }, &scorer, &mut stats);
                let found = found.unwrap();
                assert!(!ordinary || found[0].slot != 0, "{metric}: the graph ranked the overflowing vector first");
                assert!(found.iter().all(|c| !c.distance.is_nan() && c.distance != f32::NEG_INFINITY), "{metric}");
            }
        }
    }
}
