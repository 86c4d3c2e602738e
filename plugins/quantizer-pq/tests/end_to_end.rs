//! The PQ plugin loaded from its shared library, end to end: collections quantized with `pq`
//! (euclidean and cosine) train after 1000 vectors, search on codes and rescore exactly; results
//! match brute force, survive save and reopen; opening without the plugin names it.

use std::path::PathBuf;
use std::sync::Arc;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode, Registry};

const DIM: usize = 32;

/// The cdylib cargo built next to this test binary.
fn library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [deps.to_path_buf(), deps.parent().unwrap().to_path_buf()]
        .into_iter()
        .map(|d| d.join("libneedle_plugin_pq.so"))
        .find(|p| p.exists())
        .expect("libneedle_plugin_pq.so is built with the tests")
}

/// Clustered data (like embeddings): 25 centres, points scattered around them.
fn data(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..25).map(|_| (0..DIM).map(|_| next() * 4.0).collect()).collect();
    (0..n).map(|i| centres[i % 25].iter().map(|c| c + next() * 0.8).collect()).collect()
}

fn exact(metric: &DistanceFunction, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        DistanceFunction::Euclidean => a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt(),
        _ => {
            let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
            let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
            1.0 - dot / (n(a) * n(b))
        }
    }
}

#[test]
fn pq_plugin_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pq.needle");
    let base = data(2000, 11);
    let queries = data(40, 99);
    let registry = Arc::new(Registry::with_builtins());
    let cfg = |r: &Arc<Registry>| DatabaseConfig::new().with_registry(r.clone()).with_plugin(library());
    let db = Database::open_with_config(&path, cfg(&registry)).unwrap();
    let metrics = [("l2", DistanceFunction::Euclidean), ("cos", DistanceFunction::Cosine)];
    let mut before = Vec::new();
    for (name, metric) in &metrics {
        let c = db
            .create_collection_with_config(
                CollectionConfig::new(*name, DIM)
                    .with_distance(metric.clone())
                    .with_quantizer("pq")
                    .with_rescore_factor(8),
            )
            .unwrap();
        let items: Vec<_> = base.iter().enumerate().map(|(i, v)| (format!("v{i}"), v.clone(), None)).collect();
        c.insert_batch(&items[..1200]).unwrap();
        for (id, v, _) in &items[1200..] {
            c.insert(id, v, None).unwrap();
        }
        let info = c.info().unwrap();
        assert!(info.quantized, "pq trains after 1000 vectors and searches run on codes");
        assert_eq!(info.components.quantizer, "pq");

        let mut hits = 0;
        for q in &queries {
            let mut want: Vec<(usize, f32)> = base.iter().enumerate().map(|(i, v)| (i, exact(metric, q, v))).collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1));
            let got = c.search(q, 10).unwrap();
            assert_eq!(got.len(), 10);
            for g in &got {
                let i: usize = g.id[1..].parse().unwrap();
                // Distances are rescored exactly on the f32 vectors.
                assert!((g.distance - exact(metric, q, &base[i])).abs() < 1e-4);
            }
            hits += got.iter().filter(|g| want[..10].iter().any(|w| format!("v{}", w.0) == g.id)).count();
        }
        let recall = hits as f64 / (10 * queries.len()) as f64;
        println!("pq {name}: recall@10 = {recall:.3}");
        assert!(recall >= 0.9, "{name}: recall@10 {recall}");
        before.push(queries.iter().map(|q| c.search(q, 10).unwrap()).collect::<Vec<_>>());
    }
    db.save().unwrap();
    drop(db);

    let registry2 = Arc::new(Registry::with_builtins());
    let db = Database::open_with_config(&path, cfg(&registry2)).unwrap();
    for ((name, _), before) in metrics.iter().zip(&before) {
        let c = db.collection(name).unwrap();
        assert!(c.info().unwrap().quantized);
        let after: Vec<_> = queries.iter().map(|q| c.search(q, 10).unwrap()).collect();
        assert_eq!(&after, before, "{name}: same results after reopening");
    }
    drop(db);

    let err =
        Database::open_with_config(&path, DatabaseConfig::new().with_registry(Arc::new(Registry::with_builtins())))
            .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownComponent);
    assert!(err.to_string().contains("'pq'"), "{err}");
}
