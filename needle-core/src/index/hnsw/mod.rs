//! HNSW: Hierarchical Navigable Small World graphs (Malkov & Yashunin, "Efficient and robust
//! approximate nearest neighbor search using Hierarchical Navigable Small World graphs", TPAMI
//! 2018), registered as `hnsw`.
//!
//! One job per file:
//! - [`params`]: `M`, `M_max0`, `efConstruction`, `ef`, `mL`, seed, and their JSON form;
//! - [`rng`]: the seeded level generator;
//! - [`graph`]: levels, neighbour lists (flat layer 0, sparse upper layers), tombstones;
//! - [`scratch`]: per-thread search state (visited stamps, heaps, batch buffers);
//! - [`search`]: greedy descent, the layer beam search and the k-NN query;
//! - [`select`]: the neighbour-selection heuristic;
//! - [`insert`]: linking new nodes, serially or in parallel;
//! - [`persist`]: the binary form (layer 0 in the in-memory layout) and its loaders: validating,
//!   or, from a memory map, keeping layer 0 in place.
//!
//! Guarantees: the same seed and the same insertion order give the same graph when inserting one
//! slot at a time (and for `insert_batch` on a single rayon thread). A parallel `insert_batch`
//! draws the same levels but links nodes in whatever order the threads reach them, so its graph —
//! equally good — is not bit-identical from run to run.

pub mod graph;
pub mod insert;
pub mod params;
pub mod persist;
pub mod rng;
pub mod scratch;
pub mod search;
pub mod select;

use parking_lot::Mutex;
use rayon::prelude::*;

use self::graph::Graph;
use self::insert::{Builder, LinkLocks};
use self::params::Params;
use self::rng::SplitMix64;
use self::scratch::with_scratch;
use crate::format::SharedBytes;
use crate::index::bitset::Bitset;
use crate::index::check_covers;
use crate::{Candidate, Error, Index, IndexFactory, IndexSearch, PreparedQuery, Result, SearchStats, VectorSource};

/// Registry id.
pub const ID: &str = "hnsw";

/// Version of the serialised form written by [`Index::save`] (2: layer 0 in the in-memory layout,
/// usable in place from a memory map; 1 is still read, see [`persist`]).
pub const FORMAT_VERSION: u32 = 2;

/// A parallel `insert_batch` links its first nodes serially until the graph holds this many, so
/// the parallel phase starts from a connected, deterministic core.
const SERIAL_WARMUP: usize = 1024;

/// An HNSW index over slots.
#[derive(Debug)]
pub struct Hnsw {
    dim: usize,
    params: Params,
    graph: Graph,
    rng: SplitMix64,
    locks: LinkLocks,
}

impl Hnsw {
    /// An empty index for `dim`-dimensional vectors.
    pub fn new(dim: usize, params: Params) -> Self {
        let graph = Graph::new(params.m, params.m_max0);
        let rng = SplitMix64::new(params.seed);
        Hnsw { dim, params, graph, rng, locks: LinkLocks::default() }
    }

    /// The parameters.
    pub fn hnsw_params(&self) -> &Params {
        &self.params
    }

    /// The graph (read-only; for tests, statistics and tools).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    fn check_new_slot(&self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        if slot as usize >= source.slot_count() {
            return Err(Error::InvalidArgument(format!(
                "slot {slot} is not in the vector source ({} slots)",
                source.slot_count()
            )));
        }
        if self.graph.level(slot).is_some() {
            return Err(Error::InvalidArgument(format!("slot {slot} is already in the index")));
        }
        Ok(())
    }

    fn check_source(&self, source: &dyn VectorSource) -> Result<()> {
        if source.dim() != self.dim {
            return Err(Error::DimensionMismatch { expected: self.dim, got: source.dim() });
        }
        check_covers(self.graph.capacity(), source)
    }

    /// Links already-added `slots` (in order when `parallel` is false). Layer 0 must be in memory:
    /// the writers below go through `&Graph`.
    fn link(&mut self, slots: &[u32], source: &dyn VectorSource, parallel: bool) {
        debug_assert!(!self.graph.is_mapped());
        let entry = Mutex::new(self.graph.entry());
        let builder = Builder { graph: &self.graph, params: &self.params, source, locks: &self.locks, entry: &entry };
        if parallel {
            slots.par_iter().for_each(|&slot| with_scratch(|s| builder.insert(slot, s)));
        } else {
            with_scratch(|s| slots.iter().for_each(|&slot| builder.insert(slot, s)));
        }
        self.graph.set_entry(entry.into_inner());
    }
}

impl Index for Hnsw {
    fn id(&self) -> &str {
        ID
    }

    fn is_beam_bounded(&self) -> bool {
        true
    }

    fn params(&self) -> serde_json::Value {
        self.params.to_json()
    }

    fn len(&self) -> usize {
        self.graph.live()
    }

    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        self.check_source(source)?;
        self.check_new_slot(slot, source)?;
        self.graph.make_owned();
        let level = self.rng.next_level(self.params.ml);
        self.graph.add_node(slot, level)?;
        self.link(&[slot], source, false);
        Ok(())
    }

    /// Inserts `slots` in parallel on the current rayon pool (after a serial warm-up); on a pool of
    /// one thread this is exactly a loop of [`Index::insert`]. Levels are drawn in `slots` order.
    fn insert_batch(&mut self, slots: &[u32], source: &dyn VectorSource) -> Result<()> {
        self.check_source(source)?;
        let mut seen = Bitset::new();
        for &slot in slots {
            self.check_new_slot(slot, source)?;
            if !seen.set(slot) {
                return Err(Error::InvalidArgument(format!("slot {slot} appears twice in the batch")));
            }
        }
        // Copy mapped lists now, before any `&self` writer of the parallel build runs.
        self.graph.make_owned();
        if let Some(&max) = slots.iter().max() {
            self.graph.reserve_slots(max as usize + 1);
        }
        for &slot in slots {
            let level = self.rng.next_level(self.params.ml);
            self.graph.add_node(slot, level)?;
        }
        let already = self.graph.present() - slots.len();
        let warm = SERIAL_WARMUP.saturating_sub(already).min(slots.len());
        let (head, tail) = slots.split_at(warm);
        self.link(head, source, false);
        self.link(tail, source, rayon::current_num_threads() > 1);
        Ok(())
    }

    fn delete(&mut self, slot: u32) -> Result<()> {
        if self.graph.level(slot).is_none() {
            return Err(Error::InvalidArgument(format!("slot {slot} is not in the index")));
        }
        self.graph.mark_deleted(slot);
        Ok(())
    }

    fn contains(&self, slot: u32) -> bool {
        self.graph.is_live(slot)
    }

    /// `params.ef = 0` means the index's own `ef_search`; the beam is `max(ef, k)` wide.
    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        if query.vector.len() != self.dim {
            return Err(Error::DimensionMismatch { expected: self.dim, got: query.vector.len() });
        }
        check_covers(self.graph.capacity(), source)?;
        Ok(search::knn(&self.graph, &self.params, source, query, params, stats))
    }

    fn save(&self, out: &mut Vec<u8>) -> Result<()> {
        persist::write(self.dim, &self.params, &self.graph, &self.rng, out);
        Ok(())
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.graph.memory_bytes() + self.locks.memory_bytes()
    }
}

/// Creates and loads [`Hnsw`] indexes.
#[derive(Debug, Default, Clone, Copy)]
pub struct HnswFactory;

impl IndexFactory for HnswFactory {
    fn id(&self) -> &str {
        ID
    }

    fn version(&self) -> u32 {
        FORMAT_VERSION
    }

    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>> {
        Ok(Box::new(Hnsw::new(dim, Params::from_json(params)?)))
    }

    /// Loads a saved index. The structural parameters come from the bytes; `params` must parse,
    /// must agree with them on `m` and `ef_construction` when it names them, and may override
    /// `ef_search`.
    fn load(&self, dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>> {
        let requested = Params::from_json(params)?;
        with_params(persist::read(dim, bytes)?, params, requested)
    }

    /// As [`load`](Self::load); from a memory map, layer 0 is used in place without being read
    /// (see [`persist`]), so opening does not grow with the number of nodes.
    fn load_shared(&self, dim: usize, params: &serde_json::Value, bytes: SharedBytes) -> Result<Box<dyn Index>> {
        let requested = Params::from_json(params)?;
        with_params(persist::read_shared(dim, &bytes)?, params, requested)
    }
}

/// Checks the given `params` against a loaded index's and applies the `ef_search` override.
fn with_params(mut index: Hnsw, params: &serde_json::Value, requested: Params) -> Result<Box<dyn Index>> {
    let (want, have) = (requested.to_json(), index.params.to_json());
    for key in params.as_object().into_iter().flat_map(|o| o.keys()).map(String::as_str) {
        if key == "ef_search" {
            index.params.ef_search = requested.ef_search;
        } else if want[key] != have[key] {
            return Err(Error::InvalidConfig(format!(
                "hnsw parameter '{key}' is {} in the saved index but {} was given",
                have[key], want[key]
            )));
        }
    }
    Ok(Box::new(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::testing::PointSource;

    fn check_invariants(h: &Hnsw) {
        let g = h.graph();
        let mut links = Vec::new();
        for s in g.slots() {
            let level = g.level(s).unwrap() as usize;
            for l in 0..=level {
                g.read_links(s, l, &mut links);
                assert!(links.len() <= g.cap(l));
                assert!(!links.contains(&s), "self link at {s}");
                for &n in &links {
                    assert!(g.level(n).is_some_and(|nl| nl as usize >= l), "{s} → {n} on layer {l}");
                }
            }
        }
        let e = g.entry().unwrap();
        assert_eq!(Some(e.level), g.slots().map(|s| g.level(s).unwrap()).max());
    }

    #[test]
    fn insert_and_delete_errors() {
        let src = PointSource::random(10, 3, 1);
        let mut h = Hnsw::new(3, Params::default());
        h.insert(4, &src).unwrap();
        assert!(matches!(h.insert(4, &src), Err(Error::InvalidArgument(_))));
        assert!(matches!(h.insert(10, &src), Err(Error::InvalidArgument(_))));
        assert!(matches!(h.insert_batch(&[1, 2, 1], &src), Err(Error::InvalidArgument(_))));
        assert!(matches!(h.insert_batch(&[1, 4], &src), Err(Error::InvalidArgument(_))));
        assert_eq!(h.len(), 1, "a rejected batch adds nothing");
        let wrong_dim = PointSource::random(10, 5, 1);
        assert!(matches!(h.insert(1, &wrong_dim), Err(Error::DimensionMismatch { .. })));
        assert!(matches!(h.delete(3), Err(Error::InvalidArgument(_))));
        h.delete(4).unwrap();
        h.delete(4).unwrap();
        assert!(!h.contains(4) && h.is_empty());
        let q = PointSource::random(1, 5, 2).prepare_slot(0);
        let p = IndexSearch { k: 1, ef: 0, filter: None };
        assert!(matches!(h.search(&q, &p, &src, &mut SearchStats::default()), Err(Error::DimensionMismatch { .. })));
        // A source smaller than the index is reported, not indexed out of bounds.
        let small = PointSource::random(3, 3, 1);
        let q = small.prepare_slot(0);
        assert!(matches!(h.search(&q, &p, &small, &mut SearchStats::default()), Err(Error::Corrupted { .. })));
    }

    #[test]
    fn serial_batch_equals_inserts_and_is_reproducible() {
        let src = PointSource::random(1500, 6, 9);
        let params = Params::new(6, 40, 20, 11).unwrap();
        let save = |h: &Hnsw| {
            let mut b = Vec::new();
            h.save(&mut b).unwrap();
            b
        };
        let mut one = Hnsw::new(6, params.clone());
        for s in 0..1500 {
            one.insert(s, &src).unwrap();
        }
        check_invariants(&one);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let slots: Vec<u32> = (0..1500).collect();
        let mut batch = Hnsw::new(6, params.clone());
        pool.install(|| batch.insert_batch(&slots, &src)).unwrap();
        assert!(save(&one) == save(&batch), "a one-thread batch must equal serial inserts");
        let mut other = Hnsw::new(6, Params { seed: 12, ..params });
        for s in 0..1500 {
            other.insert(s, &src).unwrap();
        }
        assert!(save(&one) != save(&other));
    }

    #[test]
    fn parallel_batch_builds_a_valid_graph() {
        let src = PointSource::random(4000, 6, 21);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let mut h = Hnsw::new(6, Params::new(8, 64, 32, 3).unwrap());
        // Two batches: the second extends a graph that already has an entry point.
        let (a, b): (Vec<u32>, Vec<u32>) = (0..4000).partition(|s| s % 4 == 0);
        pool.install(|| h.insert_batch(&a, &src)).unwrap();
        pool.install(|| h.insert_batch(&b, &src)).unwrap();
        assert_eq!(h.len(), 4000);
        check_invariants(&h);
        let mut hits = 0;
        for i in 0..100 {
            let q = src.prepare_slot(i * 37);
            let p = IndexSearch { k: 1, ef: 32, filter: None };
            let got = h.search(&q, &p, &src, &mut SearchStats::default()).unwrap();
            hits += (got[0].slot == i * 37) as usize;
        }
        assert!(hits >= 98, "{hits}/100 points found themselves");
    }

    #[test]
    fn factory_and_params() {
        let f = HnswFactory;
        assert_eq!((f.id(), f.version()), ("hnsw", FORMAT_VERSION));
        let idx = f.create(3, &serde_json::json!({"m": 8, "ef_search": 12})).unwrap();
        assert_eq!(idx.id(), "hnsw");
        assert_eq!(idx.params()["m"], 8);
        assert!(matches!(f.create(3, &serde_json::json!({"mm": 8})), Err(Error::InvalidConfig(_))));
        let mut bytes = Vec::new();
        idx.save(&mut bytes).unwrap();
        let loaded = f.load(3, &serde_json::json!({"m": 8, "ef_search": 99}), &bytes).unwrap();
        assert_eq!(loaded.params()["ef_search"], 99);
        assert!(matches!(f.load(3, &serde_json::json!({"m": 16}), &bytes), Err(Error::InvalidConfig(_))));
        assert!(idx.memory_bytes() > 0);
    }
}
