//! `needle_status`: the stable result code of every fallible export.
//!
//! Numbers 1–99 are exactly needle-core's [`ErrorCode`] numbers; 100 and up are failures that only
//! exist at the C boundary, except `NEEDLE_CLOSED` (103), which the engine later adopted as its own
//! `closed` code with the same number. A number is never reused or renumbered; retired ones stay listed here
//! as reserved.

use std::ffi::c_char;

use needle_core::{Error, ErrorCode};

/// Result of a fallible Needle call. `NEEDLE_OK` is 0; every other value is an error, and
/// `needle_last_error_message()` on the same thread explains it. Values never change between
/// releases.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum needle_status {
    /// Success.
    NEEDLE_OK = 0,
    /// An argument was out of range or malformed.
    NEEDLE_INVALID_ARGUMENT = 1,
    /// A vector's length differs from the collection's dimensions.
    NEEDLE_DIMENSION_MISMATCH = 2,
    /// A vector contains NaN or an infinite component.
    NEEDLE_NON_FINITE_VECTOR = 3,
    /// A zero vector where the metric cannot use it (cosine).
    NEEDLE_ZERO_VECTOR = 4,
    /// An empty or otherwise unusable vector id.
    NEEDLE_INVALID_ID = 5,
    /// A collection with that name already exists.
    NEEDLE_COLLECTION_EXISTS = 6,
    /// No collection with that name (or it was dropped).
    NEEDLE_COLLECTION_NOT_FOUND = 7,
    /// A vector with that id already exists (use upsert).
    NEEDLE_DUPLICATE_ID = 8,
    /// No vector with that id.
    NEEDLE_VECTOR_NOT_FOUND = 9,
    /// A component id that neither a built-in nor a loaded plugin provides.
    NEEDLE_UNKNOWN_COMPONENT = 10,
    /// Components or parameters that cannot work together, or a bad config string.
    NEEDLE_INVALID_CONFIG = 11,
    /// The file is not a Needle database.
    NEEDLE_NOT_A_NEEDLE_FILE = 12,
    /// The file was written by a format version this build cannot read.
    NEEDLE_UNSUPPORTED_VERSION = 13,
    /// The file or a record failed a checksum or structural check.
    NEEDLE_CORRUPTED = 14,
    /// An operating-system I/O error.
    NEEDLE_IO = 15,
    /// The decryption key does not match the file.
    NEEDLE_WRONG_KEY = 16,
    /// Another process holds the database's write lock.
    NEEDLE_LOCKED = 17,
    /// The database is read-only.
    NEEDLE_READ_ONLY = 18,
    /// A plugin failed to load or misbehaved.
    NEEDLE_PLUGIN = 19,
    /// A metadata filter could not be parsed or applied.
    NEEDLE_INVALID_FILTER = 20,
    /// Malformed JSON (metadata, config or parameters).
    NEEDLE_INVALID_JSON = 21,
    /// A vector's norm is over the limit: distances to it would overflow (see `needle_collection_insert`).
    NEEDLE_VECTOR_TOO_LARGE = 22,
    /// A bug: an invariant inside Needle did not hold.
    NEEDLE_INTERNAL = 99,
    /// A required pointer argument was NULL.
    NEEDLE_NULL_PARAMETER = 100,
    /// A panic inside Needle was caught at the boundary; the call had no effect that can be relied on.
    NEEDLE_PANIC = 101,
    /// A string argument was not valid UTF-8.
    NEEDLE_INVALID_UTF8 = 102,
    /// The handle's database was closed (a collection handle outlived `needle_db_close`).
    NEEDLE_CLOSED = 103,
}

impl needle_status {
    /// Every status, in numeric order (for tests and `needle_status_str`).
    /// cbindgen:ignore
    pub const ALL: [needle_status; 28] = [
        Self::NEEDLE_OK,
        Self::NEEDLE_INVALID_ARGUMENT,
        Self::NEEDLE_DIMENSION_MISMATCH,
        Self::NEEDLE_NON_FINITE_VECTOR,
        Self::NEEDLE_ZERO_VECTOR,
        Self::NEEDLE_INVALID_ID,
        Self::NEEDLE_COLLECTION_EXISTS,
        Self::NEEDLE_COLLECTION_NOT_FOUND,
        Self::NEEDLE_DUPLICATE_ID,
        Self::NEEDLE_VECTOR_NOT_FOUND,
        Self::NEEDLE_UNKNOWN_COMPONENT,
        Self::NEEDLE_INVALID_CONFIG,
        Self::NEEDLE_NOT_A_NEEDLE_FILE,
        Self::NEEDLE_UNSUPPORTED_VERSION,
        Self::NEEDLE_CORRUPTED,
        Self::NEEDLE_IO,
        Self::NEEDLE_WRONG_KEY,
        Self::NEEDLE_LOCKED,
        Self::NEEDLE_READ_ONLY,
        Self::NEEDLE_PLUGIN,
        Self::NEEDLE_INVALID_FILTER,
        Self::NEEDLE_INVALID_JSON,
        Self::NEEDLE_VECTOR_TOO_LARGE,
        Self::NEEDLE_INTERNAL,
        Self::NEEDLE_NULL_PARAMETER,
        Self::NEEDLE_PANIC,
        Self::NEEDLE_INVALID_UTF8,
        Self::NEEDLE_CLOSED,
    ];

    /// The status for an engine error code (same number).
    pub fn from_code(code: ErrorCode) -> needle_status {
        let n = code as u32 as i32;
        Self::ALL.iter().copied().find(|s| *s as i32 == n && n != 0).unwrap_or(Self::NEEDLE_INTERNAL)
    }

    /// The status with number `n` (`NEEDLE_INTERNAL` for a number Needle does not define).
    pub fn from_number(n: i32) -> needle_status {
        Self::ALL.iter().copied().find(|s| *s as i32 == n).unwrap_or(Self::NEEDLE_INTERNAL)
    }

    /// The status for an engine error.
    pub fn from_error(e: &Error) -> needle_status {
        Self::from_code(e.code())
    }

    /// A stable lowercase name, NUL-terminated (the engine's code names for 1–99).
    pub fn name(self) -> &'static str {
        match self {
            Self::NEEDLE_OK => "ok\0",
            Self::NEEDLE_INVALID_ARGUMENT => "invalid_argument\0",
            Self::NEEDLE_DIMENSION_MISMATCH => "dimension_mismatch\0",
            Self::NEEDLE_NON_FINITE_VECTOR => "non_finite_vector\0",
            Self::NEEDLE_ZERO_VECTOR => "zero_vector\0",
            Self::NEEDLE_INVALID_ID => "invalid_id\0",
            Self::NEEDLE_COLLECTION_EXISTS => "collection_exists\0",
            Self::NEEDLE_COLLECTION_NOT_FOUND => "collection_not_found\0",
            Self::NEEDLE_DUPLICATE_ID => "duplicate_id\0",
            Self::NEEDLE_VECTOR_NOT_FOUND => "vector_not_found\0",
            Self::NEEDLE_UNKNOWN_COMPONENT => "unknown_component\0",
            Self::NEEDLE_INVALID_CONFIG => "invalid_config\0",
            Self::NEEDLE_NOT_A_NEEDLE_FILE => "not_a_needle_file\0",
            Self::NEEDLE_UNSUPPORTED_VERSION => "unsupported_version\0",
            Self::NEEDLE_CORRUPTED => "corrupted\0",
            Self::NEEDLE_IO => "io\0",
            Self::NEEDLE_WRONG_KEY => "wrong_key\0",
            Self::NEEDLE_LOCKED => "locked\0",
            Self::NEEDLE_READ_ONLY => "read_only\0",
            Self::NEEDLE_PLUGIN => "plugin\0",
            Self::NEEDLE_INVALID_FILTER => "invalid_filter\0",
            Self::NEEDLE_INVALID_JSON => "invalid_json\0",
            Self::NEEDLE_VECTOR_TOO_LARGE => "vector_too_large\0",
            Self::NEEDLE_INTERNAL => "internal\0",
            Self::NEEDLE_NULL_PARAMETER => "null_parameter\0",
            Self::NEEDLE_PANIC => "panic\0",
            Self::NEEDLE_INVALID_UTF8 => "invalid_utf8\0",
            Self::NEEDLE_CLOSED => "closed\0",
        }
    }
}

/// A short, stable, lowercase name for a status code (`"ok"`, `"dimension_mismatch"`, …), or
/// `"unknown"` for a number Needle does not define.
///
/// Ownership: the returned string is static; never free it. Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn needle_status_str(status: i32) -> *const c_char {
    let name = needle_status::ALL.iter().find(|s| **s as i32 == status).map_or("unknown\0", |s| s.name());
    name.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_codes_keep_their_numbers() {
        let codes = [
            ErrorCode::InvalidArgument,
            ErrorCode::DimensionMismatch,
            ErrorCode::NonFiniteVector,
            ErrorCode::ZeroVector,
            ErrorCode::InvalidId,
            ErrorCode::CollectionExists,
            ErrorCode::CollectionNotFound,
            ErrorCode::DuplicateId,
            ErrorCode::VectorNotFound,
            ErrorCode::UnknownComponent,
            ErrorCode::InvalidConfig,
            ErrorCode::NotANeedleFile,
            ErrorCode::UnsupportedVersion,
            ErrorCode::Corrupted,
            ErrorCode::Io,
            ErrorCode::WrongKey,
            ErrorCode::Locked,
            ErrorCode::ReadOnly,
            ErrorCode::Plugin,
            ErrorCode::InvalidFilter,
            ErrorCode::InvalidJson,
            ErrorCode::VectorTooLarge,
            ErrorCode::Internal,
            ErrorCode::Closed,
        ];
        for c in codes {
            let s = needle_status::from_code(c);
            assert_eq!(s as i32, c as u32 as i32, "{c:?}");
            assert_eq!(&s.name()[..s.name().len() - 1], c.name());
        }
        assert_eq!(needle_status::NEEDLE_OK as i32, 0);
        assert_eq!(needle_status::NEEDLE_NULL_PARAMETER as i32, 100);
        assert_eq!(needle_status::NEEDLE_PANIC as i32, 101);
    }

    #[test]
    fn names_are_unique_and_terminated() {
        let mut seen = std::collections::HashSet::new();
        for s in needle_status::ALL {
            assert!(s.name().ends_with('\0'));
            assert!(seen.insert(s.name()));
        }
    }
}
