//! [`Database`]: a set of named collections kept in one `.needle` file.
//!
//! Opening reads the file (creating it when missing); `save()` writes a new file beside the old
//! one and renames it into place, so a crash during `save` leaves the previous state intact. A
//! database that was changed and not saved is saved when the last handle is dropped (errors are
//! logged); call `save()` to see them. The write-ahead log that makes every acknowledged write
//! durable without `save` comes with the storage issue.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_core::format::{self, SectionKind};
use needle_core::store::VectorStore;
use needle_core::{Error, Registry, Result, StorageOptions};
use parking_lot::{Mutex, RwLock};

use crate::collection::{Collection, State};
use crate::config::{CollectionConfig, DatabaseConfig};
use crate::persist::{self, Catalog};
use crate::validate;

struct Inner {
    path: Option<PathBuf>,
    config: DatabaseConfig,
    registry: Arc<Registry>,
    collections: RwLock<BTreeMap<String, Collection>>,
    dirty: Arc<AtomicBool>,
    file_id: [u8; 16],
    generation: Mutex<u64>,
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

fn random_file_id() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut id = [0u8; 16];
    for (i, chunk) in id.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.write_u32(std::process::id());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    id
}

impl Database {
    /// Opens the database at `path`, creating an empty one when the file does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with_config(path, DatabaseConfig::new())
    }

    /// A database that lives only in memory (`save` is a no-op).
    pub fn in_memory() -> Database {
        Self::new_inner(None, DatabaseConfig::new().with_storage("memory"), random_file_id(), 0)
    }

    /// Opens with explicit configuration.
    pub fn open_with_config(path: impl AsRef<Path>, config: DatabaseConfig) -> Result<Database> {
        let path = path.as_ref().to_path_buf();
        let registry = config.registry();
        let storage = registry.storage(&config.storage)?;
        if !path.exists() {
            if config.read_only {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{}: no such database (read-only open does not create one)", path.display()),
                )));
            }
            let db = Self::new_inner(Some(path), config, random_file_id(), 0);
            db.save_now()?;
            return Ok(db);
        }
        let backend = storage.open(Some(&path), &StorageOptions { read_only: true, create: false })?;
        let (header, sections) = format::read_file(&*backend, &path.display().to_string())?;
        drop(backend);
        let db = Self::new_inner(Some(path), config, header.file_id, header.generation);
        db.load_sections(&sections)?;
        Ok(db)
    }

    fn new_inner(path: Option<PathBuf>, config: DatabaseConfig, file_id: [u8; 16], generation: u64) -> Database {
        let registry = config.registry();
        Database {
            inner: Arc::new(Inner {
                path,
                config,
                registry,
                collections: RwLock::new(BTreeMap::new()),
                dirty: Arc::new(AtomicBool::new(false)),
                file_id,
                generation: Mutex::new(generation),
            }),
        }
    }

    fn load_sections(&self, sections: &[format::Section]) -> Result<()> {
        let catalog = sections
            .iter()
            .find(|s| s.kind == SectionKind::Catalog)
            .ok_or_else(|| Error::corrupted("catalog", 0, "missing catalog section"))?;
        let catalog: Catalog = serde_json::from_slice(&catalog.data)
            .map_err(|e| Error::corrupted("catalog", 0, format!("unreadable catalog: {e}")))?;
        let mut by_owner: HashMap<u32, HashMap<SectionKind, &format::Section>> = HashMap::new();
        for s in sections.iter().filter(|s| s.kind != SectionKind::Catalog) {
            if by_owner.entry(s.owner).or_default().insert(s.kind, s).is_some() {
                return Err(Error::corrupted("section table", 0, format!("duplicate {:?} section", s.kind)));
            }
        }
        let empty = HashMap::new();
        let mut map = self.inner.collections.write();
        for (i, entry) in catalog.collections.iter().enumerate() {
            validate::collection_name(&entry.config.name).map_err(|e| Error::corrupted("catalog", 0, e.to_string()))?;
            let owned = by_owner.get(&(i as u32 + 1)).unwrap_or(&empty);
            let (distance, state) = persist::decode_collection(&self.inner.registry, entry, owned)?;
            let c = Collection::new(
                entry.config.clone(),
                entry.components.clone(),
                distance,
                state,
                self.inner.dirty.clone(),
                self.inner.config.read_only,
            );
            if map.insert(entry.config.name.clone(), c).is_some() {
                return Err(Error::corrupted("catalog", 0, format!("collection '{}' listed twice", entry.config.name)));
            }
        }
        Ok(())
    }

    /// The file this database lives in (None for in-memory).
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The registry that resolves component ids for this database.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    fn check_writable(&self) -> Result<()> {
        if self.inner.config.read_only {
            return Err(Error::ReadOnly("the database was opened read-only".into()));
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
        validate::collection_name(&config.name)?;
        if config.hnsw_m < 2 || config.hnsw_m > 256 || config.ef_construction == 0 || config.ef_search == 0 {
            return Err(Error::InvalidConfig("hnsw_m must be 2..=256 and ef values at least 1".into()));
        }
        let components = config.components();
        let reg = &self.inner.registry;
        components.validate(reg, config.dimensions)?;
        let distance = reg.distance(&components.distance)?;
        let index = reg.index(&components.index)?.create(config.dimensions, &components.index_params)?;
        let quantizer =
            reg.quantizer(&components.quantizer)?.create(config.dimensions, &components.quantizer_params)?;
        let state = State {
            store: VectorStore::new(config.dimensions, distance.needs_norms()),
            index,
            quantizer,
            ids: HashMap::new(),
            records: Vec::new(),
        };
        let mut map = self.inner.collections.write();
        if map.contains_key(&config.name) {
            return Err(Error::CollectionExists(config.name));
        }
        let name = config.name.clone();
        let c = Collection::new(config, components, distance, state, self.inner.dirty.clone(), false);
        map.insert(name, c.clone());
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
        let c = self.inner.collections.write().remove(name).ok_or_else(|| Error::CollectionNotFound(name.into()))?;
        c.shared.dropped.store(true, Ordering::Release);
        self.inner.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Writes every collection to the file (a checkpoint). Reopening gives identical results.
    pub fn save(&self) -> Result<()> {
        self.check_writable()?;
        self.save_now()
    }

    fn save_now(&self) -> Result<()> {
        let Some(path) = &self.inner.path else { return Ok(()) };
        let mut generation = self.inner.generation.lock();
        // Hold every collection's read lock while encoding: the file is one consistent snapshot.
        let map = self.inner.collections.read();
        let guards: Vec<_> = map.values().map(|c| (c, c.shared.state.read())).collect();
        self.inner.dirty.store(false, Ordering::Release);
        let mut sections = Vec::new();
        let mut catalog = Catalog { collections: Vec::with_capacity(guards.len()) };
        for (i, (c, st)) in guards.iter().enumerate() {
            let entry = persist::encode_collection(
                &self.inner.registry,
                &c.shared.config,
                &c.shared.components,
                st,
                i as u32 + 1,
                &mut sections,
            )?;
            catalog.collections.push(entry);
        }
        sections.insert(
            0,
            format::Section { kind: SectionKind::Catalog, owner: 0, data: serde_json::to_vec_pretty(&catalog)? },
        );
        let result = format::write_file(
            &self.inner.registry,
            &self.inner.config.storage,
            path,
            self.inner.file_id,
            *generation + 1,
            &sections,
        );
        drop(guards);
        drop(map);
        match result {
            Ok(()) => {
                *generation += 1;
                Ok(())
            }
            Err(e) => {
                self.inner.dirty.store(true, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Whether there are changes not yet saved.
    pub fn is_dirty(&self) -> bool {
        self.inner.dirty.load(Ordering::Acquire)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.path.is_some() && !self.config.read_only && self.dirty.load(Ordering::Acquire) {
            let db = Database {
                inner: Arc::new(Inner {
                    path: self.path.take(),
                    config: self.config.clone(),
                    registry: self.registry.clone(),
                    collections: RwLock::new(std::mem::take(&mut *self.collections.write())),
                    dirty: self.dirty.clone(),
                    file_id: self.file_id,
                    generation: Mutex::new(*self.generation.lock()),
                }),
            };
            if let Err(e) = db.save_now() {
                tracing::error!(error = %e, "saving the database on close failed");
            }
            db.inner.dirty.store(false, Ordering::Release);
        }
    }
}
