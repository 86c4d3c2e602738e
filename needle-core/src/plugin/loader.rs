//! Loading plugin shared libraries (libloading) and registering them in a [`Registry`].
//!
//! Libraries are cached by canonical path for the life of the process (never unloaded: a Rust
//! plugin may have registered thread-local destructors, and unloading under them is unsound), so
//! loading the same path twice, or into several registries, is cheap and idempotent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::abi::{PluginEntryFn, NEEDLE_PLUGIN_ENTRY};
use super::foreign::{Component, PluginHandle};
use crate::error::ComponentKind;
use crate::{Error, Registry, Result};

/// What a loaded plugin is (for build info, `info` and error messages).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PluginInfo {
    /// Registry id.
    pub id: String,
    /// Kind.
    pub kind: ComponentKind,
    /// Component version.
    pub version: u32,
    /// One line of description.
    pub description: String,
    /// The shared library (None for in-process plugins).
    pub path: Option<PathBuf>,
}

impl PluginInfo {
    fn of(h: &PluginHandle) -> Self {
        PluginInfo {
            id: h.id.clone(),
            kind: h.kind,
            version: h.version,
            description: h.description.clone(),
            path: h.path.clone(),
        }
    }
}

/// Plugins stay loaded for the life of the process (a library cannot be unloaded safely while
/// anything may still hold a pointer into it), so `release` is never called on them.
static LIBRARIES: Mutex<Vec<(PathBuf, Arc<PluginHandle>)>> = Mutex::new(Vec::new());
/// Plugins linked into the process, by entry function address.
static IN_PROCESS: Mutex<Vec<(usize, Arc<PluginHandle>)>> = Mutex::new(Vec::new());
/// (registry, plugin) pairs already registered, so registering again is a no-op.
static REGISTERED: Mutex<Vec<(Weak<Registry>, Arc<PluginHandle>)>> = Mutex::new(Vec::new());

/// Loads (or finds already loaded) the plugin library at `path` and validates its descriptor.
pub fn load_library(path: &Path) -> Result<Arc<PluginHandle>> {
    let canonical =
        path.canonicalize().map_err(|e| Error::Plugin(format!("{}: cannot load plugin: {e}", path.display())))?;
    let mut libs = LIBRARIES.lock();
    if let Some((_, h)) = libs.iter().find(|(p, _)| *p == canonical) {
        return Ok(h.clone());
    }
    // SAFETY: loading a library runs its initialisers; plugin paths come only from the program's
    // own configuration (config files, NEEDLE_PLUGIN_PATH), which is trusted like the program.
    let lib = unsafe { libloading::Library::new(&canonical) }
        .map_err(|e| Error::Plugin(format!("{}: cannot load plugin: {e}", path.display())))?;
    let lib = Arc::new(lib);
    // SAFETY: the symbol's type is fixed by the plugin ABI (needle_plugin.h).
    let entry: PluginEntryFn = unsafe { lib.get::<PluginEntryFn>(NEEDLE_PLUGIN_ENTRY) }
        .map(|s| *s)
        .map_err(|e| Error::Plugin(format!("{}: not a Needle plugin (no needle_plugin_entry): {e}", path.display())))?;
    // SAFETY: `entry` comes from `lib`, which the handle keeps loaded.
    let handle = Arc::new(unsafe { PluginHandle::from_entry(entry, Some(canonical.clone()), Some(lib)) }?);
    libs.push((canonical, handle.clone()));
    Ok(handle)
}

/// Wraps a plugin linked into this process (its entry function called directly) — for tests,
/// benchmarks and statically linked plugins.
///
/// # Safety
/// `entry` must follow the plugin ABI.
pub unsafe fn in_process(entry: PluginEntryFn) -> Result<Arc<PluginHandle>> {
    // One handle per entry function for the life of the process, as for libraries: a second
    // handle over the same descriptor would release the plugin's state while the first still
    // uses it (and the SDK's descriptors live in statics that outlast any handle).
    let mut linked = IN_PROCESS.lock();
    if let Some((_, h)) = linked.iter().find(|(e, _)| *e == entry as usize) {
        return Ok(h.clone());
    }
    // SAFETY: caller's contract; no library to keep loaded.
    let handle = Arc::new(unsafe { PluginHandle::from_entry(entry, None, None) }?);
    linked.push((entry as usize, handle.clone()));
    Ok(handle)
}

/// Registers `plugin` in `registry` under its id. Registering the same plugin in the same
/// registry again is a no-op; a different component already holding the id is an error.
pub fn register(registry: &Arc<Registry>, plugin: &Arc<PluginHandle>) -> Result<PluginInfo> {
    let mut done = REGISTERED.lock();
    done.retain(|(r, _)| r.strong_count() > 0);
    let already =
        done.iter().any(|(r, p)| r.upgrade().is_some_and(|r| Arc::ptr_eq(&r, registry)) && Arc::ptr_eq(p, plugin));
    if already {
        return Ok(PluginInfo::of(plugin));
    }
    let result = match plugin.component() {
        Component::Distance(d) => registry.register_distance(d),
        Component::Quantizer(q) => registry.register_quantizer(q),
        Component::Index(i) => registry.register_index(i),
        Component::Cipher(c) => registry.register_cipher(c),
        Component::Storage(f) => registry.register_storage(f),
    };
    result.map_err(|e| match e {
        Error::InvalidConfig(m) => Error::Plugin(format!(
            "{}: {m}",
            plugin.path.as_ref().map_or_else(|| plugin.id.clone(), |p| p.display().to_string())
        )),
        other => other,
    })?;
    done.push((Arc::downgrade(registry), plugin.clone()));
    Ok(PluginInfo::of(plugin))
}

/// Loads the library at `path` and registers it in `registry`.
pub fn load_into(registry: &Arc<Registry>, path: &Path) -> Result<PluginInfo> {
    let handle = load_library(path)?;
    register(registry, &handle)
}

/// Every plugin library loaded in this process.
pub fn loaded() -> Vec<PluginInfo> {
    LIBRARIES.lock().iter().map(|(_, h)| PluginInfo::of(h)).collect()
}
