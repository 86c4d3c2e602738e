//! `needle_db`: open, close, save, and the collections of a database.

use std::ffi::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use needle_api::Database;

use crate::collection::{needle_collection, CollectionHandle};
use crate::config;
use crate::error::{bind_slot, needle_error, ErrorSlot, FfiResult};
use crate::handle::{borrow, free_handle, into_handle, opt_out_arg, opt_str_arg, out_arg, str_arg, Opaque};
use crate::panic::ffi_guard;
use crate::results::{needle_string_list, new_string_list};
use crate::status::needle_status;

/// An open database. Opaque. Made by `needle_db_open` / `needle_db_open_memory`, destroyed by
/// `needle_db_close`. Thread safety: every function taking `const needle_db*` may be called from
/// many threads at once; `needle_db_close` must not run concurrently with any other call on it.
pub struct needle_db {
    _private: [u8; 0],
}

pub(crate) struct DbHandle {
    pub(crate) db: Database,
    /// Cleared by `needle_db_close`; collection handles check it.
    pub(crate) open: Arc<AtomicBool>,
    /// The latest outcome of calls on this database and its collections (`needle_db_errmsg`).
    pub(crate) errors: Arc<ErrorSlot>,
}

impl Opaque for needle_db {
    type Real = DbHandle;
}

/// # Safety
/// As for `handle::borrow`.
pub(crate) unsafe fn db_arg<'a>(db: *const needle_db) -> FfiResult<&'a DbHandle> {
    // SAFETY: caller's contract.
    let h: &DbHandle = unsafe { borrow(db, "db") }?;
    bind_slot(&h.errors);
    Ok(h)
}

fn new_db(db: Database) -> *mut needle_db {
    into_handle::<needle_db>(DbHandle { db, open: Arc::new(AtomicBool::new(true)), errors: Arc::default() })
}

/// Opens the database file at `path`, creating an empty one when it does not exist (unless
/// read-only). `config_json` may be NULL or a JSON object with any of: `"read_only"` (bool),
/// `"storage"` (backend id, default `"mmap"`), `"mmap_threshold"`, `"cache_size"` (bytes),
/// `"plugins"` (array of shared-library paths to load before opening), `"encryption_key"` (hex of a
/// raw key, 64 digits for AES-256-GCM) or `"encryption_passphrase"`, `"encryption_cipher"` (cipher
/// id, default `"aes-256-gcm"`), `"durability"` (`"immediate"` (default), `"batched"` with
/// `"batch_ms"`, or `"on_save"`), `"wal_autocheckpoint"` (bytes). Unknown keys are errors. A wrong
/// key for an encrypted file is NEEDLE_WRONG_KEY; an `"encryption_cipher"` other than the one the
/// file was written with is NEEDLE_INVALID_CONFIG; a file whose key-derivation parameters are out
/// of Needle's bounds (docs/format.md) is NEEDLE_CORRUPTED, refused before any key is derived.
///
/// Files: beside `path` Needle keeps `<path>-wal` (the write-ahead log, emptied and removed by a
/// clean close) and, while open for writing, holds an advisory lock on `<path>-lock` (created on
/// first open and left in place; a second writer, in this or another process, gets
/// NEEDLE_LOCKED). A 0-byte file at `path` (e.g. made by `mkstemp`) opens as an empty database.
///
/// Ownership: `path` and `config_json` are borrowed for the call. On NEEDLE_OK, `*out` receives a
/// new handle owned by the caller (release it with `needle_db_close`); on error `*out` is untouched.
/// Thread safety: safe from any thread.
///
/// # Safety
/// `path` and `config_json` are NULL or NUL-terminated strings; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_open(
    path: *const c_char,
    config_json: *const c_char,
    out: *mut *mut needle_db,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (path, json, out) =
            unsafe { (str_arg(path, "path")?, opt_str_arg(config_json, "config_json")?, out_arg(out, "out")?) };
        let config = config::database(json)?;
        let db = Database::open_with_config(path, config)?;
        out.write(new_db(db));
        Ok(())
    })
}

/// Creates a database that lives only in memory (`needle_db_save` does nothing).
///
/// Ownership: on NEEDLE_OK `*out` receives a new handle owned by the caller (release it with
/// `needle_db_close`). Thread safety: safe from any thread.
///
/// # Safety
/// `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_open_memory(out: *mut *mut needle_db, err: *mut needle_error) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract.
        let out = unsafe { out_arg(out, "out")? };
        out.write(new_db(Database::in_memory()));
        Ok(())
    })
}

/// Closes a database: saves unsaved changes, then frees the handle. NULL is a no-op returning
/// NEEDLE_OK. The handle is freed even when saving fails (the status says so). Collection handles
/// taken from it stay valid to free, but every other call on them returns NEEDLE_CLOSED.
///
/// Ownership: takes ownership of `db`; it is dangling afterwards. Thread safety: no other call may
/// use `db` (or its collections) concurrently.
///
/// # Safety
/// `db` is NULL or a handle from `needle_db_open*` that was not closed before.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_close(db: *mut needle_db, err: *mut needle_error) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract; the handle is not used after this.
        let Some(h) = (unsafe { free_handle(db) }) else { return Ok(()) };
        h.open.store(false, Ordering::Release);
        let saved = if h.db.is_dirty() { h.db.save() } else { Ok(()) };
        drop(h);
        Ok(saved?)
    })
}

/// Writes every collection to the file (a checkpoint). In-memory databases: no-op.
///
/// Thread safety: safe to call concurrently with any call except `needle_db_close`.
///
/// # Safety
/// `db` is NULL or a live handle.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_save(db: *const needle_db, err: *mut needle_error) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract.
        let h = unsafe { db_arg(db)? };
        Ok(h.db.save()?)
    })
}

/// Rewrites every collection without its deleted vectors and checkpoints (the file shrinks).
///
/// Thread safety: safe to call concurrently with any call except `needle_db_close`.
///
/// # Safety
/// `db` is NULL or a live handle.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_compact(db: *const needle_db, err: *mut needle_error) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract.
        let h = unsafe { db_arg(db)? };
        Ok(h.db.compact()?)
    })
}

/// Creates a collection of `dim`-dimensional vectors. `config_json` may be NULL (cosine, HNSW with
/// M=16, ef_construction=200, ef_search=64, no quantization) or a JSON object with any of:
/// `"distance"` (`"cosine"`, `"euclidean"`/`"l2"`, `"dot"`, `"manhattan"`, or a plugin's id),
/// `"index"` (`"hnsw"`, `"flat"`, or a plugin's id), `"hnsw_m"`, `"ef_construction"`,
/// `"ef_search"`, `"quantization"` (`"none"`, `"sq8"`, or a plugin's id), `"seed"`,
/// `"rescore_factor"`, `"text_field"`. Unknown keys are errors. `name` is 1 to
/// NEEDLE_MAX_COLLECTION_NAME_BYTES characters of `A-Z a-z 0-9 _ - .`, not starting with `.`
/// (otherwise NEEDLE_INVALID_ARGUMENT).
///
/// Ownership: strings are borrowed. `out` may be NULL; otherwise on NEEDLE_OK `*out` receives a new
/// collection handle owned by the caller (free it with `needle_collection_free`).
/// Thread safety: safe from any thread.
///
/// # Safety
/// `db` is NULL or a live handle; strings are NULL or NUL-terminated; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_create_collection(
    db: *const needle_db,
    name: *const c_char,
    dim: usize,
    config_json: *const c_char,
    out: *mut *mut needle_collection,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (h, name, json, out) = unsafe {
            (db_arg(db)?, str_arg(name, "name")?, opt_str_arg(config_json, "config_json")?, opt_out_arg(out))
        };
        let config = config::collection(name, dim, json)?;
        let c = h.db.create_collection_with_config(config)?;
        if let Some(out) = out {
            out.write(CollectionHandle::new_handle(c, h.open.clone(), h.errors.clone()));
        }
        Ok(())
    })
}

/// Opens a handle to an existing collection.
///
/// Ownership: on NEEDLE_OK `*out` receives a new handle owned by the caller (free it with
/// `needle_collection_free`); several handles to one collection share its data.
/// Thread safety: safe from any thread.
///
/// # Safety
/// `db` is NULL or a live handle; `name` is NULL or NUL-terminated; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_collection(
    db: *const needle_db,
    name: *const c_char,
    out: *mut *mut needle_collection,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (h, name, out) = unsafe { (db_arg(db)?, str_arg(name, "name")?, out_arg(out, "out")?) };
        let c = h.db.collection(name)?;
        out.write(CollectionHandle::new_handle(c, h.open.clone(), h.errors.clone()));
        Ok(())
    })
}

/// Drops a collection and its data. Existing handles to it then return NEEDLE_COLLECTION_NOT_FOUND
/// (they must still be freed).
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `db` is NULL or a live handle; `name` is NULL or NUL-terminated.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_drop_collection(
    db: *const needle_db,
    name: *const c_char,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (h, name) = unsafe { (db_arg(db)?, str_arg(name, "name")?) };
        Ok(h.db.drop_collection(name)?)
    })
}

/// The names of all collections, sorted.
///
/// Ownership: on NEEDLE_OK `*out` receives a list owned by the caller; free it with
/// `needle_string_list_free`. Thread safety: safe from any thread.
///
/// # Safety
/// `db` is NULL or a live handle; `out` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_db_list_collections(
    db: *const needle_db,
    out: *mut *mut needle_string_list,
    err: *mut needle_error,
) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: pointer contracts are the caller's, as documented above.
        let (h, out) = unsafe { (db_arg(db)?, out_arg(out, "out")?) };
        out.write(new_string_list(&h.db.list_collections()?));
        Ok(())
    })
}

/// The status of the most recent call on `db` or on a collection handle taken from it
/// (`NEEDLE_OK` after a success; `NEEDLE_NULL_PARAMETER` when `db` is NULL). The sqlite3_errcode
/// model: when several threads use the handle at once, another thread's call may be reported,
/// so such programs should pass a `needle_error` instead.
///
/// Thread safety: safe from any thread.
///
/// # Safety
/// `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn needle_db_errcode(db: *const needle_db) -> needle_status {
    // SAFETY: caller's contract.
    ffi_guard!(or needle_status::NEEDLE_PANIC, {
        // SAFETY: caller's contract.
        match unsafe { borrow::<needle_db>(db, "db") } {
            Ok(h) => needle_status::from_number(h.errors.code()),
            Err(e) => e.status,
        }
    })
}

/// The message of the most recent call on `db` or on a collection handle taken from it that
/// failed, or "" when the most recent call succeeded (see `needle_db_errcode` for threads).
///
/// Ownership: the string belongs to the handle; never free it; never NULL. It stays valid until
/// 16 more calls on the handle have failed or the handle is closed, so reading it while other
/// threads use the handle is memory-safe even when it is no longer the latest message.
///
/// # Safety
/// `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn needle_db_errmsg(db: *const needle_db) -> *const c_char {
    ffi_guard!(or c"panic inside Needle (this is a bug)".as_ptr(), {
        // SAFETY: caller's contract.
        match unsafe { borrow::<needle_db>(db, "db") } {
            Ok(h) => h.errors.message(),
            Err(_) => c"parameter 'db' must not be NULL".as_ptr(),
        }
    })
}
