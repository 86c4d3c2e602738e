//! The mixed workload the crash tests share: a deterministic sequence of valid operations
//! (create and drop collections, insert, batch, upsert, delete, save, compact) drawn from a seed
//! and the current model, and the model every recovered database is compared with. The power-loss
//! simulation runs it in process; the SIGKILL test runs it in a child and regenerates the same
//! sequence in the parent from the seed.
#![allow(dead_code)]

use std::collections::BTreeMap;

use needle::{CollectionConfig, Database, DistanceFunction};
use serde_json::{json, Value};

pub const DIM: usize = 4;

/// xorshift64*: the workload's only randomness.
pub fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// The state a database should hold: collection -> id -> (vector, metadata).
pub type Model = BTreeMap<String, BTreeMap<String, (Vec<f32>, Value)>>;

#[derive(Debug, Clone)]
pub enum Op {
    Create(String, &'static str),
    Drop(String),
    Insert(String, String, Vec<f32>),
    Batch(String, Vec<(String, Vec<f32>)>),
    Upsert(String, String, Vec<f32>),
    Delete(String, String),
    Save,
    Compact,
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Create(..) => "create",
            Op::Drop(_) => "drop",
            Op::Insert(..) => "insert",
            Op::Batch(..) => "batch",
            Op::Upsert(..) => "upsert",
            Op::Delete(..) => "delete",
            Op::Save => "save",
            Op::Compact => "compact",
        }
    }
}

pub fn vector(rng: &mut u64) -> Vec<f32> {
    // Small integers plus an offset: exact to compare, never the zero vector (cosine).
    (0..DIM).map(|d| (next(rng) % 17) as f32 - 8.0 + if d == 0 { 0.5 } else { 0.0 }).collect()
}

/// Picks an operation that is valid in `model` (so any error is the crash, or a bug).
pub fn pick(rng: &mut u64, model: &Model) -> Op {
    let names: Vec<&String> = model.keys().collect();
    if names.is_empty() || (names.len() < 2 && next(rng).is_multiple_of(12)) {
        let name = ["a", "b"].into_iter().find(|n| !model.contains_key(*n)).unwrap();
        let index = if next(rng).is_multiple_of(2) { "flat" } else { "hnsw" };
        return Op::Create(name.to_string(), index);
    }
    let c = names[(next(rng) % names.len() as u64) as usize].clone();
    let ids = &model[&c];
    let id = |rng: &mut u64| format!("v{}", next(rng) % 24);
    match next(rng) % 40 {
        0 | 1 => Op::Drop(c),
        2 => Op::Save,
        3 => Op::Compact,
        4..=10 => {
            let mut items = Vec::new();
            let n = 2 + next(rng) % 6;
            for _ in 0..n {
                let candidate = id(rng);
                if !ids.contains_key(&candidate) && !items.iter().any(|(i, _)| *i == candidate) {
                    items.push((candidate, vector(rng)));
                }
            }
            if items.is_empty() {
                Op::Save
            } else {
                Op::Batch(c, items)
            }
        }
        11..=18 => Op::Upsert(c, id(rng), vector(rng)),
        19..=25 => match ids.keys().nth((next(rng) % ids.len().max(1) as u64) as usize) {
            Some(existing) => Op::Delete(c, existing.clone()),
            None => Op::Insert(c, id(rng), vector(rng)),
        },
        _ => {
            let candidate = id(rng);
            if ids.contains_key(&candidate) {
                Op::Upsert(c, candidate, vector(rng))
            } else {
                Op::Insert(c, candidate, vector(rng))
            }
        }
    }
}

pub fn metadata(serial: u64) -> Value {
    json!({ "n": serial })
}

/// Runs `op` on the database; on success applies it to `model`.
pub fn run(db: &Database, op: &Op, serial: u64, model: &mut Model) -> needle::Result<()> {
    match op {
        Op::Create(name, index) => {
            let metric = if index == &"flat" { DistanceFunction::Euclidean } else { DistanceFunction::Cosine };
            db.create_collection_with_config(
                CollectionConfig::new(name, DIM).with_distance(metric).with_index(*index).with_hnsw_ef_search(64),
            )?;
            model.insert(name.clone(), BTreeMap::new());
        }
        Op::Drop(name) => {
            db.drop_collection(name)?;
            model.remove(name);
        }
        Op::Insert(c, id, v) => {
            db.collection(c)?.insert(id, v, Some(metadata(serial)))?;
            model.get_mut(c).unwrap().insert(id.clone(), (v.clone(), metadata(serial)));
        }
        Op::Batch(c, items) => {
            let batch: Vec<(String, Vec<f32>, Option<Value>)> =
                items.iter().map(|(id, v)| (id.clone(), v.clone(), Some(metadata(serial)))).collect();
            db.collection(c)?.insert_batch(&batch)?;
            for (id, v) in items {
                model.get_mut(c).unwrap().insert(id.clone(), (v.clone(), metadata(serial)));
            }
        }
        Op::Upsert(c, id, v) => {
            db.collection(c)?.upsert(id, v, Some(metadata(serial)))?;
            model.get_mut(c).unwrap().insert(id.clone(), (v.clone(), metadata(serial)));
        }
        Op::Delete(c, id) => {
            db.collection(c)?.delete(id)?;
            model.get_mut(c).unwrap().remove(id);
        }
        Op::Save => db.save()?,
        Op::Compact => db.compact()?,
    }
    Ok(())
}

/// Everything a reopened database holds, in the model's shape.
pub fn read_back(db: &Database) -> needle::Result<Model> {
    let mut out = Model::new();
    for name in db.list_collections()? {
        let c = db.collection(&name)?;
        let mut rows = BTreeMap::new();
        for id in c.ids()? {
            let record = c.get(&id)?.expect("a listed id has a record");
            rows.insert(id, (record.vector, record.metadata.unwrap_or(Value::Null)));
        }
        assert_eq!(c.count()?, rows.len(), "count disagrees with ids() in {name}");
        out.insert(name, rows);
    }
    Ok(out)
}

/// Searches must see exactly the stored rows: every stored vector finds itself.
pub fn check_searches(db: &Database, model: &Model) {
    for (name, rows) in model {
        let c = db.collection(name).unwrap();
        for (id, (v, _)) in rows.iter().take(4) {
            let hits = c.search(v, rows.len().min(8)).unwrap();
            assert!(hits.iter().any(|h| &h.id == id), "{name}/{id} does not find itself after recovery");
            assert!(hits.iter().all(|h| rows.contains_key(&h.id)), "a search returned a row that is not stored");
        }
    }
}

/// Applies `op` to the model without touching a database (the in-flight operation's "after").
pub fn run_model_only(op: &Op, serial: u64, model: &mut Model) {
    match op {
        Op::Create(name, _) => {
            model.insert(name.clone(), BTreeMap::new());
        }
        Op::Drop(name) => {
            model.remove(name);
        }
        Op::Insert(c, id, v) | Op::Upsert(c, id, v) => {
            model.get_mut(c).unwrap().insert(id.clone(), (v.clone(), metadata(serial)));
        }
        Op::Batch(c, items) => {
            for (id, v) in items {
                model.get_mut(c).unwrap().insert(id.clone(), (v.clone(), metadata(serial)));
            }
        }
        Op::Delete(c, id) => {
            model.get_mut(c).unwrap().remove(id);
        }
        Op::Save | Op::Compact => {}
    }
}
