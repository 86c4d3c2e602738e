//! Built-in storage backends.
//!
//! * `mmap` — a file on disk. Reads come from a memory map (no copy for whole-file readers),
//!   writes are positional `pwrite`s, `sync` is `fdatasync`. New files are created with mode 0600:
//!   a database holds user data and should not be world-readable by default.
//! * `memory` — a byte vector behind a lock, for tests and throw-away databases.
//!
//! Both are checked by the same conformance suite (`conformance.rs`), so a layer above can rely
//! on identical semantics: growth zero-fills, reading past the end is
//! [`Error::Corrupted`](crate::Error::Corrupted) naming the offset, read-only handles refuse
//! writes with [`Error::ReadOnly`](crate::Error::ReadOnly).

mod memory;
#[cfg(unix)]
mod mmap_file;

#[cfg(test)]
mod conformance;

use std::sync::Arc;

use crate::{Error, Result, StorageFactory};

pub use self::memory::{MemoryStorage, MemoryStorageFactory};
#[cfg(unix)]
pub use self::mmap_file::{MmapFileStorage, MmapStorageFactory};

/// The built-in storage factories: `memory`, and `mmap` on Unix.
pub fn builtins() -> Vec<Arc<dyn StorageFactory>> {
    let mut v: Vec<Arc<dyn StorageFactory>> = vec![Arc::new(MemoryStorageFactory)];
    #[cfg(unix)]
    v.push(Arc::new(MmapStorageFactory));
    v
}

/// `offset + len` as the end of a byte range, or [`Error::Corrupted`] when it overflows.
fn range_end(offset: u64, len: usize) -> Result<u64> {
    offset
        .checked_add(len as u64)
        .ok_or_else(|| Error::corrupted("storage", offset, format!("range of {len} bytes overflows a 64-bit offset")))
}

/// The error for a read that does not fit inside `size` bytes.
fn read_past_end(offset: u64, len: usize, size: u64) -> Error {
    Error::corrupted("storage", offset, format!("read of {len} bytes past the end (storage holds {size} bytes)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_and_versions() {
        let ids: Vec<(String, u32)> = builtins().iter().map(|f| (f.id().to_string(), f.version())).collect();
        assert_eq!(ids, vec![("memory".to_string(), 1), ("mmap".to_string(), 1)]);
    }
}
