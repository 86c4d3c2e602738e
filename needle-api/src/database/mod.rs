//! [`Database`]: a set of named collections kept in one `.needle` file and its write-ahead log.
//!
//! Files beside `vectors.needle` while it is open for writing:
//! * `vectors.needle-wal` — the write-ahead log. Every write is appended (and, by default,
//!   synced) here before it is acknowledged; opening replays it onto the last checkpoint.
//! * `vectors.needle-lock` — an advisory lock: one writing process at a time. Read-only opens
//!   see the last checkpoint; [`Database::refresh`] follows later ones (`database/replica.rs`).
//!   Every handle also holds a shared lock on the data file itself, so nothing of ours rewrites
//!   it in place while it is in use (`locks.rs`).
//!
//! `save()` is a checkpoint: it writes the whole database to a new file, syncs it, renames it over
//! the old one, syncs the directory, then empties the WAL. A crash at any point leaves either the
//! old file plus a WAL that replays onto it, or the new file plus a WAL it already contains (the
//! WAL's recorded generation tells which). Closing a changed database checkpoints it and removes
//! the empty WAL.
//!
//! Where each part lives: this file holds the handle and its collections (create, drop, look up);
//! `files.rs` the names of the files beside the database; `open.rs` opening and recovery (load or
//! map the file, replay the WAL); `checkpoint.rs` writing a snapshot, checkpoints and closing;
//! `replica.rs` refreshing a read-only handle; `warm_up.rs` warming every collection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_core::arena::VectorStore;
use needle_core::{Cipher, Error, Registry, Result};
use parking_lot::{Mutex, RwLock};

use crate::collection::{Collection, DocCache, Records, State};
use crate::config::{CollectionConfig, DatabaseConfig};
use crate::durability::Log;
use crate::encryption::EncryptionInfo;
use crate::integrity::Integrity;
use crate::validate;
use crate::wal_ops;

mod checkpoint;
mod files;
mod open;
mod replica;
mod warm_up;

pub use files::{lock_path, wal_path};

struct Inner {
    path: Option<PathBuf>,
    config: DatabaseConfig,
    registry: Arc<Registry>,
    collections: RwLock<BTreeMap<String, Collection>>,
    dirty: Arc<AtomicBool>,
    file_id: [u8; 16],
    generation: Mutex<u64>,
    cipher: Arc<dyn Cipher>,
    encryption: Option<EncryptionInfo>,
    log: Arc<Log>,
    /// The deferred checksum check of a mapped file (see `integrity.rs`).
    integrity: Arc<Integrity>,
    /// Metadata documents parsed from mapped records sections, within `config.cache_size`
    /// (`collection/records/cache.rs`).
    doc_cache: Arc<DocCache>,
    /// Set once opening succeeded. Until then `Drop` touches no file: a failed open must leave
    /// the database and its WAL exactly as it found them.
    opened: AtomicBool,
    /// Held (locked) while open for writing.
    _lock: Option<std::fs::File>,
    /// A shared lock on the data file now at `path` as this handle knows it: the file it loaded
    /// (read-only; moved by `refresh`) or its latest checkpoint (writer). See `locks.rs`.
    data_lock: Mutex<Option<std::fs::File>>,
}

/// An embedded vector database. Cheap to clone (clones share everything); `Send + Sync`.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("path", &self.inner.path).finish()
    }
}

impl Database {
    fn new_collection(
        &self,
        config: CollectionConfig,
        components: needle_core::Components,
        distance: Arc<dyn needle_core::Distance>,
        state: State,
    ) -> Collection {
        Collection::new(
            config,
            components,
            distance,
            state,
            self.inner.dirty.clone(),
            self.inner.config.read_only,
            self.inner.log.clone(),
            self.inner.registry.clone(),
            self.inner.integrity.clone(),
        )
    }

    /// The file this database lives in (None for in-memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The registry that resolves component ids for this database.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// Bytes the document cache holds now: metadata documents parsed from a mapped file, never
    /// more than [`DatabaseConfig::cache_size`] (see there for what counts).
    pub fn cache_bytes(&self) -> u64 {
        self.inner.doc_cache.bytes() as u64
    }

    /// Whether the data is encrypted at rest.
    pub fn is_encrypted(&self) -> bool {
        self.inner.encryption.is_some()
    }

    fn check_writable(&self) -> Result<()> {
        if self.inner.config.read_only {
            return Err(Error::ReadOnly("the database was opened read-only".into()));
        }
        if let Some(msg) = self.inner.log.failure() {
            return Err(Error::ReadOnly(format!("an earlier write to the log failed ({msg}); reopen the database")));
        }
        Ok(())
    }

    /// Creates a collection with default settings (cosine, HNSW M=16, ef_construction=200).
    pub fn create_collection(&self, name: &str, dimensions: usize) -> Result<Collection> {
        self.create_collection_with_config(CollectionConfig::new(name, dimensions))
    }

    /// Creates a collection from a full config. Component ids are checked against the registry.
    pub fn create_collection_with_config(&self, config: CollectionConfig) -> Result<Collection> {
        self.check_writable()?;
        self.check_config(&config)?;
        let mut map = self.inner.collections.write();
        if map.contains_key(&config.name) {
            return Err(Error::CollectionExists(config.name));
        }
        let lsn =
            if self.inner.log.is_enabled() { self.inner.log.append(wal_ops::encode_create(&config)?)? } else { 0 };
        let c = self.build_collection(config)?;
        map.insert(c.name().to_string(), c.clone());
        drop(map);
        self.inner.dirty.store(true, Ordering::Release);
        self.inner.log.commit(lsn)?;
        self.inner.log.after_write();
        Ok(c)
    }

    fn check_config(&self, config: &CollectionConfig) -> Result<()> {
        validate::collection_name(&config.name)?;
        if config.hnsw_m < 2 || config.hnsw_m > 256 || config.ef_construction == 0 || config.ef_search == 0 {
            return Err(Error::InvalidConfig("hnsw_m must be 2..=256 and ef values at least 1".into()));
        }
        config.components().validate(&self.inner.registry, config.dimensions)
    }

    fn build_collection(&self, config: CollectionConfig) -> Result<Collection> {
        let components = config.components();
        let reg = &self.inner.registry;
        let distance = reg.distance(&components.distance)?;
        let index = reg.index(&components.index)?.create(config.dimensions, &components.index_params)?;
        let quantizer =
            reg.quantizer(&components.quantizer)?.create(config.dimensions, &components.quantizer_params)?;
        let state = State {
            store: VectorStore::new(config.dimensions, distance.needs_norms()),
            index,
            quantizer,
            records: Records::empty(config.text_field.as_deref()),
        };
        Ok(self.new_collection(config, components, distance, state))
    }

    fn create_unlogged(&self, config: CollectionConfig) -> Result<Collection> {
        self.check_config(&config)?;
        let mut map = self.inner.collections.write();
        if map.contains_key(&config.name) {
            return Err(Error::CollectionExists(config.name));
        }
        let c = self.build_collection(config)?;
        map.insert(c.name().to_string(), c.clone());
        self.inner.dirty.store(true, Ordering::Release);
        Ok(c)
    }

    /// A handle to an existing collection.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        self.inner.collections.read().get(name).cloned().ok_or_else(|| Error::CollectionNotFound(name.to_string()))
    }

    /// Names of all collections, sorted.
    pub fn list_collections(&self) -> Result<Vec<String>> {
        Ok(self.inner.collections.read().keys().cloned().collect())
    }

    /// Drops a collection and its data. Existing handles to it then fail with `CollectionNotFound`.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.check_writable()?;
        let mut map = self.inner.collections.write();
        let c = map.get(name).cloned().ok_or_else(|| Error::CollectionNotFound(name.into()))?;
        // The collection's own write lock (taken after the map's, as everywhere): a write to it
        // has either appended its record already or will see `dropped` under this lock, so the
        // WAL never holds a record of the collection after its drop.
        let st = c.shared.state.write();
        let lsn = if self.inner.log.is_enabled() { self.inner.log.append(wal_ops::encode_drop(name))? } else { 0 };
        c.shared.dropped.store(true, Ordering::Release);
        map.remove(name);
        drop(st);
        drop(map);
        self.inner.dirty.store(true, Ordering::Release);
        self.inner.log.commit(lsn)?;
        self.inner.log.after_write();
        Ok(())
    }

    fn drop_unlogged(&self, name: &str) -> Result<()> {
        let c = self.inner.collections.write().remove(name).ok_or_else(|| Error::CollectionNotFound(name.into()))?;
        c.shared.dropped.store(true, Ordering::Release);
        self.inner.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Waits for the deferred checksum check of a mapped file's bulk sections (see
    /// `docs/format.md`, "Reading") and returns its verdict: `corrupted` naming the section when a
    /// checksum does not match. Files read into memory were fully checked at open.
    pub fn check_integrity(&self) -> Result<()> {
        self.inner.integrity.wait()
    }

    /// Bytes in the write-ahead log.
    pub fn wal_bytes(&self) -> u64 {
        self.inner.log.len()
    }
}
