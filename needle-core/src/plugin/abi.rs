//! The plugin ABI, version 1: `#[repr(C)]` mirrors of `include/needle_plugin.h`.
//!
//! A plugin is a shared library exporting `needle_plugin_entry`, which returns a pointer to a
//! static [`PluginDescriptor`]. The descriptor opens with `abi_version` and `struct_size`; the
//! host reads `abi_version` before anything else and refuses a mismatch. The descriptor names the
//! plugin (its registry id), its version and kind, and points to one vtable for that kind. Every
//! vtable opens with its own `struct_size`, carries an opaque `state` and a `release`, and only
//! ever grows at the end: a field added later is read only when `struct_size` covers it.
//!
//! Fallible functions return 0 or a Needle error code number (1 invalid argument, 11 invalid
//! config, 14 corrupted, …; anything else is reported as a plugin error) and may write a message
//! into the [`PluginError`] the host passes. Output of unknown size goes through a host-owned
//! [`PluginBytes`] sink, so memory never crosses allocators.

use std::ffi::{c_char, c_void};

/// The ABI version this host implements. Bumped only for incompatible changes.
pub const NEEDLE_PLUGIN_ABI_VERSION: u32 = 1;
/// The entry symbol every plugin exports.
pub const NEEDLE_PLUGIN_ENTRY: &[u8] = b"needle_plugin_entry\0";

/// Plugin kinds (the descriptor's `kind`).
pub mod kind {
    /// An index (`PluginIndexVTable`).
    pub const INDEX: u32 = 1;
    /// A distance (`PluginDistanceVTable`).
    pub const DISTANCE: u32 = 2;
    /// A quantizer (`PluginQuantizerVTable`).
    pub const QUANTIZER: u32 = 3;
    /// A cipher (`PluginCipherVTable`).
    pub const CIPHER: u32 = 4;
    /// A storage backend (`PluginStorageVTable`).
    pub const STORAGE: u32 = 5;
}

/// Metric families (`NEEDLE_METRIC_*`); 0 means "not a built-in family".
pub mod metric {
    /// No built-in family.
    pub const NONE: i32 = 0;
    /// Cosine distance.
    pub const COSINE: i32 = 1;
    /// Euclidean distance.
    pub const EUCLIDEAN: i32 = 2;
    /// Negative dot product.
    pub const DOT: i32 = 3;
    /// Manhattan distance.
    pub const MANHATTAN: i32 = 4;
}

/// Status a plugin function returns: 0 = success, otherwise a Needle error code number.
pub type PluginStatus = i32;

/// Where a plugin writes an error message (NUL-terminated, truncated to fit).
#[repr(C)]
pub struct PluginError {
    /// The message.
    pub message: [c_char; 256],
}

impl Default for PluginError {
    fn default() -> Self {
        PluginError { message: [0; 256] }
    }
}

/// A host-owned byte sink: the plugin calls `append` (any number of times) to return bytes.
#[repr(C)]
pub struct PluginBytes {
    /// Host context.
    pub ctx: *mut c_void,
    /// Appends `len` bytes; returns 0.
    pub append: unsafe extern "C" fn(ctx: *mut c_void, data: *const u8, len: usize) -> i32,
}

/// A read-only view of stored vectors (see `Rows`).
#[repr(C)]
pub struct PluginRows {
    /// Row-major data, `rows * stride` floats (NULL when `rows == 0`).
    pub data: *const f32,
    /// Floats per row (≥ `dim`).
    pub stride: usize,
    /// Dimensions.
    pub dim: usize,
    /// Number of rows.
    pub rows: usize,
    /// Per-row L2 norms (`rows` floats), or NULL.
    pub norms: *const f32,
}

/// The descriptor `needle_plugin_entry` returns. Static: the host never frees it.
#[repr(C)]
pub struct PluginDescriptor {
    /// Must be [`NEEDLE_PLUGIN_ABI_VERSION`]; read before any other field.
    pub abi_version: u32,
    /// `sizeof(needle_plugin_descriptor)` as the plugin was compiled.
    pub struct_size: u32,
    /// Registry id (1–64 of `[A-Za-z0-9-_.:]`), NUL-terminated.
    pub name: *const c_char,
    /// Version of the component's behaviour and serialised form (recorded in database files).
    pub version: u32,
    /// One of [`kind`].
    pub kind: u32,
    /// The vtable for `kind`.
    pub vtable: *const c_void,
    /// One line for people, or NULL.
    pub description: *const c_char,
}

/// Signature of `needle_plugin_entry`.
pub type PluginEntryFn = unsafe extern "C" fn() -> *const PluginDescriptor;

/// A distance plugin. Distances are infallible and may run on many threads at once.
#[repr(C)]
pub struct PluginDistanceVTable {
    /// `sizeof` this struct as the plugin was compiled.
    pub struct_size: u32,
    /// The metric family (for quantizers), one of [`metric`].
    pub metric: i32,
    /// Non-zero when the store must keep per-row L2 norms for this distance.
    pub needs_norms: u32,
    /// Kernel name shown in build info (NUL-terminated), or NULL.
    pub backend_name: *const c_char,
    /// Opaque plugin state passed to every call.
    pub state: *mut c_void,
    /// Frees `state` when the host is done with the plugin; may be NULL.
    pub release: Option<ReleaseFn>,
    /// Distances from `query` to the rows named by `ids` (`n` of them) into `out[n]`. `query_norm`
    /// is `‖query‖₂` when `needs_norms` is non-zero, 0 otherwise.
    pub distances_to_ids: Option<DistanceDistancesToIdsFn>,
    /// Distances from `query` to every row into `out[rows->rows]`.
    pub distances_to_all: Option<DistanceDistancesToAllFn>,
}

/// `release` of every vtable: frees the plugin state.
pub type ReleaseFn = unsafe extern "C" fn(state: *mut c_void);

/// `distance.distances_to_ids` as a plain function pointer (see [`PluginDistanceVTable`]).
pub type DistanceDistancesToIdsFn = unsafe extern "C" fn(
    state: *mut c_void,
    query: *const f32,
    query_norm: f32,
    rows: *const PluginRows,
    ids: *const u32,
    n: usize,
    out: *mut f32,
);

/// `distance.distances_to_all` as a plain function pointer (see [`PluginDistanceVTable`]).
pub type DistanceDistancesToAllFn = unsafe extern "C" fn(
    state: *mut c_void,
    query: *const f32,
    query_norm: f32,
    rows: *const PluginRows,
    out: *mut f32,
);

/// A quantizer plugin: factory functions (`create`, `load`) and instance functions on the opaque
/// object they return. `train` is never called concurrently with anything else on the instance;
/// the other instance functions may run on many threads at once.
#[repr(C)]
pub struct PluginQuantizerVTable {
    /// `sizeof` this struct as the plugin was compiled.
    pub struct_size: u32,
    /// Opaque plugin state passed to `create` and `load`.
    pub state: *mut c_void,
    /// Frees `state`; may be NULL.
    pub release: Option<ReleaseFn>,
    /// A new untrained quantizer for `dim` dimensions; `params_json` is a JSON object.
    pub create: Option<QuantizerCreateFn>,
    /// Loads what `save` wrote.
    pub load: Option<QuantizerLoadFn>,
    /// Frees an instance.
    pub destroy: Option<QuantizerDestroyFn>,
    /// Bytes per code.
    pub code_len: Option<QuantizerCodeLenFn>,
    /// Non-zero when `metric` can be scored.
    pub supports: Option<QuantizerSupportsFn>,
    /// Non-zero once trained.
    pub is_trained: Option<QuantizerIsTrainedFn>,
    /// Learns the code book from `sample`.
    pub train: Option<QuantizerTrainFn>,
    /// Encodes `dim` floats into `code_len` bytes.
    pub encode: Option<QuantizerEncodeFn>,
    /// Decodes a code into `dim` floats.
    pub decode: Option<QuantizerDecodeFn>,
    /// Prepares a query for `distances_to_ids`, writing the prepared bytes to `out`.
    pub prepare_query: Option<QuantizerPrepareQueryFn>,
    /// Approximate distances from a prepared query to the codes of `ids`.
    pub distances_to_ids: Option<QuantizerDistancesToIdsFn>,
    /// Serialises the trained state into `out`.
    pub save: Option<QuantizerSaveFn>,
}

/// `quantizer.create` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerCreateFn = unsafe extern "C" fn(
    state: *mut c_void,
    dim: usize,
    params_json: *const c_char,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `quantizer.load` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerLoadFn = unsafe extern "C" fn(
    state: *mut c_void,
    dim: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `quantizer.destroy` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerDestroyFn = unsafe extern "C" fn(q: *mut c_void);

/// `quantizer.code_len` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerCodeLenFn = unsafe extern "C" fn(q: *const c_void) -> usize;

/// `quantizer.supports` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerSupportsFn = unsafe extern "C" fn(q: *const c_void, metric: i32) -> i32;

/// `quantizer.is_trained` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerIsTrainedFn = unsafe extern "C" fn(q: *const c_void) -> i32;

/// `quantizer.train` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerTrainFn =
    unsafe extern "C" fn(q: *mut c_void, sample: *const PluginRows, err: *mut PluginError) -> PluginStatus;

/// `quantizer.encode` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerEncodeFn =
    unsafe extern "C" fn(q: *const c_void, vector: *const f32, dim: usize, out: *mut u8, code_len: usize);

/// `quantizer.decode` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerDecodeFn =
    unsafe extern "C" fn(q: *const c_void, code: *const u8, code_len: usize, out: *mut f32, dim: usize);

/// `quantizer.prepare_query` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerPrepareQueryFn = unsafe extern "C" fn(
    q: *const c_void,
    query: *const f32,
    dim: usize,
    metric: i32,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus;

/// `quantizer.distances_to_ids` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerDistancesToIdsFn = unsafe extern "C" fn(
    q: *const c_void,
    prepared: *const u8,
    prepared_len: usize,
    metric: i32,
    codes: *const u8,
    code_len: usize,
    rows: usize,
    ids: *const u32,
    n: usize,
    out: *mut f32,
);

/// `quantizer.save` as a plain function pointer (see [`PluginQuantizerVTable`]).
pub type QuantizerSaveFn =
    unsafe extern "C" fn(q: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus;

/// A prepared query owned by the host (opaque to plugins).
#[repr(C)]
pub struct PluginQuery {
    _private: [u8; 0],
}

/// The stored vectors as an index plugin sees them (the host's `VectorSource`). Valid only during
/// the call it is passed to.
#[repr(C)]
pub struct PluginVectorSource {
    /// Host context.
    pub ctx: *mut c_void,
    /// Dimensions.
    pub dim: usize,
    /// One past the highest slot in use.
    pub slot_count: usize,
    /// Prepares a query vector (`dim` floats); free it with `query_free`.
    pub prepare: unsafe extern "C" fn(ctx: *mut c_void, vector: *const f32) -> *mut PluginQuery,
    /// Prepares the stored vector of `slot` as a query; free it with `query_free`.
    pub prepare_slot: unsafe extern "C" fn(ctx: *mut c_void, slot: u32) -> *mut PluginQuery,
    /// Frees a query made by `prepare` / `prepare_slot`.
    pub query_free: unsafe extern "C" fn(ctx: *mut c_void, q: *mut PluginQuery),
    /// The query's vector (`dim` floats), valid while the query lives.
    pub query_vector: unsafe extern "C" fn(ctx: *mut c_void, q: *const PluginQuery) -> *const f32,
    /// Distances (possibly on quantized codes) from `q` to `n` slots.
    pub score:
        unsafe extern "C" fn(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32),
    /// Exact full-precision distances.
    pub score_exact:
        unsafe extern "C" fn(ctx: *mut c_void, q: *const PluginQuery, slots: *const u32, n: usize, out: *mut f32),
}

/// One result of an index search.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PluginCandidate {
    /// The slot.
    pub slot: u32,
    /// Its distance (smaller is closer).
    pub distance: f32,
}

/// Per-query knobs for an index search.
#[repr(C)]
pub struct PluginIndexSearch {
    /// Results wanted (the output array holds `k`).
    pub k: usize,
    /// Candidate list size hint.
    pub ef: usize,
    /// Filter context.
    pub filter_ctx: *mut c_void,
    /// Keeps only slots for which it returns non-zero; NULL means no filter.
    pub filter: Option<unsafe extern "C" fn(ctx: *mut c_void, slot: u32) -> i32>,
}

/// Counters an index fills while searching.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PluginSearchStats {
    /// Graph layers walked.
    pub layers_traversed: u32,
    /// Nodes expanded.
    pub nodes_visited: u64,
    /// Distances computed.
    pub distance_computations: u64,
}

/// An index plugin: factory functions and instance functions. Writers (`insert`, `insert_batch`,
/// `remove`) are serialised by the host; `search` and the other readers may run concurrently.
#[repr(C)]
pub struct PluginIndexVTable {
    /// `sizeof` this struct as the plugin was compiled.
    pub struct_size: u32,
    /// Opaque plugin state passed to `create` and `load`.
    pub state: *mut c_void,
    /// Frees `state`; may be NULL.
    pub release: Option<ReleaseFn>,
    /// A new empty index for `dim` dimensions.
    pub create: Option<IndexCreateFn>,
    /// Loads what `save` wrote.
    pub load: Option<IndexLoadFn>,
    /// Frees an instance.
    pub destroy: Option<IndexDestroyFn>,
    /// Writes the parameters as a JSON object to `out`.
    pub params_json: Option<IndexParamsJsonFn>,
    /// Live slots.
    pub len: Option<IndexLenFn>,
    /// Adds `slot`.
    pub insert: Option<IndexInsertFn>,
    /// Adds `n` slots; may be NULL (the host then calls `insert` for each).
    pub insert_batch: Option<IndexInsertBatchFn>,
    /// Tombstones `slot`.
    pub remove: Option<IndexRemoveFn>,
    /// Non-zero when `slot` is indexed and live.
    pub contains: Option<IndexContainsFn>,
    /// Nearest live slots, closest first, into `out[params->k]`; `*out_len` receives the count.
    pub search: Option<IndexSearchFn>,
    /// Serialises the structure into `out`.
    pub save: Option<IndexSaveFn>,
    /// Heap bytes used.
    pub memory_bytes: Option<IndexMemoryBytesFn>,
}

/// `index.create` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexCreateFn = unsafe extern "C" fn(
    state: *mut c_void,
    dim: usize,
    params_json: *const c_char,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `index.load` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexLoadFn = unsafe extern "C" fn(
    state: *mut c_void,
    dim: usize,
    params_json: *const c_char,
    bytes: *const u8,
    len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `index.destroy` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexDestroyFn = unsafe extern "C" fn(ix: *mut c_void);

/// `index.params_json` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexParamsJsonFn =
    unsafe extern "C" fn(ix: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus;

/// `index.len` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexLenFn = unsafe extern "C" fn(ix: *const c_void) -> usize;

/// `index.insert` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexInsertFn = unsafe extern "C" fn(
    ix: *mut c_void,
    slot: u32,
    source: *const PluginVectorSource,
    err: *mut PluginError,
) -> PluginStatus;

/// `index.insert_batch` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexInsertBatchFn = unsafe extern "C" fn(
    ix: *mut c_void,
    slots: *const u32,
    n: usize,
    source: *const PluginVectorSource,
    err: *mut PluginError,
) -> PluginStatus;

/// `index.remove` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexRemoveFn = unsafe extern "C" fn(ix: *mut c_void, slot: u32, err: *mut PluginError) -> PluginStatus;

/// `index.contains` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexContainsFn = unsafe extern "C" fn(ix: *const c_void, slot: u32) -> i32;

/// `index.search` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexSearchFn = unsafe extern "C" fn(
    ix: *const c_void,
    query: *const PluginQuery,
    params: *const PluginIndexSearch,
    source: *const PluginVectorSource,
    out: *mut PluginCandidate,
    out_len: *mut usize,
    stats: *mut PluginSearchStats,
    err: *mut PluginError,
) -> PluginStatus;

/// `index.save` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexSaveFn =
    unsafe extern "C" fn(ix: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus;

/// `index.memory_bytes` as a plain function pointer (see [`PluginIndexVTable`]).
pub type IndexMemoryBytesFn = unsafe extern "C" fn(ix: *const c_void) -> usize;

/// A cipher plugin: `create` makes a cipher for a key; `seal`/`open` may run on many threads.
#[repr(C)]
pub struct PluginCipherVTable {
    /// `sizeof` this struct as the plugin was compiled.
    pub struct_size: u32,
    /// Key length in bytes the cipher needs (0 for none).
    pub key_len: u32,
    /// Opaque plugin state passed to `create`.
    pub state: *mut c_void,
    /// Frees `state`; may be NULL.
    pub release: Option<ReleaseFn>,
    /// A cipher for `key`.
    pub create: Option<CipherCreateFn>,
    /// Frees an instance.
    pub destroy: Option<CipherDestroyFn>,
    /// Bytes `seal` adds.
    pub overhead: Option<CipherOverheadFn>,
    /// Encrypts and authenticates `len` bytes bound to `aad`, writing the result to `out`.
    pub seal: Option<CipherSealFn>,
    /// Checks and decrypts what `seal` wrote (a failed check returns 14, corrupted).
    pub open: Option<CipherOpenFn>,
}

/// `cipher.create` as a plain function pointer (see [`PluginCipherVTable`]).
pub type CipherCreateFn = unsafe extern "C" fn(
    state: *mut c_void,
    key: *const u8,
    key_len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `cipher.destroy` as a plain function pointer (see [`PluginCipherVTable`]).
pub type CipherDestroyFn = unsafe extern "C" fn(c: *mut c_void);

/// `cipher.overhead` as a plain function pointer (see [`PluginCipherVTable`]).
pub type CipherOverheadFn = unsafe extern "C" fn(c: *const c_void) -> usize;

/// `cipher.seal` as a plain function pointer (see [`PluginCipherVTable`]).
pub type CipherSealFn = unsafe extern "C" fn(
    c: *const c_void,
    data: *const u8,
    len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus;

/// `cipher.open` as a plain function pointer (see [`PluginCipherVTable`]).
pub type CipherOpenFn = unsafe extern "C" fn(
    c: *const c_void,
    data: *const u8,
    len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus;

/// A storage plugin: `open` makes a backend; its functions may run on many threads.
#[repr(C)]
pub struct PluginStorageVTable {
    /// `sizeof` this struct as the plugin was compiled.
    pub struct_size: u32,
    /// Opaque plugin state passed to `open`.
    pub state: *mut c_void,
    /// Frees `state`; may be NULL.
    pub release: Option<ReleaseFn>,
    /// Opens the storage at `path` (NUL-terminated bytes; NULL for in-memory backends).
    pub open: Option<StorageOpenFn>,
    /// Frees an instance.
    pub destroy: Option<StorageDestroyFn>,
    /// Current length into `*out`.
    pub len: Option<StorageLenFn>,
    /// Fills `buf[len]` from `offset` (reading past the end returns 14, corrupted).
    pub read_at: Option<StorageReadAtFn>,
    /// Writes `len` bytes at `offset`, growing as needed.
    pub write_at: Option<StorageWriteAtFn>,
    /// Truncates or zero-extends to `len`.
    pub set_len: Option<StorageSetLenFn>,
    /// Makes every write durable.
    pub sync: Option<StorageSyncFn>,
}

/// `storage.open` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageOpenFn = unsafe extern "C" fn(
    state: *mut c_void,
    path: *const c_char,
    read_only: i32,
    create: i32,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus;

/// `storage.destroy` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageDestroyFn = unsafe extern "C" fn(s: *mut c_void);

/// `storage.len` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageLenFn = unsafe extern "C" fn(s: *const c_void, out: *mut u64, err: *mut PluginError) -> PluginStatus;

/// `storage.read_at` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageReadAtFn = unsafe extern "C" fn(
    s: *const c_void,
    offset: u64,
    buf: *mut u8,
    len: usize,
    err: *mut PluginError,
) -> PluginStatus;

/// `storage.write_at` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageWriteAtFn = unsafe extern "C" fn(
    s: *const c_void,
    offset: u64,
    data: *const u8,
    len: usize,
    err: *mut PluginError,
) -> PluginStatus;

/// `storage.set_len` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageSetLenFn = unsafe extern "C" fn(s: *const c_void, len: u64, err: *mut PluginError) -> PluginStatus;

/// `storage.sync` as a plain function pointer (see [`PluginStorageVTable`]).
pub type StorageSyncFn = unsafe extern "C" fn(s: *const c_void, err: *mut PluginError) -> PluginStatus;

/// Byte offsets and sizes of every ABI struct, compared with the C header's by a test.
pub fn layout_report() -> Vec<(&'static str, usize)> {
    use std::mem::{offset_of, size_of};
    vec![
        ("needle_plugin_descriptor", size_of::<PluginDescriptor>()),
        ("needle_plugin_descriptor.name", offset_of!(PluginDescriptor, name)),
        ("needle_plugin_descriptor.version", offset_of!(PluginDescriptor, version)),
        ("needle_plugin_descriptor.kind", offset_of!(PluginDescriptor, kind)),
        ("needle_plugin_descriptor.vtable", offset_of!(PluginDescriptor, vtable)),
        ("needle_plugin_descriptor.description", offset_of!(PluginDescriptor, description)),
        ("needle_plugin_error", size_of::<PluginError>()),
        ("needle_plugin_bytes", size_of::<PluginBytes>()),
        ("needle_plugin_rows", size_of::<PluginRows>()),
        ("needle_plugin_rows.norms", offset_of!(PluginRows, norms)),
        ("needle_distance_vtable", size_of::<PluginDistanceVTable>()),
        ("needle_distance_vtable.state", offset_of!(PluginDistanceVTable, state)),
        ("needle_distance_vtable.distances_to_all", offset_of!(PluginDistanceVTable, distances_to_all)),
        ("needle_quantizer_vtable", size_of::<PluginQuantizerVTable>()),
        ("needle_quantizer_vtable.save", offset_of!(PluginQuantizerVTable, save)),
        ("needle_vector_source", size_of::<PluginVectorSource>()),
        ("needle_vector_source.score_exact", offset_of!(PluginVectorSource, score_exact)),
        ("needle_candidate", size_of::<PluginCandidate>()),
        ("needle_index_search", size_of::<PluginIndexSearch>()),
        ("needle_search_stats", size_of::<PluginSearchStats>()),
        ("needle_index_vtable", size_of::<PluginIndexVTable>()),
        ("needle_index_vtable.search", offset_of!(PluginIndexVTable, search)),
        ("needle_index_vtable.memory_bytes", offset_of!(PluginIndexVTable, memory_bytes)),
        ("needle_cipher_vtable", size_of::<PluginCipherVTable>()),
        ("needle_cipher_vtable.state", offset_of!(PluginCipherVTable, state)),
        ("needle_cipher_vtable.open", offset_of!(PluginCipherVTable, open)),
        ("needle_storage_vtable", size_of::<PluginStorageVTable>()),
        ("needle_storage_vtable.sync", offset_of!(PluginStorageVTable, sync)),
    ]
}
