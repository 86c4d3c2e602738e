//! The C plugin end to end: load it from a config path, create collections that use it (flat and
//! HNSW), insert, search (checked against brute force), save, reopen; reopening without the plugin
//! fails with an error naming it.

use std::sync::Arc;

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, ErrorCode, Registry, SearchParams};

const DIM: usize = 12;

fn vectors(n: usize) -> Vec<Vec<f32>> {
    // A small deterministic generator (xorshift) so the test needs no RNG crate.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            (0..DIM)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
                })
                .collect()
        })
        .collect()
}

fn chebyshev(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn brute_force(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<(String, f32)> {
    let mut all: Vec<(String, f32)> =
        data.iter().enumerate().map(|(i, v)| (format!("v{i}"), chebyshev(q, v))).collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

fn config(registry: &Arc<Registry>) -> DatabaseConfig {
    DatabaseConfig::new().with_registry(registry.clone()).with_plugin(needle_plugin_chebyshev::LIBRARY)
}

#[test]
fn chebyshev_plugin_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cheb.needle");
    let data = vectors(600);
    let queries = vectors(620)[600..].to_vec();
    let registry = Arc::new(Registry::with_builtins());

    let db = Database::open_with_config(&path, config(&registry)).unwrap();
    let dist = DistanceFunction::Custom("chebyshev".into());
    let flat = db
        .create_collection_with_config(
            CollectionConfig::new("flat", DIM).with_distance(dist.clone()).with_index("flat"),
        )
        .unwrap();
    let hnsw = db.create_collection_with_config(CollectionConfig::new("hnsw", DIM).with_distance(dist)).unwrap();
    let items: Vec<(String, Vec<f32>, Option<serde_json::Value>)> =
        data.iter().enumerate().map(|(i, v)| (format!("v{i}"), v.clone(), Some(serde_json::json!({"i": i})))).collect();
    flat.insert_batch(&items).unwrap();
    for (id, v, m) in &items {
        hnsw.insert(id, v, m.clone()).unwrap();
    }
    assert_eq!(flat.info().unwrap().simd_backend, "c-scalar");

    let mut hnsw_hits = 0;
    for q in &queries {
        let want = brute_force(&data, q, 10);
        let got = flat.search(q, 10).unwrap();
        // Flat is exact: same distances in the same order (ids may swap only on exact ties).
        for (g, w) in got.iter().zip(&want) {
            assert!((g.distance - w.1).abs() < 1e-6, "{} vs {}", g.distance, w.1);
            assert!((g.distance - chebyshev(q, &data[g.id[1..].parse::<usize>().unwrap()])).abs() < 1e-6);
        }
        let got = hnsw.search_with(q, &SearchParams::new(10).with_ef_search(128)).unwrap();
        hnsw_hits += got.iter().filter(|g| want.iter().any(|w| w.0 == g.id)).count();
    }
    let recall = hnsw_hits as f64 / (10 * queries.len()) as f64;
    assert!(recall >= 0.9, "HNSW recall@10 under the plugin distance: {recall}");

    let before: Vec<_> = queries.iter().map(|q| hnsw.search(q, 5).unwrap()).collect();
    db.save().unwrap();
    drop((flat, hnsw, db));

    // Reopen with the plugin (a fresh registry loads the same library again): identical results.
    let registry2 = Arc::new(Registry::with_builtins());
    let db = Database::open_with_config(&path, config(&registry2)).unwrap();
    let hnsw = db.collection("hnsw").unwrap();
    let after: Vec<_> = queries.iter().map(|q| hnsw.search(q, 5).unwrap()).collect();
    assert_eq!(before, after);
    assert_eq!(db.collection("flat").unwrap().count().unwrap(), 600);
    drop((hnsw, db));

    // Without the plugin: a clear error that names it.
    let bare = Arc::new(Registry::with_builtins());
    let err = Database::open_with_config(&path, DatabaseConfig::new().with_registry(bare)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnknownComponent);
    assert!(err.to_string().contains("chebyshev"), "{err}");

    let info = needle::plugins::loaded();
    assert!(info.iter().any(|p| p.id == "chebyshev" && p.version == 1), "{info:?}");
}

#[test]
fn a_missing_or_bad_library_is_a_plugin_error() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::with_builtins());
    let cfg = DatabaseConfig::new().with_registry(registry.clone()).with_plugin(dir.path().join("nope.so"));
    let err = Database::open_with_config(dir.path().join("x.needle"), cfg).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Plugin);
    let junk = dir.path().join("junk.so");
    std::fs::write(&junk, b"not an ELF file").unwrap();
    let err = needle::plugins::load(&registry, &junk).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Plugin);
    assert!(err.to_string().contains("junk.so"), "{err}");
}
