//! The two C functions of the error reporting in `error.rs`: `needle_error_clear` and
//! `needle_last_error_message`.
//!
//! They live apart from `error.rs` because `needle_error_clear` runs inside the panic boundary
//! (`panic.rs`), which itself reports through `error.rs`: kept there, the two files would import
//! each other.

use std::ffi::c_char;

use crate::error::{clear, last_error_ptr, needle_error};
use crate::panic::ffi_guard;

/// Frees the message held by `err` and resets it to `NEEDLE_OK` / NULL (like `NEEDLE_ERROR_INIT`).
/// NULL is a no-op.
///
/// Ownership: `err` stays the caller's; only its message is freed.
///
/// # Safety
/// `err` is NULL or points to a `needle_error` that is zeroed or was last filled by Needle.
#[no_mangle]
pub unsafe extern "C" fn needle_error_clear(err: *mut needle_error) {
    ffi_guard!(or(), {
        // SAFETY: caller's contract.
        if let Some(e) = unsafe { err.as_mut() } {
            // SAFETY: caller's contract.
            unsafe { clear(e) }
        }
    })
}

/// The message of the most recent call on this OS thread that returned an error ("" when none
/// has). Thread-local (the libgit2 model), kept for compatibility: a goroutine or green thread
/// that moves between OS threads, or code that makes another Needle call first, can read some
/// other call's message. Prefer the `needle_error` argument, or `needle_db_errmsg` when one thread
/// uses the handle.
///
/// Ownership: the string belongs to Needle and stays valid until the next Needle call on this
/// thread that fails (copy it if you need it longer); never free it; never NULL.
#[no_mangle]
pub extern "C" fn needle_last_error_message() -> *const c_char {
    last_error_ptr()
}
