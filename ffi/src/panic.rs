//! The panic boundary: every export runs its body through [`ffi_guard!`], so a panic becomes
//! `NEEDLE_PANIC` with a message instead of unwinding into C. (Rust aborts on unwinding out of an
//! `extern "C"` function anyway; this makes it an ordinary, reportable error.) The outcome is then
//! reported to the caller's `needle_error`, the handle and the thread (see `error.rs`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{needle_error, report, set_last_error, unbind_slot, FfiResult};
use crate::status::needle_status;

/// Runs an export's body: `Ok` → `NEEDLE_OK`; `Err` → its status; panic → `NEEDLE_PANIC`; and
/// reports the outcome.
///
/// # Safety
/// `err` is NULL or points to a writable `needle_error` that is zeroed or was last filled by Needle.
pub(crate) unsafe fn run(err: *mut needle_error, body: impl FnOnce() -> FfiResult<()>) -> needle_status {
    unbind_slot();
    let (status, message) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => (needle_status::NEEDLE_OK, String::new()),
        Ok(Err(e)) => (e.status, e.message),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            (needle_status::NEEDLE_PANIC, format!("panic inside Needle (this is a bug): {what}"))
        }
    };
    // A panic while reporting (allocation failure) must not cross the boundary either.
    // SAFETY: caller's contract.
    let reported = catch_unwind(AssertUnwindSafe(|| unsafe { report(status, &message, err) }));
    if reported.is_err() {
        return needle_status::NEEDLE_PANIC;
    }
    status
}

/// Like [`run`] for exports that return a value instead of a status: a panic gives `fallback`.
pub(crate) fn run_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        set_last_error("panic inside Needle (this is a bug)");
        fallback
    })
}

/// Wraps an export's body (a block evaluating to `FfiResult<()>`) in the panic boundary;
/// `$err` is the export's `needle_error *` argument.
macro_rules! ffi_guard {
    (or $fallback:expr, $body:block) => {
        $crate::panic::run_or($fallback, move || $body)
    };
    ($err:expr, $body:block) => {{
        let body = move || -> $crate::error::FfiResult<()> { $body };
        // SAFETY: every export documents `err` as NULL or a zeroed / Needle-filled needle_error.
        unsafe { $crate::panic::run($err, body) }
    }};
}
pub(crate) use ffi_guard;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FfiError;

    #[test]
    fn panics_become_a_status_with_a_message() {
        let mut e = needle_error { code: needle_status::NEEDLE_OK, message: std::ptr::null_mut() };
        // SAFETY: `e` is zeroed and filled only by Needle; cleared below.
        let s = unsafe { run(&mut e, || panic!("boom {}", 7)) };
        assert_eq!(s, needle_status::NEEDLE_PANIC);
        assert_eq!(e.code, needle_status::NEEDLE_PANIC);
        // SAFETY: the pointers are NUL-terminated strings owned by Needle / by `e`, read right away.
        unsafe {
            let msg = std::ffi::CStr::from_ptr(crate::error_api::needle_last_error_message());
            assert!(msg.to_str().unwrap().contains("boom 7"));
            assert!(std::ffi::CStr::from_ptr(e.message).to_str().unwrap().contains("boom 7"));
            assert_eq!(run(&mut e, || Err(FfiError::null("db"))), needle_status::NEEDLE_NULL_PARAMETER);
            assert!(std::ffi::CStr::from_ptr(e.message).to_str().unwrap().contains("'db'"));
            assert_eq!(run(&mut e, || Ok(())), needle_status::NEEDLE_OK);
            assert!(e.message.is_null() && e.code == needle_status::NEEDLE_OK);
            assert_eq!(run(std::ptr::null_mut(), || Ok(())), needle_status::NEEDLE_OK);
            crate::error_api::needle_error_clear(&mut e);
        }
        assert_eq!(run_or(5, || panic!("x")), 5);
    }
}
