//! The panic boundary: every export runs its body through [`ffi_guard!`], so a panic becomes
//! `NEEDLE_PANIC` with a message instead of unwinding into C. (Rust aborts on unwinding out of an
//! `extern "C"` function anyway; this makes it an ordinary, reportable error.)

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{set_last_error, FfiResult};
use crate::status::needle_status;

/// Runs an export's body: `Ok` → `NEEDLE_OK`; `Err` → its status (message recorded); panic →
/// `NEEDLE_PANIC` (message recorded).
pub(crate) fn run(body: impl FnOnce() -> FfiResult<()>) -> needle_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => needle_status::NEEDLE_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            set_last_error(&format!("panic inside Needle (this is a bug): {what}"));
            needle_status::NEEDLE_PANIC
        }
    }
}

/// Like [`run`] for exports that return a value instead of a status: a panic gives `fallback`.
pub(crate) fn run_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        set_last_error("panic inside Needle (this is a bug)");
        fallback
    })
}

/// Wraps an export's body (a block evaluating to `FfiResult<()>`) in the panic boundary.
macro_rules! ffi_guard {
    ($body:block) => {
        $crate::panic::run(move || -> $crate::error::FfiResult<()> { $body })
    };
    (or $fallback:expr, $body:block) => {
        $crate::panic::run_or($fallback, move || $body)
    };
}
pub(crate) use ffi_guard;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FfiError;

    #[test]
    fn panics_become_a_status_with_a_message() {
        let s = run(|| panic!("boom {}", 7));
        assert_eq!(s, needle_status::NEEDLE_PANIC);
        // SAFETY: the pointer is this thread's NUL-terminated last-error string, read right away.
        let msg = unsafe { std::ffi::CStr::from_ptr(crate::error::needle_last_error_message()) };
        assert!(msg.to_str().unwrap().contains("boom 7"));
        let s = run(|| Err(FfiError::null("db")));
        assert_eq!(s, needle_status::NEEDLE_NULL_PARAMETER);
        assert_eq!(run(|| Ok(())), needle_status::NEEDLE_OK);
        assert_eq!(run_or(5, || panic!("x")), 5);
    }
}
