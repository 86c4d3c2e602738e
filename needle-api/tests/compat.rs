//! Format compatibility: this build must keep reading the files that earlier format versions
//! wrote. `tests/compat/v1.needle` was written by this test with `NEEDLE_WRITE_FIXTURE=1` by the
//! version-1 build and `tests/compat/v2.needle` with `NEEDLE_WRITE_FIXTURE=2` by the version-2
//! build; both are committed and must never be regenerated once a later format version exists.
//! The fixtures are small, so they are read into memory; the v2 one is also opened mapped.

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, QuantizationType};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/v1.needle");
const FIXTURE_V2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/compat/v2.needle");

fn vector(i: usize) -> Vec<f32> {
    (0..16).map(|d| ((i * 13 + d * 5) % 23) as f32 / 23.0 - 0.4).collect()
}

fn write_fixture(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let db = Database::open(path).unwrap();
    let a = db.create_collection_with_config(CollectionConfig::new("cosine-hnsw", 16)).unwrap();
    let b = db
        .create_collection_with_config(
            CollectionConfig::new("l2-sq8", 16)
                .with_distance(DistanceFunction::Euclidean)
                .with_quantization(QuantizationType::Scalar),
        )
        .unwrap();
    let f = db.create_collection_with_config(CollectionConfig::new("dot-flat", 16).with_index("flat")).unwrap();
    for i in 0..1200 {
        let meta = serde_json::json!({"i": i, "name": format!("item {i}")});
        a.insert(&format!("a{i}"), &vector(i), Some(meta)).unwrap();
        b.insert(&format!("b{i}"), &vector(i), None).unwrap();
        if i < 100 {
            f.insert(&format!("f{i}"), &vector(i), None).unwrap();
        }
    }
    a.delete("a7").unwrap();
    db.save().unwrap();
    drop((a, b, f, db));
    let _ = std::fs::remove_file(needle::wal_path(path));
    let _ = std::fs::remove_file(needle::lock_path(path));
}

#[test]
fn version_1_files_stay_readable() {
    check_fixture(FIXTURE, 1, u64::MAX);
}

#[test]
fn version_2_files_stay_readable_in_memory_and_mapped() {
    check_fixture(FIXTURE_V2, 2, u64::MAX);
    check_fixture(FIXTURE_V2, 2, 0);
}

fn check_fixture(fixture: &str, version: u32, mmap_threshold: u64) {
    let path = std::path::Path::new(fixture);
    if std::env::var("NEEDLE_WRITE_FIXTURE").ok() == Some(version.to_string()) {
        write_fixture(path);
    }
    let bytes = std::fs::read(path).expect("the committed fixture");
    assert_eq!(&bytes[0..8], b"NEEDLEDB");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), version);
    let config = DatabaseConfig::new().with_read_only(true).with_mmap_threshold(mmap_threshold);
    let db = Database::open_with_config(path, config).unwrap();
    assert_eq!(db.list_collections().unwrap(), vec!["cosine-hnsw", "dot-flat", "l2-sq8"]);
    let a = db.collection("cosine-hnsw").unwrap();
    assert_eq!(a.count().unwrap(), 1199);
    assert!(a.get("a7").unwrap().is_none());
    let rec = a.get("a42").unwrap().unwrap();
    assert_eq!(rec.vector, vector(42));
    assert_eq!(rec.metadata, Some(serde_json::json!({"i": 42, "name": "item 42"})));
    assert!(a.search(&vector(42), 1).unwrap()[0].distance.abs() < 1e-6);
    let b = db.collection("l2-sq8").unwrap();
    assert!(b.info().unwrap().quantized);
    assert_eq!(b.search(&vector(500), 1).unwrap()[0].distance, 0.0);
    let f = db.collection("dot-flat").unwrap();
    assert_eq!(f.count().unwrap(), 100);
    assert_eq!(f.config().index, "flat");
    db.check_integrity().unwrap();
}

/// The HNSW sections' saved-form versions, in file order.
fn hnsw_versions(bytes: &[u8]) -> Vec<u32> {
    let count = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let table = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| &bytes[table + i * 32..table + i * 32 + 32])
        .filter(|e| u16::from_le_bytes(e[0..2].try_into().unwrap()) == 5)
        .map(|e| u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize)
        .filter(|&off| &bytes[off..off + 4] == b"HNSW")
        .map(|off| u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()))
        .collect()
}

fn graph_answers(path: &std::path::Path, mmap_threshold: u64) -> Vec<(String, f32)> {
    let config = DatabaseConfig::new().with_read_only(true).with_mmap_threshold(mmap_threshold);
    let db = Database::open_with_config(path, config).unwrap();
    let mut out = Vec::new();
    for name in ["cosine-hnsw", "l2-sq8"] {
        let c = db.collection(name).unwrap();
        for q in 0..40 {
            let query: Vec<f32> = vector(q * 7 + 3).iter().map(|x| x * 0.9 + 0.01).collect();
            out.extend(c.search(&query, 10).unwrap().into_iter().map(|r| (r.id, r.distance)));
        }
    }
    out
}

#[test]
fn version_1_graphs_answer_alike_read_mapped_and_rewritten() {
    for fixture in [FIXTURE, FIXTURE_V2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.needle");
        std::fs::copy(fixture, &path).unwrap();
        assert_eq!(hnsw_versions(&std::fs::read(&path).unwrap()), vec![1, 1], "{fixture}");
        let before = graph_answers(&path, u64::MAX);
        assert_eq!(graph_answers(&path, 0), before, "{fixture} mapped");
        Database::open(&path).unwrap().save().unwrap();
        assert_eq!(hnsw_versions(&std::fs::read(&path).unwrap()), vec![2, 2], "{fixture} rewritten");
        assert_eq!(graph_answers(&path, u64::MAX), before, "{fixture} rewritten, read");
        assert_eq!(graph_answers(&path, 0), before, "{fixture} rewritten, mapped");
    }
}
