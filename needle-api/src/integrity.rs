//! The deferred checksum check of a mapped file's bulk sections.
//!
//! Opening a large file maps it and checks only the header, the section table and the small
//! sections' checksums, so open time does not grow with the data (see `docs/format.md`,
//! "Reading"). The checksums of the vectors, norms, codes, records and index sections are checked
//! here, on a background thread started at open. A mismatch marks the database corrupted: every later
//! call on its collections is a `corrupted` error naming the section, and a checkpoint or backup
//! refuses to copy the damaged bytes into a new file (it waits for the check first).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use needle_core::format::LoadedSection;
use needle_core::{Error, Result};
use parking_lot::Mutex;

/// The state of the deferred check.
#[derive(Debug, Default)]
pub(crate) struct Integrity {
    failure: OnceLock<String>,
    pending: Mutex<Option<JoinHandle<()>>>,
    cancelled: AtomicBool,
}

/// Bytes checksummed between looks at the cancel flag.
const CHUNK: usize = 8 << 20;

impl Integrity {
    pub fn new() -> Arc<Integrity> {
        Arc::new(Integrity::default())
    }

    /// Verifies `sections` on a background thread (nothing to do when empty).
    pub fn check_in_background(self: &Arc<Self>, sections: Vec<LoadedSection>) {
        if sections.is_empty() {
            return;
        }
        let me = Arc::clone(self);
        let shared = Arc::new(sections);
        let todo = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name("needle-verify".into()).spawn(move || me.verify(&todo));
        match spawned {
            Ok(handle) => *self.pending.lock() = Some(handle),
            // No thread available: verify now rather than never.
            Err(_) => self.verify(&shared),
        }
    }

    fn verify(&self, sections: &[LoadedSection]) {
        for s in sections {
            let mut h = crc32fast::Hasher::new();
            for chunk in s.data.chunks(CHUNK) {
                if self.cancelled.load(Ordering::Relaxed) {
                    return;
                }
                h.update(chunk);
            }
            if h.finalize() != s.crc {
                let e = Error::corrupted(format!("{:?} section", s.kind), s.offset, "checksum mismatch");
                let _ = self.failure.set(e.to_string());
                return;
            }
        }
    }

    /// Stops the check early (the database is closing and will not use the data).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `corrupted` once the check has found a mismatch.
    pub fn check(&self) -> Result<()> {
        match self.failure.get() {
            Some(msg) => Err(Error::corrupted("database file", 0, format!("deferred checksum check: {msg}"))),
            None => Ok(()),
        }
    }

    /// Waits for the check to finish, then [`check`](Self::check).
    pub fn wait(&self) -> Result<()> {
        let handle = self.pending.lock().take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        self.check()
    }
}
