//! `insert_batch_rows` and `batch_search_rows`: the borrowed-row forms used by bindings that hold
//! vectors in one buffer (the Python package's numpy arrays). They must behave exactly like
//! `insert_batch` and `batch_search`, including all-or-nothing validation.

use needle::{BatchRow, CollectionConfig, Database, DistanceFunction, ErrorCode, SearchParams};
use serde_json::json;

const DIM: usize = 4;

fn buffer(n: usize) -> Vec<f32> {
    (0..n * DIM).map(|i| ((i * 7919) % 101) as f32 - 50.0).collect()
}

#[test]
fn rows_insert_and_search_like_owned_batches() {
    let db = Database::in_memory();
    let config = |name: &str| CollectionConfig::new(name, DIM).with_distance(DistanceFunction::Euclidean);
    let owned = db.create_collection_with_config(config("owned")).unwrap();
    let rows = db.create_collection_with_config(config("rows")).unwrap();
    let data = buffer(300);
    let ids: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
    let meta: Vec<Option<serde_json::Value>> = (0..300).map(|i| (i % 3 == 0).then(|| json!({"i": i}))).collect();

    let items: Vec<_> =
        (0..300).map(|i| (ids[i].clone(), data[i * DIM..(i + 1) * DIM].to_vec(), meta[i].clone())).collect();
    owned.insert_batch(&items).unwrap();
    let borrowed: Vec<BatchRow<'_>> =
        (0..300).map(|i| (ids[i].as_str(), &data[i * DIM..(i + 1) * DIM], meta[i].as_ref())).collect();
    rows.insert_batch_rows(&borrowed).unwrap();

    assert_eq!(rows.count().unwrap(), 300);
    assert_eq!(rows.get("v3").unwrap().unwrap().metadata, Some(json!({"i": 3})));
    assert_eq!(rows.get("v4").unwrap().unwrap().vector, data[4 * DIM..5 * DIM].to_vec());

    let queries: Vec<Vec<f32>> = buffer(20).chunks(DIM).map(|q| q.iter().map(|x| x + 0.25).collect()).collect();
    let query_rows: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
    let params = SearchParams::new(5).with_ef_search(50);
    let a = owned.batch_search(&queries, 5, Some(&params)).unwrap();
    let b = rows.batch_search_rows(&query_rows, 5, Some(&params)).unwrap();
    assert_eq!(a, b);
    for (q, hits) in queries.iter().zip(&b) {
        assert_eq!(&rows.search_with(q, &params).unwrap(), hits);
    }
}

#[test]
fn a_bad_row_inserts_nothing() {
    let db = Database::in_memory();
    let c = db.create_collection("c", DIM).unwrap();
    let good = [1.0, 2.0, 3.0, 4.0];
    let nan = [1.0, f32::NAN, 3.0, 4.0];
    let short = [1.0, 2.0];
    let not_object = json!([1, 2]);
    let cases: [(Vec<BatchRow<'_>>, ErrorCode); 4] = [
        (vec![("a", &good, None), ("b", &nan, None)], ErrorCode::NonFiniteVector),
        (vec![("a", &good, None), ("b", &short, None)], ErrorCode::DimensionMismatch),
        (vec![("a", &good, None), ("a", &good, None)], ErrorCode::DuplicateId),
        (vec![("a", &good, Some(&not_object))], ErrorCode::InvalidArgument),
    ];
    for (rows, code) in cases {
        assert_eq!(c.insert_batch_rows(&rows).unwrap_err().code(), code);
        assert_eq!(c.count().unwrap(), 0);
    }
    let err = c.batch_search_rows(&[&good, &short], 3, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DimensionMismatch);
}
