//! The `needle` binary end to end: each test runs the built executable in a fresh directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn needle(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_needle")).args(args).current_dir(dir).output().expect("run needle");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Runs and insists on success.
fn ok(dir: &Path, args: &[&str]) -> String {
    let r = needle(dir, args);
    assert!(r.ok, "needle {args:?} failed:\n{}\n{}", r.stdout, r.stderr);
    r.stdout
}

/// Runs and insists on failure; returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let r = needle(dir, args);
    assert!(!r.ok, "needle {args:?} should have failed:\n{}\n{}", r.stdout, r.stderr);
    r.stderr
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("docs").join("sample")
}

fn sample_texts() -> Vec<String> {
    std::fs::read_to_string(sample().join("wordnet-2k.txt")).unwrap().lines().map(String::from).collect()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn count(dir: &Path, db: &str, collection: &str) -> u64 {
    let info = json(&ok(dir, &["info", db, "--json"]));
    let c = info["collections"].as_array().unwrap().iter().find(|c| c["config"]["name"] == collection);
    c.unwrap_or_else(|| panic!("no collection {collection} in {info}"))["count"].as_u64().unwrap()
}

#[test]
fn sample_import_then_search_by_a_stored_vector_finds_itself_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let fvecs = sample().join("wordnet-2k.fvecs");
    let txt = sample().join("wordnet-2k.txt");
    let out = ok(dir, &["create", "db.needle", "words", "--dim", "384", "--distance", "cosine"]);
    assert!(out.contains("created collection 'words'"), "{out}");
    let out = ok(dir, &["import", "db.needle", "words", fvecs.to_str().unwrap(), "--texts", txt.to_str().unwrap()]);
    assert!(out.contains("imported 2,000 vectors"), "{out}");
    assert_eq!(count(dir, "db.needle", "words"), 2000);

    let texts = sample_texts();
    for id in [0usize, 42, 777, 1999] {
        let ids = id.to_string();
        let res = json(&ok(dir, &["search", "db.needle", "words", "--like", &ids, "-k", "5", "--json"]));
        let hits = res["results"].as_array().unwrap();
        assert_eq!(hits.len(), 5, "{res}");
        assert_eq!(hits[0]["id"], ids.as_str(), "{res}");
        assert!(hits[0]["distance"].as_f64().unwrap().abs() < 1e-4, "{res}");
        assert_eq!(hits[0]["metadata"]["text"], texts[id].as_str(), "{res}");
        let d: Vec<f64> = hits.iter().map(|h| h["distance"].as_f64().unwrap()).collect();
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "distances not ascending: {d:?}");
        assert!(hits[1]["metadata"]["text"].is_string(), "{res}");
    }

    // The human table shows the texts.
    let table = ok(dir, &["search", "db.needle", "words", "--like", "12", "-k", "3"]);
    assert!(table.contains("a tool driven by a motor"), "{table}");
    assert!(table.contains("powered by a motor"), "{table}");

    // A row of an .fvecs file, and the same vector typed out, find that row.
    let res = json(&ok(
        dir,
        &["search", "db.needle", "words", "--query-fvecs", fvecs.to_str().unwrap(), "--row", "7", "--json", "-k", "1"],
    ));
    assert_eq!(res["results"][0]["id"], "7", "{res}");
    let v = needle::core::fvecs::read_fvecs(&fvecs, Some(4)).unwrap().row(3).to_vec();
    let csv = v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let res = json(&ok(dir, &["search", "db.needle", "words", "--vector", &csv, "--json", "--ef", "128"]));
    assert_eq!(res["results"][0]["id"], "3", "{res}");
    assert_eq!(res["results"].as_array().unwrap().len(), 10);
    let vj = serde_json::to_string(&v).unwrap();
    let res = json(&ok(dir, &["search", "db.needle", "words", "--vector-json", &vj, "--json", "-k", "2"]));
    assert_eq!(res["results"][0]["id"], "3", "{res}");

    // info --json reports config, components and the SIMD backend.
    let info = json(&ok(dir, &["info", "db.needle", "--json"]));
    let c = &info["collections"][0];
    assert_eq!(c["config"]["dimensions"], 384);
    assert_eq!(c["components"]["distance"], "cosine");
    assert_eq!(c["components"]["index"], "hnsw");
    assert!(c["memory_bytes"].as_u64().unwrap() > 2000 * 384 * 4, "{info}");
    assert!(!info["simd_backend"].as_str().unwrap().is_empty());
    let human = ok(dir, &["info", "db.needle"]);
    assert!(human.contains("2,000") && human.contains("hnsw (m=16"), "{human}");
    let names = ok(dir, &["collections", "db.needle"]);
    assert!(names.starts_with("words") && names.contains("2,000"), "{names}");

    // Importing the same rows again is refused before anything is written.
    let err = fails(dir, &["import", "db.needle", "words", fvecs.to_str().unwrap()]);
    assert!(err.contains("error[duplicate_id]") && err.contains("record 0"), "{err}");
    // With a prefix the ids are new; --limit takes the first rows only.
    let out = ok(dir, &["import", "db.needle", "words", fvecs.to_str().unwrap(), "--id-prefix", "b-", "--limit", "10"]);
    assert!(out.contains("imported 10 vectors") && out.contains("now holds 2,010"), "{out}");
    let res = json(&ok(dir, &["search", "db.needle", "words", "--like", "b-9", "--json", "-k", "2"]));
    let ids: Vec<&str> = res["results"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"b-9") && ids.contains(&"9"), "{res}");
}

#[test]
fn jsonl_import_stops_at_a_malformed_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let good = "{\"id\": \"a\", \"vector\": [1, 0, 0], \"metadata\": {\"text\": \"alpha\", \"n\": 1}}\n\
                \n\
                {\"id\": 2, \"vector\": [0, 1, 0.5]}\n";
    std::fs::write(dir.join("bad.jsonl"), format!("{good}{{\"id\": \"c\", \"vector\": [0, 0 1]}}\n")).unwrap();
    let err = fails(dir, &["import", "db.needle", "docs", "bad.jsonl", "--create"]);
    assert!(err.contains("error[invalid_json]"), "{err}");
    assert!(err.contains("bad.jsonl:4:"), "the message names line 4: {err}");
    assert!(!dir.join("db.needle").exists(), "a failed import must not create the database");

    std::fs::write(dir.join("good.jsonl"), good).unwrap();
    let out = ok(dir, &["import", "db.needle", "docs", "good.jsonl", "--create", "--distance", "euclidean"]);
    assert!(out.contains("imported 2 vectors") && out.contains("euclidean"), "{out}");
    assert_eq!(count(dir, "db.needle", "docs"), 2);
    let res = json(&ok(dir, &["search", "db.needle", "docs", "--vector", "1,0,0", "--json", "-k", "1"]));
    assert_eq!(res["results"][0]["id"], "a");
    assert_eq!(res["results"][0]["metadata"], serde_json::json!({"text": "alpha", "n": 1}));

    // A wrong dimension on line 2: refused with its code and line; nothing from line 1 is kept.
    std::fs::write(dir.join("dim.jsonl"), "{\"id\": \"d\", \"vector\": [1, 1, 1]}\n{\"id\": \"e\", \"vector\": [1]}\n")
        .unwrap();
    let err = fails(dir, &["import", "db.needle", "docs", "dim.jsonl"]);
    assert!(err.contains("error[dimension_mismatch]") && err.contains("dim.jsonl:2:"), "{err}");
    assert!(err.contains("expected 3, got 1"), "{err}");
    assert_eq!(count(dir, "db.needle", "docs"), 2);

    // Unknown fields, bad ids, NaN-like strings, duplicates within the file.
    for (body, code, line) in [
        ("{\"id\": \"f\", \"vectors\": [1, 2, 3]}", "invalid_json", 1),
        ("{\"id\": \"\", \"vector\": [1, 2, 3]}", "invalid_id", 1),
        ("{\"id\": \"g\", \"vector\": [1, \"NaN\", 3]}", "invalid_json", 1),
        // Beyond f32: serde_json refuses it ("number out of range"), so it never becomes infinity.
        ("{\"id\": \"g\", \"vector\": [1, 1e300, 3]}", "invalid_json", 1),
        ("{\"id\": \"h\", \"vector\": [1, 2, 3]}\n{\"id\": \"h\", \"vector\": [1, 2, 3]}", "duplicate_id", 2),
    ] {
        std::fs::write(dir.join("x.jsonl"), body).unwrap();
        let err = fails(dir, &["import", "db.needle", "docs", "x.jsonl"]);
        assert!(err.contains(&format!("error[{code}]")) && err.contains(&format!("x.jsonl:{line}:")), "{body}: {err}");
    }
    assert_eq!(count(dir, "db.needle", "docs"), 2);
}

#[test]
fn errors_have_stable_codes_and_nonzero_exits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["create", "db.needle", "small", "--dim", "3"]);
    let err = fails(dir, &["search", "db.needle", "small", "--vector", "1,0"]);
    assert!(err.starts_with("error[dimension_mismatch]"), "{err}");
    let err = fails(dir, &["search", "db.needle", "nope", "--vector", "1,0,0"]);
    assert!(err.starts_with("error[collection_not_found]") && err.contains("nope"), "{err}");
    let err = fails(dir, &["import", "db.needle", "nope", "x.jsonl"]);
    assert!(err.contains("error[io]") && err.contains("x.jsonl"), "{err}");
    std::fs::write(dir.join("x.jsonl"), "{\"id\": \"a\", \"vector\": [1, 2, 3]}\n").unwrap();
    let err = fails(dir, &["import", "db.needle", "nope", "x.jsonl"]);
    assert!(err.starts_with("error[collection_not_found]"), "{err}");
    let err = fails(dir, &["search", "db.needle", "small", "--like", "zzz"]);
    assert!(err.starts_with("error[vector_not_found]"), "{err}");
    let err = fails(dir, &["search", "db.needle", "small", "--vector", "1,0,0", "-k", "0"]);
    assert!(err.starts_with("error[invalid_argument]"), "{err}");
    let err = fails(dir, &["search", "db.needle", "small", "--vector", "0,0,0"]);
    assert!(err.starts_with("error[zero_vector]"), "{err}");
    let err = fails(dir, &["create", "db.needle", "small", "--dim", "3"]);
    assert!(err.starts_with("error[collection_exists]"), "{err}");
    let err = fails(dir, &["create", "db.needle", "../etc", "--dim", "3"]);
    assert!(err.starts_with("error[invalid_argument]"), "{err}");
    let err = fails(dir, &["create", "db.needle", "x", "--dim", "3", "--distance", "hamming"]);
    assert!(err.starts_with("error[unknown_component]") && err.contains("hamming"), "{err}");
    let err = fails(dir, &["info", "missing.needle"]);
    assert!(err.starts_with("error[io]") && err.contains("missing.needle"), "{err}");
    assert!(!dir.join("missing.needle").exists(), "reading must not create a database");
    std::fs::write(dir.join("junk.needle"), b"definitely not a needle file").unwrap();
    let err = fails(dir, &["info", "junk.needle"]);
    assert!(err.starts_with("error[not_a_needle_file]") || err.starts_with("error[corrupted]"), "{err}");
    // A conflicting option on an existing collection is refused, not ignored.
    let err = fails(dir, &["import", "db.needle", "small", "x.jsonl", "--create", "--distance", "dot"]);
    assert!(err.starts_with("error[invalid_config]") && err.contains("distance cosine"), "{err}");
    // .fvecs problems name the record; a texts file must match the vectors line for line.
    let rows = [1.0, 0.0, 0.0, 0.5, f32::NAN, 0.5, 0.0, 1.0, 0.0];
    needle::core::fvecs::write_fvecs(dir.join("nan.fvecs"), 3, &rows).unwrap();
    let err = fails(dir, &["import", "db.needle", "small", "nan.fvecs"]);
    assert!(err.starts_with("error[non_finite_vector]") && err.contains("nan.fvecs: record 1"), "{err}");
    std::fs::write(dir.join("two.txt"), "one\ntwo\n").unwrap();
    let err = fails(dir, &["import", "db.needle", "small", "nan.fvecs", "--texts", "two.txt"]);
    assert!(err.starts_with("error[invalid_argument]") && err.contains("2 lines"), "{err}");
    let bytes = std::fs::read(dir.join("nan.fvecs")).unwrap();
    std::fs::write(dir.join("cut.fvecs"), &bytes[..bytes.len() - 2]).unwrap();
    let err = fails(dir, &["import", "db.needle", "small", "cut.fvecs"]);
    assert!(err.starts_with("error[corrupted]"), "{err}");
    let r = needle(dir, &["info", "db.needle", "--json"]);
    assert!(r.ok && json(&r.stdout)["collections"][0]["count"] == 0, "{}", r.stdout);
    // Usage errors come from clap (exit status 2).
    let r = needle(dir, &["search", "db.needle", "small"]);
    assert!(!r.ok && r.stderr.contains("--vector"), "{}", r.stderr);
}

#[test]
fn create_options_are_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(dir, &["create", "db.needle", "exact", "--dim", "4", "--distance", "dot", "--index", "flat"]);
    ok(
        dir,
        &[
            "create",
            "db.needle",
            "small",
            "--dim",
            "4",
            "--m",
            "8",
            "--ef-construction",
            "50",
            "--ef-search",
            "20",
            "--quantization",
            "sq8",
        ],
    );
    let info = json(&ok(dir, &["info", "db.needle", "--json"]));
    let cols = info["collections"].as_array().unwrap();
    assert_eq!(cols.len(), 2);
    assert_eq!(cols[0]["config"]["name"], "exact");
    assert_eq!(cols[0]["components"]["distance"], "dot");
    assert_eq!(cols[0]["components"]["index"], "flat");
    assert_eq!(cols[1]["config"]["hnsw_m"], 8);
    assert_eq!(cols[1]["config"]["ef_construction"], 50);
    assert_eq!(cols[1]["config"]["ef_search"], 20);
    assert_eq!(cols[1]["components"]["quantizer"], "sq8");
    let list = json(&ok(dir, &["collections", "db.needle", "--json"]));
    assert_eq!(
        list,
        serde_json::json!([{"name": "exact", "count": 0, "dimensions": 4}, {"name": "small", "count": 0, "dimensions": 4}])
    );
}

#[test]
fn demo_builds_the_sample_database_and_prints_neighbours() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = ok(dir, &["demo"]);
    assert!(dir.join("vectors.needle").is_file());
    assert!(out.contains("imported 2,000 vectors into 'wordnet'"), "{out}");
    assert!(out.contains("query 12") && out.contains("a tool driven by a motor"), "{out}");
    // The nearest other gloss to "a tool driven by a motor" in the sample.
    assert!(out.contains("powered by a motor"), "{out}");
    assert_eq!(out.matches("rank  id").count(), 4, "{out}");
    assert_eq!(count(dir, "vectors.needle", "wordnet"), 2000);

    // Again: the demo collection is replaced, other collections are left alone.
    ok(dir, &["create", "vectors.needle", "mine", "--dim", "2"]);
    let out = ok(dir, &["demo", "-k", "2", "--queries", "5"]);
    assert!(out.contains("replacing collection 'wordnet'"), "{out}");
    assert!(out.contains("query 5") && out.contains("long noosed rope"), "{out}");
    assert_eq!(count(dir, "vectors.needle", "wordnet"), 2000);
    assert_eq!(count(dir, "vectors.needle", "mine"), 0);
}

#[test]
fn every_subcommand_has_help() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["create", "import", "search", "info", "collections", "demo"] {
        let out = ok(tmp.path(), &[sub, "--help"]);
        assert!(out.contains(&format!("Usage: needle {sub}")), "{sub}: {out}");
    }
    let out = ok(tmp.path(), &["--help"]);
    for sub in ["create", "import", "search", "info", "collections", "demo"] {
        assert!(out.contains(sub), "{out}");
    }
}
