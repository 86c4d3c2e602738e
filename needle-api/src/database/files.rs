//! The files of a database at `PATH` besides `PATH` itself — `PATH-wal` (the write-ahead log) and
//! `PATH-lock` (the writer's lock file) — and when an existing `PATH` is only a placeholder to
//! create the database in. Taking the locks is `locks.rs`'s job; following symlinks, `paths.rs`'s.

use std::path::{Path, PathBuf};

use needle_core::format::wal::WAL_HEADER_LEN;
use needle_core::Result;

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The WAL file of the database at `path`.
pub fn wal_path(path: &Path) -> PathBuf {
    sibling(path, "-wal")
}

/// The lock file of the database at `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    sibling(path, "-lock")
}

/// An empty file with no log records beside it, as `mkstemp` or `touch` leaves it: opened for
/// writing, it becomes a new database (the first checkpoint replaces it). With WAL records beside
/// it, it is not ours to overwrite: the normal open reports it as too short.
pub(super) fn is_placeholder(path: &Path, wal: &Path) -> Result<bool> {
    let empty = std::fs::metadata(path)?.len() == 0;
    let wal_len = match std::fs::metadata(wal) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(empty && wal_len <= WAL_HEADER_LEN as u64)
}
