//! A storage backend that simulates power loss, in the spirit of SQLite's crash-test VFS.
//!
//! [`SimFactory`] registers as storage id `powerloss`. Each handle it opens wraps the real `mmap`
//! backend, so the database runs on real files, and it journals every `write_at` and `set_len`
//! made since that file's last `sync`. Files are tracked by inode, so a checkpoint's rename of
//! `<file>.tmp` over `<file>` keeps its journal.
//!
//! Every write, truncation and sync counts as one step. At the step chosen as the crash point,
//! before that step runs, the simulator writes the directory as a power cut could leave it to a
//! second directory: each file is its last synced content with each unsynced change then
//! independently dropped, kept, torn (only a prefix up to a 512-byte sector boundary reaches the
//! disk) or garbled (one sector of it holds random bytes). From then on every step fails, as if
//! the process had died, so the workload stops at the operation that was in flight.
//!
//! Directory operations (create, rename, remove) are taken as durable when they return: Needle
//! syncs the directory after each, and the simulator does not model a lost rename.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use needle_core::storage::MmapStorageFactory;
use needle_core::traits::{StorageBackend, StorageFactory, StorageOptions};
use needle_core::{Error, Result};
use parking_lot::Mutex;

use crate::workload::next;

/// Sector size for torn and garbled writes.
const SECTOR: u64 = 512;

/// An unsynced change to one file.
#[derive(Debug, Clone)]
enum Pending {
    Write(u64, Vec<u8>),
    SetLen(u64),
}

/// What the disk holds for one file (by inode), and what is still only in the page cache.
#[derive(Debug, Default)]
struct Journal {
    durable: Vec<u8>,
    pending: Vec<Pending>,
}

fn apply(image: &mut Vec<u8>, change: &Pending) {
    match change {
        Pending::Write(offset, data) => {
            let end = *offset as usize + data.len();
            if image.len() < end {
                image.resize(end, 0);
            }
            image[*offset as usize..end].copy_from_slice(data);
        }
        Pending::SetLen(len) => image.resize(*len as usize, 0),
    }
}

/// How the crash treated the unsynced changes, summed over trials for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct CrashFates {
    pub dropped: u64,
    pub kept: u64,
    pub torn: u64,
    pub garbled: u64,
}

#[derive(Debug)]
struct State {
    journals: HashMap<u64, Journal>,
    steps: u64,
    crash_at: u64,
    crashed: bool,
    rng: u64,
    fates: CrashFates,
}

/// The simulator: one per trial, shared by every handle that trial opens.
#[derive(Debug)]
pub struct SimFs {
    dir: PathBuf,
    snapshot: PathBuf,
    state: Mutex<State>,
}

impl SimFs {
    /// Simulates files in `dir`; the crash image goes to `snapshot` (created when the crash
    /// happens) just before step number `crash_at` (1-based).
    pub fn new(dir: &Path, snapshot: &Path, crash_at: u64, seed: u64) -> Arc<SimFs> {
        Arc::new(SimFs {
            dir: dir.to_path_buf(),
            snapshot: snapshot.to_path_buf(),
            state: Mutex::new(State {
                journals: HashMap::new(),
                steps: 0,
                crash_at,
                crashed: false,
                rng: seed | 1,
                fates: CrashFates::default(),
            }),
        })
    }

    /// True once the crash point has passed.
    pub fn crashed(&self) -> bool {
        self.state.lock().crashed
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.state.lock().steps
    }

    /// How the crash treated unsynced changes.
    pub fn fates(&self) -> CrashFates {
        self.state.lock().fates
    }

    /// Cuts the power now (if it has not been cut yet): writes the crash image.
    pub fn crash_now(&self) {
        let mut state = self.state.lock();
        if !state.crashed {
            self.crash(&mut state);
        }
    }

    /// Counts one step; at the crash point writes the crash image. Err once crashed.
    fn step(&self, state: &mut State) -> Result<()> {
        if state.crashed {
            return Err(power_lost());
        }
        state.steps += 1;
        if state.steps >= state.crash_at {
            self.crash(state);
            return Err(power_lost());
        }
        Ok(())
    }

    fn crash(&self, state: &mut State) {
        state.crashed = true;
        std::fs::create_dir_all(&self.snapshot).unwrap();
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if !meta.is_file() {
                continue;
            }
            let target = self.snapshot.join(entry.file_name());
            let Some(journal) = state.journals.get(&meta.ino()) else {
                // Never opened through the simulator (the lock file): as it is.
                std::fs::copy(entry.path(), &target).unwrap();
                continue;
            };
            let mut image = journal.durable.clone();
            let pending = journal.pending.clone();
            for change in &pending {
                let fate = next(&mut state.rng) % 4;
                match (fate, change) {
                    (0, _) => state.fates.dropped += 1,
                    (1, _) | (_, Pending::SetLen(_)) => {
                        state.fates.kept += 1;
                        apply(&mut image, change)
                    }
                    (2, Pending::Write(offset, data)) => {
                        state.fates.torn += 1;
                        // Only whole sectors up to a random boundary inside the write reach the disk.
                        let end = offset + data.len() as u64;
                        let first = offset.div_ceil(SECTOR) * SECTOR;
                        let boundaries: Vec<u64> = (0..)
                            .map(|i| first + i * SECTOR)
                            .take_while(|b| *b < end)
                            .chain(std::iter::once(*offset))
                            .collect();
                        let cut = boundaries[(next(&mut state.rng) % boundaries.len() as u64) as usize];
                        let keep = (cut - offset) as usize;
                        apply(&mut image, &Pending::Write(*offset, data[..keep].to_vec()));
                    }
                    (_, Pending::Write(offset, data)) => {
                        state.fates.garbled += 1;
                        // The write lands, but one sector it touches holds garbage.
                        let mut data = data.clone();
                        let sector =
                            (offset / SECTOR + next(&mut state.rng) % (data.len() as u64 / SECTOR + 1)) * SECTOR;
                        let from = sector.saturating_sub(*offset) as usize;
                        let to = ((sector + SECTOR).saturating_sub(*offset) as usize).min(data.len());
                        for byte in data.iter_mut().take(to).skip(from) {
                            *byte = next(&mut state.rng) as u8;
                        }
                        apply(&mut image, &Pending::Write(*offset, data));
                    }
                }
            }
            std::fs::write(&target, &image).unwrap();
        }
    }
}

fn power_lost() -> Error {
    Error::Io(std::io::Error::other("simulated power loss"))
}

/// Storage factory `powerloss` over one [`SimFs`].
#[derive(Debug)]
pub struct SimFactory(pub Arc<SimFs>);

impl StorageFactory for SimFactory {
    fn id(&self) -> &str {
        "powerloss"
    }

    fn version(&self) -> u32 {
        1
    }

    fn open(&self, path: Option<&Path>, options: &StorageOptions) -> Result<Box<dyn StorageBackend>> {
        let path = path.expect("the powerloss storage needs a path");
        let existed = path.exists();
        let inner = MmapStorageFactory.open(Some(path), options)?;
        let ino = std::fs::metadata(path)?.ino();
        let mut state = self.0.state.lock();
        if !existed || !state.journals.contains_key(&ino) {
            // A new file (possibly reusing a removed file's inode), or one this trial never saw.
            let durable = if existed { std::fs::read(path)? } else { Vec::new() };
            state.journals.insert(ino, Journal { durable, pending: Vec::new() });
        }
        drop(state);
        Ok(Box::new(SimStorage { fs: self.0.clone(), ino, inner }))
    }
}

/// One open file under the simulator.
#[derive(Debug)]
struct SimStorage {
    fs: Arc<SimFs>,
    ino: u64,
    inner: Box<dyn StorageBackend>,
}

impl StorageBackend for SimStorage {
    fn id(&self) -> &str {
        "powerloss"
    }

    fn len(&self) -> Result<u64> {
        self.inner.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.read_at(offset, buf)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> Result<()> {
        let mut state = self.fs.state.lock();
        self.fs.step(&mut state)?;
        self.inner.write_at(offset, data)?;
        state.journals.entry(self.ino).or_default().pending.push(Pending::Write(offset, data.to_vec()));
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut state = self.fs.state.lock();
        self.fs.step(&mut state)?;
        self.inner.set_len(len)?;
        state.journals.entry(self.ino).or_default().pending.push(Pending::SetLen(len));
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        let mut state = self.fs.state.lock();
        self.fs.step(&mut state)?;
        // No real fsync: only the crash image has to be durable, and it is built from the journal.
        let journal = state.journals.entry(self.ino).or_default();
        for change in std::mem::take(&mut journal.pending) {
            apply(&mut journal.durable, &change);
        }
        Ok(())
    }

    fn mapped(&self) -> Option<Arc<dyn AsRef<[u8]> + Send + Sync>> {
        self.inner.mapped()
    }
}
