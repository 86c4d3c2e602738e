//! Read replicas: a read-only handle that follows the writer's checkpoints.
//!
//! A read-only open beside a live writer sees the file as of the writer's last checkpoint. Each
//! checkpoint writes a new file and renames it over the old one, so the replica's mapped or
//! loaded bytes never change under it (the old file lives on until the replica lets it go).
//! [`Database::refresh`] looks at the file again and, if the writer has checkpointed since, loads
//! the new one and swaps it in: handles to collections that still exist with the same
//! configuration see the new data at once; handles to collections that were dropped (or dropped
//! and recreated with another configuration) answer `collection_not_found`.
//!
//! A replica never reads the WAL, so it lags the writer by whatever the WAL holds: with automatic
//! checkpoints (`DatabaseConfig::with_wal_autocheckpoint`) that is at most the threshold's worth
//! of writes, and a writer that wants readers to see a write at once calls `save()`.

use std::sync::atomic::Ordering;

use needle_core::{Error, Result};

use super::open::load_file;
use super::Database;
use crate::encryption::EncryptionInfo;

impl Database {
    /// For a read-only handle: loads the writer's latest checkpoint if the file has changed since
    /// this handle opened (or last refreshed). Returns whether anything was loaded. A writable or
    /// in-memory handle always sees its own writes: `invalid_argument`.
    ///
    /// Searches running during a refresh finish on the data they started with; the swap takes
    /// each collection's write lock for the time of a pointer exchange.
    pub fn refresh(&self) -> Result<bool> {
        let inner = &self.inner;
        let Some(path) = inner.path.as_ref().filter(|_| inner.config.read_only) else {
            return Err(Error::InvalidArgument(
                "refresh() is for read-only handles; a writable handle already sees every write".into(),
            ));
        };
        // The key was wiped after open: the new checkpoint must be sealed as the old one was (the
        // writer copies the encryption section), and the cipher built then opens it.
        let unlock = |info: Option<&EncryptionInfo>| {
            if info == inner.encryption.as_ref() {
                Ok(inner.cipher.clone())
            } else {
                Err(Error::InvalidArgument(format!("{} is now encrypted differently; open it again", path.display())))
            }
        };
        let (loaded, lock) =
            crate::locks::load_shared(path, || load_file(&inner.registry, &inner.config, path, &unlock))?;
        if loaded.file_id != inner.file_id {
            return Err(Error::InvalidArgument(format!(
                "{} is now another database (its file id changed); open it again",
                path.display()
            )));
        }
        let mut generation = inner.generation.lock();
        if loaded.generation == *generation {
            return Ok(false);
        }
        let fresh = self.decode_collections(&loaded)?;
        let mut map = inner.collections.write();
        for (name, old) in std::mem::take(&mut *map) {
            match fresh.get(&name) {
                Some(new) if same_shape(&old, new) => {
                    std::mem::swap(&mut *old.shared.state.write(), &mut *new.shared.state.write());
                    map.insert(name, old);
                }
                _ => old.shared.dropped.store(true, Ordering::Release),
            }
        }
        for (name, new) in fresh {
            map.entry(name).or_insert(new);
        }
        drop(map);
        let unverified = loaded.sections.iter().filter(|s| !s.verified).cloned().collect();
        inner.integrity.check_in_background(unverified);
        *generation = loaded.generation;
        // The replaced file is unlinked: nobody can rewrite it by name; the new one is locked.
        *inner.data_lock.lock() = Some(lock);
        Ok(true)
    }
}

/// Whether an existing handle can take over the new state: the same configuration and components
/// (a collection dropped and recreated differently gets a new handle).
fn same_shape(old: &crate::Collection, new: &crate::Collection) -> bool {
    let (a, b) = (&old.shared, &new.shared);
    a.config == b.config && a.components == b.components
}

#[cfg(test)]
mod tests {
    use crate::{Database, DatabaseConfig, EncryptionConfig};

    /// An open database keeps no key or passphrase (they are wiped once the cipher is built), and
    /// an encrypted replica still follows the writer with the cipher alone.
    #[test]
    fn encrypted_replica_refreshes_without_keeping_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.needle");
        let config = || DatabaseConfig::new().with_encryption(EncryptionConfig::aes256_passphrase("pass"));
        let writer = Database::open_with_config(&path, config()).unwrap();
        assert!(writer.inner.config.encryption.is_none());
        let c = writer.create_collection("c", 2).unwrap();
        writer.save().unwrap();
        let replica = Database::open_with_config(&path, config().with_read_only(true)).unwrap();
        assert!(replica.inner.config.encryption.is_none());
        c.insert("a", &[1.0, 2.0], None).unwrap();
        writer.save().unwrap();
        assert!(replica.refresh().unwrap());
        assert_eq!(replica.collection("c").unwrap().get("a").unwrap().unwrap().vector, vec![1.0, 2.0]);
    }
}
