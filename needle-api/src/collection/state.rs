//! The mutable heart of a collection: vectors, index, quantizer, and the id ↔ slot maps.
//!
//! Slots are dense `u32`s handed out in insertion order and never reused: a delete tombstones the
//! slot (the index skips it, the record becomes `None`), an upsert tombstones the old slot and
//! appends a new one. `compact()` rebuilds the state from the live records, renumbering slots.

use std::sync::Arc;

use needle_core::arena::{Scorer, VectorStore};
use needle_core::filter::Filter;
use needle_core::{Components, Distance, Error, Index, Quantizer, Registry, Result};

use super::records::{Record, Records};
use crate::plan::{self, Matches};

/// Quantizers are trained once this many vectors exist (searches run on `f32` until then).
pub(crate) const TRAIN_AFTER: usize = 1000;

#[derive(Debug)]
pub(crate) struct State {
    pub store: VectorStore,
    pub index: Box<dyn Index>,
    pub quantizer: Box<dyn Quantizer>,
    /// Ids and metadata by slot, the id index, and the field value indexes (filters) and BM25
    /// postings (hybrid) by slot, kept in step here; decoded from the file in stages on first use.
    pub records: Records,
}

impl State {
    pub fn live(&self) -> usize {
        self.records.live()
    }

    /// The live slots matching `filter` (decodes the metadata stage if not yet): the planner reads
    /// the metadata indexes and documents through a read-only view.
    pub fn matching(&self, filter: &Filter) -> Result<Matches> {
        let m = self.records.meta()?;
        // A document that cannot be read again (the section changed under its map) fails the query.
        let failed = std::cell::RefCell::new(None);
        let doc = |s| match m.doc(s) {
            Ok(d) => d,
            Err(e) => {
                failed.borrow_mut().get_or_insert(e);
                None
            }
        };
        let matches = plan::matching(&m.indexes.fields, &doc, filter);
        match failed.into_inner() {
            Some(e) => Err(e),
            None => Ok(matches),
        }
    }

    /// Appends a validated vector and indexes it. The graph is always built on exact distances,
    /// so its quality does not depend on quantization (and retraining never invalidates it).
    pub fn append(&mut self, distance: &Arc<dyn Distance>, record: Record, vector: &[f32]) -> Result<u32> {
        self.check_in_step()?;
        let slot = self.records.push(record)?;
        let quantizer = self.quantizer.is_trained().then_some(&*self.quantizer);
        self.store.push(vector, quantizer.filter(|q| q.code_len() > 0));
        let scorer = Scorer::new(&self.store, &**distance, None);
        if let Err(e) = self.index.insert(slot, &scorer) {
            // Keep the records consistent with the index: the slot exists but is dead.
            self.records.remove_slot(slot)?;
            return Err(e);
        }
        self.maybe_train()?;
        Ok(slot)
    }

    /// Appends many validated vectors, indexing them in one batch call. An id that is live (or
    /// twice in `items`) is a `DuplicateId` error that leaves the batch's slots dead (callers check ids first).
    ///
    /// `items` are `(id, vector, metadata)` (the order of the API and the WAL), borrowed from the caller's batch: a bulk insert makes
    /// no copy of it beyond what is stored (each buffer is grown once, to its final size).
    pub fn append_batch<'a>(
        &mut self,
        distance: &Arc<dyn Distance>,
        items: impl ExactSizeIterator<Item = (&'a str, &'a [f32], Option<&'a serde_json::Value>)> + Clone,
    ) -> Result<()> {
        self.check_in_step()?;
        let quantizer = self.quantizer.is_trained().then_some(&*self.quantizer);
        let mut slots = Vec::with_capacity(items.len());
        self.store.reserve(items.len());
        self.records.reserve(items.len(), items.clone().map(|(id, _, _)| id.len()).sum())?;
        for (id, vector, metadata) in items {
            match self.records.push_parts(id, metadata.cloned()) {
                Ok(slot) => slots.push(slot),
                Err(e) => {
                    // The slots appended so far are not indexed: they stay, dead.
                    for &slot in &slots {
                        self.records.remove_slot(slot)?;
                    }
                    return Err(e);
                }
            }
            self.store.push(vector, quantizer.filter(|q| q.code_len() > 0));
        }
        let scorer = Scorer::new(&self.store, &**distance, None);
        // In parallel on the current rayon pool (needle-core's `hnsw_parallel_build` test checks
        // that no node is ever lost by it).
        let result = self.index.insert_batch(&slots, &scorer);
        if let Err(e) = result {
            for &slot in &slots {
                if !self.index.contains(slot) {
                    self.records.remove_slot(slot)?;
                }
            }
            return Err(e);
        }
        self.maybe_train()
    }

    /// Records and vectors have one slot each (records are pushed first, so a refused record
    /// never leaves a vector behind).
    fn check_in_step(&self) -> Result<()> {
        let slots = self.records.slots()?;
        if slots != self.store.len() {
            return Err(Error::Internal(format!("{slots} records but {} vectors", self.store.len())));
        }
        Ok(())
    }

    /// Removes `id`; returns whether it existed.
    pub fn remove(&mut self, id: &str) -> Result<bool> {
        let Some(slot) = self.records.ids()?.get(id) else { return Ok(false) };
        self.index.delete(slot)?;
        self.records.remove_slot(slot)?;
        Ok(true)
    }

    fn maybe_train(&mut self) -> Result<()> {
        if self.quantizer.code_len() == 0 || self.quantizer.is_trained() || self.store.len() < TRAIN_AFTER {
            return Ok(());
        }
        self.quantizer.train(&self.store.rows())?;
        self.store.encode_all(&*self.quantizer);
        Ok(())
    }

    /// Scorer for searches: on codes when quantized and trained.
    pub fn search_scorer<'a>(&'a self, distance: &'a dyn Distance) -> Scorer<'a> {
        Scorer::new(&self.store, distance, Some(&*self.quantizer))
    }

    /// A copy holding only the live vectors, in slot order, with a freshly built index and
    /// quantizer (used by `compact`).
    pub fn rebuilt(&self, registry: &Registry, components: &Components, distance: &Arc<dyn Distance>) -> Result<State> {
        let dim = self.store.dim();
        let mut fresh = State {
            store: VectorStore::new(dim, distance.needs_norms()),
            index: registry.index(&components.index)?.create(dim, &components.index_params)?,
            quantizer: registry.quantizer(&components.quantizer)?.create(dim, &components.quantizer_params)?,
            records: Records::empty(self.records.text_field()),
        };
        let mut items: Vec<(Record, &[f32])> = Vec::with_capacity(self.live());
        for slot in self.records.ids()?.live_slots() {
            if let Some(r) = self.records.get(slot, true)? {
                items.push((r, self.store.vector(slot)));
            }
        }
        if !items.is_empty() {
            fresh.append_batch(distance, items.iter().map(|(r, v)| (r.id.as_str(), *v, r.metadata.as_ref())))?;
        }
        Ok(fresh)
    }

    /// Heap bytes (what is borrowed from the file's memory map counts 0).
    pub fn memory_bytes(&self) -> usize {
        self.store.memory_bytes() + self.index.memory_bytes() + self.records.memory_bytes()
    }
}
