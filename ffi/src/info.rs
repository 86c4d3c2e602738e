//! Versions and build information.

use std::ffi::c_char;

use needle_api::{ComponentKind, Registry};

use crate::error::needle_error;
use crate::handle::out_arg;
use crate::panic::ffi_guard;
use crate::results::new_string;
use crate::status::needle_status;

/// Version of the C ABI (this header's functions, structs and status numbers). It changes only
/// when a change would break a program compiled against an older header; compare it with
/// `needle_abi_version()` at startup.
///
/// History: 1 = first release; 2 = every fallible function takes a trailing `needle_error *`.
pub const NEEDLE_ABI_VERSION: u32 = 2;

/// Largest `k` a search accepts; a larger (or zero) `k` is NEEDLE_INVALID_ARGUMENT.
pub const NEEDLE_MAX_K: usize = 100_000;

/// Longest vector id, in bytes of UTF-8. Ids must also be non-empty and free of control
/// characters; anything else is NEEDLE_INVALID_ID.
pub const NEEDLE_MAX_ID_BYTES: usize = 1024;

/// Longest collection name, in bytes. A name is 1–128 characters of `A-Z a-z 0-9 _ - .` and does
/// not start with `.` (it is used in file names and URLs); anything else is NEEDLE_INVALID_ARGUMENT.
pub const NEEDLE_MAX_COLLECTION_NAME_BYTES: usize = 128;

const fn parse_u32(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut i = 0;
    let mut n = 0u32;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

pub(crate) const MAJOR: u32 = parse_u32(env!("CARGO_PKG_VERSION_MAJOR"));
pub(crate) const MINOR: u32 = parse_u32(env!("CARGO_PKG_VERSION_MINOR"));
pub(crate) const PATCH: u32 = parse_u32(env!("CARGO_PKG_VERSION_PATCH"));

/// The library's version as `"MAJOR.MINOR.PATCH"` (equal to `NEEDLE_VERSION_STRING` when the
/// header matches the library).
///
/// Ownership: static string; never free it. Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn needle_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as one number, `MAJOR * 1000000 + MINOR * 1000 + PATCH` (equal to
/// `NEEDLE_VERSION_NUMBER` when the header matches the library). Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn needle_version_number() -> u32 {
    MAJOR * 1_000_000 + MINOR * 1_000 + PATCH
}

/// The C ABI version the library implements (equal to `NEEDLE_ABI_VERSION` when the header
/// matches the library). Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn needle_abi_version() -> u32 {
    NEEDLE_ABI_VERSION
}

pub(crate) fn build_info_json() -> serde_json::Value {
    let reg = Registry::global();
    let kinds = [
        ComponentKind::Index,
        ComponentKind::Distance,
        ComponentKind::Quantizer,
        ComponentKind::Cipher,
        ComponentKind::Storage,
    ];
    let components: serde_json::Map<String, serde_json::Value> =
        kinds.iter().map(|k| (k.to_string(), serde_json::json!(reg.ids(*k)))).collect();
    let plugins: Vec<serde_json::Value> = needle_api::plugins::loaded()
        .into_iter()
        .map(|p| serde_json::json!({"id": p.id, "kind": p.kind.to_string(), "version": p.version, "path": p.path}))
        .collect();
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "abi_version": NEEDLE_ABI_VERSION,
        "plugin_abi_version": needle_core::plugin::abi::NEEDLE_PLUGIN_ABI_VERSION,
        "simd_backend": needle_api::simd_backend(),
        "components": components,
        "plugins": plugins,
    })
}

/// What this build contains, as a JSON object: `"version"`, `"abi_version"`,
/// `"plugin_abi_version"`, `"simd_backend"` (the distance kernels in use: `avx512`, `avx2`,
/// `neon` or `scalar`), `"components"` (registered ids per kind, built-ins and plugins) and
/// `"plugins"` (each loaded plugin's id, kind, version and path).
///
/// Ownership: on NEEDLE_OK `*out_json` receives a string owned by the caller; free it with
/// `needle_string_free`. Thread safety: safe from any thread.
///
/// # Safety
/// `out_json` is NULL or writable.
/// `err` is NULL or an initialised `needle_error` (see there).
#[no_mangle]
pub unsafe extern "C" fn needle_build_info(out_json: *mut *mut c_char, err: *mut needle_error) -> needle_status {
    ffi_guard!(err, {
        // SAFETY: caller's contract.
        let out = unsafe { out_arg(out_json, "out_json")? };
        out.write(new_string(&build_info_json().to_string()));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_limits_are_the_engines() {
        assert_eq!(NEEDLE_MAX_K, needle_api::MAX_K);
        assert_eq!(NEEDLE_MAX_ID_BYTES, needle_api::MAX_ID_BYTES);
        let longest = "n".repeat(NEEDLE_MAX_COLLECTION_NAME_BYTES);
        assert!(needle_api::validate_collection_name(&longest).is_ok());
        assert!(needle_api::validate_collection_name(&format!("{longest}n")).is_err());
    }
}
