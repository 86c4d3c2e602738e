//! Vectors whose distances would overflow `f32` (finite components, a norm over
//! `needle::MAX_VECTOR_NORM`) are refused with `vector_too_large` on every write and search path,
//! for every metric, and change nothing; and no search ever returns a NaN or infinite distance.

use needle::{CollectionConfig, Database, DistanceFunction, ErrorCode, Filter, SearchParams, MAX_VECTOR_NORM};
use proptest::prelude::*;

const METRICS: [DistanceFunction; 4] =
    [DistanceFunction::Cosine, DistanceFunction::Euclidean, DistanceFunction::DotProduct, DistanceFunction::Manhattan];

#[test]
fn overflowing_vectors_are_refused_everywhere() {
    for metric in METRICS {
        let db = Database::in_memory();
        let c = db.create_collection_with_config(CollectionConfig::new("c", 3).with_distance(metric.clone())).unwrap();
        c.insert("a", &[1.0, 2.0, 3.0], None).unwrap();
        let huge = [3e38f32, 3e38, 3e38];
        // Just over the limit, spread over components: each one is modest.
        let over = [6e17f32, 6e17, 6e17];
        let code = |r: needle::Result<()>| r.unwrap_err().code();
        for v in [huge, over] {
            assert_eq!(code(c.insert("b", &v, None)), ErrorCode::VectorTooLarge, "{metric:?}");
            assert_eq!(code(c.upsert("a", &v, None).map(drop)), ErrorCode::VectorTooLarge, "{metric:?}");
            let batch = vec![("x".to_string(), vec![1.0, 0.0, 0.0], None), ("y".to_string(), v.to_vec(), None)];
            assert_eq!(code(c.insert_batch(&batch)), ErrorCode::VectorTooLarge, "{metric:?}");
            assert_eq!(code(c.search(&v, 1).map(drop)), ErrorCode::VectorTooLarge, "{metric:?}");
            let queries = vec![vec![1.0, 0.0, 0.0], v.to_vec()];
            assert_eq!(code(c.batch_search(&queries, 1, None).map(drop)), ErrorCode::VectorTooLarge);
            let f = Filter::parse(&serde_json::json!({"t": 1})).unwrap();
            assert_eq!(code(c.search_with_filter(&v, 1, &f).map(drop)), ErrorCode::VectorTooLarge);
            assert_eq!(code(c.check("z", &v)), ErrorCode::VectorTooLarge);
        }
        let e = c.insert("b", &huge, None).unwrap_err();
        assert!(e.to_string().contains("exceeds the limit"), "{e}");
        // Nothing changed.
        assert_eq!(c.count().unwrap(), 1);
        assert_eq!(c.get("a").unwrap().unwrap().vector, vec![1.0, 2.0, 3.0]);
        // At the limit is fine, and distances between two such vectors stay finite.
        let edge = (MAX_VECTOR_NORM / 3f64.sqrt() * 0.999_999) as f32;
        c.insert("edge", &[edge, edge, edge], None).unwrap();
        c.insert("anti", &[-edge, -edge, -edge], None).unwrap();
        for h in c.search_with(&[edge, edge, edge], &SearchParams::new(3)).unwrap() {
            assert!(h.distance.is_finite(), "{metric:?}: {h:?}");
        }
        assert_eq!(c.search(&[-edge, -edge, -edge], 3).unwrap().len(), 3, "{metric:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any vector of finite components with any magnitude (exponents up to f32's largest): it is
    /// either refused with `vector_too_large`, or accepted, and then every search — with any
    /// accepted query, by any metric — returns only finite distances.
    #[test]
    fn accepted_vectors_give_finite_distances(
        rows in prop::collection::vec(prop::collection::vec((-1.0f32..1.0, 0i32..39), 4), 1..24),
        query in prop::collection::vec((-1.0f32..1.0, 0i32..39), 4),
        metric in 0usize..4,
    ) {
        let scale = |v: &Vec<(f32, i32)>| -> Vec<f32> { v.iter().map(|&(m, e)| m * 10f32.powi(e)).collect() };
        let db = Database::in_memory();
        let c = db.create_collection_with_config(CollectionConfig::new("c", 4).with_distance(METRICS[metric].clone())).unwrap();
        for (i, r) in rows.iter().enumerate() {
            match c.insert(&format!("v{i}"), &scale(r), None) {
                Ok(()) => {}
                Err(e) => prop_assert!(
                    matches!(e.code(), ErrorCode::VectorTooLarge | ErrorCode::ZeroVector),
                    "{e}"
                ),
            }
        }
        match c.search(&scale(&query), 24) {
            Ok(hits) => {
                prop_assert_eq!(hits.len(), c.count().unwrap());
                for h in hits {
                    prop_assert!(h.distance.is_finite(), "{:?}", h);
                }
            }
            Err(e) => prop_assert!(matches!(e.code(), ErrorCode::VectorTooLarge | ErrorCode::ZeroVector), "{e}"),
        }
    }
}
