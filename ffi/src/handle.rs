//! Every pointer cast of the ffi crate lives here: opaque handles ↔ their Rust objects, argument
//! pointers → references and slices, out-parameters, and Needle-owned result blocks.
//!
//! Ownership rules (mirrored in the header's docs):
//! - a handle made by `into_handle` is owned by the caller until its destroyer runs `free_handle`;
//! - `const` handle parameters are only borrowed for the call and may be shared between threads;
//! - result blocks made by `into_owned` are freed only by the matching `needle_*_free`.

use std::ffi::{c_char, CStr};
use std::ptr::NonNull;

use crate::error::{FfiError, FfiResult};
use crate::status::needle_status;

/// An opaque C type standing for the Rust object `Real`.
pub(crate) trait Opaque {
    /// The Rust object behind the handle.
    type Real;
}

/// Moves `real` to the heap and returns it as an opaque handle pointer.
pub(crate) fn into_handle<O: Opaque>(real: O::Real) -> *mut O {
    Box::into_raw(Box::new(real)).cast()
}

/// Borrows the object behind a handle; NULL is `NEEDLE_NULL_PARAMETER`.
///
/// # Safety
/// `p` is NULL or was returned by `into_handle::<O>` and not yet freed.
pub(crate) unsafe fn borrow<'a, O: Opaque>(p: *const O, param: &str) -> FfiResult<&'a O::Real> {
    // SAFETY: non-NULL handles of type O were made from a Box<O::Real> (caller's contract).
    unsafe { p.cast::<O::Real>().as_ref() }.ok_or_else(|| FfiError::null(param))
}

/// Takes back the object behind a handle (NULL gives `None`).
///
/// # Safety
/// `p` is NULL or was returned by `into_handle::<O>` and not yet freed; it is dangling afterwards.
pub(crate) unsafe fn free_handle<O: Opaque>(p: *mut O) -> Option<O::Real> {
    if p.is_null() {
        return None;
    }
    // SAFETY: made by Box::into_raw in into_handle with the same Real type (caller's contract).
    Some(*unsafe { Box::from_raw(p.cast::<O::Real>()) })
}

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid during the call.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, param: &str) -> FfiResult<&'a str> {
    // SAFETY: caller's contract.
    unsafe { opt_str_arg(p, param) }?.ok_or_else(|| FfiError::null(param))
}

/// Like [`str_arg`], but NULL means "absent".
///
/// # Safety
/// As for [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, param: &str) -> FfiResult<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().map(Some).map_err(|e| {
        FfiError::new(needle_status::NEEDLE_INVALID_UTF8, format!("parameter '{param}' is not valid UTF-8: {e}"))
    })
}

/// `len` elements at `p`; NULL is accepted only when `len == 0`.
///
/// # Safety
/// `p` is NULL or points to `len` initialised `T`s that stay valid and unmodified during the call.
pub(crate) unsafe fn slice_arg<'a, T>(p: *const T, len: usize, param: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::null(param));
    }
    if len.checked_mul(std::mem::size_of::<T>()).is_none_or(|b| b > isize::MAX as usize) {
        return Err(FfiError::invalid(format!("parameter '{param}': length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` elements valid for the call (caller's contract), size checked above.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// `len` C strings at `p` (an array of `const char*`), each required non-NULL.
///
/// # Safety
/// As for [`slice_arg`], and each element as for [`str_arg`].
pub(crate) unsafe fn str_array_arg<'a>(p: *const *const c_char, len: usize, param: &str) -> FfiResult<Vec<&'a str>> {
    // SAFETY: caller's contract.
    let ptrs = unsafe { slice_arg(p, len, param) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is a NUL-terminated string (caller's contract).
        .map(|(i, &s)| unsafe { str_arg(s, &format!("{param}[{i}]")) })
        .collect()
}

/// Like [`str_array_arg`], but the array itself may be NULL (all absent) and so may elements.
///
/// # Safety
/// As for [`str_array_arg`].
pub(crate) unsafe fn opt_str_array_arg<'a>(
    p: *const *const c_char,
    len: usize,
    param: &str,
) -> FfiResult<Vec<Option<&'a str>>> {
    if p.is_null() {
        return Ok(vec![None; len]);
    }
    // SAFETY: caller's contract.
    let ptrs = unsafe { slice_arg(p, len, param) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is NULL or a NUL-terminated string (caller's contract).
        .map(|(i, &s)| unsafe { opt_str_arg(s, &format!("{param}[{i}]")) })
        .collect()
}

/// A required out-parameter, checked before any work is done.
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Stores `value` in the caller's variable (overwriting without dropping what was there).
    pub(crate) fn write(self, value: T) {
        // SAFETY: `new` checked non-NULL; the caller promised it points to writable storage for T.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Checks a required out-parameter.
///
/// # Safety
/// `p` is NULL or points to writable storage for a `T` that stays valid during the call.
pub(crate) unsafe fn out_arg<T>(p: *mut T, param: &str) -> FfiResult<Out<T>> {
    NonNull::new(p).map(Out).ok_or_else(|| FfiError::null(param))
}

/// An optional out-parameter (NULL means "not wanted").
///
/// # Safety
/// As for [`out_arg`].
pub(crate) unsafe fn opt_out_arg<T>(p: *mut T) -> Option<Out<T>> {
    NonNull::new(p).map(Out)
}

/// A caller-owned buffer of `len` `T`s that Needle writes into (possibly uninitialised memory, so
/// it is never turned into a Rust slice: each write goes through the pointer, bounds-checked).
pub(crate) struct OutSlice<T> {
    ptr: NonNull<T>,
    len: usize,
}

impl<T> OutSlice<T> {
    /// Writes `value` at index `i`; an index past the end is a bug, reported as an error.
    pub(crate) fn set(&mut self, i: usize, value: T) -> FfiResult<()> {
        if i >= self.len {
            return Err(FfiError::new(
                needle_status::NEEDLE_INTERNAL,
                format!("write at {i} past a buffer of {}", self.len),
            ));
        }
        // SAFETY: i < len, and `opt_out_slice`'s caller promised `len` writable Ts at `ptr`.
        unsafe { self.ptr.as_ptr().add(i).write(value) };
        Ok(())
    }
}

/// An optional caller buffer of `len` writable `T`s (NULL gives `None`).
///
/// # Safety
/// `p` is NULL or points to `len` writable `T`s that stay valid and unaliased during the call.
pub(crate) unsafe fn opt_out_slice<T>(p: *mut T, len: usize, param: &str) -> FfiResult<Option<OutSlice<T>>> {
    if len.checked_mul(std::mem::size_of::<T>()).is_none_or(|b| b > isize::MAX as usize) {
        return Err(FfiError::invalid(format!("parameter '{param}': length {len} is too large")));
    }
    Ok(NonNull::new(p).map(|ptr| OutSlice { ptr, len }))
}

/// A Needle-owned result: the C-visible struct first, then whatever keeps its pointers valid.
#[repr(C)]
pub(crate) struct Owned<C, S> {
    c: C,
    storage: S,
}

/// Heap-allocates a result block; the returned pointer is also a valid `*mut C` (first field).
pub(crate) fn into_owned<C, S>(c: C, storage: S) -> *mut C {
    Box::into_raw(Box::new(Owned { c, storage })).cast()
}

/// Frees a result block made by [`into_owned`] with the same `C` and `S` (NULL is a no-op).
///
/// # Safety
/// `p` is NULL or came from `into_owned::<C, S>` and was not freed before.
pub(crate) unsafe fn free_owned<C, S>(p: *mut C) {
    if !p.is_null() {
        // SAFETY: `Owned` is repr(C) with `c` first, so the pointer is the Box's (caller's contract).
        drop(unsafe { Box::from_raw(p.cast::<Owned<C, S>>()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing;
    impl Opaque for Thing {
        type Real = String;
    }

    #[test]
    fn handles_round_trip_and_null_is_an_error() {
        let h = into_handle::<Thing>("x".to_string());
        // SAFETY: h was just made by into_handle and is freed below, once.
        unsafe {
            assert_eq!(borrow(h, "h").unwrap(), "x");
            assert_eq!(free_handle(h).as_deref(), Some("x"));
            assert!(free_handle::<Thing>(std::ptr::null_mut()).is_none());
            assert_eq!(
                borrow::<Thing>(std::ptr::null(), "h").unwrap_err().status,
                needle_status::NEEDLE_NULL_PARAMETER
            );
        }
    }

    #[test]
    fn arguments_are_checked() {
        // SAFETY: all pointers are NULL, or point to live, correctly sized local data.
        unsafe {
            assert!(slice_arg::<f32>(std::ptr::null(), 0, "v").unwrap().is_empty());
            assert!(slice_arg::<f32>(std::ptr::null(), 3, "v").is_err());
            let bad = [0xffu8 as c_char, 0];
            assert_eq!(str_arg(bad.as_ptr(), "s").unwrap_err().status, needle_status::NEEDLE_INVALID_UTF8);
            assert_eq!(str_arg(c"ok".as_ptr(), "s").unwrap(), "ok");
            assert!(opt_str_arg(std::ptr::null(), "s").unwrap().is_none());
            let mut slot = 0u32;
            out_arg(&mut slot, "o").unwrap().write(7);
            assert_eq!(slot, 7);
            assert!(out_arg::<u32>(std::ptr::null_mut(), "o").is_err());
            let mut buf = [0f32; 2];
            let mut out = opt_out_slice(buf.as_mut_ptr(), 2, "b").unwrap().unwrap();
            out.set(1, 4.0).unwrap();
            assert!(out.set(2, 5.0).is_err());
            assert_eq!(buf, [0.0, 4.0]);
            assert!(opt_out_slice::<f32>(std::ptr::null_mut(), 2, "b").unwrap().is_none());
            let p = into_owned(5u64, vec![1u8, 2, 3]);
            assert_eq!(*p, 5);
            free_owned::<u64, Vec<u8>>(p);
        }
    }
}
