//! Looking after a database from C: backups, compaction of one collection, listing ids page by
//! page, and `needle_auto_tune` (settings for a workload, from the engine's fitted model).

use std::ffi::c_char;

use crate::collection::{coll, needle_collection};
use crate::config;
use crate::db::{db_arg, needle_db};
use crate::error::needle_error;
use crate::handle::{out_arg, str_arg};
use crate::panic::ffi_guard;
use crate::results::{needle_string_list, new_string, new_string_list};
use crate::status::needle_status;

/// Writes a consistent copy of the whole database to `dest_path` while it stays in use (writers
/// wait while the copy is taken). The copy is a complete database file with no WAL; an encrypted
/// database is copied encrypted under the same key. An existing `dest_path` is replaced.
///
/// Thread safety: safe to call concurrently with any call except `needle_db_close`.
///
/// # Safety
/// `db` is NULL or a live handle; `dest_path` NULL or NUL-terminated.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_backup(
    db: *const needle_db,
    dest_path: *const c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (h, dest) = unsafe { (db_arg(db)?, str_arg(dest_path, "dest_path")?) };
        Ok(h.db.backup_to(dest)?)
    })
}

/// Rebuilds one collection without its deleted vectors (its index and storage shrink; results
/// are unchanged). `needle_db_compact` does every collection and also rewrites the file.
///
/// # Safety
/// `collection` is NULL or a live handle.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_compact(
    collection: *const needle_collection,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract.
        let c = unsafe { coll(collection)? };
        Ok(c.compact()?)
    })
}

/// Live ids, in storage order, from position `offset`, at most `limit` of them (`limit` 0 = all
/// the rest). Page through a large collection with `offset += list->len` until a page comes back
/// shorter than `limit`; the order is stable while no vector is inserted or deleted.
///
/// Ownership: on NEEDLE_OK `*out` receives a list owned by the caller; free it with
/// `needle_string_list_free`.
///
/// # Safety
/// `collection` is NULL or a live handle; `out` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_collection_ids(
    collection: *const needle_collection,
    offset: usize,
    limit: usize,
    out: *mut *mut needle_string_list,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (c, out) = unsafe { (coll(collection)?, out_arg(out, "out")?) };
        let ids = c.ids()?;
        let start = offset.min(ids.len());
        let end = if limit == 0 { ids.len() } else { start.saturating_add(limit).min(ids.len()) };
        out.write(new_string_list(&ids[start..end]));
        Ok(())
    })
}

/// Index settings for a workload, from the engine's model fitted to benchmark measurements.
/// `constraints_json` is a JSON object: `"num_vectors"` and `"dimensions"` (required),
/// `"profile"` (`"high_recall"`, `"balanced"` (default), `"low_latency"`, `"low_memory"`),
/// `"memory_budget"` (bytes), `"latency_target_ms"`, `"min_recall"`. `*out_json` receives
/// `{"config":{"hnsw_m","ef_construction","ef_search","quantization"}, "estimated_recall",
/// "estimated_latency_ms", "estimated_memory_bytes", "estimated_build_seconds", "profile",
/// "notes"}`; the `config` keys can be passed to `needle_db_create_collection`'s config as they
/// are. Impossible constraints are NEEDLE_INVALID_ARGUMENT; malformed JSON NEEDLE_INVALID_JSON or
/// NEEDLE_INVALID_CONFIG.
///
/// Ownership: on NEEDLE_OK `*out_json` receives a string owned by the caller; free it with
/// `needle_string_free`. Thread safety: safe from any thread.
///
/// # Safety
/// `constraints_json` is NULL or NUL-terminated; `out_json` NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_auto_tune(
    constraints_json: *const c_char,
    out_json: *mut *mut c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (json, out) = unsafe { (str_arg(constraints_json, "constraints_json")?, out_arg(out_json, "out_json")?) };
        let tuned = needle_api::auto_tune(&config::tuning(json)?)?;
        let text = serde_json::to_string(&tuned).map_err(needle_core::Error::from)?;
        out.write(new_string(&text));
        Ok(())
    })
}
