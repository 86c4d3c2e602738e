//! [`MetaIndexes`]: the secondary indexes over a collection's metadata, by slot — the field value
//! indexes that answer filters and (feature `hybrid`) the BM25 index over the text field.
//!
//! Plain data: the records (`records/`) own them and keep them in step with every write; the
//! planner (`plan.rs`) and hybrid search (`hybrid.rs`) only read them. Nothing here imports the
//! query side, so the query side can import this without a circle.

use needle_core::filter::FieldIndex;
use serde_json::Value;

#[cfg(feature = "hybrid")]
use super::text_index::TextIndex;

/// Secondary indexes over a collection's metadata, by slot: the field value indexes for filters
/// and (feature `hybrid`) the BM25 index over the configured text field.
#[derive(Debug, Default)]
pub(crate) struct MetaIndexes {
    pub fields: FieldIndex,
    #[cfg(feature = "hybrid")]
    pub text: Option<TextIndex>,
}

impl MetaIndexes {
    /// Empty indexes; `text_field` names the metadata field BM25 indexes (feature `hybrid`).
    pub fn new(text_field: Option<&str>) -> Self {
        let _ = text_field;
        MetaIndexes {
            fields: FieldIndex::new(),
            #[cfg(feature = "hybrid")]
            text: text_field.map(TextIndex::new),
        }
    }

    /// Indexes of the live slots `live` yields with their metadata (used when a collection's
    /// records are decoded from its file).
    pub fn rebuilt<'a>(text_field: Option<&str>, live: impl Iterator<Item = (u32, Option<&'a Value>)>) -> Self {
        let mut m = MetaIndexes::new(text_field);
        for (slot, doc) in live {
            m.insert(slot, doc);
        }
        m
    }

    /// A live slot was added with this metadata.
    pub fn insert(&mut self, slot: u32, metadata: Option<&Value>) {
        self.fields.insert(slot, metadata);
        #[cfg(feature = "hybrid")]
        if let Some(t) = &mut self.text {
            t.insert(slot, metadata);
        }
    }

    /// A slot was deleted; `metadata` is what it was inserted with.
    pub fn remove(&mut self, slot: u32, metadata: Option<&Value>) {
        self.fields.remove(slot, metadata);
        #[cfg(feature = "hybrid")]
        if let Some(t) = &mut self.text {
            t.remove(slot, metadata);
        }
    }

    pub fn memory_bytes(&self) -> usize {
        #[allow(unused_mut)]
        let mut b = self.fields.memory_bytes();
        #[cfg(feature = "hybrid")]
        if let Some(t) = &self.text {
            b += t.memory_bytes();
        }
        b
    }
}
