//! Filters through the public API: parse errors, results always `min(k, matches)`, the field
//! indexes kept in step with insert / upsert / delete / compact, and after save + reopen and WAL
//! replay; flat and quantized collections; batch search with a filter.

use needle::{CollectionConfig, Database, ErrorCode, Filter, QuantizationType, SearchParams, Strategy};
use serde_json::json;

fn vec_for(i: usize, dim: usize) -> Vec<f32> {
    // Deterministic, well-spread points (never the zero vector).
    (0..dim).map(|d| (((i * 31 + d * 17) % 97) as f32 / 97.0) - 0.3 + (d == i % dim) as u8 as f32).collect()
}

fn meta(i: usize) -> serde_json::Value {
    let color = ["red", "green", "blue"][i % 3];
    let tags = if i.is_multiple_of(5) { json!(["five"]) } else { json!([]) };
    json!({"i": i, "color": color, "tags": tags, "nested": {"bucket": i % 10}})
}

fn filled(config: CollectionConfig, n: usize) -> (Database, needle::Collection) {
    let db = Database::in_memory();
    let c = db.create_collection_with_config(config).unwrap();
    let items: Vec<_> = (0..n).map(|i| (format!("v{i}"), vec_for(i, 8), Some(meta(i)))).collect();
    c.insert_batch(&items).unwrap();
    (db, c)
}

fn ids(hits: &[needle::SearchResult]) -> Vec<String> {
    hits.iter().map(|h| h.id.clone()).collect()
}

fn f(v: serde_json::Value) -> Filter {
    Filter::parse(&v).unwrap()
}

#[test]
fn parse_errors_are_invalid_filter() {
    for bad in [
        json!({"a": {"$regex": "x"}}),
        json!({"a": {"$gt": {"x": 1}}}),
        json!({"$or": "x"}),
        json!({"a": {"$nin": "x"}}),
        json!(3),
    ] {
        let e = Filter::parse(&bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidFilter, "{bad}: {e}");
    }
    let e = "{\"price\": {\"$gte\": true}}".parse::<Filter>().unwrap_err();
    assert!(e.to_string().contains("at 'price': $gte needs a number or a string, got a boolean"), "{e}");
}

#[test]
fn always_min_k_matches_and_only_matches() {
    let (_db, c) = filled(CollectionConfig::new("c", 8), 3000);
    let q = vec_for(7, 8);
    // 600 matches, 60, 6, 0.
    for (fj, n) in [
        (json!({"tags": "five"}), 600),
        (json!({"nested.bucket": 3, "color": {"$ne": "red"}}), 200),
        (json!({"i": {"$in": [1, 2, 3, 2999, 4000]}}), 4),
        (json!({"i": {"$gte": 100, "$lt": 110}, "color": "blue"}), 3),
        (json!({"color": "purple"}), 0),
    ] {
        let filter = f(fj.clone());
        for k in [1, 10, 100] {
            let hits = c.search_with_filter(&q, k, &filter).unwrap();
            assert_eq!(hits.len(), k.min(n), "{fj} k={k}");
            assert!(hits.iter().all(|h| filter.matches(h.metadata.as_ref())), "{fj}");
            for s in [Strategy::Exact, Strategy::FilteredGraph] {
                let p = SearchParams::new(k).with_filter(filter.clone()).with_strategy(s).with_ef_search(16);
                let hits = c.search_with(&q, &p).unwrap();
                assert_eq!(hits.len(), k.min(n), "{fj} k={k} {s}");
                assert!(hits.iter().all(|h| filter.matches(h.metadata.as_ref())));
            }
        }
    }
    // include_metadata(false) still filters.
    let p = SearchParams::new(5).with_filter(f(json!({"color": "red"}))).with_include_metadata(false);
    let hits = c.search_with(&q, &p).unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.metadata.is_none() && h.id[1..].parse::<usize>().unwrap() % 3 == 0));
    // Exact strategy with a filter equals brute force over the matches.
    let filter = f(json!({"nested.bucket": {"$lte": 1}}));
    let exact = c.search_with(&q, &SearchParams::new(10).with_filter(filter.clone()).with_strategy(Strategy::Exact));
    let flat = {
        let (_db2, fc) = filled(CollectionConfig::new("flat", 8).with_index("flat"), 3000);
        fc.search_with_filter(&q, 10, &filter).unwrap()
    };
    assert_eq!(ids(&exact.unwrap()), ids(&flat));
}

#[test]
fn indexes_follow_writes_and_survive_reopen_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.needle");
    let red = f(json!({"color": "red"}));
    let moved = f(json!({"moved": true}));
    let q = vec_for(1, 8);
    {
        let db = Database::open(&path).unwrap();
        let c = db.create_collection_with_config(CollectionConfig::new("c", 8)).unwrap();
        let items: Vec<_> = (0..300).map(|i| (format!("v{i}"), vec_for(i, 8), Some(meta(i)))).collect();
        c.insert_batch(&items).unwrap();
        assert_eq!(c.search_with_filter(&q, 1000, &red).unwrap().len(), 100);
        // Delete 10 reds, move 5 reds to "moved", insert one new red without other fields.
        for i in (0..30).step_by(3) {
            assert!(c.delete(&format!("v{i}")).unwrap());
        }
        for i in (30..45).step_by(3) {
            c.upsert(&format!("v{i}"), &vec_for(i, 8), Some(json!({"moved": true}))).unwrap();
        }
        c.insert("new", &vec_for(999, 8), Some(json!({"color": "red"}))).unwrap();
        c.insert("bare", &vec_for(998, 8), None).unwrap();
        assert_eq!(c.search_with_filter(&q, 1000, &red).unwrap().len(), 86);
        assert_eq!(c.search_with_filter(&q, 1000, &moved).unwrap().len(), 5);
        assert_eq!(c.search_with_filter(&q, 1000, &f(json!({"color": {"$exists": false}}))).unwrap().len(), 6);
        db.save().unwrap();
        // After the checkpoint: more writes that only the WAL holds.
        c.delete("new").unwrap();
        c.upsert("v3", &vec_for(3, 8), Some(json!({"color": "red", "late": 1}))).unwrap();
        drop(c);
        drop(db);
    }
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    let reds = c.search_with_filter(&q, 1000, &red).unwrap();
    assert_eq!(reds.len(), 86, "after reopen + replay");
    assert!(reds.iter().any(|h| h.id == "v3") && !reds.iter().any(|h| h.id == "new"));
    assert_eq!(c.search_with_filter(&q, 1000, &moved).unwrap().len(), 5);
    assert_eq!(ids(&c.search_with_filter(&q, 5, &f(json!({"late": 1}))).unwrap()), vec!["v3"]);
    // Compaction renumbers slots: the indexes follow.
    c.compact().unwrap();
    assert_eq!(c.search_with_filter(&q, 1000, &red).unwrap().len(), 86);
    assert_eq!(c.search_with_filter(&q, 1000, &f(json!({"color": {"$ne": "red"}}))).unwrap().len(), 300 - 10 + 2 - 86);
}

#[test]
fn quantized_flat_and_batches() {
    let (_db, c) = filled(CollectionConfig::new("q", 8).with_quantization(QuantizationType::Scalar), 2500);
    assert!(c.info().unwrap().quantized);
    let filter = f(json!({"$or": [{"color": "green"}, {"tags": "five"}]}));
    let qs: Vec<Vec<f32>> = (0..10).map(|i| vec_for(i * 77 + 3, 8)).collect();
    let batch = c.batch_search(&qs, 7, Some(&SearchParams::new(99).with_filter(filter.clone()))).unwrap();
    let batch2 = c.batch_search_with_filter(&qs, 7, &filter).unwrap();
    assert_eq!(batch, batch2);
    for (q, hits) in qs.iter().zip(&batch) {
        assert_eq!(hits.len(), 7);
        assert!(hits.iter().all(|h| filter.matches(h.metadata.as_ref())));
        assert_eq!(ids(hits), ids(&c.search_with_filter(q, 7, &filter).unwrap()));
    }
    let e = c
        .search_explain_with(
            &qs[0],
            &SearchParams::new(7).with_filter(filter.clone()).with_strategy(Strategy::FilteredGraph),
        )
        .unwrap();
    assert_eq!(e.profile.strategy, Strategy::FilteredGraph);
    assert!(e.profile.quantized && e.profile.candidates_rescored >= 7, "{:?}", e.profile);
    let (_db, flat) = filled(CollectionConfig::new("flat", 8).with_index("flat"), 500);
    let e = flat.search_explain_with(&qs[0], &SearchParams::new(3).with_filter(filter.clone())).unwrap();
    assert_eq!(e.profile.strategy, Strategy::Exact);
    assert_eq!(e.results.len(), 3);
}
