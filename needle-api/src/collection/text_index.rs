//! [`TextIndex`] (feature `hybrid`): the BM25 postings over a collection's text field, by slot.
//!
//! Plain data owned by the collection's records (inside [`MetaIndexes`](super::meta_index::MetaIndexes))
//! and kept in step with every write there; `hybrid.rs` only reads it. It imports nothing from
//! the rest of the crate, so the query side can use it without a circle of imports.

use needle_core::filter::FieldPath;
use needle_core::text::{Bm25, Tokenizer};
use serde_json::Value;

/// The BM25 index over a collection's text field.
#[derive(Debug)]
pub(crate) struct TextIndex {
    path: Option<FieldPath>,
    bm25: Bm25,
}

impl TextIndex {
    pub fn new(field: &str) -> Self {
        TextIndex { path: FieldPath::new(field).ok(), bm25: Bm25::new(Tokenizer::default()) }
    }

    /// The indexed text of a document: the field's string, or its array's strings joined by
    /// spaces (other values are not indexed).
    fn text(&self, metadata: Option<&Value>) -> Option<String> {
        let v = self.path.as_ref()?.resolve(metadata?)?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => {
                let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
            _ => None,
        }
    }

    pub fn insert(&mut self, slot: u32, metadata: Option<&Value>) {
        if let Some(t) = self.text(metadata) {
            self.bm25.insert(slot, &t);
        }
    }

    pub fn remove(&mut self, slot: u32, metadata: Option<&Value>) {
        if let Some(t) = self.text(metadata) {
            self.bm25.remove(slot, &t);
        }
    }

    /// The `k` best slots for `text` by BM25, best first, among those `accept` keeps (all when
    /// `None`).
    pub fn search(&self, text: &str, k: usize, accept: Option<&(dyn Fn(u32) -> bool + Sync)>) -> Vec<(u32, f32)> {
        self.bm25.search(text, k, accept)
    }

    pub fn memory_bytes(&self) -> usize {
        self.bm25.memory_bytes()
    }
}
