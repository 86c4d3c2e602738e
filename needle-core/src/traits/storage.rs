//! The `StorageBackend` trait: a growable array of bytes with durable sync.
//!
//! The file format lives above this trait; a backend only reads and writes byte ranges. A backend
//! that can expose its bytes in place (a memory map) returns them from [`StorageBackend::mapped`],
//! which lets vectors be used without copying.

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use crate::Result;

/// Byte storage for a database file (or its WAL).
pub trait StorageBackend: Send + Sync + Debug + 'static {
    /// The stable registry id (`mmap`, `memory`, or a plugin's id).
    fn id(&self) -> &str;

    /// Current length in bytes.
    fn len(&self) -> Result<u64>;

    /// True when the storage holds no bytes.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Fills `buf` from `offset`; reading past the end is [`crate::Error::Corrupted`].
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Writes `data` at `offset`, growing the storage when needed.
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()>;

    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;

    /// Makes every write so far durable (fsync for files; nothing for memory).
    fn sync(&self) -> Result<()>;

    /// The whole content as one shared, immutable byte slice when the backend can give it without
    /// copying (a read-only memory map). `None` otherwise: use `read_at`.
    fn mapped(&self) -> Option<Arc<dyn AsRef<[u8]> + Send + Sync>> {
        None
    }

    /// Reads `len` bytes from `offset` into a new vector.
    fn read_vec(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }
}

/// How to open a backend.
#[derive(Debug, Clone, Default)]
pub struct StorageOptions {
    /// Never write (and open the file read-only).
    pub read_only: bool,
    /// Create the file when missing (mode 0600 on Unix).
    pub create: bool,
}

/// Opens backends of one kind.
pub trait StorageFactory: Send + Sync + Debug + 'static {
    /// The registry id.
    fn id(&self) -> &str;
    /// Version of the backend's on-disk conventions.
    fn version(&self) -> u32;
    /// Opens (or creates) the storage at `path`; in-memory backends ignore `path`.
    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>>;
}
