//! Needle-owned result blocks (search hits, records, string lists, JSON strings) and the
//! `needle_*_free` functions that release them. Each block is one allocation made by
//! `handle::into_owned`; its strings and arrays live in the block's private storage.

use std::ffi::{c_char, CString};
use std::ptr;

use needle_api::{SearchResult, VectorRecord};

use crate::handle::{free_owned, into_owned};
use crate::panic::ffi_guard;

/// One search hit.
#[repr(C)]
pub struct needle_hit {
    /// The vector's id (NUL-terminated UTF-8). Owned by the enclosing `needle_hits`.
    pub id: *const c_char,
    /// Distance to the query; smaller is closer.
    pub distance: f32,
    /// The vector's metadata as JSON, or NULL when it has none or it was not requested. Owned by
    /// the enclosing `needle_hits`.
    pub metadata_json: *const c_char,
}

/// The hits of one query, closest first. Owned by Needle: free with `needle_hits_free` (or, inside
/// a `needle_hits_list`, with `needle_hits_list_free`).
#[repr(C)]
pub struct needle_hits {
    /// `len` hits (NULL when `len` is 0).
    pub hits: *const needle_hit,
    /// Number of hits.
    pub len: usize,
}

/// Results of a batch search: one `needle_hits` per query, in query order. Owned by Needle: free
/// with `needle_hits_list_free`.
#[repr(C)]
pub struct needle_hits_list {
    /// `len` entries (NULL when `len` is 0).
    pub results: *const needle_hits,
    /// Number of queries.
    pub len: usize,
}

/// A stored vector. Owned by Needle: free with `needle_record_free` (or, inside a
/// `needle_record_list`, with `needle_record_list_free`).
#[repr(C)]
pub struct needle_record {
    /// The id, or NULL in a `needle_record_list` entry whose id was not found.
    pub id: *const c_char,
    /// `dim` floats exactly as inserted (NULL when not found).
    pub vector: *const f32,
    /// Number of floats in `vector` (0 when not found).
    pub dim: usize,
    /// Metadata as JSON, or NULL when it has none.
    pub metadata_json: *const c_char,
}

/// Records of a batch get, in the order of the ids asked for. Owned by Needle: free with
/// `needle_record_list_free`.
#[repr(C)]
pub struct needle_record_list {
    /// `len` records; an id that does not exist gives an entry with NULL `id`.
    pub records: *const needle_record,
    /// Number of records (= number of ids asked for).
    pub len: usize,
}

/// A list of strings. Owned by Needle: free with `needle_string_list_free`.
#[repr(C)]
pub struct needle_string_list {
    /// `len` NUL-terminated UTF-8 strings.
    pub items: *const *const c_char,
    /// Number of strings.
    pub len: usize,
}

/// Strings that keep the pointers handed to C valid (a CString's bytes never move).
#[derive(Default)]
pub(crate) struct Strings(Vec<CString>);

impl Strings {
    pub(crate) fn add(&mut self, s: &str) -> *const c_char {
        let c = CString::new(s.replace('\0', "\\u0000")).unwrap_or_default();
        let p = c.as_ptr();
        self.0.push(c);
        p
    }

    pub(crate) fn add_json(&mut self, v: &Option<serde_json::Value>) -> *const c_char {
        v.as_ref().map_or(ptr::null(), |v| self.add(&v.to_string()))
    }
}

pub(crate) fn ptr_or_null<T>(v: &[T]) -> *const T {
    if v.is_empty() {
        ptr::null()
    } else {
        v.as_ptr()
    }
}

type HitsStorage = (Vec<needle_hit>, Strings);

fn hits_of(results: &[SearchResult], strings: &mut Strings) -> Vec<needle_hit> {
    results
        .iter()
        .map(|r| needle_hit {
            id: strings.add(&r.id),
            distance: r.distance,
            metadata_json: strings.add_json(&r.metadata),
        })
        .collect()
}

pub(crate) fn new_hits(results: &[SearchResult]) -> *mut needle_hits {
    let mut strings = Strings::default();
    let hits = hits_of(results, &mut strings);
    into_owned::<_, HitsStorage>(needle_hits { hits: ptr_or_null(&hits), len: hits.len() }, (hits, strings))
}

type HitsListStorage = (Vec<needle_hits>, Vec<Vec<needle_hit>>, Strings);

pub(crate) fn new_hits_list(results: &[Vec<SearchResult>]) -> *mut needle_hits_list {
    let mut strings = Strings::default();
    let arrays: Vec<Vec<needle_hit>> = results.iter().map(|r| hits_of(r, &mut strings)).collect();
    let lists: Vec<needle_hits> = arrays.iter().map(|h| needle_hits { hits: ptr_or_null(h), len: h.len() }).collect();
    into_owned::<_, HitsListStorage>(
        needle_hits_list { results: ptr_or_null(&lists), len: lists.len() },
        (lists, arrays, strings),
    )
}

fn record_of(r: Option<&VectorRecord>, strings: &mut Strings) -> needle_record {
    match r {
        Some(r) => needle_record {
            id: strings.add(&r.id),
            vector: ptr_or_null(&r.vector),
            dim: r.vector.len(),
            metadata_json: strings.add_json(&r.metadata),
        },
        None => needle_record { id: ptr::null(), vector: ptr::null(), dim: 0, metadata_json: ptr::null() },
    }
}

type RecordStorage = (VectorRecord, Strings);

pub(crate) fn new_record(r: VectorRecord) -> *mut needle_record {
    let mut strings = Strings::default();
    let c = record_of(Some(&r), &mut strings);
    // Moving `r` moves only the Vec header; the floats `c.vector` points at stay in place.
    into_owned::<_, RecordStorage>(c, (r, strings))
}

type RecordListStorage = (Vec<needle_record>, Vec<Option<VectorRecord>>, Strings);

pub(crate) fn new_record_list(records: Vec<Option<VectorRecord>>) -> *mut needle_record_list {
    let mut strings = Strings::default();
    let c: Vec<needle_record> = records.iter().map(|r| record_of(r.as_ref(), &mut strings)).collect();
    into_owned::<_, RecordListStorage>(
        needle_record_list { records: ptr_or_null(&c), len: c.len() },
        (c, records, strings),
    )
}

type StringListStorage = (Vec<*const c_char>, Strings);

pub(crate) fn new_string_list(items: &[String]) -> *mut needle_string_list {
    let mut strings = Strings::default();
    let ptrs: Vec<*const c_char> = items.iter().map(|s| strings.add(s)).collect();
    into_owned::<_, StringListStorage>(
        needle_string_list { items: ptr_or_null(&ptrs), len: ptrs.len() },
        (ptrs, strings),
    )
}

/// A Needle-owned copy of `s` for the caller, freed with `needle_string_free`.
pub(crate) fn new_string(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', "\\u0000")).unwrap_or_default().into_raw()
}

/// Frees hits returned by `needle_collection_search`. NULL is a no-op.
///
/// # Safety
/// `hits` is NULL or came from `needle_collection_search` and was not freed before; every pointer
/// inside it is dangling afterwards. Thread safety: do not free a block another thread is reading.
#[no_mangle]
pub unsafe extern "C" fn needle_hits_free(hits: *mut needle_hits) {
    // SAFETY: caller's contract; blocks of this type are made only by new_hits.
    ffi_guard!(or(), { unsafe { free_owned::<needle_hits, HitsStorage>(hits) } })
}

/// Frees results returned by `needle_collection_search_batch`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or came from `needle_collection_search_batch` and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn needle_hits_list_free(list: *mut needle_hits_list) {
    // SAFETY: caller's contract; blocks of this type are made only by new_hits_list.
    ffi_guard!(or(), { unsafe { free_owned::<needle_hits_list, HitsListStorage>(list) } })
}

/// Frees a record returned by `needle_collection_get`. NULL is a no-op.
///
/// # Safety
/// `record` is NULL or came from `needle_collection_get` and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn needle_record_free(record: *mut needle_record) {
    // SAFETY: caller's contract; blocks of this type are made only by new_record.
    ffi_guard!(or(), { unsafe { free_owned::<needle_record, RecordStorage>(record) } })
}

/// Frees records returned by `needle_collection_get_batch`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or came from `needle_collection_get_batch` and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn needle_record_list_free(list: *mut needle_record_list) {
    // SAFETY: caller's contract; blocks of this type are made only by new_record_list.
    ffi_guard!(or(), { unsafe { free_owned::<needle_record_list, RecordListStorage>(list) } })
}

/// Frees a list returned by `needle_db_list_collections`. NULL is a no-op.
///
/// # Safety
/// `list` is NULL or came from a Needle function returning `needle_string_list` and was not freed.
#[no_mangle]
pub unsafe extern "C" fn needle_string_list_free(list: *mut needle_string_list) {
    // SAFETY: caller's contract; blocks of this type are made only by new_string_list.
    ffi_guard!(or(), { unsafe { free_owned::<needle_string_list, StringListStorage>(list) } })
}

/// Frees a string returned by Needle through a `char **` out-parameter (`needle_build_info`,
/// `needle_collection_info`, …). NULL is a no-op.
///
/// # Safety
/// `s` is NULL or came from such a function and was not freed before.
#[no_mangle]
pub unsafe extern "C" fn needle_string_free(s: *mut c_char) {
    ffi_guard!(or(), {
        if !s.is_null() {
            // SAFETY: made by CString::into_raw in new_string (caller's contract).
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
