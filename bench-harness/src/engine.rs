//! The adapter family: one [`Engine`] per component combination, driven by the same measuring
//! code. [`NeedleEngine`] runs a combination through the public `needle` API exactly as an
//! embedding application would. (The peers run out of process through `peers/peers.py`, so their
//! heavy dependencies never enter this crate.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, Context, Result};
use needle::{Collection, CollectionConfig, Database, DatabaseConfig, DistanceFunction, SearchParams};

use crate::config::{BuildParams, Combo};
use crate::data::Dataset;

/// One system under test. Builds run inside whatever rayon pool the caller installed.
pub trait Engine: Send + Sync {
    /// Readies the input for [`Engine::build`] (outside the timing and memory measurement, as the
    /// peers get a ready array); [`Engine::release_input`] frees it.
    fn prepare(&mut self, _ds: &Dataset) {}
    /// Frees what [`Engine::prepare`] made.
    fn release_input(&mut self) {}
    /// Builds a fresh index over the data set's base vectors (dropping any previous one).
    fn build(&mut self, ds: &Dataset) -> Result<()>;
    /// The library's own figure for the index's size in memory, bytes.
    fn reported_bytes(&self) -> Option<u64>;
    /// Persists the index; returns the bytes it takes on disk (None when it has no file).
    fn save(&mut self) -> Result<Option<u64>>;
    /// Drops the in-memory index and reopens the saved one; returns the seconds until searchable.
    fn reopen(&mut self) -> Result<Option<f64>>;
    /// Frees the index.
    fn close(&mut self);
    /// True for exact indexes, where `ef_search` means nothing (the sweep has one point).
    fn is_exact(&self) -> bool;
    /// Sets `ef_search` for later searches.
    fn set_ef(&mut self, ef: Option<usize>);
    /// One query; the row ids of the k nearest, nearest first.
    fn search(&self, query: &[f32], k: usize) -> Result<Vec<u32>>;
    /// All queries in one call (parallel inside the current rayon pool).
    fn batch_search(&self, queries: &[Vec<f32>], k: usize) -> Result<Vec<Vec<u32>>>;
    /// The SIMD backend the engine uses, if it says.
    fn simd_backend(&self) -> Option<String>;
}

const COLLECTION: &str = "bench";

/// A Needle component combination, in a database file in its own scratch directory.
pub struct NeedleEngine {
    combo: Combo,
    build: BuildParams,
    seed: u64,
    insert_batch: usize,
    dir: PathBuf,
    db: Option<Database>,
    coll: Option<Collection>,
    params: SearchParams,
    items: Vec<(String, Vec<f32>, Option<serde_json::Value>)>,
}

impl NeedleEngine {
    /// Checks the combination can run through the API, and claims a scratch directory under `scratch`.
    pub fn new(combo: &Combo, build: &BuildParams, seed: u64, insert_batch: usize, scratch: &Path) -> Result<Self> {
        let dir = scratch.join(&combo.name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(NeedleEngine {
            combo: combo.clone(),
            build: build.clone(),
            seed,
            insert_batch,
            dir,
            db: None,
            coll: None,
            params: SearchParams::new(10).with_include_metadata(false),
            items: Vec::new(),
        })
    }

    fn path(&self) -> PathBuf {
        self.dir.join("bench.needle")
    }

    fn db_config(&self) -> DatabaseConfig {
        let mut config = DatabaseConfig::new().with_storage(self.combo.storage.clone());
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for plugin in &self.combo.plugins {
            let p = Path::new(plugin);
            config = config.with_plugin(if p.is_absolute() { p.to_path_buf() } else { root.join(p) });
        }
        if self.combo.cipher != "none" {
            // A fixed benchmark key: encryption cost, not secrecy, is what is measured.
            config = config.with_encryption(needle::EncryptionConfig::with_cipher(&self.combo.cipher, &[0x5a; 32]));
        }
        config
    }

    fn collection_config(&self, dim: usize) -> CollectionConfig {
        let c = &self.combo;
        let mut cc = CollectionConfig::new(COLLECTION, dim)
            .with_distance(DistanceFunction::from_id(&c.distance))
            .with_index(c.index.clone())
            .with_hnsw_m(self.build.m)
            .with_hnsw_ef_construction(self.build.ef_construction)
            .with_quantizer(&c.quantizer)
            .with_seed(self.seed);
        if let Some(r) = c.rescore_factor {
            cc = cc.with_rescore_factor(r);
        }
        cc
    }

    fn coll(&self) -> Result<&Collection> {
        self.coll.as_ref().ok_or_else(|| anyhow!("{}: no index built", self.combo.name))
    }
}

fn to_rows(hits: Vec<needle::SearchResult>) -> Result<Vec<u32>> {
    hits.into_iter().map(|h| h.id.parse::<u32>().map_err(|_| anyhow!("unexpected id {:?} in results", h.id))).collect()
}

fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let m = e?.metadata()?;
        if m.is_file() {
            total += m.len();
        }
    }
    Ok(total)
}

impl Engine for NeedleEngine {
    fn prepare(&mut self, ds: &Dataset) {
        // The API takes owned rows with string ids: the row number.
        self.items = (0..ds.n()).map(|i| (i.to_string(), ds.row(i).to_vec(), None)).collect();
    }

    fn release_input(&mut self) {
        self.items = Vec::new();
    }

    fn build(&mut self, ds: &Dataset) -> Result<()> {
        self.close();
        let path = self.path();
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        let db = Database::open_with_config(&path, self.db_config())
            .with_context(|| format!("{}: creating {}", self.combo.name, path.display()))?;
        let coll = db
            .create_collection_with_config(self.collection_config(ds.dim))
            .with_context(|| format!("{}: creating the collection", self.combo.name))?;
        if self.items.len() != ds.n() {
            self.prepare(ds);
        }
        let chunk = if self.insert_batch == 0 { ds.n() } else { self.insert_batch };
        for (c, items) in self.items.chunks(chunk.max(1)).enumerate() {
            coll.insert_batch(items).with_context(|| {
                format!("{}: inserting rows {}..{}", self.combo.name, c * chunk, c * chunk + items.len())
            })?;
        }
        self.db = Some(db);
        self.coll = Some(coll);
        Ok(())
    }

    fn reported_bytes(&self) -> Option<u64> {
        self.coll.as_ref().and_then(|c| c.info().ok()).map(|i| i.memory_bytes as u64)
    }

    fn save(&mut self) -> Result<Option<u64>> {
        let db = self.db.as_ref().ok_or_else(|| anyhow!("{}: nothing to save", self.combo.name))?;
        db.save().with_context(|| format!("{}: save", self.combo.name))?;
        Ok(Some(dir_bytes(&self.dir)?))
    }

    fn reopen(&mut self) -> Result<Option<f64>> {
        self.close();
        let t0 = Instant::now();
        let db = Database::open_with_config(self.path(), self.db_config())
            .with_context(|| format!("{}: reopening", self.combo.name))?;
        let coll =
            db.collection(COLLECTION).with_context(|| format!("{}: collection after reopen", self.combo.name))?;
        let secs = t0.elapsed().as_secs_f64();
        self.db = Some(db);
        self.coll = Some(coll);
        Ok(Some(secs))
    }

    fn close(&mut self) {
        self.coll = None;
        self.db = None;
    }

    fn is_exact(&self) -> bool {
        self.combo.index == "flat"
    }

    fn set_ef(&mut self, ef: Option<usize>) {
        self.params.ef_search = ef;
    }

    fn search(&self, query: &[f32], k: usize) -> Result<Vec<u32>> {
        let mut p = self.params.clone();
        p.k = k;
        to_rows(self.coll()?.search_with(query, &p)?)
    }

    fn batch_search(&self, queries: &[Vec<f32>], k: usize) -> Result<Vec<Vec<u32>>> {
        self.coll()?.batch_search(queries, k, Some(&self.params))?.into_iter().map(to_rows).collect()
    }

    fn simd_backend(&self) -> Option<String> {
        self.coll.as_ref().and_then(|c| c.info().ok()).map(|i| i.simd_backend).or_else(|| Some(needle::simd_backend()))
    }
}

impl Drop for NeedleEngine {
    fn drop(&mut self) {
        self.close();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
