//! The error carried inside the ffi layer, and the per-thread last-error message (the libgit2
//! model: one message per thread, owned by Needle, valid until the next failing call on that thread).

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::status::needle_status;

/// A failure on its way to the C caller: a status and a message for `needle_last_error_message`.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub status: needle_status,
    pub message: String,
}

impl FfiError {
    pub(crate) fn new(status: needle_status, message: impl Into<String>) -> Self {
        FfiError { status, message: message.into() }
    }

    pub(crate) fn null(param: &str) -> Self {
        Self::new(needle_status::NEEDLE_NULL_PARAMETER, format!("parameter '{param}' must not be NULL"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(needle_status::NEEDLE_INVALID_ARGUMENT, message)
    }
}

impl From<needle_core::Error> for FfiError {
    fn from(e: needle_core::Error) -> Self {
        FfiError { status: needle_status::from_error(&e), message: e.to_string() }
    }
}

pub(crate) type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error (interior NULs are replaced).
pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
}

/// The message of the most recent call on this thread that returned an error ("" when none has).
///
/// Ownership: the string belongs to Needle and stays valid until the next Needle call on this
/// thread that fails (copy it if you need it longer); never free it; never NULL.
/// Thread safety: each thread has its own message.
#[no_mangle]
pub extern "C" fn needle_last_error_message() -> *const c_char {
    // Reading a thread-local cannot panic here except during thread teardown; fall back to "".
    LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).unwrap_or(c"".as_ptr())
}
