//! The `memory` backend: a `Vec<u8>` behind a reader-writer lock.
//!
//! Nothing is durable, so `sync` does nothing. It is the reference the file backend is compared
//! with in the conformance tests, and what in-memory databases run on.

use std::path::Path;

use parking_lot::RwLock;

use super::{range_end, read_past_end};
use crate::traits::{StorageBackend, StorageFactory, StorageOptions};
use crate::{Error, Result};

/// Bytes in memory. A read-only instance is empty and refuses every write.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    data: RwLock<Vec<u8>>,
    read_only: bool,
}

impl MemoryStorage {
    /// Empty, writable storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Read-only storage over `bytes`.
    pub fn read_only(bytes: Vec<u8>) -> Self {
        MemoryStorage { data: RwLock::new(bytes), read_only: true }
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("the memory storage was opened read-only".into()));
        }
        Ok(())
    }
}

/// Grows `data` to `len` bytes (zero-filled), reporting allocation failure instead of aborting.
fn grow(data: &mut Vec<u8>, len: u64) -> Result<()> {
    let len = usize::try_from(len)
        .map_err(|_| Error::InvalidArgument(format!("{len} bytes do not fit in this machine's memory")))?;
    if len > data.len() {
        data.try_reserve(len - data.len()).map_err(|e| {
            Error::Io(std::io::Error::new(std::io::ErrorKind::OutOfMemory, format!("growing to {len} bytes: {e}")))
        })?;
        data.resize(len, 0);
    }
    Ok(())
}

impl StorageBackend for MemoryStorage {
    fn id(&self) -> &str {
        "memory"
    }

    fn len(&self) -> Result<u64> {
        Ok(self.data.read().len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = range_end(offset, buf.len())?;
        let data = self.data.read();
        if end > data.len() as u64 {
            return Err(read_past_end(offset, buf.len(), data.len() as u64));
        }
        // Both bounds are ≤ data.len(), so they fit in usize.
        buf.copy_from_slice(&data[offset as usize..end as usize]);
        Ok(())
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> Result<()> {
        self.check_writable()?;
        let end = range_end(offset, bytes.len())?;
        let mut data = self.data.write();
        grow(&mut data, end)?;
        data[offset as usize..end as usize].copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.check_writable()?;
        let mut data = self.data.write();
        if len < data.len() as u64 {
            data.truncate(len as usize);
            Ok(())
        } else {
            grow(&mut data, len)
        }
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }
}

/// Opens [`MemoryStorage`]; the path is ignored and every open starts empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryStorageFactory;

impl StorageFactory for MemoryStorageFactory {
    fn id(&self) -> &str {
        "memory"
    }

    fn version(&self) -> u32 {
        1
    }

    fn open(&self, _path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        Ok(Box::new(if options.read_only { MemoryStorage::read_only(Vec::new()) } else { MemoryStorage::new() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance::run_conformance;

    #[test]
    fn memory_conformance() {
        run_conformance(&MemoryStorageFactory, None);
    }

    #[test]
    fn read_only_over_bytes_reads_and_refuses_writes() {
        let s = MemoryStorage::read_only(b"abc".to_vec());
        assert_eq!(s.read_vec(1, 2).unwrap(), b"bc");
        assert!(matches!(s.write_at(0, b"x"), Err(Error::ReadOnly(_))));
        assert!(matches!(s.set_len(0), Err(Error::ReadOnly(_))));
        assert!(s.mapped().is_none());
    }

    #[test]
    fn absurd_growth_is_an_error_not_an_abort() {
        let s = MemoryStorage::new();
        assert!(s.write_at(u64::MAX / 2, b"x").is_err());
        assert!(s.set_len(u64::MAX / 2).is_err());
        assert_eq!(s.len().unwrap(), 0);
    }
}
