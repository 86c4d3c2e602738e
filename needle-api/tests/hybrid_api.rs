//! The BM25 side of hybrid search follows every write (insert, batch, upsert, delete, compact),
//! survives save + reopen and WAL replay, honours filters and weights, and reports clear errors.
#![cfg(feature = "hybrid")]

use needle::{CollectionConfig, Database, ErrorCode, Filter, HybridParams};
use serde_json::json;

fn v(i: usize) -> Vec<f32> {
    vec![1.0 + (i % 7) as f32, (i % 5) as f32, (i % 3) as f32 - 1.0, 0.5]
}

fn ids(hits: &[needle::HybridResult]) -> Vec<String> {
    hits.iter().map(|h| h.id.clone()).collect()
}

#[test]
fn bm25_follows_writes_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.needle");
    {
        let db = Database::open(&path).unwrap();
        let c = db.create_collection_with_config(CollectionConfig::new("c", 4).with_text_field("doc.body")).unwrap();
        c.insert("a", &v(1), Some(json!({"doc": {"body": "Zebras graze on the savanna"}, "lang": "en"}))).unwrap();
        c.insert("b", &v(2), Some(json!({"doc": {"body": ["zebra", "crossing street"]}, "lang": "en"}))).unwrap();
        c.insert("c", &v(3), Some(json!({"doc": {"body": 42}}))).unwrap(); // not text: not indexed
        c.insert_batch(&[
            ("d".into(), v(4), Some(json!({"doc": {"body": "savanna savanna grassland"}, "lang": "fr"}))),
            ("e".into(), v(5), None),
        ])
        .unwrap();
        assert_eq!(ids(&c.text_search("savanna", 10, None).unwrap()), ["d", "a"]);
        assert_eq!(ids(&c.text_search("street", 10, None).unwrap()), ["b"]);
        // Upsert replaces the text; delete removes it.
        c.upsert("d", &v(4), Some(json!({"doc": {"body": "mountain goats"}, "lang": "fr"}))).unwrap();
        assert_eq!(ids(&c.text_search("savanna", 10, None).unwrap()), ["a"]);
        assert_eq!(ids(&c.text_search("goats", 10, None).unwrap()), ["d"]);
        c.delete("b").unwrap();
        assert!(c.text_search("street", 10, None).unwrap().is_empty());
        db.save().unwrap();
        // Only in the WAL:
        c.insert("f", &v(6), Some(json!({"doc": {"body": "late zebras"}, "lang": "en"}))).unwrap();
        c.delete("a").unwrap();
    }
    let db = Database::open(&path).unwrap();
    let c = db.collection("c").unwrap();
    assert_eq!(ids(&c.text_search("zebras", 10, None).unwrap()), ["f"]);
    assert_eq!(ids(&c.text_search("goats", 10, None).unwrap()), ["d"]);
    assert!(c.text_search("savanna", 10, None).unwrap().is_empty());
    c.compact().unwrap();
    assert_eq!(ids(&c.text_search("zebras goats", 10, None).unwrap()).len(), 2);
    // Filters apply to the BM25 side too.
    let fr = Filter::parse(&json!({"lang": "fr"})).unwrap();
    assert_eq!(ids(&c.text_search("zebras goats", 10, Some(&fr)).unwrap()), ["d"]);
    let hits = c.hybrid_search_with("zebras", &v(6), &HybridParams::new(5).with_filter(fr)).unwrap();
    assert!(hits.iter().all(|h| h.metadata.as_ref().unwrap()["lang"] == "fr"), "{hits:?}");
}

#[test]
fn fusion_weights_and_errors() {
    let db = Database::in_memory();
    let c = db.create_collection_with_config(CollectionConfig::new("c", 4).with_text_field("t")).unwrap();
    for i in 0..200 {
        let text = if i == 150 { "the unique aardvark".to_string() } else { format!("common words number {i}") };
        c.insert(&format!("d{i}"), &v(i), Some(json!({"t": text}))).unwrap();
    }
    let q = v(3);
    let vec_top = c.search(&q, 1).unwrap()[0].id.clone();
    let hits = c.hybrid_search("aardvark", &q, 10).unwrap();
    assert!(ids(&hits).contains(&"d150".to_string()));
    assert!(ids(&hits).contains(&vec_top));
    let d150 = hits.iter().find(|h| h.id == "d150").unwrap();
    assert_eq!(d150.text_rank, Some(1));
    assert!(d150.bm25.unwrap() > 0.0);
    // Text weight 0: the keyword document only counts if vector search found it.
    let hits = c.hybrid_search_with("aardvark", &q, &HybridParams::new(10).with_weights(1.0, 0.0)).unwrap();
    assert!(hits.iter().all(|h| h.vector_rank.is_some()));
    // Heavier text weight: the keyword document first.
    let hits = c.hybrid_search_with("aardvark", &q, &HybridParams::new(3).with_weights(0.5, 1.0)).unwrap();
    assert_eq!(hits[0].id, "d150");
    // Scores follow the formula with a custom rrf_k.
    let hits = c.hybrid_search_with("aardvark", &q, &HybridParams::new(10).with_rrf_k(10.0)).unwrap();
    for h in &hits {
        let want = h.vector_rank.map_or(0.0, |r| 1.0 / (10.0 + r as f32))
            + h.text_rank.map_or(0.0, |r| 1.0 / (10.0 + r as f32));
        assert!((h.score - want).abs() < 1e-6);
    }
    // No query terms: vector ranks only.
    let hits = c.hybrid_search("the of", &q, 5).unwrap();
    assert_eq!(hits.len(), 5);
    assert!(hits.iter().all(|h| h.text_rank.is_none()));

    let bad = |p: HybridParams| c.hybrid_search_with("x", &q, &p).unwrap_err().code();
    assert_eq!(bad(HybridParams::new(5).with_weights(0.0, 0.0)), ErrorCode::InvalidArgument);
    assert_eq!(bad(HybridParams::new(5).with_weights(f32::NAN, 1.0)), ErrorCode::InvalidArgument);
    assert_eq!(bad(HybridParams::new(0)), ErrorCode::InvalidArgument);
    assert_eq!(c.hybrid_search("x", &[1.0], 5).unwrap_err().code(), ErrorCode::DimensionMismatch);
    let plain = db.create_collection("plain", 4).unwrap();
    let e = plain.hybrid_search("x", &q, 5).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig);
    assert!(e.to_string().contains("with_text_field"), "{e}");
}
