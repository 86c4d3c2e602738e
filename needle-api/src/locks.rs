//! Advisory locks (`flock`) around a database's files, and the rule they enforce.
//!
//! * **One writer**: a writable handle holds an exclusive lock on `<file>-lock` ([`writer`]).
//! * **Nobody rewrites a file in use**: every handle holds a shared lock on the data file now at
//!   its path ([`load_shared`], [`shared`]) — a read-only handle on the file it loaded (its
//!   `refresh` moves the lock to the file it refreshes to), a writer on the file of its latest
//!   checkpoint. A mapped file rewritten in place raises SIGBUS in every process mapping it, and
//!   a truncated checkpoint loses the data the emptied WAL no longer holds.
//! * Needle never rewrites a data file in place itself: checkpoints and backups write a new file
//!   and rename it. Anything that writes into an existing file by name (`needle export -o`) takes
//!   an exclusive lock first ([`exclusive_for_rewrite`]) and fails with `locked` while any handle
//!   holds the file.
//!
//! The locks are advisory: `cp` or `rsync --inplace` ignore them. Overwriting a live database in
//! place with another program is never safe; copy to a new name and rename, or stop its users.

use std::fs::{File, TryLockError};
use std::path::Path;

use needle_core::{Error, Result};

/// The writer's lock on `lock_file` (created 0600), or `locked` while another handle has it.
pub(crate) fn writer(lock_file: &Path, db: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file =
        std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(lock_file)?;
    held(
        || file.try_lock(),
        || {
            format!(
            "{} is open for writing in another process (or another handle of this one); open it read-only or close the other",
            db.display()
        )
        },
    )?;
    Ok(file)
}

/// A shared lock on the data file now at `path`; `locked` while something rewrites it in place.
pub(crate) fn shared(path: &Path) -> Result<File> {
    let file = File::open(path)?;
    held(
        || file.try_lock_shared(),
        || {
            format!(
                "{} is being rewritten in place (another process holds an exclusive lock on it); retry when it is done",
                path.display()
            )
        },
    )?;
    Ok(file)
}

/// How long a lock that is taken is tried again before `locked`.
///
/// A `flock` belongs to the open file, and a child process gets a copy of every descriptor at
/// `fork`: until it calls `exec` (which closes them, as Needle opens every file close-on-exec)
/// it keeps the locks of handles its parent has already closed. A program that starts processes
/// from one thread while it closes and reopens a database in another would otherwise see a
/// spurious `locked` in that window, which is short but unbounded on a loaded machine. A real
/// holder is still reported, after this grace.
const GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Tries `attempt` until it succeeds or [`GRACE`] has passed: `locked` with `why()` when another
/// holder still has it.
fn held(
    mut attempt: impl FnMut() -> std::result::Result<(), TryLockError>,
    why: impl FnOnce() -> String,
) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        match attempt() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if started.elapsed() < GRACE => {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            Err(TryLockError::WouldBlock) => return Err(Error::Locked(why())),
            Err(TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
    }
}

/// How often [`load_shared`] tries before giving up on a file replaced under it each time.
const ATTEMPTS: usize = 8;

/// Runs `load` (which reads the file at `path`) under a shared lock on that same file: when a
/// checkpoint renamed a new file into place between locking and loading, it tries again, so the
/// lock returned is always on the file that was loaded.
pub(crate) fn load_shared<T>(path: &Path, mut load: impl FnMut() -> Result<T>) -> Result<(T, File)> {
    for _ in 0..ATTEMPTS {
        let lock = shared(path)?;
        let loaded = load()?;
        if same_file(&lock, path)? {
            return Ok((loaded, lock));
        }
    }
    Err(Error::Locked(format!("{} was replaced {ATTEMPTS} times while it was being opened; retry", path.display())))
}

/// Whether `file` is the file now at `path` (checkpoints replace it with a new inode, never
/// reuse one).
fn same_file(file: &File, path: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (file.metadata()?, std::fs::metadata(path)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

/// Opens `path` to be rewritten from the start (created 0600 when missing), under an exclusive
/// lock: `locked`, with the file untouched, while any Needle handle holds it. Truncates only once
/// the lock is held.
#[cfg_attr(not(feature = "cli"), allow(dead_code))] // used by `needle export -o`
pub(crate) fn exclusive_for_rewrite(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(false).mode(0o600).open(path)?;
    held(
        || file.try_lock(),
        || {
            format!(
                "{} is a database in use (a handle holds a shared lock on it); write to another file",
                path.display()
            )
        },
    )?;
    file.set_len(0)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_locks_coexist_and_exclude_a_rewrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"data").unwrap();
        let (n, a) = load_shared(&path, || Ok(1)).unwrap();
        assert_eq!(n, 1);
        let b = shared(&path).unwrap();
        assert_eq!(exclusive_for_rewrite(&path).unwrap_err().code(), needle_core::ErrorCode::Locked);
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        drop((a, b));
        let mut w = exclusive_for_rewrite(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        assert_eq!(shared(&path).unwrap_err().code(), needle_core::ErrorCode::Locked);
        std::io::Write::write_all(&mut w, b"x").unwrap();
    }

    #[test]
    fn a_file_replaced_while_loading_is_loaded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"old").unwrap();
        let mut replaced = false;
        let (seen, lock) = load_shared(&path, || {
            if !replaced {
                // A checkpoint lands between the lock and the load.
                std::fs::write(dir.path().join("tmp"), b"new").unwrap();
                std::fs::rename(dir.path().join("tmp"), &path).unwrap();
                replaced = true;
            }
            Ok(std::fs::read(&path)?)
        })
        .unwrap();
        assert_eq!(seen, b"new");
        assert!(same_file(&lock, &path).unwrap());
    }
}
