//! `search_explain`: the profile says how a query ran (strategy, ef, layers, nodes, distances,
//! rescoring, phases) and the results are exactly what `search_with` returns. Also through the CLI
//! (`needle search --explain --filter`). Timings are reported, never asserted.

use std::process::Command;

use needle::{CollectionConfig, Database, Filter, QuantizationType, SearchParams, Strategy};
use serde_json::json;

const DIM: usize = 16;

fn point(i: usize) -> Vec<f32> {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..DIM)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

fn filled(config: CollectionConfig, n: usize) -> (Database, needle::Collection) {
    let db = Database::in_memory();
    let c = db.create_collection_with_config(config).unwrap();
    let items: Vec<_> = (0..n).map(|i| (i.to_string(), point(i), Some(json!({"g": i % 100, "n": i})))).collect();
    c.insert_batch(&items).unwrap();
    (db, c)
}

#[test]
fn graph_exact_and_filtered_profiles() {
    let (_db, c) = filled(CollectionConfig::new("c", DIM).with_hnsw_ef_search(48), 4000);
    let q = point(123_456);

    let e = c.search_explain(&q, 10).unwrap();
    assert_eq!(e.results, c.search(&q, 10).unwrap());
    let p = &e.profile;
    assert_eq!(p.strategy, Strategy::Graph);
    assert_eq!((p.k, p.ef, p.live, p.index.as_str()), (10, 48, 4000, "hnsw"));
    assert!(p.layers_traversed >= 1, "{p:?}");
    assert!(p.nodes_visited > 0 && p.distance_computations > p.nodes_visited, "{p:?}");
    assert!(p.distance_computations < 4000, "a graph search scores a fraction of the vectors: {p:?}");
    assert_eq!((p.filter_matches, p.candidates_rescored, p.returned), (None, 0, 10));

    // A per-query ef shows up in the profile.
    let e = c.search_explain_with(&q, &SearchParams::new(5).with_ef_search(100)).unwrap();
    assert_eq!(e.profile.ef, 100);

    // Few matches: scanned exactly, one distance per match.
    let f = Filter::parse(&json!({"g": 7})).unwrap();
    let e = c.search_explain_with(&q, &SearchParams::new(10).with_filter(f.clone())).unwrap();
    let p = &e.profile;
    assert_eq!(p.strategy, Strategy::Exact);
    assert_eq!(p.filter_matches, Some(40));
    assert!((p.selectivity.unwrap() - 0.01).abs() < 1e-9);
    assert_eq!((p.distance_computations, p.layers_traversed, p.nodes_visited, p.ef), (40, 0, 0, 0));
    assert_eq!(e.results, c.search_with_filter(&q, 10, &f).unwrap());

    // Many matches: the filtered graph walk.
    let f = Filter::parse(&json!({"g": {"$lt": 60}})).unwrap();
    let e = c.search_explain_with(&q, &SearchParams::new(10).with_filter(f)).unwrap();
    assert_eq!(e.profile.strategy, Strategy::FilteredGraph, "{:?}", e.profile);
    assert_eq!(e.profile.filter_matches, Some(2400));
    assert!(e.profile.layers_traversed >= 1);

    // Forced exact scan without a filter: every live vector once.
    let e = c.search_explain_with(&q, &SearchParams::new(3).with_strategy(Strategy::Exact)).unwrap();
    assert_eq!((e.profile.strategy, e.profile.distance_computations), (Strategy::Exact, 4000));

    // The profile serialises with kebab-case strategies and every field.
    let v = serde_json::to_value(&e.profile).unwrap();
    assert_eq!(v["strategy"], "exact");
    for key in ["ef", "layers_traversed", "nodes_visited", "distance_computations", "candidates_rescored", "phases"] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    for key in ["filter_us", "plan_us", "search_us", "rescore_us", "fetch_us", "total_us"] {
        assert!(v["phases"].get(key).is_some(), "{key} missing in {v}");
    }
}

#[test]
fn quantized_profile_counts_rescoring_and_small_collections_scan() {
    let config = CollectionConfig::new("q", DIM).with_quantization(QuantizationType::Scalar).with_rescore_factor(3);
    let (_db, c) = filled(config, 3000);
    let q = point(99_999);
    let e = c.search_explain(&q, 10).unwrap();
    assert!(e.profile.quantized, "{:?}", e.profile);
    // At least k × rescore_factor, at most the beam (more only while one may still enter the top k).
    let rescored = e.profile.candidates_rescored;
    assert!(rescored >= 30 && rescored <= e.profile.ef, "{:?}", e.profile);
    assert_eq!(e.results, c.search(&q, 10).unwrap());
    // A tiny collection is scanned by the index itself: reported as exact.
    let (_db, small) = filled(CollectionConfig::new("s", DIM), 50);
    let e = small.search_explain(&q, 5).unwrap();
    assert_eq!(e.profile.strategy, Strategy::Exact);
    assert_eq!(e.profile.layers_traversed, 0);
}

#[test]
fn cli_search_explain_and_filter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cli.needle");
    {
        let db = Database::open(&path).unwrap();
        let c = db.create_collection_with_config(CollectionConfig::new("docs", DIM)).unwrap();
        let items: Vec<_> = (0..500)
            .map(|i| (format!("d{i}"), point(i), Some(json!({"kind": if i % 2 == 0 { "a" } else { "b" }}))))
            .collect();
        c.insert_batch(&items).unwrap();
        db.save().unwrap();
    }
    let vector = point(7).iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_needle"))
            .args(["search", path.to_str().unwrap(), "docs", "--vector", &vector, "-k", "5"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, stdout, stderr) = run(&["--json", "--explain", "--filter", r#"{"kind": "b"}"#]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r["metadata"]["kind"] == "b"), "{v}");
    assert_eq!(v["explain"]["filter_matches"], 250);
    assert!(v["explain"]["strategy"].is_string());
    assert!(v["explain"]["distance_computations"].as_u64().unwrap() > 0);

    let (ok, stdout, stderr) = run(&["--explain"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("strategy:") && stdout.contains("distance computations:"), "{stdout}");

    let (ok, _, stderr) = run(&["--filter", r#"{"kind": {"$like": "b"}}"#]);
    assert!(!ok);
    assert!(stderr.contains("unknown operator '$like'"), "{stderr}");
}
