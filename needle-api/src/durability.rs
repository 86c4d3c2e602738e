//! When a write is acknowledged: the [`Durability`] policy and the database's log handle.
//!
//! Every write of a file-backed database is appended to the write-ahead log before it changes
//! anything in memory. The policy decides when the append is made durable:
//!
//! * [`Durability::Immediate`] (default): `fsync` before the write returns. Writers that arrive
//!   while a sync is running share the next one (group commit), so concurrent writers pay about
//!   one sync per batch, not one each.
//! * [`Durability::Batched`]`(ms)`: a background thread syncs every `ms` milliseconds; a write
//!   returns once a sync covers it. Survives power loss; waits up to `ms`.
//! * [`Durability::OnSave`]: appends are written to the OS (they survive the process being
//!   killed) but synced only by `save()` or the next `Immediate` write; a power loss may lose them.
//!
//! A failed `fsync` is never retried as if it had succeeded (the kernel may have dropped the dirty
//! pages): the log is poisoned and the database handle becomes read-only, with the error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use needle_core::format::wal::WalWriter;
use needle_core::{Cipher, Error, Result};
use parking_lot::{Condvar, Mutex};

/// When writes become durable. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `fsync` before each write returns (shared among concurrent writers).
    #[default]
    Immediate,
    /// Group commit: sync every this many milliseconds; writes wait for the sync covering them.
    Batched(u64),
    /// Sync only on `save()`.
    OnSave,
}

struct Wal {
    writer: WalWriter,
    /// Log sequence number of the last appended record (monotonic across checkpoints).
    appended_lsn: u64,
}

/// The database's WAL, its cipher and its sync state. `None` inside for in-memory databases.
pub(crate) struct Log {
    wal: Mutex<Option<Wal>>,
    durability: Durability,
    cipher: Arc<dyn Cipher>,
    file_id: [u8; 16],
    synced_lsn: AtomicU64,
    failure: Mutex<Option<String>>,
    synced_cv: Condvar,
    synced_mx: Mutex<()>,
    /// Set when the database closes: every later call on its collections is `closed`.
    closed: AtomicBool,
    /// Automatic checkpoints: the WAL size that triggers one (0: never), what runs it, and
    /// whether one is running.
    autocheckpoint: AtomicU64,
    checkpointer: Mutex<Option<Checkpointer>>,
    checkpointing: AtomicBool,
}

/// Runs a checkpoint of the database that owns the log (it holds the database weakly).
pub(crate) type Checkpointer = Arc<dyn Fn() -> Result<()> + Send + Sync>;

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("durability", &self.durability).finish()
    }
}

/// Associated data binding a sealed WAL record to its database, epoch and position.
pub(crate) fn wal_aad(file_id: &[u8; 16], base_generation: u64, seq: u64) -> Vec<u8> {
    let mut aad = b"needle/wal".to_vec();
    aad.extend_from_slice(file_id);
    aad.extend_from_slice(&base_generation.to_le_bytes());
    aad.extend_from_slice(&seq.to_le_bytes());
    aad
}

impl Log {
    /// A log that writes nothing (in-memory and read-only databases).
    pub fn disabled(cipher: Arc<dyn Cipher>) -> Arc<Log> {
        Self::new(None, Durability::OnSave, cipher, [0; 16])
    }

    /// A log over `writer`; starts the sync thread for `Batched`.
    pub fn new(
        writer: Option<WalWriter>,
        durability: Durability,
        cipher: Arc<dyn Cipher>,
        file_id: [u8; 16],
    ) -> Arc<Log> {
        let log = Arc::new(Log {
            wal: Mutex::new(writer.map(|writer| Wal { writer, appended_lsn: 0 })),
            durability,
            cipher,
            file_id,
            synced_lsn: AtomicU64::new(0),
            failure: Mutex::new(None),
            synced_cv: Condvar::new(),
            synced_mx: Mutex::new(()),
            closed: AtomicBool::new(false),
            autocheckpoint: AtomicU64::new(0),
            checkpointer: Mutex::new(None),
            checkpointing: AtomicBool::new(false),
        });
        log.start_syncer();
        log
    }

    fn start_syncer(self: &Arc<Self>) {
        if let Durability::Batched(ms) = self.durability {
            if self.wal.lock().is_some() {
                spawn_syncer(Arc::downgrade(self), Duration::from_millis(ms.max(1)));
            }
        }
    }

    /// Starts logging to `writer`: a database being opened attaches its WAL only once replay has
    /// succeeded, so a failed open never writes to (or truncates) the log.
    pub fn attach(self: &Arc<Self>, writer: WalWriter) {
        *self.wal.lock() = Some(Wal { writer, appended_lsn: 0 });
        self.start_syncer();
    }

    /// Whether writes are logged at all.
    pub fn is_enabled(&self) -> bool {
        self.wal.lock().is_some()
    }

    /// The error that poisoned the log, if any.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    fn check_failure(&self) -> Result<()> {
        match self.failure() {
            Some(msg) => {
                Err(Error::ReadOnly(format!("an earlier write to the log failed ({msg}); reopen the database")))
            }
            None => Ok(()),
        }
    }

    fn poison(&self, e: &Error) {
        let mut f = self.failure.lock();
        if f.is_none() {
            tracing::error!(error = %e, "write-ahead log failed; the database is now read-only");
            *f = Some(e.to_string());
        }
        self.synced_cv.notify_all();
    }

    /// Checkpoints with `run` whenever a write leaves more than `bytes` in the log (0: never).
    pub fn set_autocheckpoint(&self, bytes: u64, run: Checkpointer) {
        self.autocheckpoint.store(bytes, Ordering::Release);
        *self.checkpointer.lock() = Some(run);
    }

    /// Called after a write was committed, holding no lock: checkpoints when the log has grown
    /// past the threshold (one checkpoint at a time; a failure is logged, never reported to the
    /// write, which is durable already).
    pub fn after_write(&self) {
        let limit = self.autocheckpoint.load(Ordering::Acquire);
        if limit == 0 || self.len() <= limit || self.is_closed() || self.failure().is_some() {
            return;
        }
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        let run = self.checkpointer.lock().clone();
        if let Some(run) = run {
            if let Err(e) = run() {
                tracing::warn!(error = %e, "automatic checkpoint failed; the WAL keeps every write");
            }
        }
        self.checkpointing.store(false, Ordering::Release);
    }

    /// Marks the database closed: from now on its collections refuse every call, and appends
    /// fail with `closed` (checked under the log's lock, so none can slip past [`close`](Self::close)).
    pub fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether the database was closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// `Err(Closed)` once the database was closed.
    pub fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed("the database this handle belongs to was dropped; open it again".into()));
        }
        Ok(())
    }

    /// Appends one operation (sealed with the cipher). Returns its LSN, or 0 when logging is off.
    /// Call with the affected collection's write lock held, before changing memory.
    pub fn append(&self, payload: Vec<u8>) -> Result<u64> {
        self.check_failure()?;
        let mut guard = self.wal.lock();
        self.check_open()?;
        let Some(wal) = guard.as_mut() else { return Ok(0) };
        // An oversize record is refused before any byte is written: bad input, not a failed
        // log, so it must not poison it (sealing only grows a payload).
        wal.writer.check_size(payload.len())?;
        let aad = wal_aad(&self.file_id, wal.writer.header().base_generation, wal.writer.next_seq());
        let sealed = self.cipher.seal_owned(payload, &aad)?;
        wal.writer.check_size(sealed.len())?;
        if let Err(e) = wal.writer.append(&sealed) {
            // A partial append is a torn tail; later appends would follow garbage. Stop here.
            self.poison(&e);
            return Err(e);
        }
        wal.appended_lsn += 1;
        Ok(wal.appended_lsn)
    }

    /// Waits until the record with `lsn` is as durable as the policy promises.
    pub fn commit(&self, lsn: u64) -> Result<()> {
        if lsn == 0 {
            return Ok(());
        }
        match self.durability {
            Durability::OnSave => Ok(()),
            Durability::Immediate => self.sync_through(lsn),
            Durability::Batched(ms) => {
                // Wait for the sync thread; if it has not covered us within two periods (it may
                // have failed to start), sync ourselves rather than wait forever.
                let deadline = std::time::Instant::now() + Duration::from_millis(ms.max(1) * 2);
                let mut g = self.synced_mx.lock();
                while self.synced_lsn.load(Ordering::Acquire) < lsn {
                    self.check_failure()?;
                    if std::time::Instant::now() >= deadline {
                        drop(g);
                        return self.sync_through(lsn);
                    }
                    self.synced_cv.wait_until(&mut g, deadline);
                }
                Ok(())
            }
        }
    }

    /// Syncs the log unless a sync already covered `lsn`.
    fn sync_through(&self, lsn: u64) -> Result<()> {
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        self.check_failure()?;
        let guard = self.wal.lock();
        let Some(wal) = guard.as_ref() else { return Ok(()) };
        if self.synced_lsn.load(Ordering::Acquire) >= lsn {
            return Ok(());
        }
        let upto = wal.appended_lsn;
        if let Err(e) = wal.writer.sync() {
            self.poison(&e);
            return Err(e);
        }
        self.synced_lsn.fetch_max(upto, Ordering::AcqRel);
        drop(guard);
        let _g = self.synced_mx.lock();
        self.synced_cv.notify_all();
        Ok(())
    }

    /// Syncs everything appended so far.
    pub fn sync_all(&self) -> Result<()> {
        let lsn = self.wal.lock().as_ref().map_or(0, |w| w.appended_lsn);
        self.sync_through(lsn)
    }

    /// After a checkpoint wrote `generation`: empty the log and start a new epoch. Callers hold
    /// every collection's lock, so no append can slip between the checkpoint and the reset.
    pub fn checkpointed(&self, generation: u64) -> Result<()> {
        let mut guard = self.wal.lock();
        let Some(wal) = guard.as_mut() else { return Ok(()) };
        if let Err(e) = wal.writer.reset(generation) {
            self.poison(&e);
            return Err(e);
        }
        self.synced_lsn.fetch_max(wal.appended_lsn, Ordering::AcqRel);
        drop(guard);
        let _g = self.synced_mx.lock();
        self.synced_cv.notify_all();
        Ok(())
    }

    /// Bytes currently in the log (0 when disabled).
    pub fn len(&self) -> u64 {
        self.wal.lock().as_ref().map_or(0, |w| w.writer.len())
    }

    /// Stops logging (the database is closing): marks it closed, syncs what was appended (a write
    /// that appended before the close is acknowledged by a commit that finds no log to sync) and
    /// returns true only when a log was attached and held no records, i.e. its file may be removed.
    pub fn close(&self) -> bool {
        let mut guard = self.wal.lock();
        self.mark_closed();
        let Some(wal) = guard.take() else { return false };
        if let Err(e) = wal.writer.sync() {
            self.poison(&e);
            return false;
        }
        self.synced_lsn.fetch_max(wal.appended_lsn, Ordering::AcqRel);
        wal.writer.is_empty()
    }
}

fn spawn_syncer(log: Weak<Log>, every: Duration) {
    let spawned = std::thread::Builder::new().name("needle-wal-sync".into()).spawn(move || loop {
        std::thread::sleep(every);
        let Some(log) = log.upgrade() else { return };
        if !log.is_enabled() || log.failure().is_some() {
            return;
        }
        let _ = log.sync_all();
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the WAL sync thread; writes will wait for Immediate syncs");
    }
}

#[cfg(test)]
mod tests {
    use needle_core::cipher::NoCipher;
    use needle_core::format::wal::WalHeader;
    use needle_core::storage::MemoryStorage;
    use needle_core::ErrorCode;

    use super::*;

    #[test]
    fn an_oversize_record_is_refused_without_writing_or_poisoning_the_log() {
        let header = WalHeader { file_id: [3; 16], base_generation: 1 };
        let writer = WalWriter::create(Box::new(MemoryStorage::new()), header).unwrap().with_max_record(1024);
        let log = Log::new(Some(writer), Durability::Immediate, Arc::new(NoCipher), [3; 16]);
        let lsn = log.append(vec![1; 100]).unwrap();
        log.commit(lsn).unwrap();
        let before = log.len();
        let err = log.append(vec![2; 1025]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
        assert_eq!(log.len(), before, "no byte of the refused record was written");
        assert!(log.failure().is_none(), "the log was poisoned: {:?}", log.failure());
        // Later writes succeed, and the record at the limit is accepted.
        let lsn = log.append(vec![3; 1024]).unwrap();
        log.commit(lsn).unwrap();
        assert_eq!(log.len(), before + 16 + 1024);
    }
}
