//! Searches on many threads while one writer inserts, upserts and deletes: every search returns
//! well-formed results (sorted, no duplicates, only ids that were inserted, exact distances).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle::Database;

#[test]
fn searches_run_safely_during_writes() {
    let (base, queries) = common::wordnet(6_000, 40);
    let db = Database::in_memory();
    let c = db.create_collection("c", 384).unwrap();
    let initial: Vec<_> = (0..2_000).map(|i| (i.to_string(), base.row(i).to_vec(), None)).collect();
    c.insert_batch(&initial).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let base = Arc::new(base);
    let writer = {
        let (c, done, base) = (c.clone(), done.clone(), base.clone());
        std::thread::spawn(move || {
            for i in 2_000..6_000 {
                c.insert(&i.to_string(), base.row(i), None).unwrap();
                if i % 10 == 0 {
                    c.delete(&(i - 1500).to_string()).unwrap();
                }
                if i % 25 == 0 {
                    c.upsert(&(i - 1000).to_string(), base.row(i - 1000), Some(serde_json::json!({"u": i}))).unwrap();
                }
            }
            done.store(true, Ordering::Release);
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|t| {
            let (c, done, base) = (c.clone(), done.clone(), base.clone());
            let qs: Vec<Vec<f32>> = (0..queries.len()).map(|i| queries.row(i).to_vec()).collect();
            std::thread::spawn(move || {
                let mut searches = 0;
                while !done.load(Ordering::Acquire) || searches < 50 {
                    let q = &qs[(searches + t) % qs.len()];
                    let hits = c.search(q, 10).unwrap();
                    assert_eq!(hits.len(), 10);
                    let mut seen = std::collections::HashSet::new();
                    for w in hits.windows(2) {
                        assert!(w[0].distance <= w[1].distance);
                    }
                    for h in &hits {
                        assert!(seen.insert(h.id.clone()), "duplicate {}", h.id);
                        let row: usize = h.id.parse().unwrap();
                        assert!(row < 6_000);
                        let v = base.row(row);
                        let dot: f32 = q.iter().zip(v).map(|(a, b)| a * b).sum();
                        let nq = q.iter().map(|x| x * x).sum::<f32>().sqrt();
                        let nv = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                        assert!((1.0 - dot / (nq * nv) - h.distance).abs() < 1e-4);
                    }
                    searches += 1;
                }
                searches
            })
        })
        .collect();
    writer.join().unwrap();
    let total: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total >= 150);
    assert_eq!(c.count().unwrap(), 6_000 - 400);
}
