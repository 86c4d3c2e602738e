//! Opening a database and recovering it: a new file (or a placeholder) gets a WAL and a first
//! checkpoint; an existing file is read into memory or mapped (`load_file`), its WAL is checked
//! against it and replayed onto it (`replay_wal`), and its collections are built from its sections.
//! Read-only opens load the last checkpoint and never read the WAL. A failed open changes no file:
//! nothing is written until the database is fully open.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_core::format::wal::{self, WalHeader, WalReader, WalWriter, WAL_HEADER_LEN};
use needle_core::format::{self, SectionKind, FLAG_ENCRYPTED};
use needle_core::{Cipher, Error, Registry, Result, StorageOptions};
use parking_lot::{Mutex, RwLock};

use super::checkpoint::checkpoint;
use super::files::{is_placeholder, lock_path, wal_path};
use super::{Database, Inner};
use crate::collection::{Collection, DocCache};
use crate::config::DatabaseConfig;
use crate::durability::{wal_aad, Log};
use crate::encryption::{self, EncryptionInfo};
use crate::integrity::Integrity;
use crate::persist::{self, Catalog};
use crate::validate;
use crate::wal_ops::{self, WalOp};

/// What a file's sections decode to before collections are built.
pub(super) struct Loaded {
    pub file_id: [u8; 16],
    pub generation: u64,
    pub cipher: Arc<dyn Cipher>,
    pub encryption: Option<EncryptionInfo>,
    pub format_version: u32,
    pub sections: Vec<format::LoadedSection>,
}

/// Sections whose checksum a mapped open defers (they hold the bulk of the data; an index may use
/// its section in place, as HNSW does with its layer-0 lists).
const DEFERRED: &[SectionKind] =
    &[SectionKind::Vectors, SectionKind::Norms, SectionKind::Codes, SectionKind::Records, SectionKind::Index];

/// Makes the cipher of a file from its encryption section (`None`: not encrypted). At open it
/// uses the configured key; a replica's refresh reuses the cipher it already has.
pub(super) type Unlock<'a> = dyn Fn(Option<&EncryptionInfo>) -> Result<Arc<dyn Cipher>> + 'a;

/// Opens the file's sections: mapped in place when it is at least `mmap_threshold` bytes (and
/// unencrypted, and the storage can map), else read into memory and fully verified.
pub(super) fn load_file(
    registry: &Registry,
    config: &DatabaseConfig,
    path: &Path,
    unlock: &Unlock<'_>,
) -> Result<Loaded> {
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

/// Whether `bytes` start with a complete WAL header (magic and checksum). A header that does not
/// check out can only be one a crash interrupted while the log was being created or reset.
fn wal_header_written(bytes: &[u8]) -> bool {
    !matches!(WalHeader::decode(bytes), Err(Error::Corrupted { .. }))
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
                doc_cache: DocCache::new(config.cache_size),
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
                doc_cache: DocCache::new(config.cache_size),
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
    pub(super) fn decode_collections(&self, loaded: &Loaded) -> Result<BTreeMap<String, Collection>> {
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
            let (distance, state) = persist::decode_collection(
                &self.inner.registry,
                entry,
                owned,
                loaded.format_version,
                &self.inner.doc_cache,
            )?;
            let c = self.new_collection(entry.config.clone(), entry.components.clone(), distance, state);
            if map.insert(entry.config.name.clone(), c).is_some() {
                return Err(Error::corrupted("catalog", 0, format!("collection '{}' listed twice", entry.config.name)));
            }
        }
        Ok(map)
    }
}
