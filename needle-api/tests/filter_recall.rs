//! Filtered search on real embeddings: the first 20,000 wordnet-minilm vectors with synthetic
//! categorical and numeric fields, at selectivities 50%, 10%, 1% and 0.1%. Recall@10 against exact
//! filtered brute force must reach 0.95 and every query must return `min(k, matches)` results,
//! all of them matching. The graph walk, forced at every selectivity, is measured too.
//!
//! `cargo test --release -p needle --test filter_recall -- --nocapture` prints the table.

mod common;

use needle::{CollectionConfig, Database, Filter, SearchParams, Strategy};
use needle_core::fvecs::Matrix;
use rayon::prelude::*;
use serde_json::json;

const N: usize = 20_000;
const Q: usize = 200;
const K: usize = 10;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Synthetic metadata, independent of the vector: a 2-valued, a 10-valued and a 100-valued
/// category and a number in 0..1000 (each from its own hash bits).
fn meta(i: usize) -> serde_json::Value {
    let h = splitmix(i as u64);
    json!({
        "half": if h & 1 == 0 { "even" } else { "odd" },
        "shop": {"region": format!("r{}", (h >> 8) % 10)},
        "cat": format!("c{:02}", (h >> 16) % 100),
        "price": ((h >> 32) % 1000) as f64 / 10.0,
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut d, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        d += (*x as f64) * (*y as f64);
        na += (*x as f64) * (*x as f64);
        nb += (*y as f64) * (*y as f64);
    }
    1.0 - d / (na.sqrt() * nb.sqrt())
}

fn exact_filtered(base: &Matrix<f32>, rows: &[usize], q: &[f32], k: usize) -> Vec<usize> {
    let mut all: Vec<(f64, usize)> = rows.iter().map(|&i| (cosine(q, base.row(i)), i)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, i)| i).collect()
}

struct Row {
    name: &'static str,
    matches: usize,
    auto_recall: f64,
    auto_strategy: String,
    auto_dists: f64,
    graph_recall: f64,
    graph_dists: f64,
}

#[test]
fn filtered_recall_at_every_selectivity() {
    let (base, queries) = common::wordnet(N, Q);
    let db = Database::in_memory();
    let c = db.create_collection_with_config(CollectionConfig::new("wn", 384)).unwrap();
    let metas: Vec<serde_json::Value> = (0..N).map(meta).collect();
    let items: Vec<_> = (0..N).map(|i| (i.to_string(), base.row(i).to_vec(), Some(metas[i].clone()))).collect();
    for chunk in items.chunks(5_000) {
        c.insert_batch(chunk).unwrap();
    }
    let qs: Vec<Vec<f32>> = (0..Q).map(|i| queries.row(i).to_vec()).collect();

    let cases: [(&str, serde_json::Value); 4] = [
        ("50% categorical", json!({"half": "even"})),
        ("10% nested categorical", json!({"shop.region": {"$eq": "r3"}})),
        ("1% numeric range", json!({"price": {"$gte": 20, "$lt": 21}})),
        ("0.1% categorical and numeric", json!({"$and": [{"cat": {"$in": ["c42"]}}, {"price": {"$lt": 10}}]})),
    ];
    let mut rows = Vec::new();
    for (name, fj) in cases {
        let filter = Filter::parse(&fj).unwrap();
        let matching: Vec<usize> = (0..N).filter(|&i| filter.matches(Some(&metas[i]))).collect();
        let truth: Vec<Vec<usize>> = qs.par_iter().map(|q| exact_filtered(&base, &matching, q, K)).collect();
        let mut row = Row {
            name,
            matches: matching.len(),
            auto_recall: 0.0,
            auto_strategy: String::new(),
            auto_dists: 0.0,
            graph_recall: 0.0,
            graph_dists: 0.0,
        };
        for forced in [None, Some(Strategy::FilteredGraph)] {
            let mut params = SearchParams::new(K).with_filter(filter.clone());
            if let Some(s) = forced {
                params = params.with_strategy(s);
            }
            let (mut total, mut dists) = (0.0, 0.0);
            let mut strategies = std::collections::BTreeSet::new();
            for (q, t) in qs.iter().zip(&truth) {
                let e = c.search_explain_with(q, &params).unwrap();
                assert_eq!(e.results.len(), K.min(matching.len()), "{name}: wrong number of results");
                assert_eq!(e.profile.filter_matches, Some(matching.len()));
                for h in &e.results {
                    assert!(filter.matches(h.metadata.as_ref()), "{name}: {} does not match", h.id);
                }
                assert!(e.results.windows(2).all(|w| w[0].distance <= w[1].distance));
                let got: Vec<usize> = e.results.iter().map(|h| h.id.parse().unwrap()).collect();
                total += common::recall(&got, t);
                dists += e.profile.distance_computations as f64;
                strategies.insert(e.profile.strategy.to_string());
            }
            let recall = total / Q as f64;
            let dists = dists / Q as f64;
            match forced {
                None => {
                    row.auto_recall = recall;
                    row.auto_dists = dists;
                    row.auto_strategy = strategies.into_iter().collect::<Vec<_>>().join("+");
                }
                Some(_) => {
                    row.graph_recall = recall;
                    row.graph_dists = dists;
                }
            }
        }
        // The same filter through search_with_filter and batch_search gives the same answers.
        let one: Vec<Vec<String>> = qs[..20]
            .iter()
            .map(|q| c.search_with_filter(q, K, &filter).unwrap().into_iter().map(|h| h.id).collect())
            .collect();
        let batch: Vec<Vec<String>> = c
            .batch_search(&qs[..20], K, Some(&SearchParams::new(K).with_filter(filter.clone())))
            .unwrap()
            .into_iter()
            .map(|hs| hs.into_iter().map(|h| h.id).collect())
            .collect();
        assert_eq!(one, batch, "{name}: batch differs from single queries");
        rows.push(row);
    }
    println!("\nfiltered recall@{K}, {N} wordnet-minilm vectors, {Q} queries, default ef_search");
    println!(
        "| filter | matches | auto: strategy | auto: recall | auto: distances/query | forced graph: recall | forced graph: distances/query |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {:.4} | {:.0} | {:.4} | {:.0} |",
            r.name, r.matches, r.auto_strategy, r.auto_recall, r.auto_dists, r.graph_recall, r.graph_dists
        );
    }
    for r in &rows {
        assert!(r.auto_recall >= 0.95, "{}: recall {:.4} < 0.95", r.name, r.auto_recall);
        // The walk itself, even where the planner would scan: 0.95 down to 10% selectivity; in the
        // 200-node match set of the 1% case (which the planner always scans) it measures 0.955–0.966
        // depending on the build, so it is held to 0.90 there.
        let floor = if r.matches * 20 >= N { 0.95 } else { 0.90 };
        assert!(r.graph_recall >= floor, "{}: forced graph recall {:.4} < {floor}", r.name, r.graph_recall);
    }
}
