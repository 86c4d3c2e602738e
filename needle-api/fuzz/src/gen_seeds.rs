//! Writes the committed seed corpora (`seeds/open_file/`, `seeds/replay_wal/`) and the base file
//! the WAL fuzzer replays onto (`seeds/wal_base.needle`). Random bytes never pass a file header's
//! checksum, so without seeds `open_file` stays at the header checks; a WAL only replays onto the
//! file whose id and generation it names, so the WAL seeds are written against `wal_base.needle`
//! and `replay_wal` embeds that same file. Rerun after a format change (docs/fuzzing.md):
//!
//! `cargo run --manifest-path needle-api/fuzz/Cargo.toml --features gen-seeds --bin gen_seeds -- needle-api/fuzz/seeds`

use std::path::{Path, PathBuf};

use needle::{CollectionConfig, Database, DatabaseConfig, DistanceFunction, EncryptionConfig, QuantizationType};
use serde_json::json;

type Res = Result<(), Box<dyn std::error::Error>>;

fn main() -> Res {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: gen_seeds <seeds dir>")?);
    let scratch = std::env::temp_dir().join(format!("needle-gen-seeds-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    for sub in ["open_file", "replay_wal"] {
        let _ = std::fs::remove_dir_all(out.join(sub));
        std::fs::create_dir_all(out.join(sub))?;
    }
    files(&scratch, &out.join("open_file"))?;
    wals(&scratch, &out)?;
    std::fs::remove_dir_all(&scratch)?;
    Ok(())
}

/// A small deterministic vector: seeds must not change between runs of the generator.
fn vector(i: usize, dims: usize) -> Vec<f32> {
    (0..dims).map(|d| ((i * 7 + d * 3) % 11) as f32 - 5.0 + d as f32 * 0.25).collect()
}

/// Builds a checkpointed file in `scratch` with `fill`, and copies it to `out/<name>.needle`.
fn file(scratch: &Path, out: &Path, name: &str, config: DatabaseConfig, fill: impl Fn(&Database) -> Res) -> Res {
    let path = scratch.join(format!("{name}.needle"));
    let db = Database::open_with_config(&path, config)?;
    fill(&db)?;
    db.save()?;
    drop(db);
    std::fs::copy(&path, out.join(format!("{name}.needle")))?;
    Ok(())
}

fn fill_rows(db: &Database, config: CollectionConfig, rows: usize, meta: bool) -> Res {
    let dims = config.dimensions;
    let c = db.create_collection_with_config(config)?;
    for i in 0..rows {
        let tag = ["red", "blue"][i % 2];
        let m = meta.then(|| json!({"n": i, "tag": tag, "text": format!("word{} common", i % 5)}));
        c.insert(&format!("id{i}"), &vector(i, dims), m)?;
    }
    Ok(())
}

fn files(scratch: &Path, out: &Path) -> Res {
    let plain = DatabaseConfig::new;
    file(scratch, out, "empty", plain(), |_| Ok(()))?;
    file(scratch, out, "flat", plain(), |db| {
        fill_rows(db, CollectionConfig::new("c", 4).with_index("flat"), 12, false)
    })?;
    file(scratch, out, "hnsw_meta", plain(), |db| {
        fill_rows(db, CollectionConfig::new("c", 4).with_distance(DistanceFunction::Cosine).with_hnsw_m(4), 24, true)
    })?;
    file(scratch, out, "sq8", plain(), |db| {
        fill_rows(db, CollectionConfig::new("q", 8).with_quantization(QuantizationType::Scalar), 24, false)
    })?;
    file(scratch, out, "text", plain(), |db| {
        fill_rows(db, CollectionConfig::new("t", 3).with_index("flat").with_text_field("text"), 10, true)
    })?;
    file(scratch, out, "several", plain(), |db| {
        fill_rows(db, CollectionConfig::new("a", 2).with_index("flat"), 4, true)?;
        fill_rows(db, CollectionConfig::new("b", 5).with_distance(DistanceFunction::DotProduct), 8, false)?;
        fill_rows(db, CollectionConfig::new("e", 3).with_index("flat"), 0, false)?;
        let b = db.collection("b")?;
        b.delete("id3")?;
        b.upsert("id4", &vector(40, 5), Some(json!({"moved": true})))?;
        Ok(())
    })?;
    let key = [0x42u8; 32];
    file(scratch, out, "encrypted", plain().with_encryption(EncryptionConfig::aes256(&key)), |db| {
        fill_rows(db, CollectionConfig::new("c", 3).with_index("flat"), 4, true)
    })?;
    Ok(())
}

/// The base file: collection `c` (3 dims, Euclidean, HNSW) holding `a`, checkpointed.
fn base(path: &Path) -> Res {
    let db = Database::open(path)?;
    let c =
        db.create_collection_with_config(CollectionConfig::new("c", 3).with_distance(DistanceFunction::Euclidean))?;
    c.insert("a", &[1.0, 2.0, 3.0], None)?;
    db.save()?;
    Ok(())
}

/// Each WAL seed is the log left after `ops` run on a copy of the base file (read before close,
/// since closing checkpoints and removes it).
fn wals(scratch: &Path, out: &Path) -> Res {
    let base_path = scratch.join("base.needle");
    base(&base_path)?;
    std::fs::copy(&base_path, out.join("wal_base.needle"))?;
    let wal = |name: &str, ops: &dyn Fn(&Database) -> Res| -> Res {
        let path = scratch.join(format!("wal-{name}.needle"));
        std::fs::copy(&base_path, &path)?;
        let db = Database::open(&path)?;
        ops(&db)?;
        std::fs::copy(needle::wal_path(&path), out.join("replay_wal").join(format!("{name}.wal")))?;
        drop(db);
        Ok(())
    };
    wal("inserts", &|db| {
        let c = db.collection("c")?;
        c.insert("b", &[1.0, 2.0, 4.0], Some(json!({"k": 1})))?;
        c.insert("c", &[0.0, 0.5, 9.0], Some(json!({"k": [1, 2], "s": "x"})))?;
        Ok(())
    })?;
    wal("upserts_deletes", &|db| {
        let c = db.collection("c")?;
        c.insert("b", &[1.0, 2.0, 4.0], None)?;
        c.upsert("a", &[3.0, 2.0, 1.0], Some(json!({"v": 2})))?;
        c.upsert("n", &[0.0, 0.0, 0.0], None)?;
        c.delete("b")?;
        Ok(())
    })?;
    wal("drop_create", &|db| {
        db.drop_collection("c")?;
        let c = db.create_collection_with_config(CollectionConfig::new("c", 3).with_index("flat"))?;
        c.insert("z", &[9.0, 8.0, 7.0], Some(json!({"after": "drop"})))?;
        let d = db.create_collection_with_config(
            CollectionConfig::new("d", 2).with_quantization(QuantizationType::Scalar).with_text_field("t"),
        )?;
        d.insert("y", &[0.5, 0.25], Some(json!({"t": "hello world"})))?;
        Ok(())
    })?;
    wal("batch", &|db| {
        let c = db.collection("c")?;
        let rows: Vec<_> = (0..6).map(|i| (format!("r{i}"), vector(i, 3), Some(json!({"i": i})))).collect();
        c.insert_batch(&rows)?;
        Ok(())
    })?;
    Ok(())
}
