//! `needle_collection`: insert, upsert, get, delete, search (single and batch), count, info.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_api::Collection;

use crate::config;
use crate::error::{bind_slot, needle_error, ErrorSlot, FfiError, FfiResult};
use crate::handle::{
    borrow, free_handle, into_handle, opt_out_arg, opt_str_arg, opt_str_array_arg, out_arg, slice_arg, str_arg,
    str_array_arg, Opaque,
};
use crate::panic::ffi_guard;
use crate::results::{
    needle_hits, needle_hits_list, needle_record, needle_record_list, new_hits, new_hits_list, new_record,
    new_record_list, new_string,
};
use crate::status::needle_status;

/// A handle to one collection. Opaque. Made by `needle_db_create_collection` /
/// `needle_db_collection`, destroyed by `needle_collection_free`. Thread safety: every function
/// taking `const needle_collection*` may be called from many threads at once (searches run in
/// parallel; writes are serialised inside); `needle_collection_free` must not race other calls on
/// the same handle.
pub struct needle_collection {
    _private: [u8; 0],
}

pub(crate) struct CollectionHandle {
    c: Collection,
    db_open: Arc<AtomicBool>,
    /// The database's error slot: calls on a collection report to its database's handle.
    errors: Arc<ErrorSlot>,
}

impl CollectionHandle {
    pub(crate) fn new_handle(
        c: Collection,
        db_open: Arc<AtomicBool>,
        errors: Arc<ErrorSlot>,
    ) -> *mut needle_collection {
        into_handle::<needle_collection>(CollectionHandle { c, db_open, errors })
    }
}

impl Opaque for needle_collection {
    type Real = CollectionHandle;
}

/// The live collection behind a handle; a closed database is NEEDLE_CLOSED.
///
/// # Safety
/// As for `handle::borrow`.
pub(crate) unsafe fn coll<'a>(c: *const needle_collection) -> FfiResult<&'a Collection> {
    // SAFETY: caller's contract.
    let h: &CollectionHandle = unsafe { borrow(c, "collection")? };
    bind_slot(&h.errors);
    if !h.db_open.load(Ordering::Acquire) {
        return Err(FfiError::new(
            needle_status::NEEDLE_CLOSED,
            format!("collection '{}': its database was closed", h.c.name()),
        ));
    }
    Ok(&h.c)
}

/// `count` vectors of `dim` floats, row-major; `param` names the argument in errors.
///
/// # Safety
/// `vectors` is NULL or points to `count * dim` floats valid for the call.
pub(crate) unsafe fn rows<'a>(vectors: *const f32, count: usize, dim: usize, param: &str) -> FfiResult<&'a [f32]> {
    let n = count.checked_mul(dim).ok_or_else(|| FfiError::invalid("count * dim overflows"))?;
    // SAFETY: caller's contract.
    unsafe { slice_arg(vectors, n, param) }
}

/// The arguments of a single-query search: the live collection, the query (`dim` floats) and
/// the parsed parameters.
///
/// # Safety
/// As for [`coll`], [`rows`] and `handle::opt_str_arg`.
pub(crate) unsafe fn query_args<'a>(
    collection: *const needle_collection,
    query: *const f32,
    dim: usize,
    k: usize,
    params_json: *const c_char,
) -> FfiResult<(&'a Collection, &'a [f32], needle_api::SearchParams)> {
    // SAFETY: caller's contract.
    let (c, q, json) =
        unsafe { (coll(collection)?, rows(query, 1, dim, "query")?, opt_str_arg(params_json, "params_json")?) };
    Ok((c, q, config::search(k, json)?))
}

/// Frees a collection handle. NULL is a no-op. The collection itself is unaffected.
///
/// # Safety
/// `collection` is NULL or a handle not freed before; it is dangling afterwards.
#[no_mangle]
pub unsafe extern "C" fn needle_collection_free(collection: *mut needle_collection) {
    // SAFETY: caller's contract.
    ffi_guard!(or(), { drop(unsafe { free_handle(collection) }) })
}

/// The vector dimensions of the collection, into `*out`.
///
/// # Safety
/// `collection` is NULL or a live handle; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_dimensions(
    collection: *const needle_collection,
    out: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, out) = unsafe { (coll(collection)?, out_arg(out, "out")?) };
        out.write(c.dimensions());
        Ok(())
    })
}

/// The number of live vectors, into `*out`.
///
/// # Safety
/// `collection` is NULL or a live handle; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_count(
    collection: *const needle_collection,
    out: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, out) = unsafe { (coll(collection)?, out_arg(out, "out")?) };
        out.write(c.count()?);
        Ok(())
    })
}

/// A JSON summary of the collection (config, component ids, counts, memory, SIMD backend).
///
/// Ownership: on NEEDLE_OK `*out_json` receives a string owned by the caller; free it with
/// `needle_string_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `out_json` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_info(
    collection: *const needle_collection,
    out_json: *mut *mut c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, out) = unsafe { (coll(collection)?, out_arg(out_json, "out_json")?) };
        let json = serde_json::to_string(&c.info()?).map_err(needle_core::Error::from)?;
        out.write(new_string(&json));
        Ok(())
    })
}

/// Inserts one vector: `id` (UTF-8), `dim` floats at `vector`, and optional JSON metadata (NULL =
/// none; otherwise a JSON object, anything else is NEEDLE_INVALID_ARGUMENT). An existing id is
/// NEEDLE_DUPLICATE_ID (see `needle_collection_upsert`). Ids are 1 to NEEDLE_MAX_ID_BYTES bytes of
/// UTF-8 without control characters (otherwise NEEDLE_INVALID_ID).
///
/// Ownership: every argument is borrowed for the call (the data is copied).
///
/// # Safety
/// `collection` is NULL or a live handle; strings NULL or NUL-terminated; `vector` NULL or `dim` floats.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_insert(
    collection: *const needle_collection,
    id: *const c_char,
    vector: *const f32,
    dim: usize,
    metadata_json: *const c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, id, v, meta) = unsafe {
            (
                coll(collection)?,
                str_arg(id, "id")?,
                rows(vector, 1, dim, "vector")?,
                opt_str_arg(metadata_json, "metadata_json")?,
            )
        };
        Ok(c.insert(id, v, config::metadata(meta)?)?)
    })
}

/// Inserts `count` vectors at once (faster than one by one). `ids` holds `count` strings,
/// `vectors` holds `count * dim` floats row-major, `metadata_json` is NULL (no metadata) or holds
/// `count` entries, each NULL or a JSON string. All or nothing: every item is validated before any
/// is inserted, and the error message names the offending item.
///
/// Ownership: every argument is borrowed for the call.
///
/// # Safety
/// `collection` is NULL or a live handle; arrays are NULL or hold `count` (or `count * dim`) valid
/// elements; strings are NUL-terminated.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_insert_batch(
    collection: *const needle_collection,
    ids: *const *const c_char,
    vectors: *const f32,
    count: usize,
    dim: usize,
    metadata_json: *const *const c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, ids, data, metas) = unsafe {
            (
                coll(collection)?,
                str_array_arg(ids, count, "ids")?,
                rows(vectors, count, dim, "vectors")?,
                opt_str_array_arg(metadata_json, count, "metadata_json")?,
            )
        };
        let mut items = Vec::with_capacity(count);
        for (i, (id, meta)) in ids.into_iter().zip(metas).enumerate() {
            let meta =
                config::metadata(meta).map_err(|e| FfiError::new(e.status, format!("item {i}: {}", e.message)))?;
            items.push((id.to_string(), data[i * dim..(i + 1) * dim].to_vec(), meta));
        }
        Ok(c.insert_batch(&items)?)
    })
}

/// Inserts, or replaces the vector and metadata of an existing id. `*replaced` (if not NULL)
/// tells whether it replaced one.
///
/// # Safety
/// As for `needle_collection_insert`; `replaced` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_upsert(
    collection: *const needle_collection,
    id: *const c_char,
    vector: *const f32,
    dim: usize,
    metadata_json: *const c_char,
    replaced: *mut bool,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, id, v, meta, replaced) = unsafe {
            (
                coll(collection)?,
                str_arg(id, "id")?,
                rows(vector, 1, dim, "vector")?,
                opt_str_arg(metadata_json, "metadata_json")?,
                opt_out_arg(replaced),
            )
        };
        let r = c.upsert(id, v, config::metadata(meta)?)?;
        if let Some(out) = replaced {
            out.write(r);
        }
        Ok(())
    })
}

/// Upserts `count` vectors (arguments as for `needle_collection_insert_batch`). Every item is
/// validated first; then they are applied in order. `*replaced` (if not NULL) receives how many
/// replaced an existing id.
///
/// # Safety
/// As for `needle_collection_insert_batch`; `replaced` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_upsert_batch(
    collection: *const needle_collection,
    ids: *const *const c_char,
    vectors: *const f32,
    count: usize,
    dim: usize,
    metadata_json: *const *const c_char,
    replaced: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, ids, data, metas, replaced) = unsafe {
            (
                coll(collection)?,
                str_array_arg(ids, count, "ids")?,
                rows(vectors, count, dim, "vectors")?,
                opt_str_array_arg(metadata_json, count, "metadata_json")?,
                opt_out_arg(replaced),
            )
        };
        let mut items = Vec::with_capacity(count);
        for (i, (id, meta)) in ids.into_iter().zip(metas).enumerate() {
            let v = &data[i * dim..(i + 1) * dim];
            let at = |e: FfiError| FfiError::new(e.status, format!("item {i}: {}", e.message));
            c.check(id, v).map_err(|e| at(e.into()))?;
            items.push((id, v, config::metadata(meta).map_err(at)?));
        }
        let mut n = 0;
        for (id, v, meta) in items {
            n += usize::from(c.upsert(id, v, meta)?);
        }
        if let Some(out) = replaced {
            out.write(n);
        }
        Ok(())
    })
}

/// The vector and metadata stored under `id`. A missing id is NEEDLE_VECTOR_NOT_FOUND.
///
/// Ownership: on NEEDLE_OK `*out` receives a record owned by the caller; free it with
/// `needle_record_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `id` NULL or NUL-terminated; `out` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_get(
    collection: *const needle_collection,
    id: *const c_char,
    out: *mut *mut needle_record,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, id, out) = unsafe { (coll(collection)?, str_arg(id, "id")?, out_arg(out, "out")?) };
        let r = c.get(id)?.ok_or_else(|| needle_core::Error::VectorNotFound(id.to_string()))?;
        out.write(new_record(r));
        Ok(())
    })
}

/// The records of `count` ids, in order; ids that do not exist give entries with NULL `id`.
///
/// Ownership: on NEEDLE_OK `*out` receives a list owned by the caller; free it with
/// `needle_record_list_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `ids` NULL or `count` NUL-terminated strings; `out` NULL
/// or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_get_batch(
    collection: *const needle_collection,
    ids: *const *const c_char,
    count: usize,
    out: *mut *mut needle_record_list,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, ids, out) = unsafe { (coll(collection)?, str_array_arg(ids, count, "ids")?, out_arg(out, "out")?) };
        let records = ids.into_iter().map(|id| c.get(id)).collect::<Result<Vec<_>, _>>()?;
        out.write(new_record_list(records));
        Ok(())
    })
}

/// Deletes `id`. `*existed` (if not NULL) tells whether it existed; a missing id is not an error.
///
/// # Safety
/// `collection` is NULL or a live handle; `id` NULL or NUL-terminated; `existed` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_delete(
    collection: *const needle_collection,
    id: *const c_char,
    existed: *mut bool,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, id, existed) = unsafe { (coll(collection)?, str_arg(id, "id")?, opt_out_arg(existed)) };
        let e = c.delete(id)?;
        if let Some(out) = existed {
            out.write(e);
        }
        Ok(())
    })
}

/// Deletes `count` ids; `*deleted` (if not NULL) receives how many existed.
///
/// # Safety
/// `collection` is NULL or a live handle; `ids` NULL or `count` NUL-terminated strings; `deleted`
/// NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_delete_batch(
    collection: *const needle_collection,
    ids: *const *const c_char,
    count: usize,
    deleted: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, ids, deleted) = unsafe { (coll(collection)?, str_array_arg(ids, count, "ids")?, opt_out_arg(deleted)) };
        let mut n = 0;
        for id in ids {
            n += usize::from(c.delete(id)?);
        }
        if let Some(out) = deleted {
            out.write(n);
        }
        Ok(())
    })
}

/// The `k` nearest vectors to `query` (`dim` floats), closest first; `k` is 1 to NEEDLE_MAX_K
/// (otherwise NEEDLE_INVALID_ARGUMENT). `params_json` may be NULL or
/// a JSON object with any of `"ef_search"`, `"include_metadata"` (default true),
/// `"rescore_factor"`, `"strategy"` (`"graph"`, `"filtered-graph"` or `"exact"`, overriding the
/// planner) and `"filter"`: a metadata filter in the Rust and HTTP syntax, e.g.
/// `{"lang": "en", "year": {"$gte": 2020}}` (operators `$eq $ne $gt $gte $lt $lte $in $nin
/// $exists $and $or $not`, dotted paths); with a filter there are `min(k, matches)` hits. A
/// malformed filter is NEEDLE_INVALID_FILTER.
///
/// Ownership: on NEEDLE_OK `*out` receives hits owned by the caller; free them with
/// `needle_hits_free`. Thread safety: searches on one collection run in parallel.
///
/// # Safety
/// `collection` is NULL or a live handle; `query` NULL or `dim` floats; `params_json` NULL or
/// NUL-terminated; `out` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_search(
    collection: *const needle_collection,
    query: *const f32,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    out: *mut *mut needle_hits,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let ((c, q, params), out) =
            unsafe { (query_args(collection, query, dim, k, params_json)?, out_arg(out, "out")?) };
        out.write(new_hits(&c.search_with(q, &params)?));
        Ok(())
    })
}

/// Searches `count` queries (`count * dim` floats, row-major) in parallel; parameters as for
/// `needle_collection_search` (a filter is resolved once for the whole batch).
///
/// Ownership: on NEEDLE_OK `*out` receives one `needle_hits` per query, owned by the caller; free
/// them all with `needle_hits_list_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `queries` NULL or `count * dim` floats; `params_json`
/// NULL or NUL-terminated; `out` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_search_batch(
    collection: *const needle_collection,
    queries: *const f32,
    count: usize,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    out: *mut *mut needle_hits_list,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, data, json, out) = unsafe {
            (
                coll(collection)?,
                rows(queries, count, dim, "queries")?,
                opt_str_arg(params_json, "params_json")?,
                out_arg(out, "out")?,
            )
        };
        let params = config::search(k, json)?;
        let qs: Vec<Vec<f32>> =
            if dim == 0 { vec![Vec::new(); count] } else { data.chunks(dim).map(<[f32]>::to_vec).collect() };
        out.write(new_hits_list(&c.batch_search(&qs, k, Some(&params))?));
        Ok(())
    })
}

/// Like `needle_collection_search`, and explains how the query ran: `*out_json` receives
/// `{"results": [{"id", "distance", "metadata"}…], "profile": {"strategy", "index", "k", "ef",
/// "live", "filter_matches", "selectivity", "layers_traversed", "nodes_visited",
/// "distance_computations", "quantized", "candidates_rescored", "returned", "phases": {"filter_us",
/// "plan_us", "search_us", "rescore_us", "fetch_us", "total_us"}}}`.
///
/// Ownership: on NEEDLE_OK `*out_json` receives a string owned by the caller; free it with
/// `needle_string_free`.
///
/// # Safety
/// As for `needle_collection_search`; `out_json` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_search_explain(
    collection: *const needle_collection,
    query: *const f32,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    out_json: *mut *mut c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let ((c, q, params), out) =
            unsafe { (query_args(collection, query, dim, k, params_json)?, out_arg(out_json, "out_json")?) };
        let explained = c.search_explain_with(q, &params)?;
        out.write(new_string(&serde_json::to_string(&explained).map_err(needle_core::Error::from)?));
        Ok(())
    })
}
