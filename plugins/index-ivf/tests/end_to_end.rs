//! The IVF plugin loaded from its shared library, end to end: a collection indexed by `ivf`
//! (exact below `train_at`, lists after), insert, delete, search against brute force, save,
//! reopen; opening without the plugin names it.

use std::path::PathBuf;
use std::sync::Arc;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode, Registry, SearchParams};

const DIM: usize = 24;

fn library() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [deps.to_path_buf(), deps.parent().unwrap().to_path_buf()]
        .into_iter()
        .map(|d| d.join("libneedle_plugin_ivf.so"))
        .find(|p| p.exists())
        .expect("libneedle_plugin_ivf.so is built with the tests")
}

fn data(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let centres: Vec<Vec<f32>> = (0..40).map(|_| (0..DIM).map(|_| next() * 4.0).collect()).collect();
    (0..n).map(|i| centres[(i * 7) % 40].iter().map(|c| c + next()).collect()).collect()
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

fn truth(base: &[Vec<f32>], alive: &[bool], q: &[f32], k: usize) -> Vec<String> {
    let mut all: Vec<(f32, usize)> =
        base.iter().enumerate().filter(|(i, _)| alive[*i]).map(|(i, v)| (l2(q, v), i)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, i)| format!("v{i}")).collect()
}

#[test]
fn ivf_plugin_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivf.needle");
    let base = data(4000, 5);
    let queries = data(50, 77);
    let mut alive = vec![true; base.len()];
    let registry = Arc::new(Registry::with_builtins());
    let cfg = |r: &Arc<Registry>| DatabaseConfig::new().with_registry(r.clone()).with_plugin(library());
    let db = Database::open_with_config(&path, cfg(&registry)).unwrap();
    let c = db
        .create_collection_with_config(
            CollectionConfig::new("docs", DIM).with_distance(DistanceFunction::Euclidean).with_index("ivf"),
        )
        .unwrap();

    // Below train_at (256) there is one list: search is exact.
    for (i, v) in base.iter().enumerate().take(200) {
        c.insert(&format!("v{i}"), v, None).unwrap();
    }
    let small: Vec<bool> = (0..base.len()).map(|i| i < 200).collect();
    for q in &queries[..10] {
        let got: Vec<String> = c.search(q, 5).unwrap().into_iter().map(|h| h.id).collect();
        assert_eq!(got, truth(&base, &small, q, 5));
    }

    let items: Vec<_> = base.iter().enumerate().skip(200).map(|(i, v)| (format!("v{i}"), v.clone(), None)).collect();
    c.insert_batch(&items).unwrap();
    for i in (0..base.len()).step_by(9) {
        assert!(c.delete(&format!("v{i}")).unwrap());
        alive[i] = false;
    }
    assert_eq!(c.count().unwrap(), alive.iter().filter(|a| **a).count());
    assert_eq!(c.info().unwrap().components.index, "ivf");

    let mut hits = 0;
    for q in &queries {
        let want = truth(&base, &alive, q, 10);
        let got = c.search_with(q, &SearchParams::new(10).with_ef_search(64)).unwrap();
        assert_eq!(got.len(), 10);
        for g in &got {
            let i: usize = g.id[1..].parse().unwrap();
            assert!(alive[i], "deleted vector {} returned", g.id);
            assert!((g.distance - l2(q, &base[i])).abs() < 1e-4);
        }
        hits += got.iter().filter(|g| want.contains(&g.id)).count();
    }
    let recall = hits as f64 / (10 * queries.len()) as f64;
    println!("ivf recall@10 = {recall:.3}");
    assert!(recall >= 0.95, "recall@10 {recall}");
    // k larger than a list: still k results.
    assert_eq!(c.search(&queries[0], 500).unwrap().len(), 500);

    let before: Vec<_> = queries.iter().map(|q| c.search(q, 10).unwrap()).collect();
    db.save().unwrap();
    drop((c, db));

    let registry2 = Arc::new(Registry::with_builtins());
    let db = Database::open_with_config(&path, cfg(&registry2)).unwrap();
    let c = db.collection("docs").unwrap();
    let after: Vec<_> = queries.iter().map(|q| c.search(q, 10).unwrap()).collect();
    assert_eq!(before, after);
    c.insert("late", &queries[0], None).unwrap();
    assert_eq!(c.search(&queries[0], 1).unwrap()[0].id, "late");
    drop((c, db));

    let err =
        Database::open_with_config(&path, DatabaseConfig::new().with_registry(Arc::new(Registry::with_builtins())))
            .unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownComponent);
    assert!(err.to_string().contains("'ivf'"), "{err}");
}
