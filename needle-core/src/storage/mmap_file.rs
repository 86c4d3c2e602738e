//! The `mmap` backend: a file read through a memory map and written with positional writes.
//!
//! # How reads and writes meet
//!
//! The map is read-only and covers the file as it was when mapped. Writes go through
//! `pwrite` (`FileExt::write_all_at`); on Linux the page cache is shared, so a write inside the
//! mapped range is visible through the map at once. A write past the mapped range only records
//! the new length: the next read that needs the new bytes remaps (lazily, so a burst of appends
//! costs one remap, not one per append). Truncation remaps immediately, so the map never reaches
//! past the end of the file — touching such pages would raise `SIGBUS`.
//!
//! One reader-writer lock orders everything in this process: reads copy out of the map under the
//! read lock; writes, truncations and remaps take the write lock. So no byte of the map is read
//! while this process changes the file under it, and no map is dropped while a read uses it.
//!
//! [`StorageBackend::mapped`] hands out the map itself (an `Arc`, valid however long the caller
//! keeps it) only when the storage is read-only: such a handle never writes or truncates, so the
//! bytes behind the `Arc` stay fixed. A writable handle returns `None` and callers use `read_at`.
//!
//! Other processes must not write or truncate the file while it is open; the database's lock file
//! guarantees that (and it is the usual contract of every memory-mapped database).

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::RwLock;

use super::{range_end, read_past_end};
use crate::traits::{StorageBackend, StorageFactory, StorageOptions};
use crate::{Error, Result};

/// Permission bits of files this backend creates: owner read/write only.
const NEW_FILE_MODE: u32 = 0o600;

/// Maps the whole of `file` read-only. The single unsafe operation of this backend.
#[allow(unsafe_code)] // the memory map (see the SAFETY note)
fn map_file(file: &File) -> Result<Arc<Mmap>> {
    // SAFETY: `Mmap::map` is unsafe because the mapped bytes can change or vanish (SIGBUS) if the
    // file is modified or truncated while the slice is alive. Within this process every write and
    // truncation of the file happens under `MmapFileStorage::state`'s write lock, which no reader
    // of the map holds (reads copy out under the read lock), truncation remaps before the lock is
    // released, and maps escape through `mapped()` only from read-only handles, which never modify
    // the file. Other processes are excluded by the database's lock file (see the module docs).
    let map = unsafe { Mmap::map(file) }?;
    Ok(Arc::new(map))
}

/// What the lock protects: the file's length as this handle knows it, and the current map.
#[derive(Debug)]
struct State {
    /// Length of the file in bytes (`map.len() <= len`; smaller means the map is stale).
    len: u64,
    /// The current read-only map.
    map: Arc<Mmap>,
}

/// A database file: memory-mapped reads, positional writes, `fdatasync` on sync.
#[derive(Debug)]
pub struct MmapFileStorage {
    path: PathBuf,
    file: File,
    read_only: bool,
    state: RwLock<State>,
}

impl MmapFileStorage {
    /// Opens `path`. With `create` (and not `read_only`), a missing file is created with mode
    /// 0600; `read_only` wins over `create`, so opening a missing file read-only is `NotFound`.
    pub fn open(path: &Path, options: &StorageOptions) -> Result<Self> {
        let file = if options.read_only {
            File::open(path)?
        } else if options.create {
            open_or_create(path)?
        } else {
            OpenOptions::new().read(true).write(true).open(path)?
        };
        let len = file.metadata()?.len();
        let map = map_file(&file)?;
        Ok(MmapFileStorage {
            path: path.to_path_buf(),
            file,
            read_only: options.read_only,
            state: RwLock::new(State { len, map }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly(format!("{} was opened read-only", self.path.display())));
        }
        Ok(())
    }
}

/// Opens `path` read-write, creating it (mode 0600) when missing. A newly created file's directory
/// entry is made durable too, so a crash cannot lose the file after its first sync.
fn open_or_create(path: &Path) -> Result<File> {
    match OpenOptions::new().read(true).write(true).create_new(true).mode(NEW_FILE_MODE).open(path) {
        Ok(file) => {
            sync_parent_dir(path)?;
            Ok(file)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(OpenOptions::new().read(true).write(true).open(path)?),
        Err(e) => Err(e.into()),
    }
}

fn sync_parent_dir(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()?;
    Ok(())
}

impl StorageBackend for MmapFileStorage {
    fn id(&self) -> &str {
        "mmap"
    }

    fn len(&self) -> Result<u64> {
        Ok(self.state.read().len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = range_end(offset, buf.len())?;
        {
            let state = self.state.read();
            if end > state.len {
                return Err(read_past_end(offset, buf.len(), state.len));
            }
            if end <= state.map.len() as u64 {
                // Bounds are ≤ map.len(), so they fit in usize.
                buf.copy_from_slice(&state.map[offset as usize..end as usize]);
                return Ok(());
            }
        }
        // The range was written after the last map: remap once, then read.
        let mut state = self.state.write();
        if end > state.len {
            return Err(read_past_end(offset, buf.len(), state.len));
        }
        if end > state.map.len() as u64 {
            state.map = map_file(&self.file)?;
        }
        buf.copy_from_slice(&state.map[offset as usize..end as usize]);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.check_writable()?;
        let end = range_end(offset, data.len())?;
        let mut state = self.state.write();
        self.file.write_all_at(data, offset)?;
        state.len = state.len.max(end);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        self.check_writable()?;
        let mut state = self.state.write();
        self.file.set_len(len)?;
        state.len = len;
        if (state.map.len() as u64) > len {
            // Never keep a map that reaches past the end of the file.
            state.map = map_file(&self.file)?;
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        if self.read_only {
            return Ok(());
        }
        // fdatasync also flushes the file size, the only metadata needed to read the data back.
        self.file.sync_data()?;
        Ok(())
    }

    /// The whole file, for read-only handles only (see the module docs for why).
    fn mapped(&self) -> Option<Arc<dyn AsRef<[u8]> + Send + Sync>> {
        if !self.read_only {
            return None;
        }
        let map: Arc<Mmap> = Arc::clone(&self.state.read().map);
        Some(map)
    }
}

/// Opens [`MmapFileStorage`] files; a path is required.
#[derive(Debug, Clone, Copy, Default)]
pub struct MmapStorageFactory;

impl StorageFactory for MmapStorageFactory {
    fn id(&self) -> &str {
        "mmap"
    }

    fn version(&self) -> u32 {
        1
    }

    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        let path = path.ok_or_else(|| Error::InvalidConfig("the 'mmap' storage needs a file path".into()))?;
        Ok(Box::new(MmapFileStorage::open(path, options)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance::run_conformance;

    #[test]
    fn mmap_conformance() {
        let dir = tempfile::tempdir().unwrap();
        run_conformance(&MmapStorageFactory, Some(&dir.path().join("db.needle")));
    }

    #[test]
    fn map_file_sees_content_and_handles_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"").unwrap();
        let file = OpenOptions::new().read(true).write(true).open(&path).unwrap();
        assert_eq!(map_file(&file).unwrap().len(), 0);
        file.write_all_at(b"mapped bytes", 0).unwrap();
        let map = map_file(&file).unwrap();
        assert_eq!(&map[..], b"mapped bytes");
        // A write inside the mapped range shows through the existing (shared) map.
        file.write_all_at(b"M", 0).unwrap();
        assert_eq!(&map[..], b"Mapped bytes");
    }

    #[test]
    fn missing_path_is_invalid_config() {
        let r = MmapStorageFactory.open(None, &StorageOptions { read_only: false, create: true });
        assert!(matches!(r, Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn existing_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared.needle");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let s = MmapStorageFactory.open(Some(&path), &StorageOptions { read_only: false, create: true }).unwrap();
        assert_eq!(s.read_vec(0, 1).unwrap(), b"x");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    }
}
