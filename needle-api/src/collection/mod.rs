//! [`Collection`]: a named set of vectors with metadata, searched by an index.
//!
//! A `Collection` is a cheap, cloneable, `Send + Sync` handle. Searches take a shared lock and run
//! in parallel with each other; writes take the collection's exclusive lock for the short time an
//! insert needs, and never block other collections.

mod cancel;
mod ids;
mod meta_index;
mod records;
mod state;
#[cfg(test)]
mod tests;
#[cfg(feature = "hybrid")]
mod text_index;
mod warm;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::Instant;

use needle_core::filter::Filter;
use needle_core::index::topk::scan_top_k;
use needle_core::quant::rescore;
use needle_core::{Components, Distance, Error, IndexSearch, Registry, Result, SearchStats, VectorSource};
use parking_lot::RwLock;
use rayon::prelude::*;
use serde::Serialize;

use crate::config::CollectionConfig;
use crate::durability::Log;
use crate::explain::{us, Explained, SearchProfile};
use crate::plan::{self, Matches};
use crate::search::Strategy;
use crate::search::{SearchParams, SearchResult};
use crate::validate;
use crate::wal_ops::{self, Item};
pub(crate) use records::{decode_list as decode_record_list, DocCache, Record, Records};
pub(crate) use state::State;

/// One item of [`Collection::insert_batch_rows`]: id, vector, metadata.
pub type BatchRow<'a> = (&'a str, &'a [f32], Option<&'a serde_json::Value>);

/// A stored vector, as returned by [`Collection::get`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorRecord {
    /// Its id.
    pub id: String,
    /// The vector exactly as inserted.
    pub vector: Vec<f32>,
    /// Its metadata.
    pub metadata: Option<serde_json::Value>,
}

/// Summary of a collection (for `info`, the CLI and the server).
#[derive(Debug, Clone, Serialize)]
pub struct CollectionInfo {
    /// Its config.
    pub config: CollectionConfig,
    /// Component ids in use.
    pub components: Components,
    /// Live vectors.
    pub count: usize,
    /// Slots including tombstones.
    pub slots: usize,
    /// Approximate heap bytes.
    pub memory_bytes: usize,
    /// Whether searches currently run on quantized codes.
    pub quantized: bool,
    /// The distance kernel backend in use.
    pub simd_backend: String,
}

pub(crate) struct Shared {
    pub config: CollectionConfig,
    pub components: Components,
    pub distance: Arc<dyn Distance>,
    /// [`Index::is_beam_bounded`](needle_core::Index::is_beam_bounded) of the index, read once:
    /// every index the state ever holds (compaction rebuilds it) comes from the same factory
    /// and parameters (`components.index`), so it cannot change, and asking needs no lock.
    pub beam_bounded: bool,
    pub state: RwLock<State>,
    pub dropped: AtomicBool,
    pub dirty: Arc<AtomicBool>,
    pub read_only: bool,
    pub log: Arc<Log>,
    pub registry: Arc<Registry>,
    /// The database's deferred checksum check (a failure makes every call `corrupted`).
    pub integrity: Arc<crate::integrity::Integrity>,
}

impl Shared {
    /// Fails when the collection may not be used: its database closed, the collection dropped,
    /// or the file found corrupted.
    fn check_alive(&self) -> Result<()> {
        self.log.check_open()?;
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::CollectionNotFound(self.config.name.clone()));
        }
        self.integrity.check()
    }
}

/// What the metrics gauges read: live vectors and, when asked, heap bytes (as `count()` and
/// `info()` report them).
#[cfg(feature = "metrics")]
impl crate::metrics::Sampled for Shared {
    fn sample(&self, memory: bool) -> Option<(usize, usize)> {
        self.check_alive().ok()?;
        let st = self.state.read();
        Some((st.live(), if memory { st.memory_bytes() } else { 0 }))
    }
}

/// A handle to one collection. Cloning is cheap; all clones see the same data.
#[derive(Clone)]
pub struct Collection {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Collection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collection").field("name", &self.shared.config.name).finish()
    }
}

impl Collection {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: CollectionConfig,
        components: Components,
        distance: Arc<dyn Distance>,
        state: State,
        dirty: Arc<AtomicBool>,
        read_only: bool,
        log: Arc<Log>,
        registry: Arc<Registry>,
        integrity: Arc<crate::integrity::Integrity>,
    ) -> Self {
        let beam_bounded = state.index.is_beam_bounded();
        let c = Collection {
            shared: Arc::new(Shared {
                config,
                components,
                distance,
                beam_bounded,
                state: RwLock::new(state),
                dropped: AtomicBool::new(false),
                dirty,
                read_only,
                log,
                registry,
                integrity,
            }),
        };
        #[cfg(feature = "metrics")]
        crate::metrics::track(Arc::downgrade(&c.shared) as std::sync::Weak<dyn crate::metrics::Sampled>);
        c
    }

    /// The collection's name.
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// Vector dimensions.
    pub fn dimensions(&self) -> usize {
        self.shared.config.dimensions
    }

    /// The collection's configuration.
    pub fn config(&self) -> &CollectionConfig {
        &self.shared.config
    }

    /// Whether an unfiltered search's cost follows its beam (`max(ef, k)`), not the number of
    /// vectors ([`Index::is_beam_bounded`](needle_core::Index::is_beam_bounded); true for the
    /// built-in HNSW index, false for `flat` and for plugin indexes). Takes no lock.
    pub fn is_beam_bounded(&self) -> bool {
        self.shared.beam_bounded
    }

    pub(crate) fn check_alive(&self) -> Result<()> {
        self.shared.check_alive()
    }

    fn check_writable(&self) -> Result<()> {
        self.check_alive()?;
        if self.shared.read_only {
            return Err(Error::ReadOnly("the database was opened read-only".into()));
        }
        if let Some(msg) = self.shared.log.failure() {
            return Err(Error::ReadOnly(format!("an earlier write to the log failed ({msg}); reopen the database")));
        }
        Ok(())
    }

    /// Takes the collection's write lock and checks again, under it, that the collection may be
    /// written: `drop_collection` takes the same lock to mark it dropped, so no record of this
    /// collection can reach the WAL after its drop record.
    fn lock_for_write(&self) -> Result<parking_lot::RwLockWriteGuard<'_, State>> {
        let st = self.shared.state.write();
        self.check_writable()?;
        Ok(st)
    }

    pub(crate) fn check_vector(&self, v: &[f32]) -> Result<()> {
        let d = &self.shared.distance;
        validate::vector(v, self.dimensions(), d.needs_norms(), d.id())
    }

    fn mark_dirty(&self) {
        self.shared.dirty.store(true, Ordering::Release);
    }

    /// Number of live vectors.
    pub fn count(&self) -> Result<usize> {
        self.check_alive()?;
        Ok(self.shared.state.read().live())
    }

    /// True when the collection holds no live vector.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.count()? == 0)
    }

    /// Inserts a new vector. An id that exists already is [`Error::DuplicateId`] (see `upsert`).
    pub fn insert(&self, id: &str, vector: &[f32], metadata: Option<serde_json::Value>) -> Result<()> {
        #[cfg(feature = "metrics")]
        let _timer = crate::metrics::InsertTimer::start();
        self.check_writable()?;
        validate::id(id)?;
        self.check_vector(vector)?;
        validate::metadata(metadata.as_ref())?;
        let mut st = self.lock_for_write()?;
        if st.records.ids()?.contains(id) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let lsn = self.log(|| wal_ops::encode_insert(self.name(), std::iter::once((id, vector, metadata.as_ref()))))?;
        st.append(&self.shared.distance, Record { id: id.to_string(), metadata }, vector)?;
        self.mark_dirty();
        drop(st);
        self.shared.log.commit(lsn)?;
        self.shared.log.after_write();
        Ok(())
    }

    /// Appends an operation to the WAL (when the database has one); returns its LSN.
    fn log(&self, encode: impl FnOnce() -> Result<Vec<u8>>) -> Result<u64> {
        if !self.shared.log.is_enabled() {
            return Ok(0);
        }
        self.shared.log.append(encode()?)
    }

    /// Inserts many vectors at once (faster: the index builds them as one batch).
    ///
    /// All or nothing for bad input: every id and vector is validated (and checked against
    /// existing ids and the rest of the batch) before anything is inserted; the error names the
    /// offending item.
    pub fn insert_batch(&self, items: &[(String, Vec<f32>, Option<serde_json::Value>)]) -> Result<()> {
        let rows: Vec<BatchRow<'_>> = items.iter().map(|(id, v, m)| (id.as_str(), v.as_slice(), m.as_ref())).collect();
        self.insert_batch_rows(&rows)
    }

    /// [`insert_batch`](Self::insert_batch) over borrowed rows: callers that hold their vectors in
    /// one buffer (a numpy array, a C array) insert them without copying each into a `Vec`.
    pub fn insert_batch_rows(&self, items: &[BatchRow<'_>]) -> Result<()> {
        #[cfg(feature = "metrics")]
        let _timer = crate::metrics::InsertTimer::start();
        self.check_writable()?;
        for (i, &(id, v, m)) in items.iter().enumerate() {
            self.check(id, v).and_then(|()| validate::metadata(m)).map_err(|e| match e {
                Error::InvalidId(m) => Error::InvalidId(format!("batch item {i}: {m}")),
                Error::InvalidArgument(m) => Error::InvalidArgument(format!("batch item {i}: {m}")),
                other => other,
            })?;
        }
        if let Some(id) = validate::repeated_id(items, |&(id, _, _)| id) {
            return Err(Error::DuplicateId(format!("{id} (twice in one batch)")));
        }
        let mut st = self.lock_for_write()?;
        let ids = st.records.ids()?;
        if let Some((id, _, _)) = items.iter().find(|(id, _, _)| ids.contains(id)) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        let parts = items.iter().copied();
        let lsn = self.log(|| wal_ops::encode_insert(self.name(), parts.clone()))?;
        st.append_batch(&self.shared.distance, parts)?;
        self.mark_dirty();
        drop(st);
        self.shared.log.commit(lsn)?;
        self.shared.log.after_write();
        Ok(())
    }

    /// Inserts, or replaces the vector and metadata of an existing id. Returns true when it
    /// replaced one. The new vector is searchable as soon as this returns.
    pub fn upsert(&self, id: &str, vector: &[f32], metadata: Option<serde_json::Value>) -> Result<bool> {
        #[cfg(feature = "metrics")]
        let _timer = crate::metrics::InsertTimer::start();
        self.check_writable()?;
        validate::id(id)?;
        self.check_vector(vector)?;
        validate::metadata(metadata.as_ref())?;
        let mut st = self.lock_for_write()?;
        let lsn = self.log(|| wal_ops::encode_upsert(self.name(), id, vector, metadata.as_ref()))?;
        let replaced = st.remove(id)?;
        st.append(&self.shared.distance, Record { id: id.to_string(), metadata }, vector)?;
        self.mark_dirty();
        drop(st);
        self.shared.log.commit(lsn)?;
        self.shared.log.after_write();
        Ok(replaced)
    }

    /// The vector and metadata stored under `id`, if any.
    pub fn get(&self, id: &str) -> Result<Option<VectorRecord>> {
        self.check_alive()?;
        let st = self.shared.state.read();
        let Some(slot) = st.records.ids()?.get(id) else { return Ok(None) };
        let Some(r) = st.records.get(slot, true)? else { return Ok(None) };
        Ok(Some(VectorRecord { id: r.id, vector: st.store.vector(slot).to_vec(), metadata: r.metadata }))
    }

    /// Deletes `id`; returns whether it existed.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.check_writable()?;
        let mut st = self.lock_for_write()?;
        if !st.records.ids()?.contains(id) {
            return Ok(false);
        }
        let lsn = self.log(|| Ok(wal_ops::encode_delete(self.name(), id)))?;
        st.remove(id)?;
        self.mark_dirty();
        drop(st);
        self.shared.log.commit(lsn)?;
        self.shared.log.after_write();
        Ok(true)
    }

    /// Applies a replayed WAL insert (no logging; the record is already durable).
    pub(crate) fn replay_insert(&self, items: Vec<Item>) -> Result<()> {
        let mut st = self.shared.state.write();
        let ids = st.records.ids()?;
        for it in &items {
            self.check_replayed(&it.id, &it.vector)?;
            if ids.contains(&it.id) {
                return Err(Error::DuplicateId(it.id.clone()));
            }
        }
        if let Some(id) = validate::repeated_id(&items, |it| it.id.as_str()) {
            return Err(Error::DuplicateId(id.to_string()));
        }
        st.append_batch(
            &self.shared.distance,
            items.iter().map(|it| (it.id.as_str(), it.vector.as_slice(), it.metadata.as_ref())),
        )?;
        self.mark_dirty();
        Ok(())
    }

    /// Applies a replayed WAL upsert.
    pub(crate) fn replay_upsert(&self, item: Item) -> Result<()> {
        self.check_replayed(&item.id, &item.vector)?;
        let mut st = self.shared.state.write();
        st.remove(&item.id)?;
        st.append(&self.shared.distance, Record { id: item.id, metadata: item.metadata }, &item.vector)?;
        self.mark_dirty();
        Ok(())
    }

    /// Applies a replayed WAL delete.
    pub(crate) fn replay_delete(&self, id: &str) -> Result<()> {
        self.shared.state.write().remove(id)?;
        self.mark_dirty();
        Ok(())
    }

    /// Rewrites the collection without tombstoned slots: vectors, records and index are rebuilt
    /// from the live vectors in their current order (same components, same seed). Memory shrinks
    /// now; the file shrinks at the next `save()` (`Database::compact` does both).
    pub fn compact(&self) -> Result<()> {
        self.check_writable()?;
        let mut st = self.lock_for_write()?;
        if st.store.len() == st.live() {
            return Ok(());
        }
        let fresh = st.rebuilt(&self.shared.registry, &self.shared.components, &self.shared.distance)?;
        *st = fresh;
        self.mark_dirty();
        Ok(())
    }

    /// Whether a live vector with this id exists (cheaper than `get`: copies nothing).
    pub fn contains(&self, id: &str) -> Result<bool> {
        self.check_alive()?;
        Ok(self.shared.state.read().records.ids()?.contains(id))
    }

    /// Checks an id and a vector exactly as `insert` would, without inserting.
    pub fn check(&self, id: &str, vector: &[f32]) -> Result<()> {
        self.shared.log.check_open()?;
        validate::id(id)?;
        self.check_vector(vector)
    }

    /// [`check`](Self::check) for a replayed WAL record: without the norm limit, which records
    /// acknowledged before it existed may exceed (see `validate::stored_vector`).
    fn check_replayed(&self, id: &str, vector: &[f32]) -> Result<()> {
        validate::id(id)?;
        let d = &self.shared.distance;
        validate::stored_vector(vector, self.dimensions(), d.needs_norms(), d.id())
    }

    /// All live ids (in slot order).
    pub fn ids(&self) -> Result<Vec<String>> {
        self.check_alive()?;
        let st = self.shared.state.read();
        Ok(st.records.ids()?.live_ids().map(|(_, id)| id.to_string()).collect())
    }

    /// The `k` nearest vectors to `query`, closest first, with metadata.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchResult>> {
        self.search_with(query, &SearchParams::new(k))
    }

    /// Search with per-query parameters (ef, metadata, a filter, a forced strategy).
    pub fn search_with(&self, query: &[f32], params: &SearchParams) -> Result<Vec<SearchResult>> {
        Ok(self.search_profiled(query, params, params.filter.as_ref())?.results)
    }

    /// The `k` nearest vectors whose metadata matches `filter`: `min(k, matches)` results, closest
    /// first. Few matches are scanned exactly, many are searched in the graph (see [`Filter`] for
    /// the language and `SearchParams::with_strategy` to override the choice).
    ///
    /// ```
    /// use needle::{Database, Filter, SearchParams};
    /// use serde_json::json;
    /// # fn main() -> needle::Result<()> {
    /// let db = Database::in_memory();
    /// let c = db.create_collection("books", 2)?;
    /// c.insert("a", &[1.0, 0.0], Some(json!({"year": 1999, "tags": ["sf"]})))?;
    /// c.insert("b", &[0.9, 0.1], Some(json!({"year": 2015, "tags": ["sf", "space"]})))?;
    /// c.insert("c", &[0.0, 1.0], Some(json!({"year": 2020})))?;
    /// let recent_sf = Filter::parse(&json!({"year": {"$gte": 2000}, "tags": "sf"}))?;
    /// let hits = c.search_with_filter(&[1.0, 0.0], 10, &recent_sf)?;
    /// assert_eq!(hits.len(), 1);
    /// assert_eq!(hits[0].id, "b");
    /// // The same through SearchParams, with a per-query ef.
    /// let p = SearchParams::new(10).with_filter(recent_sf).with_ef_search(64);
    /// assert_eq!(c.search_with(&[1.0, 0.0], &p)?[0].id, "b");
    /// # Ok(()) }
    /// ```
    pub fn search_with_filter(&self, query: &[f32], k: usize, filter: &Filter) -> Result<Vec<SearchResult>> {
        Ok(self.search_profiled(query, &SearchParams::new(k), Some(filter))?.results)
    }

    /// Like [`search`](Self::search), with a profile of how the query ran: strategy, `ef`,
    /// layers, nodes visited, distance computations, candidates rescored, time per phase.
    pub fn search_explain(&self, query: &[f32], k: usize) -> Result<Explained> {
        self.search_explain_with(query, &SearchParams::new(k))
    }

    /// Like [`search_with`](Self::search_with), with a profile (see [`search_explain`](Self::search_explain)).
    pub fn search_explain_with(&self, query: &[f32], params: &SearchParams) -> Result<Explained> {
        self.search_profiled(query, params, params.filter.as_ref())
    }

    fn search_profiled(&self, query: &[f32], params: &SearchParams, filter: Option<&Filter>) -> Result<Explained> {
        let t0 = Instant::now();
        self.check_alive()?;
        validate::k(params.k).inspect_err(count_rejected)?;
        self.check_vector(query).inspect_err(count_rejected)?;
        let st = self.shared.state.read();
        let mut profile = SearchProfile::default();
        let matches = filter
            .map(|f| {
                let t = Instant::now();
                let m = st.matching(f);
                profile.phases.filter_us = us(t.elapsed());
                m
            })
            .transpose()?;
        let results = self.search_locked(&st, query, params, matches.as_ref(), &mut profile)?;
        profile.phases.total_us = us(t0.elapsed());
        Ok(Explained { results, profile })
    }

    /// Searches many queries in parallel (rayon); results are in query order. `params` may carry a
    /// filter (`SearchParams::new(k).with_filter(f)`): it is resolved once for the whole batch.
    /// `k` overrides `params.k`.
    pub fn batch_search(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        params: Option<&SearchParams>,
    ) -> Result<Vec<Vec<SearchResult>>> {
        let rows: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        self.batch_search_rows(&rows, k, params)
    }

    /// [`batch_search`](Self::batch_search) over borrowed query rows (no copy per query).
    pub fn batch_search_rows(
        &self,
        queries: &[&[f32]],
        k: usize,
        params: Option<&SearchParams>,
    ) -> Result<Vec<Vec<SearchResult>>> {
        self.check_alive()?;
        let params = params.cloned().map(|p| SearchParams { k, ..p }).unwrap_or_else(|| SearchParams::new(k));
        validate::k(k).inspect_err(count_rejected)?;
        for q in queries {
            self.check_vector(q).inspect_err(count_rejected)?;
        }
        let st = self.shared.state.read();
        let matches = params.filter.as_ref().map(|f| st.matching(f)).transpose()?;
        queries
            .par_iter()
            .map(|q| self.search_locked(&st, q, &params, matches.as_ref(), &mut SearchProfile::default()))
            .collect()
    }

    /// [`batch_search`](Self::batch_search) with a filter.
    pub fn batch_search_with_filter(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Vec<SearchResult>>> {
        self.batch_search(queries, k, Some(&SearchParams::new(k).with_filter(filter.clone())))
    }

    /// One query under the shared lock. `matches` is `params.filter` resolved (None: no filter).
    pub(crate) fn search_locked(
        &self,
        st: &State,
        query: &[f32],
        params: &SearchParams,
        matches: Option<&Matches>,
        profile: &mut SearchProfile,
    ) -> Result<Vec<SearchResult>> {
        self.search_locked_with(st, query, params, matches, profile, None)
    }

    /// [`search_locked`](Self::search_locked) that stops an exact scan, with an error, once
    /// `cancel` is set (checked every [`cancel::BLOCK`] slots).
    pub(crate) fn search_locked_with(
        &self,
        st: &State,
        query: &[f32],
        params: &SearchParams,
        matches: Option<&Matches>,
        profile: &mut SearchProfile,
        cancel: Option<&AtomicBool>,
    ) -> Result<Vec<SearchResult>> {
        #[cfg(feature = "metrics")]
        let _timer = crate::metrics::SearchTimer::start();
        let t = Instant::now();
        let k = params.k;
        let ef = params.ef_search.unwrap_or(self.shared.config.ef_search).max(1);
        let scorer = st.search_scorer(&*self.shared.distance);
        let prepared = scorer.prepare(query);
        let quantized = scorer.is_quantized();
        let live = st.live();
        let strategy = plan::plan(params.strategy, st.index.is_exact(), live, matches, ef);
        profile.index = st.index.id().to_string();
        profile.k = k;
        profile.live = live;
        profile.filter_matches = matches.map(|m| m.count);
        profile.selectivity = matches.map(|m| if live == 0 { 0.0 } else { m.count as f64 / live as f64 });
        let mut stats = SearchStats::default();
        let t_search = Instant::now();
        profile.phases.plan_us = us(t_search - t);
        let mut rescore_us = 0.0;
        let mut hits = if strategy == Strategy::Exact || matches.is_some_and(|m| m.count == 0) {
            profile.strategy = Strategy::Exact;
            let hits = match matches {
                Some(m) => {
                    scan_top_k(cancel::Checked::new(m.set.iter(), cancel), k, &prepared, &scorer, true, &mut stats)
                }
                // Live slots: the id table's once decoded, else the index's own (equal, checked at
                // open) — an exact search must not decode every record.
                None => match st.records.live_slots_if_decoded() {
                    Some(live) => {
                        scan_top_k(cancel::Checked::new(live, cancel), k, &prepared, &scorer, true, &mut stats)
                    }
                    None => {
                        let live = (0..st.store.len() as u32).filter(|&s| st.index.contains(s));
                        scan_top_k(cancel::Checked::new(live, cancel), k, &prepared, &scorer, true, &mut stats)
                    }
                },
            };
            cancel::check(cancel)?;
            hits
        } else {
            profile.quantized = quantized;
            // Quantized: the index returns its whole beam W (max(ef, k) candidates ranked on
            // codes), and rescoring works down it exactly until no remaining candidate can enter
            // the top k (`needle_core::quant::rescore`): at least k × rescore_factor of them, more
            // when this query's codes are imprecise — so raising ef always raises recall.
            let want = if quantized { ef.max(k) } else { k };
            profile.ef = ef.max(k);
            let keep = |s: u32| matches.is_some_and(|m| m.set.contains(s));
            let filter: Option<&(dyn Fn(u32) -> bool + Sync)> = if matches.is_some() { Some(&keep) } else { None };
            let hits = st.index.search(&prepared, &IndexSearch { k: want, ef, filter }, &scorer, &mut stats)?;
            // An index that answered by scanning (tiny collections, an exhausted filtered walk of an
            // index without layers) reports no layers.
            profile.strategy = if stats.layers_traversed == 0 { Strategy::Exact } else { strategy };
            if quantized && !hits.is_empty() {
                let t_rescore = Instant::now();
                let factor = params.rescore_factor.unwrap_or(self.shared.config.rescore_factor).max(1);
                let r = rescore(&scorer, &prepared, hits, k, k.saturating_mul(factor), &mut stats);
                profile.candidates_rescored = r.rescored;
                rescore_us = us(t_rescore.elapsed());
                r.hits
            } else {
                hits
            }
        };
        let t_fetch = Instant::now();
        profile.phases.search_us = us(t_fetch - t_search) - rescore_us;
        profile.phases.rescore_us = rescore_us;
        profile.layers_traversed = stats.layers_traversed;
        profile.nodes_visited = stats.nodes_visited;
        profile.distance_computations = stats.distance_computations;
        hits.truncate(k);
        let mut out: Vec<SearchResult> = Vec::with_capacity(hits.len());
        // A distance that is not finite (to a vector stored before the norm limit, or from an
        // overflowing plugin distance) ranks last (the scorer makes it +inf) and is never returned.
        for c in hits.into_iter().filter(|c| c.distance.is_finite()) {
            if let Some(r) = st.records.get(c.slot, params.include_metadata)? {
                out.push(SearchResult { id: r.id, distance: c.distance, metadata: r.metadata });
            }
        }
        profile.returned = out.len();
        profile.phases.fetch_us = us(t_fetch.elapsed());
        Ok(out)
    }

    /// A summary: config, components, counts, memory.
    pub fn info(&self) -> Result<CollectionInfo> {
        self.check_alive()?;
        let st = self.shared.state.read();
        let quantized = st.search_scorer(&*self.shared.distance).is_quantized();
        Ok(CollectionInfo {
            config: self.shared.config.clone(),
            components: self.shared.components.clone(),
            count: st.live(),
            slots: st.store.len(),
            memory_bytes: st.memory_bytes(),
            quantized,
            simd_backend: self.shared.distance.backend_name().to_string(),
        })
    }
}

/// Counts a search refused for its input in `needle_search_requests_total`, by error code.
fn count_rejected(e: &Error) {
    #[cfg(feature = "metrics")]
    crate::metrics::search_rejected(e.code().name());
    #[cfg(not(feature = "metrics"))]
    let _ = e;
}
