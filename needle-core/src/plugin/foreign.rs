//! `Foreign*` adapters: the Rust traits implemented over a plugin's vtable, so the rest of the
//! engine never sees FFI. Each adapter holds an `Arc<PluginHandle>`, which keeps the shared
//! library loaded and calls the vtable's `release` when the last user is gone.

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

/// A plugin distance as a [`Distance`].
#[derive(Debug)]
pub struct ForeignDistance {
    plugin: Arc<PluginHandle>,
    vt: DistanceFns,
    metric: Option<Metric>,
    needs_norms: bool,
    backend: String,
}

impl Distance for ForeignDistance {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn metric(&self) -> Option<Metric> {
        self.metric
    }
    fn backend_name(&self) -> &str {
        &self.backend
    }
    fn needs_norms(&self) -> bool {
        self.needs_norms
    }
    fn distances_to_ids(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        assert!(query.len() >= rows.dim, "query shorter than the rows");
        assert!(ids.iter().all(|&i| (i as usize) < rows.len()), "id out of range");
        let vt = &self.vt;
        let r = rows_abi(rows);
        let f = vt.distances_to_ids;
        // SAFETY: pointers cover query (dim floats), rows, ids and out (checked above); the plugin
        // only reads them during the call.
        unsafe { f(vt.state, query.as_ptr(), query_norm, &r, ids.as_ptr(), ids.len(), out.as_mut_ptr()) }
    }
    fn distances_to_all(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        assert_eq!(out.len(), rows.len(), "one output per row");
        assert!(query.len() >= rows.dim, "query shorter than the rows");
        let vt = &self.vt;
        let r = rows_abi(rows);
        let f = vt.distances_to_all;
        // SAFETY: as in distances_to_ids.
        unsafe { f(vt.state, query.as_ptr(), query_norm, &r, out.as_mut_ptr()) }
    }
}

/// A plugin quantizer factory.
#[derive(Debug)]
pub struct ForeignQuantizerFactory {
    plugin: Arc<PluginHandle>,
    vt: QuantizerFns,
}

impl QuantizerFactory for ForeignQuantizerFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: arguments are valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, dim, params.as_ptr(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignQuantizer::boxed(self.plugin.clone(), self.vt, obj, dim)
    }
    fn load(&self, dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>> {
        let vt = &self.vt;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: as in create; `bytes` is valid for the call.
        let s = unsafe { (vt.load)(vt.state, dim, bytes.as_ptr(), bytes.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignQuantizer::boxed(self.plugin.clone(), self.vt, obj, dim)
    }
}

/// A plugin quantizer instance as a [`Quantizer`].
pub struct ForeignQuantizer {
    plugin: Arc<PluginHandle>,
    vt: QuantizerFns,
    obj: *mut c_void,
    dim: usize,
}

// SAFETY: the ABI requires instance functions other than `train` to be thread-safe, and `train`
// takes `&mut self`, so Rust's aliasing rules serialise it.
unsafe impl Send for ForeignQuantizer {}
// SAFETY: as above.
unsafe impl Sync for ForeignQuantizer {}

impl std::fmt::Debug for ForeignQuantizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignQuantizer").field("id", &self.plugin.id).field("dim", &self.dim).finish()
    }
}

impl ForeignQuantizer {
    fn boxed(plugin: Arc<PluginHandle>, vt: QuantizerFns, obj: *mut c_void, dim: usize) -> Result<Box<dyn Quantizer>> {
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no quantizer", plugin.id)));
        }
        Ok(Box::new(ForeignQuantizer { plugin, vt, obj, dim }))
    }
    fn vt(&self) -> &QuantizerFns {
        &self.vt
    }
}

impl Drop for ForeignQuantizer {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create/load and is destroyed once.
        unsafe { (self.vt().destroy)(self.obj) }
    }
}

impl Quantizer for ForeignQuantizer {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn code_len(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().code_len)(self.obj) }
    }
    fn supports(&self, metric: Metric) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().supports)(self.obj, metric_to_abi(metric)) != 0 }
    }
    fn is_trained(&self) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().is_trained)(self.obj) != 0 }
    }
    fn train(&mut self, sample: &Rows<'_>) -> Result<()> {
        let r = rows_abi(sample);
        let mut err = PluginError::default();
        // SAFETY: obj is live and exclusively borrowed; `r` points into `sample` for the call.
        let s = unsafe { (self.vt().train)(self.obj, &r, &mut err) };
        self.plugin.check(s, &err)
    }
    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        assert_eq!(vector.len(), self.dim, "vector length");
        assert_eq!(out.len(), self.code_len(), "code length");
        // SAFETY: both buffers are valid for their stated lengths during the call.
        unsafe { (self.vt().encode)(self.obj, vector.as_ptr(), vector.len(), out.as_mut_ptr(), out.len()) }
    }
    fn decode(&self, code: &[u8], out: &mut [f32]) {
        assert_eq!(out.len(), self.dim, "output length");
        assert_eq!(code.len(), self.code_len(), "code length");
        // SAFETY: both buffers are valid for their stated lengths during the call.
        unsafe { (self.vt().decode)(self.obj, code.as_ptr(), code.len(), out.as_mut_ptr(), out.len()) }
    }
    fn prepare_query(&self, query: &[f32], metric: Metric) -> Vec<u8> {
        assert_eq!(query.len(), self.dim, "query length");
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: query is valid; `out` appends to `buf`, which outlives the call.
        let s = unsafe {
            (self.vt().prepare_query)(self.obj, query.as_ptr(), query.len(), metric_to_abi(metric), &mut out, &mut err)
        };
        if let Err(e) = self.plugin.check(s, &err) {
            tracing::error!(error = %e, "plugin quantizer failed to prepare a query");
            buf.clear();
        }
        buf
    }
    fn distances_to_ids(&self, prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        let rows = codes.data.len().checked_div(codes.code_len).unwrap_or(0);
        assert!(ids.iter().all(|&i| (i as usize) < rows), "id out of range");
        // SAFETY: every buffer is valid for its stated length during the call; ids are in range.
        unsafe {
            (self.vt().distances_to_ids)(
                self.obj,
                prepared.as_ptr(),
                prepared.len(),
                metric_to_abi(metric),
                codes.data.as_ptr(),
                codes.code_len,
                rows,
                ids.as_ptr(),
                ids.len(),
                out.as_mut_ptr(),
            )
        }
    }
    fn save(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: obj is live; `out` appends to `buf`.
        let s = unsafe { (self.vt().save)(self.obj, &mut out, &mut err) };
        if let Err(e) = self.plugin.check(s, &err) {
            tracing::error!(error = %e, "plugin quantizer failed to save");
            buf.clear();
        }
        buf
    }
}

/// A plugin index factory.
#[derive(Debug)]
pub struct ForeignIndexFactory {
    plugin: Arc<PluginHandle>,
    vt: IndexFns,
}

impl IndexFactory for ForeignIndexFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Index>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: arguments are valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, dim, params.as_ptr(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignIndex::boxed(self.plugin.clone(), self.vt, obj)
    }
    fn load(&self, dim: usize, params: &serde_json::Value, bytes: &[u8]) -> Result<Box<dyn Index>> {
        let vt = &self.vt;
        let params = CString::new(params.to_string()).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: as in create; `bytes` is valid for the call.
        let s = unsafe { (vt.load)(vt.state, dim, params.as_ptr(), bytes.as_ptr(), bytes.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        ForeignIndex::boxed(self.plugin.clone(), self.vt, obj)
    }
}

/// A plugin index instance as an [`Index`].
pub struct ForeignIndex {
    plugin: Arc<PluginHandle>,
    vt: IndexFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires readers to be thread-safe; writers take `&mut self`.
unsafe impl Send for ForeignIndex {}
// SAFETY: as above.
unsafe impl Sync for ForeignIndex {}

impl std::fmt::Debug for ForeignIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignIndex").field("id", &self.plugin.id).finish()
    }
}

impl ForeignIndex {
    fn boxed(plugin: Arc<PluginHandle>, vt: IndexFns, obj: *mut c_void) -> Result<Box<dyn Index>> {
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no index", plugin.id)));
        }
        Ok(Box::new(ForeignIndex { plugin, vt, obj }))
    }
    fn vt(&self) -> &IndexFns {
        &self.vt
    }
}

impl Drop for ForeignIndex {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create/load and is destroyed once.
        unsafe { (self.vt().destroy)(self.obj) }
    }
}

/// The host's `VectorSource` behind a `needle_vector_source`: `ctx` points at a `&dyn VectorSource`.
struct SourceCtx<'a> {
    source: &'a dyn VectorSource,
}

/// # Safety
/// `ctx` is the `SourceCtx` of the current call.
unsafe fn source_of<'a>(ctx: *mut c_void) -> &'a dyn VectorSource {
    // SAFETY: caller's contract.
    unsafe { (*ctx.cast::<SourceCtx<'a>>()).source }
}

unsafe extern "C" fn src_prepare(ctx: *mut c_void, vector: *const f32) -> *mut PluginQuery {
    // SAFETY: ctx is this call's SourceCtx; vector holds dim floats (ABI).
    let src = unsafe { source_of(ctx) };
    let r = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: as above.
        let v = unsafe { std::slice::from_raw_parts(vector, src.dim()) };
        Box::into_raw(Box::new(src.prepare(v))).cast::<PluginQuery>()
    }));
    r.unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn src_prepare_slot(ctx: *mut c_void, slot: u32) -> *mut PluginQuery {
    // SAFETY: ctx is this call's SourceCtx.
    let src = unsafe { source_of(ctx) };
    if slot as usize >= src.slot_count() {
        return std::ptr::null_mut();
    }
    let r = catch_unwind(AssertUnwindSafe(|| Box::into_raw(Box::new(src.prepare_slot(slot))).cast::<PluginQuery>()));
    r.unwrap_or(std::ptr::null_mut())
}

unsafe extern "C" fn src_query_free(_ctx: *mut c_void, q: *mut PluginQuery) {
    if !q.is_null() {
        // SAFETY: q came from src_prepare / src_prepare_slot (a Box<PreparedQuery>), freed once.
        drop(unsafe { Box::from_raw(q.cast::<PreparedQuery>()) });
    }
}

unsafe extern "C" fn src_query_vector(_ctx: *mut c_void, q: *const PluginQuery) -> *const f32 {
    // SAFETY: q is a live PreparedQuery (made by the host or passed to search).
    unsafe { (*q.cast::<PreparedQuery>()).vector.as_ptr() }
}

unsafe fn score_with(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32, exact: bool) {
    if n == 0 {
        return;
    }
    // SAFETY: ctx/q are this call's; slots and out hold n elements (ABI).
    let (src, q, slots, out) = unsafe {
        (
            source_of(ctx),
            &*q.cast::<PreparedQuery>(),
            std::slice::from_raw_parts(slots, n),
            std::slice::from_raw_parts_mut(out, n),
        )
    };
    if slots.iter().any(|&s| s as usize >= src.slot_count()) {
        out.fill(f32::INFINITY);
        return;
    }
    let r =
        catch_unwind(AssertUnwindSafe(
            || {
                if exact {
                    src.score_exact(q, slots, out)
                } else {
                    src.score(q, slots, out)
                }
            },
        ));
    if r.is_err() {
        out.fill(f32::INFINITY);
    }
}

unsafe extern "C" fn src_score(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32) {
    // SAFETY: forwarded ABI contract.
    unsafe { score_with(ctx, q, slots, n, out, false) }
}

unsafe extern "C" fn src_score_exact(
    ctx: *mut c_void,
    q: *const PluginQuery,
    slots: *const u32,
    n: usize,
    out: *mut f32,
) {
    // SAFETY: forwarded ABI contract.
    unsafe { score_with(ctx, q, slots, n, out, true) }
}

fn with_source<R>(source: &dyn VectorSource, f: impl FnOnce(&PluginVectorSource) -> R) -> R {
    let mut ctx = SourceCtx { source };
    let abi = PluginVectorSource {
        ctx: (&mut ctx as *mut SourceCtx<'_>).cast(),
        dim: source.dim(),
        slot_count: source.slot_count(),
        prepare: src_prepare,
        prepare_slot: src_prepare_slot,
        query_free: src_query_free,
        query_vector: src_query_vector,
        score: src_score,
        score_exact: src_score_exact,
    };
    f(&abi)
}

struct FilterCtx<'a> {
    filter: &'a (dyn Fn(u32) -> bool + Sync),
}

unsafe extern "C" fn filter_trampoline(ctx: *mut c_void, slot: u32) -> i32 {
    // SAFETY: ctx is this search's FilterCtx.
    let f = unsafe { &*ctx.cast::<FilterCtx<'_>>() };
    i32::from(catch_unwind(AssertUnwindSafe(|| (f.filter)(slot))).unwrap_or(false))
}

impl Index for ForeignIndex {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn params(&self) -> serde_json::Value {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: obj is live; `out` appends to `buf`.
        let s = unsafe { (self.vt().params_json)(self.obj, &mut out, &mut err) };
        if self.plugin.check(s, &err).is_err() {
            return serde_json::json!({});
        }
        serde_json::from_slice(&buf).unwrap_or_else(|_| serde_json::json!({}))
    }
    fn len(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().len)(self.obj) }
    }
    fn insert(&mut self, slot: u32, source: &dyn VectorSource) -> Result<()> {
        let mut err = PluginError::default();
        let (obj, f) = (self.obj, self.vt().insert);
        // SAFETY: obj is live and exclusively borrowed; the source lives for the call.
        let s = with_source(source, |src| unsafe { f(obj, slot, src, &mut err) });
        self.plugin.check(s, &err)
    }
    fn insert_batch(&mut self, slots: &[u32], source: &dyn VectorSource) -> Result<()> {
        let Some(f) = self.vt().insert_batch else {
            for &s in slots {
                self.insert(s, source)?;
            }
            return Ok(());
        };
        let mut err = PluginError::default();
        let obj = self.obj;
        // SAFETY: obj is live and exclusively borrowed; slots and the source live for the call.
        let s = with_source(source, |src| unsafe { f(obj, slots.as_ptr(), slots.len(), src, &mut err) });
        self.plugin.check(s, &err)
    }
    fn delete(&mut self, slot: u32) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live and exclusively borrowed.
        let s = unsafe { (self.vt().remove)(self.obj, slot, &mut err) };
        self.plugin.check(s, &err)
    }
    fn contains(&self, slot: u32) -> bool {
        // SAFETY: obj is live.
        unsafe { (self.vt().contains)(self.obj, slot) != 0 }
    }
    fn search(
        &self,
        query: &PreparedQuery,
        params: &IndexSearch<'_>,
        source: &dyn VectorSource,
        stats: &mut SearchStats,
    ) -> Result<Vec<Candidate>> {
        let mut fctx = params.filter.map(|filter| FilterCtx { filter });
        let p = PluginIndexSearch {
            k: params.k,
            ef: params.ef,
            filter_ctx: fctx.as_mut().map_or(std::ptr::null_mut(), |c| (c as *mut FilterCtx<'_>).cast()),
            filter: fctx.as_ref().map(|_| filter_trampoline as unsafe extern "C" fn(*mut c_void, u32) -> i32),
        };
        let mut out = vec![PluginCandidate::default(); params.k];
        let mut n = 0usize;
        let mut st = PluginSearchStats::default();
        let mut err = PluginError::default();
        let (obj, f) = (self.obj, self.vt().search);
        let q = (query as *const PreparedQuery).cast::<PluginQuery>();
        // SAFETY: every pointer is valid for the call; `out` has room for k candidates.
        let s = with_source(source, |src| unsafe { f(obj, q, &p, src, out.as_mut_ptr(), &mut n, &mut st, &mut err) });
        self.plugin.check(s, &err)?;
        if n > params.k {
            return Err(plugin_err(format!("plugin '{}' returned {n} results for k = {}", self.plugin.id, params.k)));
        }
        stats.layers_traversed += st.layers_traversed;
        stats.nodes_visited += st.nodes_visited;
        stats.distance_computations += st.distance_computations;
        Ok(out[..n].iter().map(|c| Candidate { slot: c.slot, distance: c.distance }).collect())
    }
    fn save(&self, out: &mut Vec<u8>) -> Result<()> {
        let mut sink_ = sink(out);
        let mut err = PluginError::default();
        // SAFETY: obj is live; the sink appends to `out`.
        let s = unsafe { (self.vt().save)(self.obj, &mut sink_, &mut err) };
        self.plugin.check(s, &err)
    }
    fn memory_bytes(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt().memory_bytes)(self.obj) }
    }
}

/// A plugin cipher factory.
#[derive(Debug)]
pub struct ForeignCipherFactory {
    plugin: Arc<PluginHandle>,
    vt: CipherFns,
}

impl CipherFactory for ForeignCipherFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn key_len(&self) -> usize {
        self.vt.key_len as usize
    }
    fn create(&self, key: &[u8]) -> Result<Box<dyn Cipher>> {
        let vt = &self.vt;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: the key is valid for the call; `obj` receives the plugin's instance.
        let s = unsafe { (vt.create)(vt.state, key.as_ptr(), key.len(), &mut obj, &mut err) };
        self.plugin.check(s, &err)?;
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no cipher", self.plugin.id)));
        }
        Ok(Box::new(ForeignCipher { plugin: self.plugin.clone(), vt: self.vt, obj }))
    }
}

/// A plugin cipher instance as a [`Cipher`].
pub struct ForeignCipher {
    plugin: Arc<PluginHandle>,
    vt: CipherFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires cipher functions to be thread-safe.
unsafe impl Send for ForeignCipher {}
// SAFETY: as above.
unsafe impl Sync for ForeignCipher {}

impl std::fmt::Debug for ForeignCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignCipher").field("id", &self.plugin.id).finish()
    }
}

impl Drop for ForeignCipher {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's create and is destroyed once.
        unsafe { (self.vt.destroy)(self.obj) }
    }
}

type SealFn = unsafe extern "C" fn(
    *const c_void,
    *const u8,
    usize,
    *const u8,
    usize,
    *mut PluginBytes,
    *mut PluginError,
) -> PluginStatus;

impl ForeignCipher {
    fn run(&self, f: SealFn, data: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        let mut out = sink(&mut buf);
        let mut err = PluginError::default();
        // SAFETY: buffers are valid for the call; the sink appends to `buf`.
        let s = unsafe { f(self.obj, data.as_ptr(), data.len(), aad.as_ptr(), aad.len(), &mut out, &mut err) };
        self.plugin.check(s, &err)?;
        Ok(buf)
    }
}

impl Cipher for ForeignCipher {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn overhead(&self) -> usize {
        // SAFETY: obj is live.
        unsafe { (self.vt.overhead)(self.obj) }
    }
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        self.run(self.vt.seal, plaintext, aad)
    }
    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        self.run(self.vt.open, sealed, aad)
    }
}

/// A plugin storage factory.
#[derive(Debug)]
pub struct ForeignStorageFactory {
    plugin: Arc<PluginHandle>,
    vt: StorageFns,
}

impl StorageFactory for ForeignStorageFactory {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn version(&self) -> u32 {
        self.plugin.version
    }
    fn open(&self, path: Option<&std::path::Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        let vt = &self.vt;
        let path = path
            .map(|p| {
                let bytes =
                    p.to_str().ok_or_else(|| Error::InvalidArgument(format!("{}: path is not UTF-8", p.display())))?;
                CString::new(bytes).map_err(|e| Error::InvalidArgument(e.to_string()))
            })
            .transpose()?;
        let mut obj = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: path is NULL or NUL-terminated for the call; `obj` receives the instance.
        let s = unsafe {
            (vt.open)(
                vt.state,
                path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                i32::from(options.read_only),
                i32::from(options.create),
                &mut obj,
                &mut err,
            )
        };
        self.plugin.check(s, &err)?;
        if obj.is_null() {
            return Err(plugin_err(format!("plugin '{}' returned no storage", self.plugin.id)));
        }
        Ok(Box::new(ForeignStorage { plugin: self.plugin.clone(), vt: self.vt, obj }))
    }
}

/// A plugin storage instance as a [`StorageBackend`].
pub struct ForeignStorage {
    plugin: Arc<PluginHandle>,
    vt: StorageFns,
    obj: *mut c_void,
}

// SAFETY: the ABI requires storage functions to be thread-safe.
unsafe impl Send for ForeignStorage {}
// SAFETY: as above.
unsafe impl Sync for ForeignStorage {}

impl std::fmt::Debug for ForeignStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignStorage").field("id", &self.plugin.id).finish()
    }
}

impl Drop for ForeignStorage {
    fn drop(&mut self) {
        // SAFETY: obj came from this plugin's open and is destroyed once.
        unsafe { (self.vt.destroy)(self.obj) }
    }
}

impl StorageBackend for ForeignStorage {
    fn id(&self) -> &str {
        &self.plugin.id
    }
    fn len(&self) -> Result<u64> {
        let (mut n, mut err) = (0u64, PluginError::default());
        // SAFETY: obj is live; `n` is writable.
        let s = unsafe { (self.vt.len)(self.obj, &mut n, &mut err) };
        self.plugin.check(s, &err).map(|()| n)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live; buf is writable for its length.
        let s = unsafe { (self.vt.read_at)(self.obj, offset, buf.as_mut_ptr(), buf.len(), &mut err) };
        self.plugin.check(s, &err)
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live; data is valid for its length.
        let s = unsafe { (self.vt.write_at)(self.obj, offset, data.as_ptr(), data.len(), &mut err) };
        self.plugin.check(s, &err)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live.
        let s = unsafe { (self.vt.set_len)(self.obj, len, &mut err) };
        self.plugin.check(s, &err)
    }
    fn sync(&self) -> Result<()> {
        let mut err = PluginError::default();
        // SAFETY: obj is live.
        let s = unsafe { (self.vt.sync)(self.obj, &mut err) };
        self.plugin.check(s, &err)
    }
}
