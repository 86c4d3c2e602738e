//! Searches that write into buffers the caller owns (the usearch model): no result block to
//! allocate or free on the C side, so a server can keep one set of buffers per worker and search
//! without touching its allocator. Ids go into fixed-size slots of one `char` buffer, distances
//! into a `float` array.

use std::ffi::c_char;

use needle_api::SearchResult;

use crate::collection::{coll, needle_collection, query_args, rows};
use crate::config;
use crate::error::{needle_error, FfiError, FfiResult};
use crate::handle::{opt_out_slice, opt_str_arg, out_arg, OutSlice};
use crate::panic::ffi_guard;
use crate::status::needle_status;

/// Copies `hits` into row `row` of the caller's buffers (ids NUL-terminated in `id_stride`-byte
/// slots). An id longer than `id_stride - 1` bytes is an error naming the size needed.
fn write_hits(
    hits: &[SearchResult],
    row: usize,
    k: usize,
    ids: &mut IdBuffer,
    id_stride: usize,
    distances: &mut DistanceBuffer,
) -> FfiResult<()> {
    for (i, h) in hits.iter().enumerate() {
        let at = row * k + i;
        if let Some(ids) = ids.as_mut() {
            let bytes = h.id.as_bytes();
            if bytes.len() >= id_stride {
                return Err(FfiError::invalid(format!(
                    "id '{}' needs {} bytes with its NUL; id_stride is {id_stride} (NEEDLE_MAX_ID_BYTES + 1 always fits)",
                    h.id,
                    bytes.len() + 1
                )));
            }
            let start = at * id_stride;
            for (j, &b) in bytes.iter().enumerate() {
                ids.set(start + j, b as c_char)?;
            }
            ids.set(start + bytes.len(), 0)?;
        }
        if let Some(d) = distances.as_mut() {
            d.set(at, h.distance)?;
        }
    }
    Ok(())
}

/// `needle_collection_search` into caller-owned buffers. Up to `k` hits, closest first: hit `i`'s
/// id is written NUL-terminated at `ids + i * id_stride` and its distance at `distances[i]`;
/// `*out_len` receives the number of hits. `ids` may be NULL (ids not wanted; `id_stride` is then
/// ignored) and so may `distances`. Metadata is never returned (`"include_metadata"` is ignored);
/// the other `params_json` keys, the filter included, work as for `needle_collection_search`. An
/// id that does not fit its slot fails the call with NEEDLE_INVALID_ARGUMENT; an `id_stride` of
/// NEEDLE_MAX_ID_BYTES + 1 always fits. On error the buffers may hold partial results.
///
/// Ownership: every buffer is the caller's and only borrowed for the call; nothing is returned
/// that must be freed. Thread safety: as for `needle_collection_search`.
///
/// # Safety
/// `collection` is NULL or a live handle; `query` NULL or `dim` floats; `params_json` NULL or
/// NUL-terminated; `ids` NULL or `k * id_stride` writable bytes; `distances` NULL or `k` writable
/// floats; `out_len` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_search_into(
    collection: *const needle_collection,
    query: *const f32,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    ids: *mut c_char,
    id_stride: usize,
    distances: *mut f32,
    out_len: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let ((c, q, params), out_len) =
            unsafe { (query_args(collection, query, dim, k, params_json)?, out_arg(out_len, "out_len")?) };
        // SAFETY: as above.
        let (mut ids, mut distances) = unsafe { buffers(ids, id_stride, distances, k, 1)? };
        let hits = c.search_with(q, &params.with_include_metadata(false))?;
        write_hits(&hits, 0, k, &mut ids, id_stride, &mut distances)?;
        out_len.write(hits.len());
        Ok(())
    })
}

/// `needle_collection_search_batch` into caller-owned buffers: `count` queries (`count * dim`
/// floats, row-major) searched in parallel. Query `q`'s hit `i` goes to `ids + (q * k + i) *
/// id_stride` and `distances[q * k + i]`; `lens[q]` receives its number of hits. Otherwise as for
/// `needle_collection_search_into`.
///
/// Ownership: every buffer is the caller's and only borrowed for the call.
///
/// # Safety
/// `collection` is NULL or a live handle; `queries` NULL or `count * dim` floats; `params_json`
/// NULL or NUL-terminated; `ids` NULL or `count * k * id_stride` writable bytes; `distances` NULL
/// or `count * k` writable floats; `lens` NULL or `count` writable `size_t`.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_search_batch_into(
    collection: *const needle_collection,
    queries: *const f32,
    count: usize,
    dim: usize,
    k: usize,
    params_json: *const c_char,
    ids: *mut c_char,
    id_stride: usize,
    distances: *mut f32,
    lens: *mut usize,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, data, json) = unsafe {
            (coll(collection)?, rows(queries, count, dim, "queries")?, opt_str_arg(params_json, "params_json")?)
        };
        // SAFETY: as above.
        let (mut ids, mut distances, lens) = unsafe {
            let (i, d) = buffers(ids, id_stride, distances, k, count)?;
            (i, d, opt_out_slice(lens, count, "lens")?.ok_or_else(|| FfiError::null("lens"))?)
        };
        let params = config::search(k, json)?.with_include_metadata(false);
        let qs: Vec<Vec<f32>> =
            if dim == 0 { vec![Vec::new(); count] } else { data.chunks(dim).map(<[f32]>::to_vec).collect() };
        let results = c.batch_search(&qs, k, Some(&params))?;
        let mut lens = lens;
        if results.len() != count {
            return Err(FfiError::new(needle_status::NEEDLE_INTERNAL, "batch search lost queries"));
        }
        for (row, hits) in results.iter().enumerate() {
            write_hits(hits, row, k, &mut ids, id_stride, &mut distances)?;
            lens.set(row, hits.len())?;
        }
        Ok(())
    })
}

/// The caller's id slots (None: ids not wanted).
type IdBuffer = Option<OutSlice<c_char>>;
/// The caller's distances (None: not wanted).
type DistanceBuffer = Option<OutSlice<f32>>;

/// The caller's id and distance buffers for `rows` queries of `k` hits.
///
/// # Safety
/// `ids` is NULL or `rows * k * id_stride` writable bytes; `distances` NULL or `rows * k` floats.
unsafe fn buffers(
    ids: *mut c_char,
    id_stride: usize,
    distances: *mut f32,
    k: usize,
    rows: usize,
) -> FfiResult<(IdBuffer, DistanceBuffer)> {
    let hits = rows.checked_mul(k).ok_or_else(|| FfiError::invalid("count * k overflows"))?;
    let id_bytes = hits.checked_mul(id_stride).ok_or_else(|| FfiError::invalid("count * k * id_stride overflows"))?;
    if !ids.is_null() && id_stride == 0 {
        return Err(FfiError::invalid("id_stride must be at least 1 when ids is given"));
    }
    // SAFETY: caller's contract.
    unsafe { Ok((opt_out_slice(ids, id_bytes, "ids")?, opt_out_slice(distances, hits, "distances")?)) }
}
