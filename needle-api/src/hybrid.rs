//! Hybrid search (feature `hybrid`): BM25 over a metadata text field fused with vector search by
//! reciprocal rank fusion.
//!
//! A collection created with [`CollectionConfig::with_text_field`](crate::CollectionConfig::with_text_field)
//! keeps a BM25 index over that field of every vector's metadata (a dotted path; a string, or an
//! array of strings joined by spaces; other values are not indexed). The index is kept in step with
//! insert, upsert, delete and compaction, rebuilt from the records when the file is opened (so it is
//! always exactly what the saved records imply), and rebuilt by WAL replay like everything else.
//!
//! Text is split by [`Tokenizer::default`](needle_core::text::Tokenizer): Unicode words,
//! lowercased, English stop words dropped, no stemming (see `needle_core::text`).
//!
//! [`Collection::hybrid_search`] takes the best `candidates` of each list (vector search and BM25,
//! both under the optional filter) and scores each document
//! `vector_weight / (rrf_k + vector_rank) + text_weight / (rrf_k + text_rank)` (ranks from 1; a
//! list that does not contain the document contributes 0), with `rrf_k = 60` by default.
//!
//! ```
//! use needle::{CollectionConfig, Database, HybridParams};
//! use serde_json::json;
//! # fn main() -> needle::Result<()> {
//! let db = Database::in_memory();
//! let c = db.create_collection_with_config(CollectionConfig::new("docs", 2).with_text_field("text"))?;
//! c.insert("cat", &[1.0, 0.0], Some(json!({"text": "a cat sat on the mat"})))?;
//! c.insert("dog", &[0.0, 1.0], Some(json!({"text": "the dog barked"})))?;
//! // The vector points at "cat", the keyword at "dog": both come back.
//! let hits = c.hybrid_search("barked", &[1.0, 0.1], 2)?;
//! assert_eq!(hits.len(), 2);
//! let weighted = c.hybrid_search_with("barked", &[1.0, 0.1], &HybridParams::new(1).with_weights(0.2, 1.0))?;
//! assert_eq!(weighted[0].id, "dog");
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use needle_core::filter::Filter;
use needle_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::collection::Collection;
use crate::explain::SearchProfile;
use crate::search::SearchParams;
use crate::validate;

/// Default `k` of reciprocal rank fusion.
pub const DEFAULT_RRF_K: f32 = 60.0;
/// Default depth of each ranked list fused (at least `k`).
pub const DEFAULT_CANDIDATES: usize = 100;

/// Knobs of a hybrid query.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridParams {
    /// Results wanted.
    pub k: usize,
    /// The constant of reciprocal rank fusion (default 60).
    pub rrf_k: f32,
    /// Weight of the vector ranking (default 1).
    pub vector_weight: f32,
    /// Weight of the BM25 ranking (default 1).
    pub text_weight: f32,
    /// Depth of each ranked list (default `max(k, 100)`).
    pub candidates: Option<usize>,
    /// `ef_search` of the vector side (the collection's default when `None`; at least `candidates`).
    pub ef_search: Option<usize>,
    /// Only documents matching this filter, on both sides.
    pub filter: Option<Filter>,
    /// Whether results carry metadata (default true).
    pub include_metadata: bool,
}

impl HybridParams {
    /// `k` results, equal weights, `rrf_k = 60`.
    pub fn new(k: usize) -> Self {
        HybridParams {
            k,
            rrf_k: DEFAULT_RRF_K,
            vector_weight: 1.0,
            text_weight: 1.0,
            candidates: None,
            ef_search: None,
            filter: None,
            include_metadata: true,
        }
    }
    /// Sets the weights of the vector and the text ranking.
    pub fn with_weights(mut self, vector: f32, text: f32) -> Self {
        self.vector_weight = vector;
        self.text_weight = text;
        self
    }
    /// Sets the RRF constant.
    pub fn with_rrf_k(mut self, rrf_k: f32) -> Self {
        self.rrf_k = rrf_k;
        self
    }
    /// Sets the depth of each ranked list.
    pub fn with_candidates(mut self, n: usize) -> Self {
        self.candidates = Some(n);
        self
    }
    /// Sets the vector side's `ef_search`.
    pub fn with_ef_search(mut self, ef: usize) -> Self {
        self.ef_search = Some(ef);
        self
    }
    /// Keeps only documents matching `filter`.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }
    /// Whether to return metadata.
    pub fn with_include_metadata(mut self, include: bool) -> Self {
        self.include_metadata = include;
        self
    }

    fn check(&self) -> Result<()> {
        validate::k(self.k)?;
        let ok = |w: f32| w.is_finite() && w >= 0.0;
        if !ok(self.vector_weight) || !ok(self.text_weight) || self.vector_weight + self.text_weight == 0.0 {
            return Err(Error::InvalidArgument("hybrid weights must be finite, ≥ 0 and not both 0".into()));
        }
        if !(self.rrf_k.is_finite() && self.rrf_k >= 0.0) {
            return Err(Error::InvalidArgument("rrf_k must be finite and ≥ 0".into()));
        }
        if let Some(c) = self.candidates {
            validate::k(c).map_err(|e| Error::InvalidArgument(format!("candidates: {e}")))?;
        }
        Ok(())
    }
}

/// One fused hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HybridResult {
    /// The vector's id.
    pub id: String,
    /// The fused score (higher is better); for [`Collection::text_search`], the BM25 score.
    pub score: f32,
    /// Rank in the vector list (1 = nearest), if it was in it.
    pub vector_rank: Option<usize>,
    /// Rank in the BM25 list (1 = best), if it was in it.
    pub text_rank: Option<usize>,
    /// Vector distance, when in the vector list.
    pub distance: Option<f32>,
    /// BM25 score, when in the text list.
    pub bm25: Option<f32>,
    /// Metadata (None when it has none or when not requested).
    pub metadata: Option<Value>,
}

impl Collection {
    fn text_index_missing(&self) -> Error {
        Error::InvalidConfig(format!(
            "collection '{}' has no text field for hybrid search (create it with CollectionConfig::with_text_field)",
            self.name()
        ))
    }

    /// The `k` best documents for `text` by BM25 alone over the collection's text field, with an
    /// optional filter. `score` is the BM25 score.
    pub fn text_search(&self, text: &str, k: usize, filter: Option<&Filter>) -> Result<Vec<HybridResult>> {
        self.check_alive()?;
        validate::k(k)?;
        let st = self.shared.state.read();
        let (ids, m) = (st.records.ids()?, st.records.meta()?);
        let idx = m.indexes.text.as_ref().ok_or_else(|| self.text_index_missing())?;
        let matches = filter.map(|f| st.matching(f)).transpose()?;
        let keep = |s: u32| matches.as_ref().is_some_and(|m| m.set.contains(s));
        let accept: Option<&(dyn Fn(u32) -> bool + Sync)> = if matches.is_some() { Some(&keep) } else { None };
        let mut out = Vec::new();
        for (i, (slot, score)) in idx.search(text, k, accept).into_iter().enumerate() {
            let Some(id) = ids.id(slot) else { continue };
            out.push(HybridResult {
                id: id.to_string(),
                score,
                vector_rank: None,
                text_rank: Some(i + 1),
                distance: None,
                bm25: Some(score),
                metadata: m.doc(slot)?.map(|d| d.to_value()),
            });
        }
        Ok(out)
    }

    /// Hybrid search with defaults: BM25 on `text` and vector search on `vector`, fused by RRF
    /// (`k = 60`, equal weights). See [`hybrid_search_with`](Self::hybrid_search_with).
    pub fn hybrid_search(&self, text: &str, vector: &[f32], k: usize) -> Result<Vec<HybridResult>> {
        self.hybrid_search_with(text, vector, &HybridParams::new(k))
    }

    /// Hybrid search: the best `params.candidates` documents by vector distance and by BM25 (both
    /// under `params.filter`), fused by weighted reciprocal rank fusion, best `params.k` first
    /// (ties: better vector rank, then id).
    pub fn hybrid_search_with(&self, text: &str, vector: &[f32], params: &HybridParams) -> Result<Vec<HybridResult>> {
        self.check_alive()?;
        params.check()?;
        self.check_vector(vector)?;
        let st = self.shared.state.read();
        let (ids, m) = (st.records.ids()?, st.records.meta()?);
        let idx = m.indexes.text.as_ref().ok_or_else(|| self.text_index_missing())?;
        let depth = params.candidates.unwrap_or(DEFAULT_CANDIDATES).max(params.k);
        let matches = params.filter.as_ref().map(|f| st.matching(f)).transpose()?;

        let ef = params.ef_search.unwrap_or(self.shared.config.ef_search).max(depth);
        let sp = SearchParams::new(depth).with_include_metadata(false).with_ef_search(ef);
        let by_vector = self.search_locked(&st, vector, &sp, matches.as_ref(), &mut SearchProfile::default())?;

        let keep = |s: u32| matches.as_ref().is_some_and(|m| m.set.contains(s));
        let accept: Option<&(dyn Fn(u32) -> bool + Sync)> = if matches.is_some() { Some(&keep) } else { None };
        let by_text = idx.search(text, depth, accept);

        struct Fused {
            id: String,
            score: f32,
            vector_rank: Option<usize>,
            text_rank: Option<usize>,
            distance: Option<f32>,
            bm25: Option<f32>,
        }
        let mut fused: HashMap<String, Fused> = HashMap::with_capacity(by_vector.len() + by_text.len());
        let new = |id: &str| Fused {
            id: id.to_string(),
            score: 0.0,
            vector_rank: None,
            text_rank: None,
            distance: None,
            bm25: None,
        };
        for (i, h) in by_vector.iter().enumerate() {
            let e = fused.entry(h.id.clone()).or_insert_with(|| new(&h.id));
            e.vector_rank = Some(i + 1);
            e.distance = Some(h.distance);
            e.score += params.vector_weight / (params.rrf_k + (i + 1) as f32);
        }
        for (i, &(slot, s)) in by_text.iter().enumerate() {
            let Some(id) = ids.id(slot) else { continue };
            let e = fused.entry(id.to_string()).or_insert_with(|| new(id));
            e.text_rank = Some(i + 1);
            e.bm25 = Some(s);
            e.score += params.text_weight / (params.rrf_k + (i + 1) as f32);
        }
        let mut all: Vec<Fused> = fused.into_values().filter(|f| f.score > 0.0).collect();
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.vector_rank.unwrap_or(usize::MAX).cmp(&b.vector_rank.unwrap_or(usize::MAX)))
                .then(a.text_rank.unwrap_or(usize::MAX).cmp(&b.text_rank.unwrap_or(usize::MAX)))
                .then(a.id.cmp(&b.id))
        });
        all.truncate(params.k);
        all.into_iter()
            .map(|f| {
                let slot = ids.get(&f.id).filter(|_| params.include_metadata);
                let metadata = slot.map(|s| m.doc(s)).transpose()?.flatten().map(|d| d.to_value());
                Ok(HybridResult {
                    id: f.id,
                    score: f.score,
                    vector_rank: f.vector_rank,
                    text_rank: f.text_rank,
                    distance: f.distance,
                    bm25: f.bm25,
                    metadata,
                })
            })
            .collect()
    }
}
