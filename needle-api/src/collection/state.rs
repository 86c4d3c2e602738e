//! The mutable heart of a collection: vectors, index, quantizer, and the id ↔ slot maps.
//!
//! Slots are dense `u32`s handed out in insertion order and never reused: a delete tombstones the
//! slot (the index skips it, the record becomes `None`), an upsert tombstones the old slot and
//! appends a new one. `compact()` (storage issue) will renumber.

use std::sync::Arc;

use needle_core::store::{Scorer, VectorStore};
use needle_core::{Components, Distance, Index, Quantizer, Registry, Result};

use super::records::{Records, Table};

/// A live vector's id and metadata.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub id: String,
    pub metadata: Option<serde_json::Value>,
}

/// Quantizers are trained once this many vectors exist (searches run on `f32` until then).
pub(crate) const TRAIN_AFTER: usize = 1000;

#[derive(Debug)]
pub(crate) struct State {
    pub store: VectorStore,
    pub index: Box<dyn Index>,
    pub quantizer: Box<dyn Quantizer>,
    /// Records by slot, the id map, and the field value indexes (filters) and BM25 postings
    /// (hybrid) by slot, kept in step here; decoded from the file on first use.
    pub records: Records,
}

impl State {
    pub fn live(&self) -> usize {
        self.records.live()
    }

    /// Appends a validated vector and indexes it. The graph is always built on exact distances,
    /// so its quality does not depend on quantization (and retraining never invalidates it).
    pub fn append(&mut self, distance: &Arc<dyn Distance>, record: Record, vector: &[f32]) -> Result<u32> {
        let t = self.records.table_mut()?;
        let quantizer = self.quantizer.is_trained().then_some(&*self.quantizer);
        let slot = self.store.push(vector, quantizer.filter(|q| q.code_len() > 0));
        t.ids.insert(record.id.clone(), slot);
        t.meta.insert(slot, record.metadata.as_ref());
        t.slots.push(Some(record));
        let scorer = Scorer::new(&self.store, &**distance, None);
        if let Err(e) = self.index.insert(slot, &scorer) {
            // Keep maps consistent with the index: the slot exists but is dead.
            if let Some(Some(r)) = t.slots.get_mut(slot as usize).map(Option::take) {
                t.ids.remove(&r.id);
                t.meta.remove(slot, r.metadata.as_ref());
            }
            return Err(e);
        }
        self.maybe_train()?;
        Ok(slot)
    }

    /// Appends many validated vectors, indexing them in one batch call.
    pub fn append_batch(&mut self, distance: &Arc<dyn Distance>, items: Vec<(Record, &[f32])>) -> Result<()> {
        let t = self.records.table_mut()?;
        let quantizer = self.quantizer.is_trained().then_some(&*self.quantizer);
        let mut slots = Vec::with_capacity(items.len());
        self.store.reserve(items.len());
        for (record, vector) in items {
            let slot = self.store.push(vector, quantizer.filter(|q| q.code_len() > 0));
            t.ids.insert(record.id.clone(), slot);
            t.meta.insert(slot, record.metadata.as_ref());
            t.slots.push(Some(record));
            slots.push(slot);
        }
        let scorer = Scorer::new(&self.store, &**distance, None);
        // In parallel on the current rayon pool (needle-core's `hnsw_parallel_build` test checks
        // that no node is ever lost by it).
        let result = self.index.insert_batch(&slots, &scorer);
        if let Err(e) = result {
            let t = self.records.table_mut()?;
            for &slot in &slots {
                if !self.index.contains(slot) {
                    if let Some(Some(r)) = t.slots.get_mut(slot as usize).map(Option::take) {
                        t.ids.remove(&r.id);
                        t.meta.remove(slot, r.metadata.as_ref());
                    }
                }
            }
            return Err(e);
        }
        self.maybe_train()
    }

    /// Removes `id`; returns whether it existed.
    pub fn remove(&mut self, id: &str) -> Result<bool> {
        let t = self.records.table_mut()?;
        let Some(slot) = t.ids.get(id).copied() else { return Ok(false) };
        self.index.delete(slot)?;
        t.ids.remove(id);
        if let Some(r) = t.slots[slot as usize].take() {
            t.meta.remove(slot, r.metadata.as_ref());
        }
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
        let table = self.records.table()?;
        let mut fresh = State {
            store: VectorStore::new(dim, distance.needs_norms()),
            index: registry.index(&components.index)?.create(dim, &components.index_params)?,
            quantizer: registry.quantizer(&components.quantizer)?.create(dim, &components.quantizer_params)?,
            records: Records::decoded(Table { meta: table.meta.empty_like(), ..Table::empty(None) }),
        };
        let items: Vec<(Record, &[f32])> = table
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, r)| r.as_ref().map(|r| (r.clone(), self.store.vector(slot as u32))))
            .collect();
        if !items.is_empty() {
            fresh.append_batch(distance, items)?;
        }
        Ok(fresh)
    }

    /// Heap bytes (what is borrowed from the file's memory map counts 0).
    pub fn memory_bytes(&self) -> usize {
        self.store.memory_bytes() + self.index.memory_bytes() + self.records.memory_bytes()
    }
}
