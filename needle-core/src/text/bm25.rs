//! An Okapi BM25 inverted index over slots.
//!
//! `score(D, Q) = Σ_{t ∈ Q} idf(t) · tf(t, D) · (k1 + 1) / (tf(t, D) + k1 · (1 − b + b · |D| / avgdl))`
//! with `idf(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))` (never negative), `N` the indexed
//! documents, `n(t)` those containing `t`, `|D|` the document's term count. Query terms count once
//! each. Defaults `k1 = 1.2`, `b = 0.75`.
//!
//! Postings are per term, sorted by slot, with the term frequency; documents are removed by
//! re-tokenizing their text, so the index always equals one built from scratch over the live
//! documents.

use std::collections::{BinaryHeap, HashMap, HashSet};

use super::Tokenizer;
use crate::index::topk::Near;

/// BM25's two constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation (default 1.2).
    pub k1: f32,
    /// Length normalisation (default 0.75).
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

/// A BM25 index: terms → (slot, term frequency) postings, and each document's length.
#[derive(Debug, Clone, Default)]
pub struct Bm25 {
    tokenizer: Tokenizer,
    params: Bm25Params,
    terms: HashMap<Box<str>, Vec<(u32, u32)>>,
    /// Term count per slot (0: not indexed).
    doc_len: Vec<u32>,
    docs: usize,
    total_len: u64,
}

impl Bm25 {
    /// An empty index with this tokenizer and the default constants.
    pub fn new(tokenizer: Tokenizer) -> Self {
        Bm25 { tokenizer, ..Default::default() }
    }

    /// Sets `k1` and `b`.
    pub fn with_params(mut self, params: Bm25Params) -> Self {
        self.params = params;
        self
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Documents indexed.
    pub fn len(&self) -> usize {
        self.docs
    }

    /// True when no document is indexed.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Distinct terms.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// Documents containing `term` (after tokenizing it; 0 when it is not one term).
    pub fn doc_freq(&self, term: &str) -> usize {
        let t = self.tokenizer.tokenize(term);
        match t.as_slice() {
            [one] => self.terms.get(one.as_str()).map_or(0, Vec::len),
            _ => 0,
        }
    }

    fn counts(&self, text: &str) -> (HashMap<String, u32>, u32) {
        let mut tf: HashMap<String, u32> = HashMap::new();
        let mut len = 0u32;
        self.tokenizer.for_each_term(text, |t| {
            len += 1;
            match tf.get_mut(t) {
                Some(c) => *c += 1,
                None => {
                    tf.insert(t.to_string(), 1);
                }
            }
        });
        (tf, len)
    }

    /// Indexes `text` as the document in `slot` (a document without terms is not indexed).
    /// A slot already indexed is replaced.
    pub fn insert(&mut self, slot: u32, text: &str) {
        if self.doc_len.get(slot as usize).is_some_and(|&l| l > 0) {
            self.remove_slot_everywhere(slot);
        }
        let (tf, len) = self.counts(text);
        if len == 0 {
            return;
        }
        for (term, n) in tf {
            let list = self.terms.entry(term.into_boxed_str()).or_default();
            match list.last() {
                Some(&(s, _)) if s >= slot => {
                    let at = list.binary_search_by_key(&slot, |&(s, _)| s).unwrap_or_else(|e| e);
                    list.insert(at, (slot, n));
                }
                _ => list.push((slot, n)),
            }
        }
        if self.doc_len.len() <= slot as usize {
            self.doc_len.resize(slot as usize + 1, 0);
        }
        self.doc_len[slot as usize] = len;
        self.docs += 1;
        self.total_len += len as u64;
    }

    /// Removes the document in `slot`; `text` must be what it was inserted with.
    pub fn remove(&mut self, slot: u32, text: &str) {
        let Some(&len) = self.doc_len.get(slot as usize).filter(|&&l| l > 0) else { return };
        let (tf, _) = self.counts(text);
        for term in tf.keys() {
            self.unpost(term, slot);
        }
        self.forget(slot, len);
    }

    /// Slow path for replacing a slot whose text is unknown: scans every posting list.
    fn remove_slot_everywhere(&mut self, slot: u32) {
        let len = self.doc_len[slot as usize];
        let terms: Vec<Box<str>> = self.terms.keys().cloned().collect();
        for t in terms {
            self.unpost(&t, slot);
        }
        self.forget(slot, len);
    }

    fn unpost(&mut self, term: &str, slot: u32) {
        if let Some(list) = self.terms.get_mut(term) {
            if let Ok(at) = list.binary_search_by_key(&slot, |&(s, _)| s) {
                list.remove(at);
            }
            if list.is_empty() {
                self.terms.remove(term);
            }
        }
    }

    fn forget(&mut self, slot: u32, len: u32) {
        self.doc_len[slot as usize] = 0;
        self.docs -= 1;
        self.total_len -= len as u64;
    }

    /// The `k` best-scoring slots for `query` (score descending, ties by smaller slot), keeping
    /// only slots `accept` allows. Slots with no query term never appear.
    pub fn search(&self, query: &str, k: usize, accept: Option<&(dyn Fn(u32) -> bool + Sync)>) -> Vec<(u32, f32)> {
        if k == 0 || self.docs == 0 {
            return Vec::new();
        }
        let mut seen = HashSet::new();
        let n = self.docs as f32;
        let avgdl = self.total_len as f32 / n;
        let Bm25Params { k1, b } = self.params;
        let mut scores: HashMap<u32, f32> = HashMap::new();
        self.tokenizer.for_each_term(query, |t| {
            if !seen.insert(t.to_string()) {
                return;
            }
            let Some(list) = self.terms.get(t) else { return };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(slot, tf) in list {
                if accept.is_some_and(|f| !f(slot)) {
                    continue;
                }
                let dl = self.doc_len[slot as usize] as f32;
                let tf = tf as f32;
                let s = idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * dl / avgdl));
                *scores.entry(slot).or_insert(0.0) += s;
            }
        });
        // Keep the k best with a bounded heap on (−score, slot).
        let mut heap: BinaryHeap<Near> = BinaryHeap::with_capacity(k + 1);
        for (slot, s) in scores {
            let n = Near::new(slot, -s);
            if heap.len() < k {
                heap.push(n);
            } else if heap.peek().is_some_and(|w| n < *w) {
                heap.pop();
                heap.push(n);
            }
        }
        heap.into_sorted_vec().into_iter().map(|n| (n.slot, -n.dist)).collect()
    }

    /// Heap bytes (approximate).
    pub fn memory_bytes(&self) -> usize {
        self.doc_len.capacity() * 4 + self.terms.iter().map(|(t, l)| t.len() + 48 + l.capacity() * 8).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_like_bm25_and_follows_removals() {
        let mut idx = Bm25::new(Tokenizer::default());
        let docs = [
            "apple banana",
            "apple apple apple",
            "banana cherry durian elderberry fig grape",
            "cherry",
            "",
            "the of and",
        ];
        for (i, d) in docs.iter().enumerate() {
            idx.insert(i as u32, d);
        }
        assert_eq!(idx.len(), 4, "documents without terms are not indexed");
        // "apple": doc 1 (tf 3) beats doc 0 (tf 1, same length).
        let hits = idx.search("APPLE", 10, None);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [1, 0]);
        assert!(hits[0].1 > hits[1].1 && hits[1].1 > 0.0);
        // Short documents win for the same tf; two matching terms beat one.
        let hits = idx.search("cherry banana", 10, None);
        assert_eq!(hits[0].0, 2);
        assert_eq!(idx.search("cherry", 10, None)[0].0, 3);
        // Exact value for a single-term query.
        let (n, df, dl, avg) = (4.0f32, 2.0f32, 1.0f32, (2.0 + 3.0 + 6.0 + 1.0) / 4.0);
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        let want = idf * 1.0 * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * dl / avg));
        assert!((idx.search("cherry", 1, None)[0].1 - want).abs() < 1e-5);
        // Filter.
        let odd = |s: u32| s % 2 == 1;
        assert_eq!(idx.search("apple", 10, Some(&odd)).iter().map(|h| h.0).collect::<Vec<_>>(), [1]);
        // Removal and replacement give the same index as a fresh build.
        idx.remove(1, docs[1]);
        idx.insert(3, "apple pie");
        let mut fresh = Bm25::new(Tokenizer::default());
        for (i, d) in [(0, docs[0]), (2, docs[2]), (3, "apple pie")] {
            fresh.insert(i, d);
        }
        assert_eq!(idx.search("apple cherry pie", 10, None), fresh.search("apple cherry pie", 10, None));
        assert_eq!(idx.term_count(), fresh.term_count());
        assert_eq!(idx.doc_freq("Apple"), 2);
    }
}
