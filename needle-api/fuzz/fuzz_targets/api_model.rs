//! Random sequences of API calls against a model: insert, upsert, delete, get, batch insert,
//! search, create and drop collections, save, compact and reopen, on a real file (in /dev/shm
//! when it exists, so the fuzzer is not bound by the disk). Every answer must agree with a
//! `BTreeMap` model: errors where the model says so (duplicate id, missing collection), the
//! stored vector and metadata, exact search results for the flat index, and only stored ids for
//! HNSW. A reopen must give back exactly the model.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, Durability, ErrorCode};
use serde_json::json;

const DIM: usize = 4;

#[derive(Arbitrary, Debug)]
enum Op {
    Create { hnsw: bool },
    Drop,
    Insert { id: u8, v: [i8; DIM] },
    Upsert { id: u8, v: [i8; DIM] },
    Batch { items: Vec<(u8, [i8; DIM])> },
    Delete { id: u8 },
    Get { id: u8 },
    Search { v: [i8; DIM], k: u8 },
    Save,
    Compact,
    Reopen,
}

fn vector(v: &[i8; DIM]) -> Vec<f32> {
    // Never the zero vector: cosine refuses it (that refusal is tested elsewhere).
    v.iter().enumerate().map(|(i, x)| *x as f32 + if i == 0 { 0.5 } else { 0.0 }).collect()
}

fn dist(hnsw: bool, a: &[f32], b: &[f32]) -> f32 {
    if hnsw {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        (1.0 - dot / (na * nb)).max(0.0)
    } else {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
    }
}

struct Model {
    hnsw: bool,
    rows: BTreeMap<String, (Vec<f32>, u64)>,
}

fn dir() -> PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    base.join(format!("needle-fuzz-api-{}", std::process::id()))
}

fn open(path: &std::path::Path) -> Database {
    Database::open_with_config(path, DatabaseConfig::new().with_durability(Durability::OnSave)).expect("reopen")
}

fn code<T: std::fmt::Debug>(r: needle::Result<T>) -> ErrorCode {
    r.expect_err("the model expects an error").code()
}

fuzz_target!(|ops: Vec<Op>| {
    let dir = dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.needle");
    let mut db = open(&path);
    let mut model: Option<Model> = None;
    for (n, op) in ops.iter().enumerate().take(64) {
        let n = n as u64;
        match op {
            Op::Create { hnsw } => {
                let metric = if *hnsw { DistanceFunction::Cosine } else { DistanceFunction::Euclidean };
                let config = CollectionConfig::new("c", DIM)
                    .with_distance(metric)
                    .with_index(if *hnsw { "hnsw" } else { "flat" })
                    .with_hnsw_ef_search(64);
                let r = db.create_collection_with_config(config);
                if model.is_some() {
                    assert_eq!(code(r), ErrorCode::CollectionExists);
                } else {
                    r.unwrap();
                    model = Some(Model { hnsw: *hnsw, rows: BTreeMap::new() });
                }
            }
            Op::Drop => {
                let r = db.drop_collection("c");
                if model.take().is_some() {
                    r.unwrap();
                } else {
                    assert_eq!(code(r), ErrorCode::CollectionNotFound);
                }
            }
            Op::Save => db.save().unwrap(),
            Op::Compact => db.compact().unwrap(),
            Op::Reopen => {
                drop(db);
                db = open(&path);
            }
            _ => {
                let c = match (db.collection("c"), &mut model) {
                    (Ok(c), Some(m)) => (c, m),
                    (Err(e), None) => {
                        assert_eq!(e.code(), ErrorCode::CollectionNotFound);
                        continue;
                    }
                    (r, m) => panic!("collection present: db {}, model {}", r.is_ok(), m.is_some()),
                };
                let (c, m) = c;
                match op {
                    Op::Insert { id, v } => {
                        let id = id.to_string();
                        let r = c.insert(&id, &vector(v), Some(json!({ "n": n })));
                        if m.rows.contains_key(&id) {
                            assert_eq!(code(r), ErrorCode::DuplicateId);
                        } else {
                            r.unwrap();
                            m.rows.insert(id, (vector(v), n));
                        }
                    }
                    Op::Upsert { id, v } => {
                        let id = id.to_string();
                        let replaced = c.upsert(&id, &vector(v), Some(json!({ "n": n }))).unwrap();
                        assert_eq!(replaced, m.rows.insert(id, (vector(v), n)).is_some());
                    }
                    Op::Batch { items } => {
                        let batch: Vec<_> = items
                            .iter()
                            .take(16)
                            .map(|(id, v)| (id.to_string(), vector(v), Some(json!({ "n": n }))))
                            .collect();
                        let mut ids: Vec<&String> = batch.iter().map(|b| &b.0).collect();
                        ids.sort();
                        ids.dedup();
                        let clash = ids.len() < batch.len() || batch.iter().any(|b| m.rows.contains_key(&b.0));
                        let r = c.insert_batch(&batch);
                        if batch.is_empty() {
                            let _ = r;
                        } else if clash {
                            assert!(r.is_err(), "a batch with a repeated or existing id was accepted");
                        } else {
                            r.unwrap();
                            for (id, v, _) in batch {
                                m.rows.insert(id, (v, n));
                            }
                        }
                    }
                    Op::Delete { id } => {
                        let id = id.to_string();
                        assert_eq!(c.delete(&id).unwrap(), m.rows.remove(&id).is_some());
                    }
                    Op::Get { id } => {
                        let got = c.get(&id.to_string()).unwrap();
                        match (got, m.rows.get(&id.to_string())) {
                            (None, None) => {}
                            (Some(r), Some((v, n))) => {
                                assert_eq!(&r.vector, v);
                                assert_eq!(r.metadata, Some(json!({ "n": n })));
                            }
                            (g, w) => panic!("get {id}: db {g:?}, model {w:?}"),
                        }
                    }
                    Op::Search { v, k } => {
                        let k = 1 + *k as usize % 12;
                        let q = vector(v);
                        let hits = c.search(&q, k).unwrap();
                        assert!(hits.len() <= k.min(m.rows.len()));
                        for h in &hits {
                            let (row, _) = m.rows.get(&h.id).expect("search returned an id that is not stored");
                            assert!((h.distance - dist(m.hnsw, &q, row)).abs() < 1e-3, "wrong distance for {}", h.id);
                        }
                        if !m.hnsw {
                            assert_eq!(hits.len(), k.min(m.rows.len()), "flat search returned too few results");
                            let mut all: Vec<f32> = m.rows.values().map(|(row, _)| dist(false, &q, row)).collect();
                            all.sort_by(f32::total_cmp);
                            for (h, want) in hits.iter().zip(&all) {
                                assert!((h.distance - want).abs() < 1e-3, "flat search is not exact");
                            }
                        }
                    }
                    _ => unreachable!(),
                }
                assert_eq!(c.count().unwrap(), m.rows.len());
            }
        }
    }
    // After a reopen, the database holds exactly the model.
    drop(db);
    let db = open(&path);
    match &model {
        None => assert!(db.collection("c").is_err()),
        Some(m) => {
            let c = db.collection("c").unwrap();
            let mut ids = c.ids().unwrap();
            ids.sort();
            assert_eq!(ids, m.rows.keys().cloned().collect::<Vec<_>>());
        }
    }
});
