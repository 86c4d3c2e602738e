//! Where a failure's code and message go. Three places, for three kinds of caller:
//!
//! - the caller's own `needle_error` (optional last argument of every fallible function): code and
//!   message of exactly that call, owned by the caller — the only one that is right when many
//!   threads (or goroutines, which move between threads) share handles;
//! - the handle: `needle_db_errcode`/`needle_db_errmsg` report the most recent call on a database
//!   or on one of its collections (the sqlite3_errcode model);
//! - the thread: `needle_last_error_message()` (the libgit2 model, kept for compatibility).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use crate::status::needle_status;

/// A failure on its way to the C caller: a status and a message.
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

/// A message as C sees it: NUL-terminated, interior NULs escaped.
pub(crate) fn c_message(message: &str) -> CString {
    CString::new(message.replace('\0', "\\0")).unwrap_or_default()
}

/// Code and message of a failed call, owned by the caller. Pass one as the last argument of any
/// fallible function to receive that call's outcome: `code` is set to the returned status, and
/// `message` to NULL on success or to a new NUL-terminated explanation on failure.
///
/// Ownership: the struct is the caller's (stack or heap); `message` belongs to the struct. A call
/// given the struct first frees a message left in it, so one struct can serve many calls; call
/// `needle_error_clear` when done with it. Initialise it with `NEEDLE_ERROR_INIT` (or zero it)
/// before first use. Thread safety: use one struct per thread at a time. This layout never changes.
#[repr(C)]
pub struct needle_error {
    /// The status of the call (`NEEDLE_OK` after a success).
    pub code: needle_status,
    /// NULL after a success; otherwise the failure's message (UTF-8), owned by this struct.
    pub message: *mut c_char,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// The error slot of the handle the current call is working on (set by the handle lookups,
    /// read by the panic boundary when the call returns; calls never nest).
    static CURRENT_SLOT: RefCell<Option<Arc<ErrorSlot>>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    let c = c_message(message);
    LAST_ERROR.with(|slot| *slot.borrow_mut() = c);
}

/// Messages kept alive after being replaced, so a `needle_db_errmsg` pointer read by one thread
/// stays valid while a few failures on other threads replace it (see `needle_db_errmsg`).
const RETIRED: usize = 16;

/// The most recent outcome of calls on one database and its collections.
#[derive(Debug, Default)]
pub(crate) struct ErrorSlot {
    /// The latest status; successes only store 0 here and never take the lock.
    code: AtomicI32,
    /// Current message last; older ones retired in order.
    messages: Mutex<VecDeque<CString>>,
}

impl ErrorSlot {
    fn record(&self, status: needle_status, message: &str) {
        if status == needle_status::NEEDLE_OK {
            self.code.store(0, Ordering::Release);
            return;
        }
        let mut m = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        m.push_back(c_message(message));
        while m.len() > RETIRED {
            m.pop_front();
        }
        self.code.store(status as i32, Ordering::Release);
    }

    pub(crate) fn code(&self) -> i32 {
        self.code.load(Ordering::Acquire)
    }

    /// The current message ("" after a success); valid until `RETIRED` more failures are
    /// recorded or the slot drops.
    pub(crate) fn message(&self) -> *const c_char {
        if self.code() == 0 {
            return c"".as_ptr();
        }
        let m = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        m.back().map_or(c"".as_ptr(), |c| c.as_ptr())
    }
}

/// Binds the running call to a handle's error slot (called by the handle lookups).
pub(crate) fn bind_slot(slot: &Arc<ErrorSlot>) {
    CURRENT_SLOT.with(|s| *s.borrow_mut() = Some(slot.clone()));
}

/// Reports a finished call: the thread's last error (failures only), the bound handle's slot
/// and the caller's `needle_error`.
///
/// # Safety
/// `err` is NULL or points to a writable `needle_error` that is zeroed or was last filled by Needle.
pub(crate) unsafe fn report(status: needle_status, message: &str, err: *mut needle_error) {
    if status != needle_status::NEEDLE_OK {
        set_last_error(message);
    }
    if let Some(slot) = CURRENT_SLOT.with(|s| s.borrow_mut().take()) {
        slot.record(status, message);
    }
    // SAFETY: caller's contract.
    if let Some(e) = unsafe { err.as_mut() } {
        // SAFETY: a non-NULL message in the struct was made by CString::into_raw below (contract).
        unsafe { clear(e) };
        e.code = status;
        if status != needle_status::NEEDLE_OK {
            e.message = c_message(message).into_raw();
        }
    }
}

/// Clears the slot binding left by an earlier call on this thread (a call starts unbound).
pub(crate) fn unbind_slot() {
    CURRENT_SLOT.with(|s| s.borrow_mut().take());
}

/// Frees `e.message` and resets `e` to `NEEDLE_OK` / NULL.
///
/// # Safety
/// `e.message` is NULL or came from `CString::into_raw` and was not freed.
pub(crate) unsafe fn clear(e: &mut needle_error) {
    if !e.message.is_null() {
        // SAFETY: caller's contract.
        drop(unsafe { CString::from_raw(e.message) });
    }
    e.message = std::ptr::null_mut();
    e.code = needle_status::NEEDLE_OK;
}

/// This thread's last error message (see `needle_last_error_message` in `error_api.rs`); "" when
/// there is none or during thread teardown.
pub(crate) fn last_error_ptr() -> *const c_char {
    // Reading a thread-local cannot panic here except during thread teardown; fall back to "".
    LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn handle_messages_outlive_later_failures_and_successes_clear_the_code() {
        let slot = ErrorSlot::default();
        assert_eq!(slot.code(), 0);
        slot.record(needle_status::NEEDLE_IO, "first");
        let first = slot.message();
        // A reader holding `first` while other threads fail RETIRED - 1 more times still reads it.
        for i in 0..RETIRED - 1 {
            slot.record(needle_status::NEEDLE_INVALID_ID, &format!("later {i}"));
        }
        // SAFETY: `first` is still retained by the slot (fewer than RETIRED replacements).
        assert_eq!(unsafe { CStr::from_ptr(first) }.to_str().unwrap(), "first");
        // SAFETY: the current message is owned by the slot.
        assert_eq!(unsafe { CStr::from_ptr(slot.message()) }.to_str().unwrap(), format!("later {}", RETIRED - 2));
        assert_eq!(slot.code(), needle_status::NEEDLE_INVALID_ID as i32);
        slot.record(needle_status::NEEDLE_OK, "");
        assert_eq!(slot.code(), 0);
        // SAFETY: a static empty string.
        assert_eq!(unsafe { CStr::from_ptr(slot.message()) }.to_bytes(), b"");
        assert_eq!(slot.messages.lock().unwrap().len(), RETIRED);
    }
}
