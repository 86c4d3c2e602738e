//! Collection internals that the public API cannot reach: WAL replay of records written before a
//! validation rule existed.

use crate::wal_ops::Item;
use crate::{CollectionConfig, Database, DistanceFunction, SearchParams};

/// A WAL record holding a vector over today's norm limit (acknowledged by an older build) still
/// replays — losing it or refusing to open would be worse — yet it never ranks first and never
/// comes back with a NaN or infinite distance, for every metric and search path.
#[test]
fn a_replayed_overflowing_vector_replays_but_is_never_returned() {
    for metric in [
        DistanceFunction::Cosine,
        DistanceFunction::Euclidean,
        DistanceFunction::DotProduct,
        DistanceFunction::Manhattan,
    ] {
        let db = Database::in_memory();
        let c = db.create_collection_with_config(CollectionConfig::new("c", 3).with_distance(metric.clone())).unwrap();
        let items: Vec<Item> = (0..50)
            .map(|i| Item { id: format!("v{i}"), vector: vec![1.0 + i as f32, 2.0, -1.0], metadata: None })
            .chain([Item { id: "huge".into(), vector: vec![3e38, 3e38, 3e38], metadata: None }])
            .collect();
        c.replay_insert(items).unwrap();
        assert_eq!(c.count().unwrap(), 51);
        for query in [[1.0, 2.0, -1.0], [-1e18 / 2.0, 1.0, 0.0]] {
            for exact in [false, true] {
                let mut p = SearchParams::new(51);
                if exact {
                    p = p.with_strategy(crate::Strategy::Exact);
                }
                let hits = c.search_with(&query, &p).unwrap();
                assert!(!hits.is_empty(), "{metric:?}");
                assert!(hits.iter().all(|h| h.distance.is_finite()), "{metric:?}: {hits:?}");
                assert!(
                    hits.iter().all(|h| h.id != "huge"),
                    "{metric:?} exact={exact}: the overflowing vector came back"
                );
            }
        }
        // New writes of such a vector are refused.
        assert_eq!(
            c.upsert("huge", &[3e38, 3e38, 3e38], None).unwrap_err().code(),
            needle_core::ErrorCode::VectorTooLarge
        );
    }
}
