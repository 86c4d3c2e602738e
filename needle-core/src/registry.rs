//! The component registry: stable string ids → implementations.
//!
//! A collection's config names its components by id (`"hnsw"`, `"cosine"`, `"sq8"`, …) and the
//! file records those ids, so reopening a file finds the same components again. The registry is
//! pre-filled with the built-ins ([`Registry::with_builtins`]); programs and plugins add their own
//! at run time. An unknown id is an error naming the id and what is available — never a silent
//! fallback.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::error::ComponentKind;
use crate::traits::{CipherFactory, Distance, IndexFactory, QuantizerFactory, StorageFactory};
use crate::{Error, Result};

/// Maps component ids to implementations, one table per kind.
#[derive(Debug, Default)]
pub struct Registry {
    distances: RwLock<BTreeMap<String, Arc<dyn Distance>>>,
    indexes: RwLock<BTreeMap<String, Arc<dyn IndexFactory>>>,
    quantizers: RwLock<BTreeMap<String, Arc<dyn QuantizerFactory>>>,
    ciphers: RwLock<BTreeMap<String, Arc<dyn CipherFactory>>>,
    storages: RwLock<BTreeMap<String, Arc<dyn StorageFactory>>>,
}

fn insert_unique<T: ?Sized>(
    map: &RwLock<BTreeMap<String, Arc<T>>>,
    kind: ComponentKind,
    id: &str,
    value: Arc<T>,
) -> Result<()> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) {
        return Err(Error::InvalidConfig(format!("{kind} id '{id}' must be 1–64 characters of [A-Za-z0-9-_.:]")));
    }
    let mut m = map.write();
    if m.contains_key(id) {
        return Err(Error::InvalidConfig(format!("a {kind} component with id '{id}' is already registered")));
    }
    m.insert(id.to_string(), value);
    Ok(())
}

fn lookup<T: ?Sized>(map: &RwLock<BTreeMap<String, Arc<T>>>, kind: ComponentKind, id: &str) -> Result<Arc<T>> {
    let m = map.read();
    m.get(id).cloned().ok_or_else(|| Error::UnknownComponent {
        kind,
        id: id.to_string(),
        available: m.keys().cloned().collect::<Vec<_>>().join(", "),
    })
}

impl Registry {
    /// An empty registry (no built-ins).
    pub fn empty() -> Self {
        Self::default()
    }

    /// A registry holding every built-in component compiled into this build.
    pub fn with_builtins() -> Self {
        let r = Self::empty();
        for d in crate::distance::builtins() {
            let id = d.id().to_string();
            insert_unique(&r.distances, ComponentKind::Distance, &id, d).expect("built-in ids are unique");
        }
        for f in crate::index::builtins() {
            let id = f.id().to_string();
            insert_unique(&r.indexes, ComponentKind::Index, &id, f).expect("built-in ids are unique");
        }
        for f in crate::quant::builtins() {
            let id = f.id().to_string();
            insert_unique(&r.quantizers, ComponentKind::Quantizer, &id, f).expect("built-in ids are unique");
        }
        for f in crate::cipher::builtins() {
            let id = f.id().to_string();
            insert_unique(&r.ciphers, ComponentKind::Cipher, &id, f).expect("built-in ids are unique");
        }
        for f in crate::storage::builtins() {
            let id = f.id().to_string();
            insert_unique(&r.storages, ComponentKind::Storage, &id, f).expect("built-in ids are unique");
        }
        r
    }

    /// The process-wide registry (built-ins plus whatever was registered at run time). Databases
    /// use it unless their config names another.
    pub fn global() -> &'static Arc<Registry> {
        static GLOBAL: OnceLock<Arc<Registry>> = OnceLock::new();
        GLOBAL.get_or_init(|| Arc::new(Registry::with_builtins()))
    }

    /// Registers a distance under its id; an id already taken is an error.
    pub fn register_distance(&self, d: Arc<dyn Distance>) -> Result<()> {
        let id = d.id().to_string();
        insert_unique(&self.distances, ComponentKind::Distance, &id, d)
    }
    /// Registers an index factory.
    pub fn register_index(&self, f: Arc<dyn IndexFactory>) -> Result<()> {
        let id = f.id().to_string();
        insert_unique(&self.indexes, ComponentKind::Index, &id, f)
    }
    /// Registers a quantizer factory.
    pub fn register_quantizer(&self, f: Arc<dyn QuantizerFactory>) -> Result<()> {
        let id = f.id().to_string();
        insert_unique(&self.quantizers, ComponentKind::Quantizer, &id, f)
    }
    /// Registers a cipher factory.
    pub fn register_cipher(&self, f: Arc<dyn CipherFactory>) -> Result<()> {
        let id = f.id().to_string();
        insert_unique(&self.ciphers, ComponentKind::Cipher, &id, f)
    }
    /// Registers a storage factory.
    pub fn register_storage(&self, f: Arc<dyn StorageFactory>) -> Result<()> {
        let id = f.id().to_string();
        insert_unique(&self.storages, ComponentKind::Storage, &id, f)
    }

    /// The distance registered as `id`.
    pub fn distance(&self, id: &str) -> Result<Arc<dyn Distance>> {
        lookup(&self.distances, ComponentKind::Distance, id)
    }
    /// The index factory registered as `id`.
    pub fn index(&self, id: &str) -> Result<Arc<dyn IndexFactory>> {
        lookup(&self.indexes, ComponentKind::Index, id)
    }
    /// The quantizer factory registered as `id`.
    pub fn quantizer(&self, id: &str) -> Result<Arc<dyn QuantizerFactory>> {
        lookup(&self.quantizers, ComponentKind::Quantizer, id)
    }
    /// The cipher factory registered as `id`.
    pub fn cipher(&self, id: &str) -> Result<Arc<dyn CipherFactory>> {
        lookup(&self.ciphers, ComponentKind::Cipher, id)
    }
    /// The storage factory registered as `id`.
    pub fn storage(&self, id: &str) -> Result<Arc<dyn StorageFactory>> {
        lookup(&self.storages, ComponentKind::Storage, id)
    }

    /// Registered ids of one kind, sorted.
    pub fn ids(&self, kind: ComponentKind) -> Vec<String> {
        match kind {
            ComponentKind::Distance => self.distances.read().keys().cloned().collect(),
            ComponentKind::Index => self.indexes.read().keys().cloned().collect(),
            ComponentKind::Quantizer => self.quantizers.read().keys().cloned().collect(),
            ComponentKind::Cipher => self.ciphers.read().keys().cloned().collect(),
            ComponentKind::Storage => self.storages.read().keys().cloned().collect(),
        }
    }
}
