//! Random sequences of insert / upsert / delete / search / save / reopen, checked against a
//! simple model: a HashMap plus brute-force search.

use std::collections::HashMap;

use needle::{CollectionConfig, Database, DistanceFunction, ErrorCode};
use proptest::prelude::*;

const DIM: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, Vec<f32>),
    Upsert(u8, Vec<f32>),
    Delete(u8),
    Search(Vec<f32>, usize),
    SaveReopen,
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    // Integers keep distances exact enough to compare, and avoid zero vectors (cosine).
    prop::collection::vec(-8i8..8, DIM).prop_map(|v| {
        let mut v: Vec<f32> = v.into_iter().map(f32::from).collect();
        v[0] += 0.5;
        v
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..40, vector()).prop_map(|(i, v)| Op::Insert(i, v)),
        2 => (0u8..40, vector()).prop_map(|(i, v)| Op::Upsert(i, v)),
        2 => (0u8..40).prop_map(Op::Delete),
        3 => (vector(), 1usize..12).prop_map(|(v, k)| Op::Search(v, k)),
        1 => Just(Op::SaveReopen),
    ]
}

fn distance(metric: &DistanceFunction, a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    match metric {
        DistanceFunction::Cosine => {
            let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
            let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
            1.0 - dot / (na * nb)
        }
        DistanceFunction::Euclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
        DistanceFunction::DotProduct => -dot,
        DistanceFunction::Manhattan => a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum(),
        _ => unreachable!(),
    }
}

fn run(metric: DistanceFunction, index: &str, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.needle");
    let mut db = Database::open(&path).unwrap();
    let config =
        CollectionConfig::new("m", DIM).with_distance(metric.clone()).with_index(index).with_hnsw_ef_search(64);
    db.create_collection_with_config(config).unwrap();
    let mut model: HashMap<String, (Vec<f32>, serde_json::Value)> = HashMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        let c = db.collection("m").unwrap();
        match op {
            Op::Insert(i, v) => {
                let id = format!("id{i}");
                let meta = serde_json::json!({"step": step, "v": v.clone()});
                let r = c.insert(&id, &v, Some(meta.clone()));
                if let std::collections::hash_map::Entry::Vacant(e) = model.entry(id) {
                    r.unwrap();
                    e.insert((v, meta));
                } else {
                    prop_assert_eq!(r.unwrap_err().code(), ErrorCode::DuplicateId);
                }
            }
            Op::Upsert(i, v) => {
                let id = format!("id{i}");
                let meta = serde_json::json!({"upsert": step});
                let replaced = c.upsert(&id, &v, Some(meta.clone())).unwrap();
                prop_assert_eq!(replaced, model.insert(id, (v, meta)).is_some());
            }
            Op::Delete(i) => {
                let id = format!("id{i}");
                prop_assert_eq!(c.delete(&id).unwrap(), model.remove(&id).is_some());
            }
            Op::Search(q, k) => {
                let hits = c.search(&q, k).unwrap();
                let mut expect: Vec<f32> = model.values().map(|(v, _)| distance(&metric, &q, v)).collect();
                expect.sort_by(f32::total_cmp);
                expect.truncate(k);
                prop_assert_eq!(hits.len(), expect.len(), "result count at step {}", step);
                for (h, e) in hits.iter().zip(&expect) {
                    prop_assert!(
                        (h.distance - e).abs() <= 1e-3 * (1.0 + e.abs()),
                        "step {}: {} vs {}",
                        step,
                        h.distance,
                        e
                    );
                    let (v, meta) = &model[&h.id];
                    prop_assert!((distance(&metric, &q, v) - h.distance).abs() <= 1e-3 * (1.0 + e.abs()));
                    prop_assert_eq!(h.metadata.as_ref(), Some(meta));
                }
            }
            Op::SaveReopen => {
                db.save().unwrap();
                drop(c);
                drop(db);
                db = Database::open(&path).unwrap();
            }
        }
        let c = db.collection("m").unwrap();
        prop_assert_eq!(c.count().unwrap(), model.len());
    }
    let c = db.collection("m").unwrap();
    for (id, (v, meta)) in &model {
        let got = c.get(id).unwrap().expect("model id present");
        prop_assert_eq!(&got.vector, v);
        prop_assert_eq!(got.metadata.as_ref(), Some(meta));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hnsw_cosine_agrees_with_model(ops in prop::collection::vec(op(), 1..120)) {
        run(DistanceFunction::Cosine, "hnsw", ops)?;
    }

    #[test]
    fn hnsw_euclidean_agrees_with_model(ops in prop::collection::vec(op(), 1..120)) {
        run(DistanceFunction::Euclidean, "hnsw", ops)?;
    }

    #[test]
    fn flat_dot_agrees_with_model(ops in prop::collection::vec(op(), 1..120)) {
        run(DistanceFunction::DotProduct, "flat", ops)?;
    }

    #[test]
    fn hnsw_manhattan_agrees_with_model(ops in prop::collection::vec(op(), 1..120)) {
        run(DistanceFunction::Manhattan, "hnsw", ops)?;
    }
}
