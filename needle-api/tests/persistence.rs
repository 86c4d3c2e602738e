//! Save, reopen (in this process and in a new one): identical results, exact metadata, and clear
//! errors for files that are not (or no longer) valid Needle files.

mod common;

use std::process::Command;

use needle::{CollectionConfig, Database, DatabaseConfig, ErrorCode, QuantizationType, SearchParams};

const N: usize = 3_000;

fn metadata(i: usize) -> serde_json::Value {
    serde_json::json!({
        "row": i,
        "title": format!("doc \"{i}\" — ünïcødé"),
        "score": i as f64 / 7.0,
        "tags": ["a", i % 3, null, true],
        "nested": {"deep": {"x": -0.1f64, "big": u64::MAX}},
    })
}

fn build(path: &std::path::Path) -> (Vec<Vec<f32>>, Vec<Vec<needle::SearchResult>>) {
    let (base, queries) = common::wordnet(N, 50);
    let db = Database::open(path).unwrap();
    let c = db.create_collection("plain", 384).unwrap();
    let q8 = db
        .create_collection_with_config(CollectionConfig::new("sq8", 384).with_quantization(QuantizationType::Scalar))
        .unwrap();
    for i in 0..N {
        c.insert(&format!("v{i}"), base.row(i), Some(metadata(i))).unwrap();
        q8.insert(&format!("v{i}"), base.row(i), None).unwrap();
    }
    for i in (0..N).step_by(10) {
        c.delete(&format!("v{i}")).unwrap();
    }
    c.upsert("v1", base.row(2), Some(serde_json::json!({"replaced": true}))).unwrap();
    db.save().unwrap();
    let qs: Vec<Vec<f32>> = (0..queries.len()).map(|i| queries.row(i).to_vec()).collect();
    let mut results = Vec::new();
    for q in &qs {
        results.push(c.search(q, 10).unwrap());
        results.push(q8.search_with(q, &SearchParams::new(10).with_ef_search(40)).unwrap());
    }
    (qs, results)
}

fn search_all(db: &Database, qs: &[Vec<f32>]) -> Vec<Vec<needle::SearchResult>> {
    let c = db.collection("plain").unwrap();
    let q8 = db.collection("sq8").unwrap();
    let mut results = Vec::new();
    for q in qs {
        results.push(c.search(q, 10).unwrap());
        results.push(q8.search_with(q, &SearchParams::new(10).with_ef_search(40)).unwrap());
    }
    results
}

#[test]
fn reopen_gives_identical_results_and_exact_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.needle");
    let (qs, before) = build(&path);
    let db = Database::open(&path).unwrap();
    assert_eq!(search_all(&db, &qs), before);
    let c = db.collection("plain").unwrap();
    assert_eq!(c.count().unwrap(), N - N / 10);
    assert_eq!(c.get("v5").unwrap().unwrap().metadata, Some(metadata(5)));
    assert_eq!(c.get("v1").unwrap().unwrap().metadata, Some(serde_json::json!({"replaced": true})));
    assert!(c.get("v10").unwrap().is_none());
    assert!(db.collection("sq8").unwrap().info().unwrap().quantized);
}

/// Child half of the cross-process test: reopens the file named by the environment, searches,
/// and prints the results as JSON.
#[test]
fn child_process_reopen() {
    let Ok(path) = std::env::var("NEEDLE_CHILD_DB") else { return };
    let qs: Vec<Vec<f32>> = serde_json::from_str(&std::env::var("NEEDLE_CHILD_QUERIES").unwrap()).unwrap();
    let db = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    println!("RESULTS={}", serde_json::to_string(&search_all(&db, &qs)).unwrap());
}

#[test]
fn reopen_in_a_new_process_gives_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.needle");
    let (qs, before) = build(&path);
    let qs = &qs[..10];
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_reopen", "--nocapture", "--test-threads=1"])
        .env("NEEDLE_CHILD_DB", &path)
        .env("NEEDLE_CHILD_QUERIES", serde_json::to_string(qs).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("RESULTS=").map(|(_, json)| json))
        .unwrap_or_else(|| panic!("child printed no results; stdout:\n{stdout}"));
    let got: Vec<Vec<needle::SearchResult>> = serde_json::from_str(line).unwrap();
    assert_eq!(got, before[..20].to_vec());
}

#[test]
fn bad_files_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.needle");
    std::fs::write(&junk, b"this is not a needle file, just some text that is long enough to have a header").unwrap();
    assert_eq!(Database::open(&junk).unwrap_err().code(), ErrorCode::NotANeedleFile);
    // A 0-byte file (mkstemp, touch) is a new database for a writer, and nothing for a reader.
    let empty = dir.path().join("empty.needle");
    std::fs::write(&empty, b"").unwrap();
    let ro = DatabaseConfig::new().with_read_only(true);
    assert_eq!(Database::open_with_config(&empty, ro.clone()).unwrap_err().code(), ErrorCode::NotANeedleFile);
    {
        let db = Database::open(&empty).unwrap();
        assert!(db.list_collections().unwrap().is_empty());
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
    }
    let db = Database::open_with_config(&empty, ro).unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 1);
    drop(db);
    // With WAL records beside it, an empty file is not silently taken over.
    let orphan = dir.path().join("orphan.needle");
    let wal = {
        let db = Database::open(&orphan).unwrap();
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
        std::fs::read(needle::wal_path(&orphan)).unwrap() // synced before the insert returned
    };
    std::fs::write(&orphan, b"").unwrap();
    std::fs::write(needle::wal_path(&orphan), &wal).unwrap();
    assert_eq!(Database::open(&orphan).unwrap_err().code(), ErrorCode::NotANeedleFile);
    assert_eq!(std::fs::read(needle::wal_path(&orphan)).unwrap(), wal, "the WAL is left as it was");

    let path = dir.path().join("small.needle");
    {
        let db = Database::open(&path).unwrap();
        let c = db.create_collection("c", 4).unwrap();
        for i in 0..50 {
            c.insert(&format!("{i}"), &[1.0, i as f32, 0.5, -1.0], Some(serde_json::json!({"i": i}))).unwrap();
        }
        db.save().unwrap();
    }
    let good = std::fs::read(&path).unwrap();
    // Truncation anywhere and flipped bytes anywhere: a typed error or the correct data, never a panic.
    let probe = dir.path().join("probe.needle");
    for cut in 1..good.len() {
        std::fs::write(&probe, &good[..cut]).unwrap();
        let e = Database::open(&probe).unwrap_err();
        assert!(matches!(e.code(), ErrorCode::NotANeedleFile | ErrorCode::Corrupted), "cut {cut}: {e}");
    }
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        std::fs::write(&probe, &bad).unwrap();
        match Database::open(&probe) {
            Err(e) => assert!(
                matches!(e.code(), ErrorCode::NotANeedleFile | ErrorCode::Corrupted | ErrorCode::UnsupportedVersion),
                "flip at {i}: {e}"
            ),
            Ok(db) => {
                // Only bytes no check covers (alignment padding) may be flipped harmlessly.
                let c = db.collection("c").unwrap();
                assert_eq!(c.count().unwrap(), 50, "flip at {i} changed the data");
                assert_eq!(c.get("7").unwrap().unwrap().vector, vec![1.0, 7.0, 0.5, -1.0]);
            }
        }
    }
}

#[test]
fn read_only_open_refuses_writes_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.needle");
    assert_eq!(
        Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap_err().code(),
        ErrorCode::Io
    );
    Database::open(&path).unwrap().create_collection("c", 2).unwrap();
    let ro = Database::open_with_config(&path, DatabaseConfig::new().with_read_only(true)).unwrap();
    let c = ro.collection("c").unwrap();
    assert_eq!(c.insert("a", &[1.0, 2.0], None).unwrap_err().code(), ErrorCode::ReadOnly);
    assert_eq!(ro.create_collection("d", 2).unwrap_err().code(), ErrorCode::ReadOnly);
    assert_eq!(ro.save().unwrap_err().code(), ErrorCode::ReadOnly);
}
