//! Opening a file at or above `mmap_threshold`: vectors, norms and codes are used in place from
//! the map, records are decoded lazily, bulk checksums are checked in the background. Results must
//! be identical to a file read into memory; damage must be a typed error, never a panic.

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Filter, QuantizationType, SearchParams};

fn vector(i: usize, dim: usize) -> Vec<f32> {
    let mut s = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..dim)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

const DIM: usize = 24;
const N: usize = 1500;

fn build(path: &std::path::Path) {
    let db = Database::open(path).unwrap();
    let a = db.create_collection_with_config(CollectionConfig::new("cos", DIM)).unwrap();
    let b = db
        .create_collection_with_config(
            CollectionConfig::new("sq8", DIM)
                .with_distance(DistanceFunction::Euclidean)
                .with_quantization(QuantizationType::Scalar),
        )
        .unwrap();
    let f = db.create_collection_with_config(CollectionConfig::new("flat", DIM).with_index("flat")).unwrap();
    for c in [&a, &b, &f] {
        let items: Vec<_> = (0..N)
            .map(|i| (format!("v{i}"), vector(i, DIM), Some(serde_json::json!({"i": i, "even": i % 2 == 0}))))
            .collect();
        c.insert_batch(&items).unwrap();
        c.delete("v3").unwrap();
    }
    db.save().unwrap();
}

fn open(path: &std::path::Path, mapped: bool) -> Database {
    let threshold = if mapped { 0 } else { u64::MAX };
    Database::open_with_config(path, DatabaseConfig::new().with_read_only(true).with_mmap_threshold(threshold)).unwrap()
}

type Answers = Vec<Vec<(String, f32, Option<serde_json::Value>)>>;

fn answers(db: &Database, name: &str) -> Answers {
    let c = db.collection(name).unwrap();
    let even = Filter::parse(&serde_json::json!({"even": true})).unwrap();
    let mut out = Vec::new();
    for q in 0..20 {
        let query = vector(10_000 + q, DIM);
        let plain = c.search_with(&query, &SearchParams::new(10)).unwrap();
        let filtered = c.search_with(&query, &SearchParams::new(10).with_filter(even.clone())).unwrap();
        let wide = c.search_with(&query, &SearchParams::new(50).with_ef_search(120)).unwrap();
        for r in plain.into_iter().chain(filtered).chain(wide) {
            out.push(vec![(r.id, r.distance, r.metadata)]);
        }
    }
    out
}

/// Sections of the file: (kind, offset, len).
fn sections(bytes: &[u8]) -> Vec<(u16, u32, usize, usize)> {
    let count = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let table = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
    (0..count)
        .map(|i| {
            let e = &bytes[table + i * 32..table + i * 32 + 32];
            (
                u16::from_le_bytes(e[0..2].try_into().unwrap()),
                u32::from_le_bytes(e[4..8].try_into().unwrap()),
                u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize,
                u64::from_le_bytes(e[16..24].try_into().unwrap()) as usize,
            )
        })
        .collect()
}

#[test]
fn mapped_open_gives_identical_results_and_owns_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.needle");
    build(&path);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 2);
    let read = open(&path, false);
    let mapped = open(&path, true);
    for name in ["cos", "sq8", "flat"] {
        let (r, m) = (read.collection(name).unwrap(), mapped.collection(name).unwrap());
        assert_eq!(m.count().unwrap(), N - 1);
        // Owned memory of the mapped collection excludes the rows (and codes) left in the map, and
        // HNSW's layer-0 lists (1 + M_max0 = 33 words per slot at M = 16).
        let (ri, mi) = (r.info().unwrap(), m.info().unwrap());
        let layer0 = if name == "flat" { 0 } else { N * 33 * 4 };
        assert!(
            mi.memory_bytes + N * DIM * 4 + layer0 <= ri.memory_bytes,
            "{name}: {} vs {}",
            mi.memory_bytes,
            ri.memory_bytes
        );
        assert_eq!(ri.quantized, mi.quantized);
        assert_eq!(answers(&read, name), answers(&mapped, name), "{name}");
        assert_eq!(m.get("v42").unwrap().unwrap().vector, vector(42, DIM));
        assert!(m.get("v3").unwrap().is_none());
        assert_eq!(r.ids().unwrap(), m.ids().unwrap());
    }
    mapped.check_integrity().unwrap();
}

#[test]
fn writes_to_a_mapped_collection_copy_it_and_persist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.needle");
    build(&path);
    let before = answers(&open(&path, false), "sq8");
    {
        let db = Database::open_with_config(&path, DatabaseConfig::new().with_mmap_threshold(0)).unwrap();
        // A checkpoint of an unchanged mapped database copies it as it is.
        db.save().unwrap();
        let c = db.collection("sq8").unwrap();
        assert_eq!(answers(&db, "sq8"), before);
        c.insert("new", &vector(77_777, DIM), None).unwrap();
        c.delete("v5").unwrap();
        db.save().unwrap();
    }
    for mapped in [false, true] {
        let db = open(&path, mapped);
        let c = db.collection("sq8").unwrap();
        assert_eq!(c.count().unwrap(), N - 1);
        assert_eq!(c.search(&vector(77_777, DIM), 1).unwrap()[0].id, "new");
        assert!(c.get("v5").unwrap().is_none());
        assert_eq!(c.get("v6").unwrap().unwrap().vector, vector(6, DIM));
    }
}

#[test]
fn a_mapped_graph_takes_a_parallel_batch_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.needle");
    build(&path);
    let extra: Vec<_> = (0..600).map(|i| (format!("x{i}"), vector(50_000 + i, DIM), None)).collect();
    {
        let db = Database::open_with_config(&path, DatabaseConfig::new().with_mmap_threshold(0)).unwrap();
        let c = db.collection("cos").unwrap();
        c.delete("v9").unwrap();
        c.insert_batch(&extra).unwrap();
        assert_eq!(c.count().unwrap(), N - 2 + 600);
        for (id, v, _) in extra.iter().step_by(37) {
            assert_eq!(&c.search(v, 1).unwrap()[0].id, id);
        }
        db.save().unwrap();
    }
    let (read, mapped) = (open(&path, false), open(&path, true));
    assert_eq!(answers(&read, "cos"), answers(&mapped, "cos"));
    let c = mapped.collection("cos").unwrap();
    assert!(c.get("v9").unwrap().is_none());
    assert_eq!(c.search(&vector(50_123, DIM), 1).unwrap()[0].id, "x123");
    mapped.check_integrity().unwrap();
}

/// The index sections of the file that hold an HNSW graph of saved-form version 2: (offset, M).
fn hnsw_sections(bytes: &[u8]) -> Vec<(usize, usize)> {
    sections(bytes)
        .into_iter()
        .filter(|&(kind, _, off, _)| kind == 5 && &bytes[off..off + 4] == b"HNSW")
        .map(|(_, _, off, _)| {
            assert_eq!(u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()), 2);
            (off, u32::from_le_bytes(bytes[off + 12..off + 16].try_into().unwrap()) as usize)
        })
        .collect()
}

#[test]
fn damaged_layer0_lists_of_a_mapped_file_never_panic_and_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.needle");
    build(&path);
    let mut b = std::fs::read(&path).unwrap();
    let graphs = hnsw_sections(&b);
    assert_eq!(graphs.len(), 2, "cos and sq8");
    for (off, m) in graphs {
        let stride = 1 + 2 * m;
        let mut put = |slot: usize, word: usize, v: u32| {
            let at = off + 64 + (slot * stride + word) * 4;
            b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        };
        for slot in 0..N {
            match slot % 5 {
                0 => put(slot, 0, u32::MAX),          // count far past M_max0
                1 => put(slot, 1, u32::MAX),          // id past every slot
                2 => put(slot, 2, (N + slot) as u32), // id just past the slots
                3 => put(slot, 1, slot as u32),       // a link to itself
                _ => {}
            }
        }
    }
    std::fs::write(&path, &b).unwrap();
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_mmap_threshold(0)).unwrap();
    for name in ["cos", "sq8"] {
        let c = db.collection(name).unwrap();
        let even = Filter::parse(&serde_json::json!({"even": true})).unwrap();
        for q in 0..30 {
            let query = vector(20_000 + q, DIM);
            // Wrong answers are allowed until the check reports the damage; a panic is not.
            let runs = [c.search(&query, 10), c.search_with(&query, &SearchParams::new(5).with_filter(even.clone()))];
            for hits in runs.into_iter().flatten() {
                assert!(hits.iter().all(|h| h.id.starts_with('v')));
            }
        }
        // A write copies the lists, keeping only valid links (or is refused once the check failed).
        let _ = c.insert("fresh", &vector(99_999, DIM), None);
        let _ = c.search(&vector(99_999, DIM), 3);
    }
    let err = db.check_integrity().unwrap_err();
    assert_eq!(err.code(), needle::ErrorCode::Corrupted, "{err}");
    assert!(err.to_string().contains("Index"), "{err}");
    assert!(db.collection("cos").unwrap().search(&vector(1, DIM), 3).is_err());
    assert!(db.save().is_err(), "damaged lists are never checkpointed");
}

#[test]
fn damaged_sections_of_a_mapped_file_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.needle");
    build(&path);
    let good = std::fs::read(&path).unwrap();
    let damaged = dir.path().join("bad.needle");
    for (kind, owner, off, len) in sections(&good) {
        // Vectors, codes, norms: bytes of numbers — found by the background checksum check.
        // Index, records, quantizer, catalog: structure — an error at open or at first use.
        for at in [off, off + len / 2, off + len.saturating_sub(1)] {
            if len == 0 {
                continue;
            }
            let mut b = good.clone();
            b[at] ^= 0x5a;
            std::fs::write(&damaged, &b).unwrap();
            let r =
                Database::open_with_config(&damaged, DatabaseConfig::new().with_read_only(true).with_mmap_threshold(0));
            let Ok(db) = r else { continue };
            let mut failed = db.check_integrity().is_err();
            for name in ["cos", "sq8", "flat"] {
                let Ok(c) = db.collection(name) else { continue };
                let q = vector(5, DIM);
                let ops = [
                    c.search(&q, 5).map(|_| ()),
                    c.get("v10").map(|_| ()),
                    c.ids().map(|_| ()),
                    c.count().map(|_| ()),
                    c.search_with(
                        &q,
                        &SearchParams::new(3).with_filter(Filter::parse(&serde_json::json!({"even": true})).unwrap()),
                    )
                    .map(|_| ()),
                ];
                failed |= ops.iter().any(|r| r.is_err());
            }
            assert!(failed, "flip in section kind {kind} (owner {owner}) at {at} went unnoticed");
        }
    }
}
