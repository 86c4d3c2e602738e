//! Bad input gets a clear, typed error and changes nothing.

use needle::{CollectionConfig, Database, DistanceFunction, ErrorCode, SearchParams};

fn setup() -> (Database, needle::Collection) {
    let db = Database::in_memory();
    let c = db.create_collection("docs", 3).unwrap();
    c.insert("a", &[1.0, 0.0, 0.0], Some(serde_json::json!({"t": 1}))).unwrap();
    (db, c)
}

#[test]
fn bad_vectors_and_ids() {
    let (_db, c) = setup();
    let code = |r: needle::Result<()>| r.unwrap_err().code();
    assert_eq!(code(c.insert("b", &[1.0, 2.0], None)), ErrorCode::DimensionMismatch);
    assert_eq!(code(c.insert("b", &[1.0, f32::NAN, 0.0], None)), ErrorCode::NonFiniteVector);
    assert_eq!(code(c.insert("b", &[1.0, f32::NEG_INFINITY, 0.0], None)), ErrorCode::NonFiniteVector);
    assert_eq!(code(c.insert("b", &[0.0, 0.0, 0.0], None)), ErrorCode::ZeroVector);
    assert_eq!(code(c.insert("", &[1.0, 0.0, 0.0], None)), ErrorCode::InvalidId);
    assert_eq!(code(c.insert("a", &[0.0, 1.0, 0.0], None)), ErrorCode::DuplicateId);
    let batch = vec![("x".to_string(), vec![1.0, 1.0, 1.0], None), ("x".to_string(), vec![1.0, 2.0, 1.0], None)];
    assert_eq!(code(c.insert_batch(&batch)), ErrorCode::DuplicateId);
    let batch = vec![("y".to_string(), vec![1.0, 1.0, 1.0], None), ("z".to_string(), vec![1.0, 2.0], None)];
    assert_eq!(code(c.insert_batch(&batch)), ErrorCode::DimensionMismatch);
    // Metadata is an object or absent, on every write path (the C ABI and HTTP reach these too).
    assert_eq!(code(c.insert("m", &[1.0, 1.0, 0.0], Some(serde_json::json!(42)))), ErrorCode::InvalidArgument);
    assert_eq!(
        code(c.upsert("a", &[1.0, 1.0, 0.0], Some(serde_json::json!("x"))).map(drop)),
        ErrorCode::InvalidArgument
    );
    let batch = vec![
        ("y".to_string(), vec![1.0, 1.0, 1.0], None),
        ("z".to_string(), vec![1.0, 2.0, 1.0], Some(serde_json::json!([1]))),
    ];
    let e = c.insert_batch(&batch).unwrap_err();
    assert!(e.to_string().contains("batch item 1: metadata must be a JSON object"), "{e}");
    // Nothing of the failed calls landed.
    assert_eq!(c.count().unwrap(), 1);
    assert!(c.get("y").unwrap().is_none());
    assert_eq!(c.get("a").unwrap().unwrap().vector, vec![1.0, 0.0, 0.0]);
}

#[test]
fn bad_searches() {
    let (_db, c) = setup();
    let code = |r: needle::Result<Vec<needle::SearchResult>>| r.unwrap_err().code();
    assert_eq!(code(c.search(&[1.0, 0.0, 0.0], 0)), ErrorCode::InvalidArgument);
    assert_eq!(code(c.search(&[1.0, 0.0, 0.0], 1_000_000_000)), ErrorCode::InvalidArgument);
    assert_eq!(code(c.search(&[1.0, 0.0], 1)), ErrorCode::DimensionMismatch);
    assert_eq!(code(c.search(&[0.0, 0.0, 0.0], 1)), ErrorCode::ZeroVector);
    assert_eq!(code(c.search(&[f32::NAN, 0.0, 0.0], 1)), ErrorCode::NonFiniteVector);
    assert_eq!(
        c.batch_search(&[vec![1.0, 0.0, 0.0], vec![1.0]], 1, None).unwrap_err().code(),
        ErrorCode::DimensionMismatch
    );
    // k larger than the collection returns what there is.
    assert_eq!(c.search_with(&[1.0, 0.0, 0.0], &SearchParams::new(50).with_ef_search(1)).unwrap().len(), 1);
}

#[test]
fn collections_and_components() {
    let (db, _c) = setup();
    assert_eq!(db.create_collection("docs", 3).unwrap_err().code(), ErrorCode::CollectionExists);
    assert_eq!(db.collection("nope").unwrap_err().code(), ErrorCode::CollectionNotFound);
    assert_eq!(db.drop_collection("nope").unwrap_err().code(), ErrorCode::CollectionNotFound);
    assert_eq!(db.create_collection("../../etc/passwd", 3).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(db.create_collection("zero", 0).unwrap_err().code(), ErrorCode::InvalidConfig);
    let e = db
        .create_collection_with_config(
            CollectionConfig::new("x", 3).with_distance(DistanceFunction::Custom("hamming".into())),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownComponent);
    assert!(e.to_string().contains("hamming") && e.to_string().contains("cosine"), "{e}");
    assert_eq!(
        db.create_collection_with_config(CollectionConfig::new("x", 3).with_index("annoy")).unwrap_err().code(),
        ErrorCode::UnknownComponent
    );
    // Dropping invalidates old handles.
    let c = db.collection("docs").unwrap();
    db.drop_collection("docs").unwrap();
    assert_eq!(c.count().unwrap_err().code(), ErrorCode::CollectionNotFound);
    assert_eq!(db.list_collections().unwrap(), Vec::<String>::new());
}

#[test]
fn upsert_is_searchable_at_once_and_delete_hides() {
    let db = Database::in_memory();
    let c = db
        .create_collection_with_config(CollectionConfig::new("e", 2).with_distance(DistanceFunction::Euclidean))
        .unwrap();
    for i in 0..100 {
        c.insert(&format!("p{i}"), &[i as f32, 0.0], None).unwrap();
    }
    assert!(c.upsert("p5", &[1000.0, 0.0], None).unwrap(), "p5 existed");
    let hits = c.search(&[999.0, 0.0], 1).unwrap();
    assert_eq!(hits[0].id, "p5");
    assert_eq!(hits[0].distance, 1.0);
    assert!(c.delete("p5").unwrap());
    assert!(!c.delete("p5").unwrap());
    assert_eq!(c.search(&[999.0, 0.0], 1).unwrap()[0].id, "p99");
    assert_eq!(c.count().unwrap(), 99);
}
