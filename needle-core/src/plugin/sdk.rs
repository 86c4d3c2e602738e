//! The plugin SDK: turns a Rust implementation of `Distance`, `QuantizerFactory`,
//! `IndexFactory`, `CipherFactory` or `StorageFactory` into a plugin descriptor and vtable. A plugin crate (a `cdylib`) only writes
//!
//! ```text
//! needle_core::export_plugin!(quantizer: MyQuantizerFactory::default(), "one line of description");
//! ```
//!
//! and implements the trait in safe Rust. Every vtable function here catches panics (a panic
//! becomes a status 99 error, or infinite distances in infallible calls), so nothing unwinds into
//! the host.

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::abi::*;
use super::foreign::{metric_from_abi, metric_to_abi};
use crate::traits::distance::l2_norm;
use crate::traits::{
    Cipher, CipherFactory, Codes, Distance, Index, IndexFactory, IndexSearch, PreparedQuery, Quantizer,
    QuantizerFactory, QuerySlot, Rows, SearchStats, StorageBackend, StorageFactory, StorageOptions, VectorSource,
};
use crate::{Error, Result};

/// An exported plugin: the descriptor and everything it points to, alive for the process.
pub struct Exported {
    descriptor: Box<PluginDescriptor>,
    _vtable: Box<dyn std::any::Any + Send + Sync>,
    _strings: Vec<CString>,
}

// SAFETY: the descriptor's pointers refer to the boxed vtable and strings owned alongside it, which
// are never mutated after construction; plugin state is required to be thread-safe (Send + Sync).
unsafe impl Send for Exported {}
// SAFETY: as above.
unsafe impl Sync for Exported {}

impl Exported {
    /// The descriptor pointer `needle_plugin_entry` returns.
    pub fn descriptor(&self) -> *const PluginDescriptor {
        &*self.descriptor
    }
}

struct SendPtr<T>(T);
// SAFETY: wraps vtables whose state is a Box of a Send + Sync implementation.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}

fn export<V: 'static>(name: &str, version: u32, kind: u32, description: &str, vtable: Box<V>) -> Exported {
    let name = CString::new(name).expect("plugin names have no NUL");
    let desc = CString::new(description).unwrap_or_default();
    let descriptor = Box::new(PluginDescriptor {
        abi_version: NEEDLE_PLUGIN_ABI_VERSION,
        struct_size: std::mem::size_of::<PluginDescriptor>() as u32,
        name: name.as_ptr(),
        version,
        kind,
        vtable: (&*vtable as *const V).cast(),
        description: desc.as_ptr(),
    });
    Exported { descriptor, _vtable: Box::new(SendPtr(vtable)), _strings: vec![name, desc] }
}

fn write_err(err: *mut PluginError, msg: &str) {
    if err.is_null() {
        return;
    }
    // SAFETY: the host passes a valid PluginError for the call.
    let buf = unsafe { &mut (*err).message };
    let n = msg.len().min(buf.len() - 1);
    for (d, s) in buf.iter_mut().zip(msg.as_bytes()[..n].iter()) {
        *d = *s as c_char;
    }
    buf[n] = 0;
}

/// Runs a fallible vtable body: errors and panics become a status and a message.
fn guard(err: *mut PluginError, f: impl FnOnce() -> Result<()>) -> PluginStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            write_err(err, &e.to_string());
            e.code() as u32 as i32
        }
        Err(_) => {
            write_err(err, "the plugin panicked");
            99
        }
    }
}

/// # Safety
/// `p` is NULL or points to `n` valid `T`s for the call.
unsafe fn slice<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if n == 0 || p.is_null() {
        &[]
    } else {
        // SAFETY: caller's contract.
        unsafe { std::slice::from_raw_parts(p, n) }
    }
}

/// # Safety
/// `p` is NULL or points to `n` writable `T`s for the call.
unsafe fn slice_mut<'a, T>(p: *mut T, n: usize) -> &'a mut [T] {
    if n == 0 || p.is_null() {
        &mut []
    } else {
        // SAFETY: caller's contract.
        unsafe { std::slice::from_raw_parts_mut(p, n) }
    }
}

/// # Safety
/// `r` points to a valid `PluginRows` whose buffers live for `'a`.
unsafe fn rows<'a>(r: *const PluginRows) -> Rows<'a> {
    // SAFETY: caller's contract.
    let r = unsafe { &*r };
    // Rows::len divides data.len() by stride, so hand it whole rows.
    let full = r.rows * r.stride;
    Rows {
        // SAFETY: data holds rows * stride floats (ABI).
        data: unsafe { slice(r.data, full) },
        stride: r.stride,
        dim: r.dim,
        // SAFETY: norms holds rows floats when non-NULL (ABI).
        norms: unsafe { slice(r.norms, r.rows) },
    }
}

fn append(out: *mut PluginBytes, bytes: &[u8]) -> Result<()> {
    // SAFETY: the host passes a valid sink for the call.
    let s = unsafe { ((*out).append)((*out).ctx, bytes.as_ptr(), bytes.len()) };
    if s == 0 {
        Ok(())
    } else {
        Err(Error::Internal("the host could not take the plugin's output".into()))
    }
}

// ---------------------------------------------------------------- distance

unsafe extern "C" fn d_release<D: Distance>(state: *mut c_void) {
    // SAFETY: state is the Box<D> made in export_distance, released once by the host.
    drop(unsafe { Box::from_raw(state.cast::<D>()) });
}

unsafe extern "C" fn d_to_ids<D: Distance>(
    state: *mut c_void,
    query: *const f32,
    query_norm: f32,
    r: *const PluginRows,
    ids: *const u32,
    n: usize,
    out: *mut f32,
) {
    // SAFETY: the host passes valid buffers (ABI): query has dim floats, ids and out n elements.
    let (d, rows, ids, out) = unsafe { (&*state.cast::<D>(), rows(r), slice(ids, n), slice_mut(out, n)) };
    // SAFETY: as above.
    let q = unsafe { slice(query, rows.dim) };
    if catch_unwind(AssertUnwindSafe(|| d.distances_to_ids(q, query_norm, &rows, ids, out))).is_err() {
        out.fill(f32::INFINITY);
    }
}

unsafe extern "C" fn d_to_all<D: Distance>(
    state: *mut c_void,
    query: *const f32,
    query_norm: f32,
    r: *const PluginRows,
    out: *mut f32,
) {
    // SAFETY: as in d_to_ids; out holds one float per row.
    let (d, rows) = unsafe { (&*state.cast::<D>(), rows(r)) };
    // SAFETY: as above.
    let (q, out) = unsafe { (slice(query, rows.dim), slice_mut(out, (*r).rows)) };
    if catch_unwind(AssertUnwindSafe(|| d.distances_to_all(q, query_norm, &rows, out))).is_err() {
        out.fill(f32::INFINITY);
    }
}

/// Exports a distance. `version` is recorded in files that use it.
pub fn export_distance<D: Distance>(d: D, version: u32, description: &str) -> Exported {
    let name = d.id().to_string();
    let backend = CString::new(d.backend_name()).unwrap_or_default();
    let vt = Box::new(PluginDistanceVTable {
        struct_size: std::mem::size_of::<PluginDistanceVTable>() as u32,
        metric: d.metric().map_or(metric::NONE, metric_to_abi),
        needs_norms: u32::from(d.needs_norms()),
        backend_name: backend.as_ptr(),
        state: Box::into_raw(Box::new(d)).cast(),
        release: Some(d_release::<D>),
        distances_to_ids: Some(d_to_ids::<D>),
        distances_to_all: Some(d_to_all::<D>),
    });
    let mut e = export(&name, version, kind::DISTANCE, description, vt);
    e._strings.push(backend);
    e
}

// ---------------------------------------------------------------- quantizer

type QBox = Box<dyn Quantizer>;

/// # Safety
/// `q` is an instance made by `q_create` / `q_load`.
unsafe fn qref<'a>(q: *const c_void) -> &'a QBox {
    // SAFETY: caller's contract.
    unsafe { &*q.cast::<QBox>() }
}

unsafe extern "C" fn q_release<F: QuantizerFactory>(state: *mut c_void) {
    // SAFETY: state is the Box<F> made in export_quantizer, released once.
    drop(unsafe { Box::from_raw(state.cast::<F>()) });
}

unsafe extern "C" fn q_create<F: QuantizerFactory>(
    state: *mut c_void,
    dim: usize,
    params: *const c_char,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: state is our Box<F>; params is NUL-terminated JSON (ABI).
        let (f, params) = unsafe { (&*state.cast::<F>(), CStr::from_ptr(params)) };
        let params: serde_json::Value = serde_json::from_slice(params.to_bytes())?;
        let q: QBox = f.create(dim, &params)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(q)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn q_load<F: QuantizerFactory>(
    state: *mut c_void,
    dim: usize,
    bytes: *const u8,
    len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: state is our Box<F>; bytes holds len bytes (ABI).
        let (f, bytes) = unsafe { (&*state.cast::<F>(), slice(bytes, len)) };
        let q: QBox = f.load(dim, bytes)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(q)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn q_destroy(q: *mut c_void) {
    // SAFETY: q is an instance made by q_create/q_load, destroyed once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(q.cast::<QBox>()) })));
}

unsafe extern "C" fn q_code_len(q: *const c_void) -> usize {
    // SAFETY: q is a live instance.
    catch_unwind(AssertUnwindSafe(|| unsafe { qref(q) }.code_len())).unwrap_or(0)
}

unsafe extern "C" fn q_supports(q: *const c_void, m: i32) -> i32 {
    // SAFETY: q is a live instance.
    let q = unsafe { qref(q) };
    i32::from(metric_from_abi(m).is_some_and(|m| catch_unwind(AssertUnwindSafe(|| q.supports(m))).unwrap_or(false)))
}

unsafe extern "C" fn q_is_trained(q: *const c_void) -> i32 {
    // SAFETY: q is a live instance.
    i32::from(catch_unwind(AssertUnwindSafe(|| unsafe { qref(q) }.is_trained())).unwrap_or(false))
}

unsafe extern "C" fn q_train(q: *mut c_void, sample: *const PluginRows, err: *mut PluginError) -> PluginStatus {
    guard(err, || {
        // SAFETY: q is a live instance the host lends exclusively; sample is valid (ABI).
        let (q, sample) = unsafe { (&mut *q.cast::<QBox>(), rows(sample)) };
        q.train(&sample)
    })
}

unsafe extern "C" fn q_encode(q: *const c_void, v: *const f32, dim: usize, out: *mut u8, code_len: usize) {
    // SAFETY: buffers hold dim floats and code_len bytes (ABI).
    let (q, v, out) = unsafe { (qref(q), slice(v, dim), slice_mut(out, code_len)) };
    if catch_unwind(AssertUnwindSafe(|| q.encode(v, out))).is_err() {
        out.fill(0);
    }
}

unsafe extern "C" fn q_decode(q: *const c_void, code: *const u8, code_len: usize, out: *mut f32, dim: usize) {
    // SAFETY: buffers hold code_len bytes and dim floats (ABI).
    let (q, code, out) = unsafe { (qref(q), slice(code, code_len), slice_mut(out, dim)) };
    if catch_unwind(AssertUnwindSafe(|| q.decode(code, out))).is_err() {
        out.fill(0.0);
    }
}

unsafe extern "C" fn q_prepare(
    q: *const c_void,
    query: *const f32,
    dim: usize,
    m: i32,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: q is live; query holds dim floats (ABI).
        let (q, query) = unsafe { (qref(q), slice(query, dim)) };
        let m = metric_from_abi(m).ok_or_else(|| Error::InvalidArgument(format!("unknown metric {m}")))?;
        append(out, &q.prepare_query(query, m))
    })
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn q_distances(
    q: *const c_void,
    prepared: *const u8,
    prepared_len: usize,
    m: i32,
    codes: *const u8,
    code_len: usize,
    rows_n: usize,
    ids: *const u32,
    n: usize,
    out: *mut f32,
) {
    // SAFETY: buffers as stated by the host (ABI).
    let (q, prepared, data, ids, out) = unsafe {
        (qref(q), slice(prepared, prepared_len), slice(codes, rows_n * code_len), slice(ids, n), slice_mut(out, n))
    };
    let Some(m) = metric_from_abi(m) else {
        out.fill(f32::INFINITY);
        return;
    };
    let codes = Codes { data, code_len };
    if catch_unwind(AssertUnwindSafe(|| q.distances_to_ids(prepared, m, &codes, ids, out))).is_err() {
        out.fill(f32::INFINITY);
    }
}

unsafe extern "C" fn q_save(q: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus {
    // SAFETY: q is live.
    guard(err, || append(out, &unsafe { qref(q) }.save()))
}

/// Exports a quantizer factory.
pub fn export_quantizer<F: QuantizerFactory>(f: F, description: &str) -> Exported {
    let (name, version) = (f.id().to_string(), f.version());
    let vt = Box::new(PluginQuantizerVTable {
        struct_size: std::mem::size_of::<PluginQuantizerVTable>() as u32,
        state: Box::into_raw(Box::new(f)).cast(),
        release: Some(q_release::<F>),
        create: Some(q_create::<F>),
        load: Some(q_load::<F>),
        destroy: Some(q_destroy),
        code_len: Some(q_code_len),
        supports: Some(q_supports),
        is_trained: Some(q_is_trained),
        train: Some(q_train),
        encode: Some(q_encode),
        decode: Some(q_decode),
        prepare_query: Some(q_prepare),
        distances_to_ids: Some(q_distances),
        save: Some(q_save),
    });
    export(&name, version, kind::QUANTIZER, description, vt)
}

// ---------------------------------------------------------------- index

type IBox = Box<dyn Index>;

/// Ids of live [`HostSource`]s (one per vtable call), never 0 and never reused, so a
/// [`QuerySlot`] kept past its call can never name an entry of a later call's table.
static NEXT_SOURCE_ID: AtomicU64 = AtomicU64::new(1);

/// One host query a [`HostSource`] may score with: its address and whether the source frees it.
struct HostQuery {
    ptr: *const PluginQuery,
    owned: bool,
}

/// The host's vector source seen from inside a plugin, as a [`VectorSource`].
///
/// Host queries are reached only through this source's table: a [`PreparedQuery`] carries a
/// [`QuerySlot`] (this source's id and an index), never an address, so a plugin that keeps a
/// prepared query past its call, or builds one itself, gets its distances from the query's own
/// `vector` instead of a freed host query. Queries this source prepared are freed when it is
/// dropped (at the end of the vtable call).
struct HostSource<'a> {
    abi: &'a PluginVectorSource,
    id: u64,
    queries: Mutex<Vec<HostQuery>>,
}

impl<'a> HostSource<'a> {
    fn new(abi: &'a PluginVectorSource) -> Self {
        HostSource { abi, id: NEXT_SOURCE_ID.fetch_add(1, Ordering::Relaxed), queries: Mutex::new(Vec::new()) }
    }
    fn vector_of(&self, q: *const PluginQuery) -> Vec<f32> {
        // SAFETY: q is a live host query; its vector has dim floats (ABI).
        unsafe { slice((self.abi.query_vector)(self.abi.ctx, q), self.abi.dim) }.to_vec()
    }
    /// Enters a live host query in the table; `owned` ones are freed when the source drops.
    fn enter(&self, q: *const PluginQuery, owned: bool) -> PreparedQuery {
        if q.is_null() {
            return PreparedQuery::default();
        }
        let vector = self.vector_of(q);
        let mut table = self.queries.lock();
        table.push(HostQuery { ptr: q, owned });
        let slot = QuerySlot::new(self.id, (table.len() - 1) as u32);
        PreparedQuery { norm: l2_norm(&vector), vector, code: Vec::new(), slot }
    }
    /// The host query `q` stands for, if this source made it during this call.
    fn lookup(&self, q: &PreparedQuery) -> Option<*const PluginQuery> {
        let i = q.slot.index_for(self.id)?;
        self.queries.lock().get(i).map(|h| h.ptr)
    }
    fn score_with(&self, q: &PreparedQuery, slots: &[u32], out: &mut [f32], exact: bool) {
        let f = if exact { self.abi.score_exact } else { self.abi.score };
        match self.lookup(q) {
            // SAFETY: the table holds only queries live for this call; buffers hold slots.len() elements.
            Some(hq) => unsafe { f(self.abi.ctx, hq, slots.as_ptr(), slots.len(), out.as_mut_ptr()) },
            None => {
                // A query from another call, or one the plugin built itself: have the host
                // prepare its vector first.
                let hq = self.prepare(&q.vector);
                match self.lookup(&hq) {
                    // SAFETY: as above.
                    Some(p) => unsafe { f(self.abi.ctx, p, slots.as_ptr(), slots.len(), out.as_mut_ptr()) },
                    None => out.fill(f32::INFINITY),
                }
            }
        }
    }
}

impl Drop for HostSource<'_> {
    fn drop(&mut self) {
        for q in self.queries.lock().drain(..).filter(|q| q.owned) {
            // SAFETY: each owned entry was returned by the host's prepare/prepare_slot and is freed once.
            unsafe { (self.abi.query_free)(self.abi.ctx, q.ptr.cast_mut()) }
        }
    }
}

impl VectorSource for HostSource<'_> {
    fn dim(&self) -> usize {
        self.abi.dim
    }
    fn slot_count(&self) -> usize {
        self.abi.slot_count
    }
    fn prepare(&self, query: &[f32]) -> PreparedQuery {
        assert_eq!(query.len(), self.abi.dim, "query length");
        // SAFETY: query holds dim floats.
        self.enter(unsafe { (self.abi.prepare)(self.abi.ctx, query.as_ptr()) }, true)
    }
    fn prepare_slot(&self, slot: u32) -> PreparedQuery {
        // SAFETY: the host checks the slot range.
        self.enter(unsafe { (self.abi.prepare_slot)(self.abi.ctx, slot) }, true)
    }
    fn score(&self, q: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        assert_eq!(slots.len(), out.len());
        self.score_with(q, slots, out, false)
    }
    fn score_exact(&self, q: &PreparedQuery, slots: &[u32], out: &mut [f32]) {
        assert_eq!(slots.len(), out.len());
        self.score_with(q, slots, out, true)
    }
}

// SAFETY: the host's source functions are callable from any thread for the duration of the call
// (the ABI requires it; the Rust host's VectorSource is Sync).
unsafe impl Sync for HostSource<'_> {}

/// # Safety
/// `ix` is an instance made by `i_create` / `i_load`.
unsafe fn iref<'a>(ix: *const c_void) -> &'a IBox {
    // SAFETY: caller's contract.
    unsafe { &*ix.cast::<IBox>() }
}

unsafe extern "C" fn i_release<F: IndexFactory>(state: *mut c_void) {
    // SAFETY: state is the Box<F> made in export_index, released once.
    drop(unsafe { Box::from_raw(state.cast::<F>()) });
}

unsafe extern "C" fn i_create<F: IndexFactory>(
    state: *mut c_void,
    dim: usize,
    params: *const c_char,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: state is our Box<F>; params is NUL-terminated JSON (ABI).
        let (f, params) = unsafe { (&*state.cast::<F>(), CStr::from_ptr(params)) };
        let params: serde_json::Value = serde_json::from_slice(params.to_bytes())?;
        let ix: IBox = f.create(dim, &params)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(ix)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn i_load<F: IndexFactory>(
    state: *mut c_void,
    dim: usize,
    params: *const c_char,
    bytes: *const u8,
    len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: as in i_create; bytes holds len bytes.
        let (f, params, bytes) = unsafe { (&*state.cast::<F>(), CStr::from_ptr(params), slice(bytes, len)) };
        let params: serde_json::Value = serde_json::from_slice(params.to_bytes())?;
        let ix: IBox = f.load(dim, &params, bytes)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(ix)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn i_destroy(ix: *mut c_void) {
    // SAFETY: ix is an instance made by i_create/i_load, destroyed once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(ix.cast::<IBox>()) })));
}

unsafe extern "C" fn i_params(ix: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus {
    // SAFETY: ix is live.
    guard(err, || append(out, unsafe { iref(ix) }.params().to_string().as_bytes()))
}

unsafe extern "C" fn i_len(ix: *const c_void) -> usize {
    // SAFETY: ix is live.
    catch_unwind(AssertUnwindSafe(|| unsafe { iref(ix) }.len())).unwrap_or(0)
}

unsafe extern "C" fn i_insert(
    ix: *mut c_void,
    slot: u32,
    src: *const PluginVectorSource,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: ix is live and lent exclusively; src is valid for the call (ABI).
        let (ix, src) = unsafe { (&mut *ix.cast::<IBox>(), HostSource::new(&*src)) };
        ix.insert(slot, &src)
    })
}

unsafe extern "C" fn i_insert_batch(
    ix: *mut c_void,
    slots: *const u32,
    n: usize,
    src: *const PluginVectorSource,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: as in i_insert; slots holds n elements.
        let (ix, slots, src) = unsafe { (&mut *ix.cast::<IBox>(), slice(slots, n), HostSource::new(&*src)) };
        ix.insert_batch(slots, &src)
    })
}

unsafe extern "C" fn i_remove(ix: *mut c_void, slot: u32, err: *mut PluginError) -> PluginStatus {
    // SAFETY: ix is live and lent exclusively.
    guard(err, || unsafe { &mut *ix.cast::<IBox>() }.delete(slot))
}

unsafe extern "C" fn i_contains(ix: *const c_void, slot: u32) -> i32 {
    // SAFETY: ix is live.
    i32::from(catch_unwind(AssertUnwindSafe(|| unsafe { iref(ix) }.contains(slot))).unwrap_or(false))
}

struct HostFilter(*mut c_void, unsafe extern "C" fn(*mut c_void, u32) -> i32);
// SAFETY: the host's filter is callable from any thread during the search (it wraps a Sync closure).
unsafe impl Sync for HostFilter {}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn i_search(
    ix: *const c_void,
    query: *const PluginQuery,
    params: *const PluginIndexSearch,
    src: *const PluginVectorSource,
    out: *mut PluginCandidate,
    out_len: *mut usize,
    stats: *mut PluginSearchStats,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: every pointer is valid for the call (ABI); out holds params->k candidates.
        let (ix, p, src) = unsafe { (iref(ix), &*params, HostSource::new(&*src)) };
        let q = src.enter(query, false);
        let host_filter = p.filter.map(|f| HostFilter(p.filter_ctx, f));
        let filter_fn = host_filter.as_ref().map(|hf| {
            move |slot: u32| -> bool {
                // SAFETY: the host's filter and context are valid during the search.
                unsafe { (hf.1)(hf.0, slot) != 0 }
            }
        });
        let filter: Option<&(dyn Fn(u32) -> bool + Sync)> = filter_fn.as_ref().map(|f| f as _);
        let mut st = SearchStats::default();
        let hits = ix.search(&q, &IndexSearch { k: p.k, ef: p.ef, filter }, &src, &mut st)?;
        // SAFETY: out holds k candidates; out_len and stats are writable.
        let out = unsafe { slice_mut(out, p.k) };
        let n = hits.len().min(p.k);
        for (o, h) in out.iter_mut().zip(&hits[..n]) {
            *o = PluginCandidate { slot: h.slot, distance: h.distance };
        }
        // SAFETY: as above.
        unsafe {
            *out_len = n;
            if !stats.is_null() {
                *stats = PluginSearchStats {
                    layers_traversed: st.layers_traversed,
                    nodes_visited: st.nodes_visited,
                    distance_computations: st.distance_computations,
                };
            }
        }
        Ok(())
    })
}

unsafe extern "C" fn i_save(ix: *const c_void, out: *mut PluginBytes, err: *mut PluginError) -> PluginStatus {
    guard(err, || {
        let mut buf = Vec::new();
        // SAFETY: ix is live.
        unsafe { iref(ix) }.save(&mut buf)?;
        append(out, &buf)
    })
}

unsafe extern "C" fn i_memory(ix: *const c_void) -> usize {
    // SAFETY: ix is live.
    catch_unwind(AssertUnwindSafe(|| unsafe { iref(ix) }.memory_bytes())).unwrap_or(0)
}

/// Exports an index factory.
pub fn export_index<F: IndexFactory>(f: F, description: &str) -> Exported {
    let (name, version) = (f.id().to_string(), f.version());
    let vt = Box::new(PluginIndexVTable {
        struct_size: std::mem::size_of::<PluginIndexVTable>() as u32,
        state: Box::into_raw(Box::new(f)).cast(),
        release: Some(i_release::<F>),
        create: Some(i_create::<F>),
        load: Some(i_load::<F>),
        destroy: Some(i_destroy),
        params_json: Some(i_params),
        len: Some(i_len),
        insert: Some(i_insert),
        insert_batch: Some(i_insert_batch),
        remove: Some(i_remove),
        contains: Some(i_contains),
        search: Some(i_search),
        save: Some(i_save),
        memory_bytes: Some(i_memory),
    });
    export(&name, version, kind::INDEX, description, vt)
}

// ---------------------------------------------------------------- cipher

type CBox = Box<dyn Cipher>;

unsafe extern "C" fn c_release<F: CipherFactory>(state: *mut c_void) {
    // SAFETY: state is the Box<F> made in export_cipher, released once.
    drop(unsafe { Box::from_raw(state.cast::<F>()) });
}

unsafe extern "C" fn c_create<F: CipherFactory>(
    state: *mut c_void,
    key: *const u8,
    key_len: usize,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: state is our Box<F>; key holds key_len bytes (ABI).
        let (f, key) = unsafe { (&*state.cast::<F>(), slice(key, key_len)) };
        let c: CBox = f.create(key)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(c)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn c_destroy(c: *mut c_void) {
    // SAFETY: c is an instance made by c_create, destroyed once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(c.cast::<CBox>()) })));
}

unsafe extern "C" fn c_overhead(c: *const c_void) -> usize {
    // SAFETY: c is a live instance.
    catch_unwind(AssertUnwindSafe(|| unsafe { &*c.cast::<CBox>() }.overhead())).unwrap_or(0)
}

#[allow(clippy::too_many_arguments)]
unsafe fn c_run(
    c: *const c_void,
    data: *const u8,
    len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut PluginBytes,
    err: *mut PluginError,
    seal: bool,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: c is live; buffers hold the stated lengths (ABI).
        let (c, data, aad) = unsafe { (&*c.cast::<CBox>(), slice(data, len), slice(aad, aad_len)) };
        let r = if seal { c.seal(data, aad)? } else { c.open(data, aad)? };
        append(out, &r)
    })
}

unsafe extern "C" fn c_seal(
    c: *const c_void,
    data: *const u8,
    len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus {
    // SAFETY: forwarded ABI contract.
    unsafe { c_run(c, data, len, aad, aad_len, out, err, true) }
}

unsafe extern "C" fn c_open(
    c: *const c_void,
    data: *const u8,
    len: usize,
    aad: *const u8,
    aad_len: usize,
    out: *mut PluginBytes,
    err: *mut PluginError,
) -> PluginStatus {
    // SAFETY: forwarded ABI contract.
    unsafe { c_run(c, data, len, aad, aad_len, out, err, false) }
}

/// Exports a cipher factory.
pub fn export_cipher<F: CipherFactory>(f: F, description: &str) -> Exported {
    let (name, version, key_len) = (f.id().to_string(), f.version(), f.key_len() as u32);
    let vt = Box::new(PluginCipherVTable {
        struct_size: std::mem::size_of::<PluginCipherVTable>() as u32,
        key_len,
        state: Box::into_raw(Box::new(f)).cast(),
        release: Some(c_release::<F>),
        create: Some(c_create::<F>),
        destroy: Some(c_destroy),
        overhead: Some(c_overhead),
        seal: Some(c_seal),
        open: Some(c_open),
    });
    export(&name, version, kind::CIPHER, description, vt)
}

// ---------------------------------------------------------------- storage

type SBox = Box<dyn StorageBackend>;

/// # Safety
/// `s` is an instance made by `s_open`.
unsafe fn sref<'a>(s: *const c_void) -> &'a SBox {
    // SAFETY: caller's contract.
    unsafe { &*s.cast::<SBox>() }
}

unsafe extern "C" fn s_release<F: StorageFactory>(state: *mut c_void) {
    // SAFETY: state is the Box<F> made in export_storage, released once.
    drop(unsafe { Box::from_raw(state.cast::<F>()) });
}

unsafe extern "C" fn s_open<F: StorageFactory>(
    state: *mut c_void,
    path: *const c_char,
    read_only: i32,
    create: i32,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> PluginStatus {
    guard(err, || {
        // SAFETY: state is our Box<F>; path is NULL or NUL-terminated (ABI).
        let f = unsafe { &*state.cast::<F>() };
        let path = if path.is_null() {
            None
        } else {
            // SAFETY: as above.
            let p = unsafe { CStr::from_ptr(path) }.to_str().map_err(|e| Error::InvalidArgument(e.to_string()))?;
            Some(std::path::PathBuf::from(p))
        };
        let options = StorageOptions { read_only: read_only != 0, create: create != 0 };
        let s: SBox = f.open(path.as_deref(), &options)?;
        // SAFETY: out is writable (ABI).
        unsafe { *out = Box::into_raw(Box::new(s)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn s_destroy(s: *mut c_void) {
    // SAFETY: s is an instance made by s_open, destroyed once.
    let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(s.cast::<SBox>()) })));
}

unsafe extern "C" fn s_len(s: *const c_void, out: *mut u64, err: *mut PluginError) -> PluginStatus {
    guard(err, || {
        // SAFETY: s is live; out is writable (ABI).
        unsafe { *out = sref(s).len()? };
        Ok(())
    })
}

unsafe extern "C" fn s_read_at(
    s: *const c_void,
    offset: u64,
    buf: *mut u8,
    len: usize,
    err: *mut PluginError,
) -> PluginStatus {
    // SAFETY: s is live; buf holds len writable bytes (ABI).
    guard(err, || unsafe { sref(s).read_at(offset, slice_mut(buf, len)) })
}

unsafe extern "C" fn s_write_at(
    s: *const c_void,
    offset: u64,
    data: *const u8,
    len: usize,
    err: *mut PluginError,
) -> PluginStatus {
    // SAFETY: s is live; data holds len bytes (ABI).
    guard(err, || unsafe { sref(s).write_at(offset, slice(data, len)) })
}

unsafe extern "C" fn s_set_len(s: *const c_void, len: u64, err: *mut PluginError) -> PluginStatus {
    // SAFETY: s is live.
    guard(err, || unsafe { sref(s) }.set_len(len))
}

unsafe extern "C" fn s_sync(s: *const c_void, err: *mut PluginError) -> PluginStatus {
    // SAFETY: s is live.
    guard(err, || unsafe { sref(s) }.sync())
}

/// Exports a storage factory.
pub fn export_storage<F: StorageFactory>(f: F, description: &str) -> Exported {
    let (name, version) = (f.id().to_string(), f.version());
    let vt = Box::new(PluginStorageVTable {
        struct_size: std::mem::size_of::<PluginStorageVTable>() as u32,
        state: Box::into_raw(Box::new(f)).cast(),
        release: Some(s_release::<F>),
        open: Some(s_open::<F>),
        destroy: Some(s_destroy),
        len: Some(s_len),
        read_at: Some(s_read_at),
        write_at: Some(s_write_at),
        set_len: Some(s_set_len),
        sync: Some(s_sync),
    });
    export(&name, version, kind::STORAGE, description, vt)
}

/// Defines `needle_plugin_entry` for a plugin crate (built as a `cdylib`):
///
/// - `export_plugin!(distance: expr, version: N, "description")` for a `Distance`;
/// - `export_plugin!(quantizer: expr, "description")` for a `QuantizerFactory`;
/// - `export_plugin!(index: expr, "description")` for an `IndexFactory`;
/// - `export_plugin!(cipher: expr, "description")` for a `CipherFactory`;
/// - `export_plugin!(storage: expr, "description")` for a `StorageFactory`.
///
/// The expression runs once, on the first call of the entry point.
#[macro_export]
macro_rules! export_plugin {
    (distance: $make:expr, version: $v:expr, $desc:expr) => {
        $crate::export_plugin!(@entry $crate::plugin::sdk::export_distance($make, $v, $desc));
    };
    (quantizer: $make:expr, $desc:expr) => {
        $crate::export_plugin!(@entry $crate::plugin::sdk::export_quantizer($make, $desc));
    };
    (index: $make:expr, $desc:expr) => {
        $crate::export_plugin!(@entry $crate::plugin::sdk::export_index($make, $desc));
    };
    (cipher: $make:expr, $desc:expr) => {
        $crate::export_plugin!(@entry $crate::plugin::sdk::export_cipher($make, $desc));
    };
    (storage: $make:expr, $desc:expr) => {
        $crate::export_plugin!(@entry $crate::plugin::sdk::export_storage($make, $desc));
    };
    (@entry $export:expr) => {
        /// The Needle plugin entry point (see `needle_plugin.h`).
        #[allow(unsafe_code)]
        #[no_mangle]
        pub extern "C" fn needle_plugin_entry() -> *const $crate::plugin::abi::PluginDescriptor {
            static EXPORTED: ::std::sync::OnceLock<$crate::plugin::sdk::Exported> = ::std::sync::OnceLock::new();
            match ::std::panic::catch_unwind(|| EXPORTED.get_or_init(|| $export).descriptor()) {
                Ok(d) => d,
                Err(_) => ::std::ptr::null(),
            }
        }
    };
}
