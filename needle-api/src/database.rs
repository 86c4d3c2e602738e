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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_core::arena::VectorStore;
use needle_core::format::wal::{self, WalHeader, WalReader, WalWriter, WAL_HEADER_LEN};
use needle_core::format::{self, SectionKind, FLAG_ENCRYPTED};
use needle_core::{Cipher, Error, Registry, Result, StorageOptions};
use parking_lot::{Mutex, RwLock};

use crate::collection::{Collection, Records, State};
use crate::config::{CollectionConfig, DatabaseConfig};
use crate::durability::{wal_aad, Log};
use crate::encryption::{self, EncryptionInfo};
use crate::integrity::Integrity;
use crate::persist::{self, Catalog};
use crate::validate;
use crate::wal_ops::{self, WalOp};

mod replica;
mod warm_up;

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

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The WAL file of the database at `path`.
pub fn wal_path(path: &Path) -> PathBuf {
    sibling(path, "-wal")
}

/// The lock file of the database at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    sibling(path, "-lock")
}

/// An empty file with no log records beside it, as `mkstemp` or `touch` leaves it: opened for
/// writing, it becomes a new database (the first checkpoint replaces it). With WAL records beside
/// it, it is not ours to overwrite: the normal open reports it as too short.
fn is_placeholder(path: &Path, wal: &Path) -> Result<bool> {
    let empty = std::fs::metadata(path)?.len() == 0;
    let wal_len = match std::fs::metadata(wal) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(empty && wal_len <= WAL_HEADER_LEN as u64)
}

/// What a file's sections decode to before collections are built.
struct Loaded {
    file_id: [u8; 16],
    generation: u64,
    cipher: Arc<dyn Cipher>,
    encryption: Option<EncryptionInfo>,
    format_version: u32,
    sections: Vec<format::LoadedSection>,
}

/// Sections whose checksum a mapped open defers (they hold the bulk of the data; an index may use
/// its section in place, as HNSW does with its layer-0 lists).
const DEFERRED: &[SectionKind] =
    &[SectionKind::Vectors, SectionKind::Norms, SectionKind::Codes, SectionKind::Records, SectionKind::Index];

/// Makes the cipher of a file from its encryption section (`None`: not encrypted). At open it
/// uses the configured key; a replica's refresh reuses the cipher it already has.
type Unlock<'a> = dyn Fn(Option<&EncryptionInfo>) -> Result<Arc<dyn Cipher>> + 'a;

/// Opens the file's sections: mapped in place when it is at least `mmap_threshold` bytes (and
/// unencrypted, and the storage can map), else read into memory and fully verified.
fn load_file(registry: &Registry, config: &DatabaseConfig, path: &Path, unlock: &Unlock<'_>) -> Result<Loaded> {
    let storage = registry.storage(&config.storage)?;
    let backend = storage.open(Some(path), &StorageOptions { read_only: true, create: false })?;
    let map = backend.len()? >= config.mmap_threshold;
    let (header, mut sections, _mapped) = format::open_sections(&*backend, &path.display().to_string(), map, DEFERRED)?;
    drop(backend);
    let encrypted = header.flags & FLAG_ENCRYPTED != 0;
    let encryption: Option<EncryptionInfo> = if encrypted {
        let sec = sections
            .iter()
            .find(|s| s.kind == SectionKind::Encryption)
            .ok_or_else(|| Error::corrupted("encryption section", 0, "missing in an encrypted file"))?;
        let info = serde_json::from_slice(&sec.data)
            .map_err(|e| Error::corrupted("encryption section", 0, format!("unreadable: {e}")))?;
        Some(info)
    } else {
        None
    };
    let cipher = unlock(encryption.as_ref())?;
    if encrypted {
        for (ordinal, s) in sections.iter_mut().enumerate() {
            if s.kind == SectionKind::Encryption {
                continue;
            }
            let aad =
                encryption::section_aad(&header.file_id, header.generation, s.kind as u16, s.owner, ordinal as u32);
            let plain = cipher.open(&s.data, &aad).map_err(|_| {
                Error::corrupted(format!("{:?} section", s.kind), 0, "authentication failed (damaged or moved section)")
            })?;
            s.crc = crc32fast::hash(&plain);
            s.data = format::SharedBytes::owned(plain);
        }
    }
    Ok(Loaded {
        file_id: header.file_id,
        generation: header.generation,
        cipher,
        encryption,
        format_version: header.format_version,
        sections,
    })
}

/// Refuses a WAL that belongs to another database or runs ahead of the file.
fn check_wal_header(h: &WalHeader, loaded: &Loaded, wal_file: &Path) -> Result<()> {
    if h.file_id != loaded.file_id {
        return Err(Error::corrupted(
            wal_file.display().to_string(),
            0,
            "the WAL belongs to another database (file ids differ); move it away to open the database",
        ));
    }
    if h.base_generation > loaded.generation {
        return Err(Error::corrupted(
            wal_file.display().to_string(),
            0,
            format!("the WAL continues generation {} but the file is at {}", h.base_generation, loaded.generation),
        ));
    }
    Ok(())
}

impl Database {
    /// Opens the database at `path`, creating an empty one when the file does not exist or is
    /// empty (0 bytes, as `mkstemp` leaves it; read-only opens never create).
    pub fn open(path: impl AsRef<Path>) -> Result<Database> {
        Self::open_with_config(path, DatabaseConfig::new())
    }

    /// A database that lives only in memory (`save` is a no-op; nothing is logged).
    pub fn in_memory() -> Database {
        let config = DatabaseConfig::new().with_storage("memory");
        let registry = config.registry();
        let cipher: Arc<dyn Cipher> = Arc::new(needle_core::cipher::NoCipher);
        Database {
            inner: Arc::new(Inner {
                path: None,
                config,
                registry,
                collections: RwLock::new(BTreeMap::new()),
                dirty: Arc::new(AtomicBool::new(false)),
                // No file, nothing sealed: the id only has to be unlikely to repeat.
                file_id: crate::random::bytes().unwrap_or_default(),
                generation: Mutex::new(0),
                log: Log::disabled(cipher.clone()),
                cipher,
                encryption: None,
                integrity: Integrity::new(),
                opened: AtomicBool::new(true),
                _lock: None,
                data_lock: Mutex::new(None),
            }),
        }
    }

    /// Opens with explicit configuration.
    pub fn open_with_config(path: impl AsRef<Path>, mut config: DatabaseConfig) -> Result<Database> {
        // Through a symlink, every file (lock, WAL, checkpoint) is the target's: see `paths.rs`.
        let path = crate::paths::resolve(path.as_ref())?;
        // The key or passphrase is used here and wiped when this function returns: the open
        // database keeps only the cipher (a replica's refresh reuses it).
        let secret = config.encryption.take();
        let registry = config.registry();
        let unlock = |info: Option<&EncryptionInfo>| encryption::open(&registry, info, secret.as_ref(), &path);
        crate::plugins::load_configured(&registry, &config.plugin_paths)?;
        let storage = registry.storage(&config.storage)?;
        if config.read_only {
            if !path.exists() {
                return Err(Error::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{}: no such database (read-only open does not create one)", path.display()),
                )));
            }
            let (loaded, data_lock) =
                crate::locks::load_shared(&path, || load_file(&registry, &config, &path, &unlock))?;
            let log = Log::disabled(loaded.cipher.clone());
            let db = Self::assemble(Some(path), config, registry, &loaded, log, None);
            *db.inner.data_lock.lock() = Some(data_lock);
            db.load_sections(&loaded)?;
            db.inner.opened.store(true, Ordering::Release);
            return Ok(db);
        }

        let lock = crate::locks::writer(&lock_path(&path), &path)?;
        let wal_file = wal_path(&path);
        let wal_options = StorageOptions { read_only: false, create: true };
        if !path.exists() || is_placeholder(&path, &wal_file)? {
            let file_id = crate::random::bytes()?;
            let (cipher, encryption) = match &secret {
                Some(e) => {
                    let (c, info) = encryption::create(&registry, e)?;
                    (c, Some(info))
                }
                None => (Arc::from(registry.cipher("none")?.create(&[])?), None),
            };
            let writer = WalWriter::create(
                storage.open(Some(&wal_file), &wal_options)?,
                WalHeader { file_id, base_generation: 1 },
            )?;
            let log = Log::new(Some(writer), config.durability, cipher.clone(), file_id);
            let loaded = Loaded {
                file_id,
                generation: 0,
                cipher,
                encryption,
                format_version: format::FORMAT_VERSION,
                sections: Vec::new(),
            };
            let db = Self::assemble(Some(path), config, registry, &loaded, log, Some(lock));
            db.checkpoint()?;
            db.opened();
            return Ok(db);
        }

        let (loaded, data_lock) = crate::locks::load_shared(&path, || load_file(&registry, &config, &path, &unlock))?;
        // Nothing below writes to the WAL (or creates it) until the database is fully open: a
        // failed open leaves every file as it found it.
        let wal_backend = match std::fs::metadata(&wal_file) {
            Ok(_) => Some(storage.open(Some(&wal_file), &StorageOptions { read_only: false, create: false })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let wal_len = wal_backend.as_ref().map(|b| b.len()).transpose()?.unwrap_or(0);
        // Whether the WAL holds records to replay onto this file. An older base generation: a
        // checkpoint finished but crashed before emptying the log, so its records are in the file.
        let replay = match &wal_backend {
            Some(backend) if wal_len > 0 => {
                let head = backend.read_vec(0, wal_len.min(WAL_HEADER_LEN as u64) as usize)?;
                if wal_header_written(&head) {
                    let h = WalHeader::decode(&head)?;
                    check_wal_header(&h, &loaded, &wal_file)?;
                    h.base_generation == loaded.generation
                } else {
                    // Cut short or torn while being created or reset: the header is written and
                    // synced before any record is appended, so such a log cannot hold a record.
                    tracing::warn!(path = %wal_file.display(), "the WAL header was torn while it was being reset; starting an empty log");
                    false
                }
            }
            _ => false,
        };
        let log = Log::new(None, config.durability, loaded.cipher.clone(), loaded.file_id);
        let db = Self::assemble(Some(path), config, registry, &loaded, log.clone(), Some(lock));
        *db.inner.data_lock.lock() = Some(data_lock);
        db.load_sections(&loaded)?;
        let writer = match wal_backend {
            Some(backend) if replay => {
                let end = db.replay_wal(&*backend, &wal_file)?;
                WalWriter::resume(backend, &end)?
            }
            backend => {
                let backend = match backend {
                    Some(b) => b,
                    None => storage.open(Some(&wal_file), &wal_options)?,
                };
                WalWriter::create(backend, WalHeader { file_id: loaded.file_id, base_generation: loaded.generation })?
            }
        };
        log.attach(writer);
        db.opened();
        Ok(db)
    }

    /// Marks a writable database open (its `Drop` may now checkpoint) and arms automatic
    /// checkpoints (`DatabaseConfig::wal_autocheckpoint`).
    fn opened(&self) {
        self.inner.opened.store(true, Ordering::Release);
        let weak = Arc::downgrade(&self.inner);
        self.inner.log.set_autocheckpoint(
            self.inner.config.wal_autocheckpoint,
            Arc::new(move || weak.upgrade().map_or(Ok(()), |inner| checkpoint(&inner))),
        );
    }

    /// Applies every valid record of the WAL in `backend`, streaming it (see `WalReader`), and
    /// says where the valid log ends.
    fn replay_wal(&self, backend: &dyn needle_core::StorageBackend, wal_file: &Path) -> Result<wal::WalEnd> {
        let inner = &self.inner;
        let mut reader = WalReader::open(backend)?;
        let base = reader.header().base_generation;
        let mut dropped = HashSet::new();
        while let Some(r) = reader.next_record()? {
            let aad = wal_aad(&inner.file_id, base, r.seq);
            let payload = inner.cipher.open(&r.payload, &aad).map_err(|_| {
                Error::corrupted(wal_file.display().to_string(), r.seq, "WAL record failed authentication")
            })?;
            let op = wal_ops::decode(&payload)?;
            self.apply(op, &mut dropped)
                .map_err(|e| Error::corrupted("wal", r.seq, format!("replaying record {}: {e}", r.seq)))?;
        }
        let end = reader.finish()?;
        if end.torn_tail {
            tracing::warn!(path = %wal_file.display(), valid = end.valid_len, "ignoring a torn WAL tail");
        }
        Ok(end)
    }

    fn assemble(
        path: Option<PathBuf>,
        config: DatabaseConfig,
        registry: Arc<Registry>,
        loaded: &Loaded,
        log: Arc<Log>,
        lock: Option<std::fs::File>,
    ) -> Database {
        Database {
            inner: Arc::new(Inner {
                path,
                config,
                registry,
                collections: RwLock::new(BTreeMap::new()),
                dirty: Arc::new(AtomicBool::new(false)),
                file_id: loaded.file_id,
                generation: Mutex::new(loaded.generation),
                cipher: loaded.cipher.clone(),
                encryption: loaded.encryption.clone(),
                log,
                integrity: Integrity::new(),
                opened: AtomicBool::new(false),
                _lock: lock,
                data_lock: Mutex::new(None),
            }),
        }
    }

    /// Applies one replayed WAL operation (no logging: it is already durable). `dropped` holds the
    /// collections this log dropped and did not recreate: a write to one of them after its drop
    /// can only be a leftover of a writer that raced the drop in an older version (see
    /// `drop_collection`); it is skipped rather than making the database unopenable.
    fn apply(&self, op: WalOp, dropped: &mut HashSet<String>) -> Result<()> {
        if let WalOp::Insert { collection, .. } | WalOp::Upsert { collection, .. } | WalOp::Delete { collection, .. } =
            &op
        {
            if dropped.contains(collection) {
                tracing::warn!(collection = %collection, "skipping a WAL record written after its collection was dropped");
                return Ok(());
            }
        }
        match op {
            WalOp::Create(config) => {
                dropped.remove(&config.name);
                self.create_unlogged(config).map(|_| ())
            }
            WalOp::Drop(name) => {
                self.drop_unlogged(&name)?;
                dropped.insert(name);
                Ok(())
            }
            WalOp::Insert { collection, items } => self.collection(&collection)?.replay_insert(items),
            WalOp::Upsert { collection, item } => self.collection(&collection)?.replay_upsert(item),
            WalOp::Delete { collection, id } => self.collection(&collection)?.replay_delete(&id),
        }
    }

    fn load_sections(&self, loaded: &Loaded) -> Result<()> {
        let built = self.decode_collections(loaded)?;
        self.inner.collections.write().extend(built);
        let unverified = loaded.sections.iter().filter(|s| !s.verified).cloned().collect();
        self.inner.integrity.check_in_background(unverified);
        Ok(())
    }

    /// Builds the collections a loaded file holds, without installing them.
    fn decode_collections(&self, loaded: &Loaded) -> Result<BTreeMap<String, Collection>> {
        let sections = &loaded.sections;
        let catalog = sections
            .iter()
            .find(|s| s.kind == SectionKind::Catalog)
            .ok_or_else(|| Error::corrupted("catalog", 0, "missing catalog section"))?;
        let catalog: Catalog = serde_json::from_slice(&catalog.data)
            .map_err(|e| Error::corrupted("catalog", 0, format!("unreadable catalog: {e}")))?;
        let mut by_owner: HashMap<u32, HashMap<SectionKind, &format::LoadedSection>> = HashMap::new();
        for s in sections.iter().filter(|s| !matches!(s.kind, SectionKind::Catalog | SectionKind::Encryption)) {
            if by_owner.entry(s.owner).or_default().insert(s.kind, s).is_some() {
                return Err(Error::corrupted("section table", 0, format!("duplicate {:?} section", s.kind)));
            }
        }
        let empty = HashMap::new();
        let mut map = BTreeMap::new();
        for (i, entry) in catalog.collections.iter().enumerate() {
            validate::collection_name(&entry.config.name).map_err(|e| Error::corrupted("catalog", 0, e.to_string()))?;
            let owned = by_owner.get(&(i as u32 + 1)).unwrap_or(&empty);
            let (distance, state) =
                persist::decode_collection(&self.inner.registry, entry, owned, loaded.format_version)?;
            let c = self.new_collection(entry.config.clone(), entry.components.clone(), distance, state);
            if map.insert(entry.config.name.clone(), c).is_some() {
                return Err(Error::corrupted("catalog", 0, format!("collection '{}' listed twice", entry.config.name)));
            }
        }
        Ok(map)
    }

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

    /// Checkpoints: writes every collection to the file and empties the WAL. Reopening gives
    /// identical results.
    pub fn save(&self) -> Result<()> {
        self.check_writable()?;
        self.checkpoint()
    }

    /// Rewrites every collection without its deleted vectors, then checkpoints: the file shrinks
    /// and searches return the same vectors.
    pub fn compact(&self) -> Result<()> {
        self.check_writable()?;
        for c in self.inner.collections.read().values() {
            c.compact()?;
        }
        self.checkpoint()
    }

    /// Writes a consistent copy of the database (including writes not yet checkpointed) to
    /// `dest`, while it stays in use. The copy is a database of its own (new file id), encrypted
    /// with the same key when this one is encrypted.
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = crate::paths::resolve(dest.as_ref())?;
        let dest = dest.as_path();
        if self.inner.path.as_deref().is_some_and(|p| p == dest) {
            return Err(Error::InvalidArgument("backup destination is the database itself".into()));
        }
        write_snapshot(&self.inner, dest, crate::random::bytes()?, 1)
    }

    fn checkpoint(&self) -> Result<()> {
        checkpoint(&self.inner)
    }

    /// Whether there are changes not yet checkpointed.
    pub fn is_dirty(&self) -> bool {
        self.inner.dirty.load(Ordering::Acquire)
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

/// Encodes the whole database (under every collection's read lock) and writes it to `dest`.
/// Returns with the locks released; `after` runs while they are still held.
fn write_snapshot_with(
    inner: &Inner,
    dest: &Path,
    file_id: [u8; 16],
    generation: u64,
    after: impl FnOnce() -> Result<()>,
) -> Result<()> {
    // Bytes of a mapped file whose checksums are still being checked are not copied unchecked.
    inner.integrity.wait()?;
    // Every collection's read lock is held while encoding and writing: the file is one
    // consistent snapshot, and no write can reach the WAL before `after` (the WAL reset) runs.
    let map = inner.collections.read();
    let guards: Vec<_> = map.values().map(|c| (c, c.shared.state.read())).collect();
    let mut sections = Vec::new();
    let mut catalog = Catalog { collections: Vec::with_capacity(guards.len()) };
    for (i, (c, st)) in guards.iter().enumerate() {
        let entry = persist::encode_collection(
            &inner.registry,
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
    let mut flags = 0;
    if let Some(info) = &inner.encryption {
        flags |= FLAG_ENCRYPTED;
        for (ordinal, s) in sections.iter_mut().enumerate() {
            let aad = encryption::section_aad(&file_id, generation, s.kind as u16, s.owner, ordinal as u32);
            s.data = inner.cipher.seal(&s.data, &aad)?;
        }
        sections.push(format::Section { kind: SectionKind::Encryption, owner: 0, data: serde_json::to_vec(info)? });
    }
    let storage = if inner.path.is_some() { inner.config.storage.as_str() } else { "mmap" };
    format::write_file(&inner.registry, storage, dest, file_id, generation, flags, &sections)?;
    after()?;
    drop(guards);
    drop(map);
    Ok(())
}

fn write_snapshot(inner: &Inner, dest: &Path, file_id: [u8; 16], generation: u64) -> Result<()> {
    write_snapshot_with(inner, dest, file_id, generation, || Ok(()))
}

fn checkpoint(inner: &Inner) -> Result<()> {
    let Some(path) = &inner.path else { return Ok(()) };
    let mut generation = inner.generation.lock();
    let next = *generation + 1;
    inner.dirty.store(false, Ordering::Release);
    let result = write_snapshot_with(inner, path, inner.file_id, next, || inner.log.checkpointed(next));
    match result {
        Ok(()) => {
            *generation = next;
            lock_checkpoint(inner, path);
            Ok(())
        }
        Err(e) => {
            inner.dirty.store(true, Ordering::Release);
            Err(e)
        }
    }
}

/// Moves the writer's shared lock to the file its checkpoint just renamed into place. The
/// checkpoint itself succeeded: a lock that cannot be taken is logged, not an error.
fn lock_checkpoint(inner: &Inner, path: &Path) {
    match crate::locks::shared(path) {
        Ok(file) => *inner.data_lock.lock() = Some(file),
        // A storage backend that keeps no file at this path: nothing to lock.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not lock the new checkpoint"),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Collection handles may outlive the database: from here on they are `closed`. A write
        // already past its checks finishes first (the checkpoint below waits for its lock) or
        // fails at the append.
        self.log.mark_closed();
        let Some(path) = self.path.clone() else { return };
        let opened = self.opened.load(Ordering::Acquire);
        // A read-only handle, or one that never finished opening, has nothing left to protect:
        // stop reading the map.
        if self.config.read_only || !opened {
            self.integrity.cancel();
        }
        // A failed open leaves the WAL alone: it may hold every write since the last checkpoint.
        if self.config.read_only || !opened || self.log.failure().is_some() {
            return;
        }
        if self.dirty.load(Ordering::Acquire) {
            if let Err(e) = checkpoint(self) {
                tracing::error!(error = %e, "checkpoint on close failed; the WAL keeps the changes");
                return;
            }
        }
        if self.log.close() {
            let _ = std::fs::remove_file(wal_path(&path));
        }
    }
}

/// Whether `bytes` start with a complete WAL header (magic and checksum). A header that does not
/// check out can only be one a crash interrupted while the log was being created or reset.
fn wal_header_written(bytes: &[u8]) -> bool {
    !matches!(WalHeader::decode(bytes), Err(Error::Corrupted { .. }))
}
