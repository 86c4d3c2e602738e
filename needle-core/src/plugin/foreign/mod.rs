//! `Foreign*` adapters: the Rust traits implemented over a plugin's vtable, so the rest of the
//! engine never sees FFI. Each adapter holds an `Arc<PluginHandle>`, which keeps the shared
//! library loaded and calls the vtable's `release` when the last user is gone, and its own copy
//! of the checked vtable (`super::checked`).
//!
//! This file holds the handle (descriptor validation) and what every kind shares; each component
//! kind has its own file: `distance`, `quantizer`, `index` (with `source`, the host's
//! vector source lent to a plugin index), `cipher`, `storage`.

mod cipher;
mod distance;
mod index;
mod quantizer;
mod source;
mod storage;

pub use cipher::{ForeignCipher, ForeignCipherFactory};
pub use distance::ForeignDistance;
pub use index::{ForeignIndex, ForeignIndexFactory};
pub use quantizer::{ForeignQuantizer, ForeignQuantizerFactory};
pub use storage::{ForeignStorage, ForeignStorageFactory};

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;

use super::abi::{self, *};
use super::checked::{CipherFns, DistanceFns, Fns, IndexFns, QuantizerFns, StorageFns};
use crate::error::ComponentKind;
use crate::traits::{
    Candidate, Cipher, CipherFactory, Codes, Distance, Index, IndexFactory, IndexSearch, Metric, PreparedQuery,
    Quantizer, QuantizerFactory, Rows, SearchStats, StorageBackend, StorageFactory, StorageOptions, VectorSource,
};
use crate::{Error, Result};

/// A validated plugin: its descriptor fields and vtable, and the library that holds them.
pub struct PluginHandle {
    /// Registry id.
    pub id: String,
    /// Component version.
    pub version: u32,
    /// Kind.
    pub kind: ComponentKind,
    /// Description (may be empty).
    pub description: String,
    /// Where it was loaded from (None for in-process plugins).
    pub path: Option<PathBuf>,
    fns: Fns,
    _lib: Option<Arc<libloading::Library>>,
}

// SAFETY: the ABI requires every vtable function to be callable from any thread (writers are
// serialised by the host); the vtable and descriptor are immutable statics of the plugin.
unsafe impl Send for PluginHandle {}
// SAFETY: as above.
unsafe impl Sync for PluginHandle {}

impl std::fmt::Debug for PluginHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHandle")
            .field("id", &self.id)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("path", &self.path)
            .finish()
    }
}

fn plugin_err(what: impl std::fmt::Display) -> Error {
    Error::Plugin(what.to_string())
}

/// Reads a NUL-terminated string the plugin owns.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string valid for the call.
unsafe fn c_str(p: *const c_char) -> Option<String> {
    // SAFETY: caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

impl PluginHandle {
    /// Validates the descriptor an entry function returns: `abi_version` first, then
    /// `struct_size`, name, kind and the kind's vtable (size and required functions).
    ///
    /// # Safety
    /// `entry` is a `needle_plugin_entry` following the ABI; `lib` (if any) is the library it
    /// comes from and must stay loaded as long as the returned handle lives (it is held).
    pub unsafe fn from_entry(
        entry: PluginEntryFn,
        path: Option<PathBuf>,
        lib: Option<Arc<libloading::Library>>,
    ) -> Result<PluginHandle> {
        let at = path.as_ref().map_or_else(|| "in-process plugin".to_string(), |p| p.display().to_string());
        // SAFETY: calling the plugin's entry point is what loading a plugin means (caller's contract).
        let d = unsafe { entry() };
        if d.is_null() {
            return Err(plugin_err(format!("{at}: needle_plugin_entry returned NULL")));
        }
        // SAFETY: every ABI version starts the descriptor with a u32 abi_version; read it alone first.
        let abi_version = unsafe { std::ptr::read_unaligned(d.cast::<u32>()) };
        if abi_version != NEEDLE_PLUGIN_ABI_VERSION {
            return Err(plugin_err(format!(
                "{at}: plugin ABI version {abi_version}, but this Needle implements version {NEEDLE_PLUGIN_ABI_VERSION}"
            )));
        }
        // SAFETY: version 1 descriptors have struct_size right after abi_version.
        let size = unsafe { std::ptr::read_unaligned(d.cast::<u32>().add(1)) } as usize;
        if size < std::mem::size_of::<PluginDescriptor>() {
            return Err(plugin_err(format!("{at}: descriptor struct_size {size} is smaller than ABI version 1's")));
        }
        // SAFETY: abi_version and struct_size say the whole v1 descriptor is there.
        let d = unsafe { &*d };
        // SAFETY: name is NULL or NUL-terminated (ABI).
        let id = unsafe { c_str(d.name) }.ok_or_else(|| plugin_err(format!("{at}: the descriptor has no name")))?;
        let valid =
            !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !valid {
            return Err(plugin_err(format!("{at}: plugin name '{id}' must be 1–64 characters of [A-Za-z0-9-_.:]")));
        }
        // SAFETY: description is NULL or NUL-terminated (ABI).
        let description = unsafe { c_str(d.description) }.unwrap_or_default();
        if d.vtable.is_null() {
            return Err(plugin_err(format!("{at}: plugin '{id}' has no vtable")));
        }
        // SAFETY: every vtable starts with its u32 struct_size.
        let vt_size = unsafe { std::ptr::read_unaligned(d.vtable.cast::<u32>()) } as usize;
        let short = |kind: ComponentKind, need: usize| {
            plugin_err(format!(
                "{at}: plugin '{id}': {kind} vtable struct_size {vt_size} is smaller than ABI version 1's ({need})"
            ))
        };
        let missing = |kind: ComponentKind, f: &str| {
            plugin_err(format!("{at}: plugin '{id}': {kind} vtable has no `{f}` function (it is required)"))
        };
        let fns = match d.kind {
            kind::DISTANCE => {
                let need = std::mem::size_of::<PluginDistanceVTable>();
                if vt_size < need {
                    return Err(short(ComponentKind::Distance, need));
                }
                // SAFETY: the size check above covers the whole struct.
                let v = unsafe { &*d.vtable.cast::<PluginDistanceVTable>() };
                Fns::Distance(DistanceFns::copy(v).map_err(|f| missing(ComponentKind::Distance, f))?)
            }
            kind::QUANTIZER => {
                let need = std::mem::size_of::<PluginQuantizerVTable>();
                if vt_size < need {
                    return Err(short(ComponentKind::Quantizer, need));
                }
                // SAFETY: the size check above covers the whole struct.
                let v = unsafe { &*d.vtable.cast::<PluginQuantizerVTable>() };
                Fns::Quantizer(QuantizerFns::copy(v).map_err(|f| missing(ComponentKind::Quantizer, f))?)
            }
            kind::INDEX => {
                let need = std::mem::size_of::<PluginIndexVTable>();
                if vt_size < need {
                    return Err(short(ComponentKind::Index, need));
                }
                // SAFETY: the size check above covers the whole struct.
                let v = unsafe { &*d.vtable.cast::<PluginIndexVTable>() };
                Fns::Index(IndexFns::copy(v).map_err(|f| missing(ComponentKind::Index, f))?)
            }
            kind::CIPHER => {
                let need = std::mem::size_of::<PluginCipherVTable>();
                if vt_size < need {
                    return Err(short(ComponentKind::Cipher, need));
                }
                // SAFETY: the size check above covers the whole struct.
                let v = unsafe { &*d.vtable.cast::<PluginCipherVTable>() };
                Fns::Cipher(CipherFns::copy(v).map_err(|f| missing(ComponentKind::Cipher, f))?)
            }
            kind::STORAGE => {
                let need = std::mem::size_of::<PluginStorageVTable>();
                if vt_size < need {
                    return Err(short(ComponentKind::Storage, need));
                }
                // SAFETY: the size check above covers the whole struct.
                let v = unsafe { &*d.vtable.cast::<PluginStorageVTable>() };
                Fns::Storage(StorageFns::copy(v).map_err(|f| missing(ComponentKind::Storage, f))?)
            }
            other => return Err(plugin_err(format!("{at}: plugin '{id}' has unknown kind {other}"))),
        };
        Ok(PluginHandle { id, version: d.version, kind: fns.kind(), description, path, fns, _lib: lib })
    }

    fn error(&self, status: PluginStatus, err: &PluginError) -> Error {
        // SAFETY: the buffer is ours; force a terminator in case the plugin filled all of it.
        let msg = {
            let mut bytes: Vec<u8> = err.message.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
            bytes.truncate(255);
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let msg = if msg.is_empty() { format!("failed with status {status}") } else { msg };
        let id = &self.id;
        match status {
            1 => Error::InvalidArgument(format!("plugin '{id}': {msg}")),
            11 => Error::InvalidConfig(format!("plugin '{id}': {msg}")),
            14 => Error::corrupted(format!("plugin '{id}' data"), 0, msg),
            15 => Error::Io(std::io::Error::other(format!("plugin '{id}': {msg}"))),
            18 => Error::ReadOnly(format!("plugin '{id}': {msg}")),
            21 => Error::InvalidJson(format!("plugin '{id}': {msg}")),
            _ => Error::Plugin(format!("plugin '{id}': {msg}")),
        }
    }

    fn check(&self, status: PluginStatus, err: &PluginError) -> Result<()> {
        if status == 0 {
            Ok(())
        } else {
            Err(self.error(status, err))
        }
    }

    /// Makes the registry entry for this plugin.
    pub(crate) fn component(self: &Arc<Self>) -> Component {
        let plugin = self.clone();
        match self.fns {
            Fns::Distance(vt) => {
                // SAFETY: backend_name is NULL or NUL-terminated (ABI).
                let backend = unsafe { c_str(vt.backend_name) }.unwrap_or_else(|| "plugin".into());
                Component::Distance(Arc::new(ForeignDistance {
                    plugin,
                    vt,
                    metric: metric_from_abi(vt.metric),
                    needs_norms: vt.needs_norms != 0,
                    backend,
                }))
            }
            Fns::Quantizer(vt) => Component::Quantizer(Arc::new(ForeignQuantizerFactory { plugin, vt })),
            Fns::Index(vt) => Component::Index(Arc::new(ForeignIndexFactory { plugin, vt })),
            Fns::Cipher(vt) => Component::Cipher(Arc::new(ForeignCipherFactory { plugin, vt })),
            Fns::Storage(vt) => Component::Storage(Arc::new(ForeignStorageFactory { plugin, vt })),
        }
    }
}

impl Drop for PluginHandle {
    fn drop(&mut self) {
        let (state, release) = match &self.fns {
            Fns::Distance(v) => (v.state, v.release),
            Fns::Quantizer(v) => (v.state, v.release),
            Fns::Index(v) => (v.state, v.release),
            Fns::Cipher(v) => (v.state, v.release),
            Fns::Storage(v) => (v.state, v.release),
        };
        if let Some(release) = release {
            // SAFETY: called once, when the last adapter using the plugin is gone (ABI contract).
            unsafe { release(state) }
        }
    }
}

/// A registry entry made from a plugin.
pub(crate) enum Component {
    Distance(Arc<dyn Distance>),
    Quantizer(Arc<dyn QuantizerFactory>),
    Index(Arc<dyn IndexFactory>),
    Cipher(Arc<dyn CipherFactory>),
    Storage(Arc<dyn StorageFactory>),
}

pub(crate) fn metric_from_abi(m: i32) -> Option<Metric> {
    match m {
        abi::metric::COSINE => Some(Metric::Cosine),
        abi::metric::EUCLIDEAN => Some(Metric::Euclidean),
        abi::metric::DOT => Some(Metric::Dot),
        abi::metric::MANHATTAN => Some(Metric::Manhattan),
        _ => None,
    }
}

pub(crate) fn metric_to_abi(m: Metric) -> i32 {
    match m {
        Metric::Cosine => abi::metric::COSINE,
        Metric::Euclidean => abi::metric::EUCLIDEAN,
        Metric::Dot => abi::metric::DOT,
        Metric::Manhattan => abi::metric::MANHATTAN,
    }
}

fn rows_abi(rows: &Rows<'_>) -> PluginRows {
    PluginRows {
        data: rows.data.as_ptr(),
        stride: rows.stride,
        dim: rows.dim,
        rows: rows.len(),
        norms: if rows.norms.len() >= rows.len() && !rows.norms.is_empty() {
            rows.norms.as_ptr()
        } else {
            std::ptr::null()
        },
    }
}

/// The host side of a `needle_plugin_bytes` sink: appends to a `Vec<u8>`.
unsafe extern "C" fn append_bytes(ctx: *mut c_void, data: *const u8, len: usize) -> i32 {
    if len == 0 {
        return 0;
    }
    if data.is_null() {
        return 1;
    }
    // SAFETY: ctx is the &mut Vec<u8> `sink` made for this call; data holds len bytes (ABI).
    let r = catch_unwind(AssertUnwindSafe(|| unsafe {
        (*ctx.cast::<Vec<u8>>()).extend_from_slice(std::slice::from_raw_parts(data, len))
    }));
    i32::from(r.is_err())
}

fn sink(buf: &mut Vec<u8>) -> PluginBytes {
    PluginBytes { ctx: (buf as *mut Vec<u8>).cast(), append: append_bytes }
}
