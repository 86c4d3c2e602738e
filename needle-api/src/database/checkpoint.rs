//! Checkpoints and closing: the whole database encoded under every collection's read lock and
//! written to a new file that is synced and renamed over the old one (`write_snapshot_with`), then
//! the WAL reset to the new generation (`save`, `compact`, automatic checkpoints, and `Drop` when
//! the last handle closes a changed database); `backup_to` writes the same snapshot elsewhere.

use std::path::Path;
use std::sync::atomic::Ordering;

use needle_core::format::{self, SectionKind, FLAG_ENCRYPTED};
use needle_core::{Error, Result};

use super::files::wal_path;
use super::{Database, Inner};
use crate::encryption;
use crate::persist::{self, Catalog};

impl Database {
    /// Checkpoints: writes every collection to the file and empties the WAL. Reopening gives
    /// identical results.
    pub fn save(&self) -> Result<()> {
        self.check_writable()?;
        self.checkpoint()
    }

    /// Rewrites every collection without its deleted vectors, then checkpoints: the file shrinks
    /// and searches return the same vectors.
    pub fn compact(&self) -> Result<()> {
        self.check_writable()?;
        for c in self.inner.collections.read().values() {
            c.compact()?;
        }
        self.checkpoint()
    }

    /// Writes a consistent copy of the database (including writes not yet checkpointed) to
    /// `dest`, while it stays in use. The copy is a database of its own (new file id), encrypted
    /// with the same key when this one is encrypted.
    pub fn backup_to(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = crate::paths::resolve(dest.as_ref())?;
        let dest = dest.as_path();
        if self.inner.path.as_deref().is_some_and(|p| p == dest) {
            return Err(Error::InvalidArgument("backup destination is the database itself".into()));
        }
        write_snapshot(&self.inner, dest, crate::random::bytes()?, 1)
    }

    pub(super) fn checkpoint(&self) -> Result<()> {
        checkpoint(&self.inner)
    }

    /// Whether there are changes not yet checkpointed.
    pub fn is_dirty(&self) -> bool {
        self.inner.dirty.load(Ordering::Acquire)
    }
}

/// Encodes the whole database (under every collection's read lock) and writes it to `dest`.
/// Returns with the locks released; `after` runs while they are still held.
fn write_snapshot_with(
    inner: &Inner,
    dest: &Path,
    file_id: [u8; 16],
    generation: u64,
    after: impl FnOnce() -> Result<()>,
) -> Result<()> {
    // Bytes of a mapped file whose checksums are still being checked are not copied unchecked.
    inner.integrity.wait()?;
    // Every collection's read lock is held while encoding and writing: the file is one
    // consistent snapshot, and no write can reach the WAL before `after` (the WAL reset) runs.
    let map = inner.collections.read();
    let guards: Vec<_> = map.values().map(|c| (c, c.shared.state.read())).collect();
    let mut sections = Vec::new();
    let mut catalog = Catalog { collections: Vec::with_capacity(guards.len()) };
    for (i, (c, st)) in guards.iter().enumerate() {
        let entry = persist::encode_collection(
            &inner.registry,
            &c.shared.config,
            &c.shared.components,
            st,
            i as u32 + 1,
            &mut sections,
        )?;
        catalog.collections.push(entry);
    }
    sections.insert(
        0,
        format::Section { kind: SectionKind::Catalog, owner: 0, data: serde_json::to_vec_pretty(&catalog)? },
    );
    let mut flags = 0;
    if let Some(info) = &inner.encryption {
        flags |= FLAG_ENCRYPTED;
        for (ordinal, s) in sections.iter_mut().enumerate() {
            let aad = encryption::section_aad(&file_id, generation, s.kind as u16, s.owner, ordinal as u32);
            s.data = inner.cipher.seal(&s.data, &aad)?;
        }
        sections.push(format::Section { kind: SectionKind::Encryption, owner: 0, data: serde_json::to_vec(info)? });
    }
    let storage = if inner.path.is_some() { inner.config.storage.as_str() } else { "mmap" };
    format::write_file(&inner.registry, storage, dest, file_id, generation, flags, &sections)?;
    after()?;
    drop(guards);
    drop(map);
    Ok(())
}

fn write_snapshot(inner: &Inner, dest: &Path, file_id: [u8; 16], generation: u64) -> Result<()> {
    write_snapshot_with(inner, dest, file_id, generation, || Ok(()))
}

pub(super) fn checkpoint(inner: &Inner) -> Result<()> {
    let Some(path) = &inner.path else { return Ok(()) };
    let mut generation = inner.generation.lock();
    let next = *generation + 1;
    inner.dirty.store(false, Ordering::Release);
    let result = write_snapshot_with(inner, path, inner.file_id, next, || inner.log.checkpointed(next));
    match result {
        Ok(()) => {
            *generation = next;
            lock_checkpoint(inner, path);
            Ok(())
        }
        Err(e) => {
            inner.dirty.store(true, Ordering::Release);
            Err(e)
        }
    }
}

/// Moves the writer's shared lock to the file its checkpoint just renamed into place. The
/// checkpoint itself succeeded: a lock that cannot be taken is logged, not an error.
fn lock_checkpoint(inner: &Inner, path: &Path) {
    match crate::locks::shared(path) {
        Ok(file) => *inner.data_lock.lock() = Some(file),
        // A storage backend that keeps no file at this path: nothing to lock.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "could not lock the new checkpoint"),
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Collection handles may outlive the database: from here on they are `closed`. A write
        // already past its checks finishes first (the checkpoint below waits for its lock) or
        // fails at the append.
        self.log.mark_closed();
        let Some(path) = self.path.clone() else { return };
        let opened = self.opened.load(Ordering::Acquire);
        // A read-only handle, or one that never finished opening, has nothing left to protect:
        // stop reading the map.
        if self.config.read_only || !opened {
            self.integrity.cancel();
        }
        // A failed open leaves the WAL alone: it may hold every write since the last checkpoint.
        if self.config.read_only || !opened || self.log.failure().is_some() {
            return;
        }
        if self.dirty.load(Ordering::Acquire) {
            if let Err(e) = checkpoint(self) {
                tracing::error!(error = %e, "checkpoint on close failed; the WAL keeps the changes");
                return;
            }
        }
        if self.log.close() {
            let _ = std::fs::remove_file(wal_path(&path));
        }
    }
}
