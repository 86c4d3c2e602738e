//! Errors shared by every Needle component.
//!
//! One enum for the whole engine, `#[non_exhaustive]`, each variant with a stable numeric
//! [`ErrorCode`]: the C ABI and the HTTP server report those numbers, so a code is never reused or
//! renumbered once released. Messages are for people; codes are for programs.

use std::fmt;

/// Stable numeric codes for [`Error`] variants. Numbers never change; retired ones stay reserved.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum ErrorCode {
    /// An argument was out of range or malformed.
    InvalidArgument = 1,
    /// A vector's length differs from the collection's dimensions.
    DimensionMismatch = 2,
    /// A vector contains NaN or an infinite component.
    NonFiniteVector = 3,
    /// A zero vector where the metric cannot use it (cosine).
    ZeroVector = 4,
    /// An empty or otherwise unusable vector id.
    InvalidId = 5,
    /// A collection with that name already exists.
    CollectionExists = 6,
    /// No collection with that name.
    CollectionNotFound = 7,
    /// A vector with that id already exists (use upsert).
    DuplicateId = 8,
    /// No vector with that id.
    VectorNotFound = 9,
    /// A component id that no registry entry (built-in or plugin) provides.
    UnknownComponent = 10,
    /// Components or parameters that cannot work together.
    InvalidConfig = 11,
    /// The file is not a Needle database.
    NotANeedleFile = 12,
    /// The file was written by a format version this build cannot read.
    UnsupportedVersion = 13,
    /// The file or a record failed a checksum or structural check.
    Corrupted = 14,
    /// An operating-system I/O error.
    Io = 15,
    /// The decryption key does not match the one the file was written with.
    WrongKey = 16,
    /// Another process holds the database's write lock.
    Locked = 17,
    /// The handle is read-only (opened so, or after a failed sync).
    ReadOnly = 18,
    /// A plugin failed to load or misbehaved.
    Plugin = 19,
    /// A metadata filter could not be parsed or applied.
    InvalidFilter = 20,
    /// Malformed JSON (metadata or configuration).
    InvalidJson = 21,
    /// A vector whose norm is so large that distances to it would overflow `f32`.
    VectorTooLarge = 22,
    /// A bug: an invariant inside Needle did not hold.
    Internal = 99,
    /// The database was closed (dropped): a handle taken from it, such as a `Collection`, was used
    /// afterwards. Numbered like the C ABI's `NEEDLE_CLOSED`, which reported it first.
    Closed = 103,
}

impl ErrorCode {
    /// A short, stable, lowercase name (used in JSON error bodies).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::DimensionMismatch => "dimension_mismatch",
            ErrorCode::NonFiniteVector => "non_finite_vector",
            ErrorCode::ZeroVector => "zero_vector",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::CollectionExists => "collection_exists",
            ErrorCode::CollectionNotFound => "collection_not_found",
            ErrorCode::DuplicateId => "duplicate_id",
            ErrorCode::VectorNotFound => "vector_not_found",
            ErrorCode::UnknownComponent => "unknown_component",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::NotANeedleFile => "not_a_needle_file",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Corrupted => "corrupted",
            ErrorCode::Io => "io",
            ErrorCode::WrongKey => "wrong_key",
            ErrorCode::Locked => "locked",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::Plugin => "plugin",
            ErrorCode::InvalidFilter => "invalid_filter",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::VectorTooLarge => "vector_too_large",
            ErrorCode::Internal => "internal",
            ErrorCode::Closed => "closed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which kind of component an error or a registry entry refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// An [`Index`](crate::Index).
    Index,
    /// A [`Distance`](crate::Distance).
    Distance,
    /// A [`Quantizer`](crate::Quantizer).
    Quantizer,
    /// A [`Cipher`](crate::Cipher).
    Cipher,
    /// A [`StorageBackend`](crate::StorageBackend).
    Storage,
}

impl fmt::Display for ComponentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ComponentKind::Index => "index",
            ComponentKind::Distance => "distance",
            ComponentKind::Quantizer => "quantizer",
            ComponentKind::Cipher => "cipher",
            ComponentKind::Storage => "storage",
        })
    }
}

/// Every error Needle reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A vector's length differs from the collection's dimensions.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The collection's dimensions.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// A vector holds NaN or an infinite value.
    #[error("vector component {index} is not finite ({value})")]
    NonFiniteVector {
        /// Position of the first bad component.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A vector of finite components whose norm is over the limit: a distance to it (a squared
    /// sum, a product of norms) would overflow `f32` to infinity, and `inf / inf` is NaN.
    #[error("vector norm {norm:e} exceeds the limit of {limit:e}: distances to it would overflow")]
    VectorTooLarge {
        /// Its Euclidean norm (computed in `f64`, so it is finite).
        norm: f64,
        /// The largest accepted norm.
        limit: f64,
    },
    /// A zero vector under a metric that cannot use it.
    #[error("zero vector: the {metric} distance is undefined for a vector of norm 0")]
    ZeroVector {
        /// The metric's id.
        metric: String,
    },
    /// An empty or unusable id.
    #[error("invalid id: {0}")]
    InvalidId(String),
    /// The collection already exists.
    #[error("collection already exists: {0}")]
    CollectionExists(String),
    /// The collection does not exist.
    #[error("collection not found: {0}")]
    CollectionNotFound(String),
    /// The vector id already exists.
    #[error("vector id already exists: {0} (use upsert to replace it)")]
    DuplicateId(String),
    /// No vector with that id.
    #[error("vector not found: {0}")]
    VectorNotFound(String),
    /// A component id that nothing provides.
    #[error("unknown {kind} component '{id}' (registered: {available})")]
    UnknownComponent {
        /// Which slot.
        kind: ComponentKind,
        /// The id asked for.
        id: String,
        /// Comma-separated ids that are available.
        available: String,
    },
    /// Components or parameters that do not fit together.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Not a Needle file.
    #[error("not a Needle database file: {0}")]
    NotANeedleFile(String),
    /// A format version this build cannot read.
    #[error("unsupported file format version {found} (this build reads up to {supported})")]
    UnsupportedVersion {
        /// Version found in the file.
        found: u32,
        /// Highest version this build reads.
        supported: u32,
    },
    /// Failed checksum or structural check.
    #[error("corrupted data in {what} at offset {offset}: {detail}")]
    Corrupted {
        /// The section or record.
        what: String,
        /// Byte offset in the file (0 when not applicable).
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// An I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// Wrong decryption key.
    #[error("wrong encryption key")]
    WrongKey,
    /// Database locked by another writer.
    #[error("database is locked: {0}")]
    Locked(String),
    /// The handle is read-only.
    #[error("database is read-only: {0}")]
    ReadOnly(String),
    /// A plugin problem.
    #[error("plugin error: {0}")]
    Plugin(String),
    /// A filter problem.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// Malformed JSON.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A broken internal invariant.
    #[error("internal error: {0}")]
    Internal(String),
    /// The handle's database was closed.
    #[error("database is closed: {0}")]
    Closed(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Error::DimensionMismatch { .. } => ErrorCode::DimensionMismatch,
            Error::NonFiniteVector { .. } => ErrorCode::NonFiniteVector,
            Error::ZeroVector { .. } => ErrorCode::ZeroVector,
            Error::VectorTooLarge { .. } => ErrorCode::VectorTooLarge,
            Error::InvalidId(_) => ErrorCode::InvalidId,
            Error::CollectionExists(_) => ErrorCode::CollectionExists,
            Error::CollectionNotFound(_) => ErrorCode::CollectionNotFound,
            Error::DuplicateId(_) => ErrorCode::DuplicateId,
            Error::VectorNotFound(_) => ErrorCode::VectorNotFound,
            Error::UnknownComponent { .. } => ErrorCode::UnknownComponent,
            Error::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Error::NotANeedleFile(_) => ErrorCode::NotANeedleFile,
            Error::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            Error::Corrupted { .. } => ErrorCode::Corrupted,
            Error::Io(_) => ErrorCode::Io,
            Error::WrongKey => ErrorCode::WrongKey,
            Error::Locked(_) => ErrorCode::Locked,
            Error::ReadOnly(_) => ErrorCode::ReadOnly,
            Error::Plugin(_) => ErrorCode::Plugin,
            Error::InvalidFilter(_) => ErrorCode::InvalidFilter,
            Error::InvalidJson(_) => ErrorCode::InvalidJson,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Closed(_) => ErrorCode::Closed,
        }
    }

    /// Shorthand for a [`Error::Corrupted`] error.
    pub fn corrupted(what: impl Into<String>, offset: u64, detail: impl Into<String>) -> Self {
        Error::Corrupted { what: what.into(), offset, detail: detail.into() }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::InvalidJson(e.to_string())
    }
}

/// `Result` with Needle's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        // These numbers are part of the C ABI and the HTTP API: changing one is a breaking change.
        assert_eq!(ErrorCode::InvalidArgument as u32, 1);
        assert_eq!(ErrorCode::DimensionMismatch as u32, 2);
        assert_eq!(ErrorCode::Corrupted as u32, 14);
        assert_eq!(ErrorCode::WrongKey as u32, 16);
        assert_eq!(ErrorCode::InvalidJson as u32, 21);
        assert_eq!(ErrorCode::VectorTooLarge as u32, 22);
        assert_eq!(ErrorCode::VectorTooLarge.name(), "vector_too_large");
        assert_eq!(ErrorCode::Internal as u32, 99);
        assert_eq!(ErrorCode::Closed as u32, 103);
        assert_eq!(ErrorCode::Closed.name(), "closed");
        let e = Error::DimensionMismatch { expected: 3, got: 4 };
        assert_eq!(e.code(), ErrorCode::DimensionMismatch);
        assert_eq!(e.to_string(), "dimension mismatch: expected 3, got 4");
    }
}
