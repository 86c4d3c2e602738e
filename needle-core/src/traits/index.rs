//! The `Index` trait: finds the nearest stored vectors to a query.
//!
//! An index stores only structure (a graph, lists, …), never the vectors themselves: it names
//! vectors by *slot* (a dense `u32` the collection assigns) and asks a [`VectorSource`] for
//! distances, a batch of slots at a time. The source hides whether distances come from full `f32`
//! vectors or from quantized codes, so one index implementation serves every quantizer.

use std::fmt::Debug;

use crate::format::SharedBytes;
use crate::Result;

/// A query made ready for repeated scoring: its vector, its norm and (when the collection is
/// quantized) its encoded form. Built once per query by [`VectorSource::prepare`].
#[derive(Debug, Clone, Default)]
pub struct PreparedQuery {
    /// The query as given.
    pub vector: Vec<f32>,
    /// `‖vector‖₂` when the distance uses norms ([`crate::Distance::needs_norms`]), else 0.
    pub norm: f32,
    /// Quantizer-specific prepared form (empty when not quantized).
    pub code: Vec<u8>,
    /// Which source-side object the query stands for, when the source keeps one (a plugin's
    /// host-prepared query); [`QuerySlot::NONE`] for sources that need only the fields above.
    pub slot: QuerySlot,
}

/// A checked, opaque reference from a [`PreparedQuery`] to state its [`VectorSource`] keeps for
/// it (the plugin SDK's host-prepared queries). It holds numbers, never a pointer: the source that
/// made it looks `index` up in its own table only when `owner` is its own id, so a copy kept past
/// the source's life, or forged, finds nothing and the source falls back to `vector`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuerySlot {
    owner: u64,
    index: u32,
}

impl QuerySlot {
    /// No source-side state: the query is just its vector, norm and code.
    pub const NONE: QuerySlot = QuerySlot { owner: 0, index: 0 };

    /// Entry `index` of the table of the source whose id is `owner` (ids are never 0).
    pub fn new(owner: u64, index: u32) -> Self {
        QuerySlot { owner, index }
    }

    /// Entry `index` if this slot was made by the source with id `owner`.
    pub fn index_for(&self, owner: u64) -> Option<usize> {
        (owner != 0 && self.owner == owner).then_some(self.index as usize)
    }
}

/// What an index sees of the stored vectors.
///
/// Implemented by the collection's vector store. `score` is the hot call: it receives all the
/// unvisited neighbours of one graph node at once.
pub trait VectorSource: Sync {
    /// Dimensions of every vector.
    fn dim(&self) -> usize;
    /// One past the highest slot in use.
    fn slot_count(&self) -> usize;
    /// Prepares a query vector for scoring.
    fn prepare(&self, query: &[f32]) -> PreparedQuery;
    /// Prepares the stored vector in `slot` as a query (used when inserting it).
    fn prepare_slot(&self, slot: u32) -> PreparedQuery;
    /// [`VectorSource::score`] with the stored vector in `slot` as the query. A build's neighbour
    /// selection scores every candidate it weighs this way; a source that can read the stored
    /// vector in place saves preparing (copying) it each time. The heuristic scores one candidate
    /// in a few growing batches, so the default, which prepares on every call, suits only sources
    /// that are not used for building.
    fn score_slot(&self, slot: u32, slots: &[u32], out: &mut [f32]) {
        self.score(&self.prepare_slot(slot), slots, out)
    }
    /// Distances from `query` to each slot in `slots` (smaller is closer); `out.len() == slots.len()`.
    fn score(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]);
    /// Exact full-precision distances (differs from `score` only for quantized sources).
    fn score_exact(&self, query: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        self.score(query, slots, out)
    }
    /// Exact distances to the consecutive slots `first..first + out.len()`, all of which exist.
    /// Scans call it for runs of consecutive live slots: a source that stores rows contiguously
    /// streams them in order, which the hardware prefetcher follows best.
    fn score_exact_run(&self, query: &PreparedQuery, first: u32, out: &mut [f32]) {
        let slots: Vec<u32> = (first..first + out.len() as u32).collect();
        self.score_exact(query, &slots, out)
    }
    /// Hints that `slot` will be scored soon (software prefetch). Optional.
    fn prefetch(&self, _slot: u32) {}
    /// The relative size of the error of [`VectorSource::score`] against
    /// [`VectorSource::score_exact`] for each slot (`out.len() == slots.len()`, values > 0): exact
    /// rescoring ([`crate::quant::rescore`]) learns one error bound per query and scales it per
    /// slot by these. The default, 1 everywhere, suits sources whose errors are alike for all
    /// rows; a quantized source forwards to [`crate::Quantizer::error_scales`].
    fn error_scales(&self, _query: &PreparedQuery, _slots: &[u32], out: &mut [f32]) {
        out.fill(1.0)
    }
}

/// One search result inside the engine: a slot and its distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The slot.
    pub slot: u32,
    /// Its distance to the query (smaller is closer).
    pub distance: f32,
}

/// Per-query knobs an index receives.
#[derive(Clone, Copy)]
pub struct IndexSearch<'a> {
    /// How many results to return (at most; fewer only when fewer live vectors pass the filter).
    pub k: usize,
    /// Size of the dynamic candidate list (HNSW's `ef`); the index uses `max(ef, k)`.
    pub ef: usize,
    /// Keeps only slots for which it returns true (deleted slots are always skipped).
    pub filter: Option<&'a (dyn Fn(u32) -> bool + Sync)>,
}

impl Debug for IndexSearch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexSearch")
            .field("k", &self.k)
            .field("ef", &self.ef)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

/// Counters an index fills while searching (for `search_explain` and metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SearchStats {
    /// Graph layers walked (0 for non-graph indexes).
    pub layers_traversed: u32,
    /// Nodes whose neighbour lists were expanded.
    pub nodes_visited: u64,
    /// Distances computed.
    pub distance_computations: u64,
}

/// A nearest-neighbour index over slots.
///
/// Writers (`insert`, `insert_batch`, `delete`) take `&mut self`: the collection serialises them.
/// `search` takes `&self` and may run on many threads at once.
pub trait Index: Send + Sync + Debug + 'static {
    /// The stable registry id (`hnsw`, `flat`, or a plugin's id).
    fn id(&self) -> &str;

    /// Parameters as JSON (recorded in the file and shown by `info`).
    fn params(&self) -> serde_json::Value;

    /// Number of live (not deleted) slots in the index.
    fn len(&self) -> usize;

    /// True when no live slot is indexed.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every search is an exact scan anyway (the flat index): the planner then never
    /// weighs a graph walk against a scan of the filter's matches.
    fn is_exact(&self) -> bool {
        false
    }

    /// True when an unfiltered search costs about its beam (`max(ef, k)`) times the graph
    /// degree in distance computations, whatever the number of vectors (built-in HNSW): a caller
    /// may then treat a search with a small beam as short, e.g. the server runs it in place
    /// instead of on a thread pool. Only an index that knows it says so: the default is false,
    /// and a plugin index across the C ABI never claims it. A graph so full of tombstones that a
    /// beam cannot be filled may still fall back to a scan.
    fn is_beam_bounded(&self) -> bool {
        false
    }

    /// Adds `slot`, whose vector `source` already holds.
    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()>;

    /// Adds many slots; implementations may build in parallel. The result must not depend on the
    /// number of threads beyond what the index documents.
    fn insert_batch(&mut self, slots: &[u32], source: &dyn VectorSource) -> Result<()> {
        for &s in slots {
            self.insert(s, source)?;
        }
        Ok(())
    }

    /// Marks `slot` deleted (a tombstone): searches skip it from now on.
    fn delete(&mut self, slot: u32) -> Result<()>;

    /// Whether `slot` is indexed and live.
    fn contains(&self, slot: u32) -> bool;

    /// The nearest live slots to `query`, closest first, at most `params.k` of them; returns
    /// `min(k, live matching slots)` results whenever it can.
    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>>;

    /// Serialises the index structure (the collection saves vectors separately).
    fn save(&self, out: &mut Vec<u8>) -> Result<()>;

    /// Bytes of memory the structure uses (excluding vectors).
    fn memory_bytes(&self) -> usize;
}

/// Creates and loads indexes of one kind; registered under [`IndexFactory::id`].
pub trait IndexFactory: Send + Sync + Debug + 'static {
    /// The registry id.
    fn id(&self) -> &str;
    /// Version of this implementation's serialised form (recorded in the file).
    fn version(&self) -> u32;
    /// A new empty index. `params` is a JSON object of index parameters (e.g. `{"m":16}`);
    /// unknown keys are an error.
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>>;
    /// Loads what [`Index::save`] wrote. Corrupt input gives [`crate::Error::Corrupted`], never a panic.
    fn load(&self, dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>>;
    /// Loads what [`Index::save`] wrote from shared bytes, which may be a file's read-only memory
    /// map ([`SharedBytes::is_mapped`]): an index may keep them and use its structure in place
    /// instead of parsing it, so opening a large file does not read it. Such bytes' checksum is
    /// verified only later (in the background), so whatever part the index does not validate at
    /// load must be read defensively: damage may give wrong results until the check reports it,
    /// never a panic or a read out of bounds. The default calls [`load`](Self::load).
    fn load_shared(&self, dim: usize, params: &serde_json::Value, bytes: SharedBytes) -> Result<Box<dyn Index>> {
        self.load(dim, params, &bytes)
    }
}
