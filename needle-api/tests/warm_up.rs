//! `warm_up()` on a mapped open decodes what searches need and touches every vector page.

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode, Filter};
use serde_json::json;

#[test]
fn warm_up_decodes_records_and_answers_like_a_cold_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.needle");
    let (n, dim) = (3000, 16);
    {
        let db = Database::open(&path).unwrap();
        let c = db
            .create_collection_with_config(CollectionConfig::new("c", dim).with_distance(DistanceFunction::Euclidean))
            .unwrap();
        let items: Vec<_> = (0..n)
            .map(|i| {
                let v: Vec<f32> = (0..dim).map(|d| ((i * 31 + d * 7) % 101) as f32).collect();
                (format!("id{i}"), v, Some(json!({"even": i % 2 == 0})))
            })
            .collect();
        c.insert_batch(&items).unwrap();
        db.create_collection("empty", 4).unwrap();
        db.save().unwrap();
    }
    let open = || Database::open_with_config(&path, DatabaseConfig::new().with_mmap_threshold(0)).unwrap();

    let cold = open();
    let q: Vec<f32> = (0..dim).map(|d| d as f32).collect();
    let filter = Filter::parse(&json!({"even": true})).unwrap();
    let cold_hits = cold.collection("c").unwrap().search_with_filter(&q, 10, &filter).unwrap();
    drop(cold);

    let db = open();
    let c = db.collection("c").unwrap();
    let before = c.info().unwrap().memory_bytes;
    let touched = db.warm_up().unwrap();
    assert!(touched >= (n * dim * 4) as u64, "touched only {touched} bytes");
    let after = c.info().unwrap().memory_bytes;
    assert!(after > before, "ids and metadata were not decoded ({before} -> {after} bytes)");
    // A second warm-up is harmless, and results are those of a cold handle.
    assert_eq!(db.warm_up().unwrap(), touched);
    assert_eq!(c.search_with_filter(&q, 10, &filter).unwrap(), cold_hits);

    db.drop_collection("c").unwrap();
    assert_eq!(c.warm_up().unwrap_err().code(), ErrorCode::CollectionNotFound);
}
