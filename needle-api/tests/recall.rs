//! Recall of the embedded API on real embedding data (first 20,000 wordnet-minilm vectors)
//! against exact brute force, with default settings and with SQ8 quantization.

mod common;

use needle::{CollectionConfig, Database, QuantizationType};
use rayon::prelude::*;

const N: usize = 20_000;
const Q: usize = 300;
const K: usize = 10;

/// The database is returned too: a collection handle fails with `closed` once its database is dropped.
fn build(config: CollectionConfig) -> (Database, needle::Collection, Vec<Vec<f32>>, Vec<Vec<usize>>) {
    let (base, queries) = common::wordnet(N, Q);
    let db = Database::in_memory();
    let c = db.create_collection_with_config(config).unwrap();
    let items: Vec<_> = (0..base.len()).map(|i| (i.to_string(), base.row(i).to_vec(), None)).collect();
    for chunk in items.chunks(5_000) {
        c.insert_batch(chunk).unwrap();
    }
    let qs: Vec<Vec<f32>> = (0..queries.len()).map(|i| queries.row(i).to_vec()).collect();
    let truth: Vec<Vec<usize>> = qs.par_iter().map(|q| common::exact_topk(&base, q, K)).collect();
    (db, c, qs, truth)
}

fn mean_recall(c: &needle::Collection, qs: &[Vec<f32>], truth: &[Vec<usize>]) -> f64 {
    let mut total = 0.0;
    for (q, t) in qs.iter().zip(truth) {
        let hits = c.search(q, K).unwrap();
        assert_eq!(hits.len(), K);
        let got: Vec<usize> = hits.iter().map(|h| h.id.parse().unwrap()).collect();
        total += common::recall(&got, t);
    }
    total / qs.len() as f64
}

#[test]
fn default_search_reaches_recall_095_on_real_embeddings() {
    let (_db, c, qs, truth) = build(CollectionConfig::new("wordnet", 384));
    let r = mean_recall(&c, &qs, &truth);
    println!("default config: recall@{K} = {r:.4} over {Q} queries on {N} vectors");
    assert!(r >= 0.95, "recall@{K} = {r:.4} < 0.95 with defaults");
}

#[test]
fn sq8_with_rescoring_reaches_recall_095() {
    let (_db, c, qs, truth) = build(CollectionConfig::new("wordnet", 384).with_quantization(QuantizationType::Scalar));
    assert!(c.info().unwrap().quantized, "SQ8 should be trained after {N} inserts");
    let r = mean_recall(&c, &qs, &truth);
    println!("sq8 + rescoring: recall@{K} = {r:.4} over {Q} queries on {N} vectors");
    assert!(r >= 0.95, "recall@{K} = {r:.4} < 0.95 with SQ8");
}
