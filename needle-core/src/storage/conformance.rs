//! One behavioural suite every storage backend must pass.
//!
//! `run_conformance(factory, path)` checks ranges, growth, truncation, out-of-range reads and
//! concurrent readers on any backend; given a `path` (a persistent backend) it also checks that a
//! reopened handle sees the data, that read-only handles refuse changes and expose their map, that
//! new files are mode 0600 and that opening a missing file without `create` is `NotFound`.

use std::path::Path;

use crate::traits::{StorageBackend, StorageFactory, StorageOptions};
use crate::Error;

const RW_CREATE: StorageOptions = StorageOptions { read_only: false, create: true };
const RW: StorageOptions = StorageOptions { read_only: false, create: false };
const RO: StorageOptions = StorageOptions { read_only: true, create: false };

fn assert_past_end(r: crate::Result<()>, at: u64) {
    match r {
        Err(Error::Corrupted { offset, .. }) => assert_eq!(offset, at),
        other => panic!("expected Corrupted at offset {at}, got {other:?}"),
    }
}

fn assert_read_only<T: std::fmt::Debug>(r: crate::Result<T>) {
    assert!(matches!(r, Err(Error::ReadOnly(_))), "expected ReadOnly, got {r:?}");
}

/// Runs the whole suite against `factory`; `path` must not exist yet (`None` for memory backends).
pub(super) fn run_conformance(factory: &dyn StorageFactory, path: Option<&Path>) {
    if let Some(p) = path {
        missing_file_without_create_is_not_found(factory, p);
    }
    let s = factory.open(path, &RW_CREATE).unwrap();
    ranges_growth_and_truncation(s.as_ref());
    many_appends_with_interleaved_reads(s.as_ref());
    concurrent_readers_see_whole_blocks(s.as_ref());
    s.set_len(0).unwrap();
    s.write_at(0, b"persisted bytes").unwrap();
    s.sync().unwrap();
    // A writable handle never exposes its map (its bytes could change under the caller).
    assert!(s.mapped().is_none());
    drop(s);
    if let Some(p) = path {
        reopen_sees_data(factory, p);
        read_only_refuses_changes(factory, p);
        new_file_is_private(p);
    } else {
        let ro = factory.open(None, &RO).unwrap();
        assert_read_only(ro.write_at(0, b"x"));
        assert_read_only(ro.set_len(1));
    }
}

fn ranges_growth_and_truncation(s: &dyn StorageBackend) {
    assert_eq!(s.len().unwrap(), 0);
    assert!(s.is_empty().unwrap());
    s.read_at(0, &mut []).unwrap();
    assert_past_end(s.read_at(0, &mut [0u8; 1]), 0);

    s.write_at(0, b"hello").unwrap();
    assert_eq!(s.len().unwrap(), 5);
    assert_eq!(s.read_vec(0, 5).unwrap(), b"hello");
    assert_eq!(s.read_vec(1, 3).unwrap(), b"ell");

    // Writing past the end grows the storage and zero-fills the gap.
    s.write_at(10, b"xyz").unwrap();
    assert_eq!(s.len().unwrap(), 13);
    assert_eq!(s.read_vec(0, 13).unwrap(), b"hello\0\0\0\0\0xyz");

    // Overwrite in the middle, across the old end.
    s.write_at(3, b"LOWORLD").unwrap();
    assert_eq!(s.read_vec(0, 13).unwrap(), b"helLOWORLDxyz");

    // Reads that end past the end fail and name their offset; nothing partial is returned.
    assert_past_end(s.read_at(11, &mut [0u8; 4]), 11);
    assert_past_end(s.read_at(13, &mut [0u8; 1]), 13);
    assert_past_end(s.read_at(u64::MAX, &mut [0u8; 2]), u64::MAX);
    s.read_at(13, &mut []).unwrap();

    // Extend with zeros, then truncate.
    s.set_len(20).unwrap();
    assert_eq!(s.len().unwrap(), 20);
    assert_eq!(s.read_vec(13, 7).unwrap(), [0u8; 7]);
    s.set_len(4).unwrap();
    assert_eq!(s.len().unwrap(), 4);
    assert_eq!(s.read_vec(0, 4).unwrap(), b"helL");
    assert_past_end(s.read_at(2, &mut [0u8; 3]), 2);

    // Growing again after a truncation exposes zeros, not the old bytes.
    s.set_len(8).unwrap();
    assert_eq!(s.read_vec(0, 8).unwrap(), b"helL\0\0\0\0");
    s.set_len(0).unwrap();
    assert!(s.is_empty().unwrap());
    s.sync().unwrap();
}

fn many_appends_with_interleaved_reads(s: &dyn StorageBackend) {
    let block = |i: u64| -> Vec<u8> { (0..100u64).map(|j| (i * 7 + j) as u8).collect() };
    for i in 0..500u64 {
        s.write_at(i * 100, &block(i)).unwrap();
        if i % 7 == 0 {
            assert_eq!(s.read_vec(i * 100, 100).unwrap(), block(i));
            assert_eq!(s.read_vec(i / 2 * 100, 100).unwrap(), block(i / 2));
        }
    }
    assert_eq!(s.len().unwrap(), 50_000);
    for i in (0..500u64).step_by(37) {
        assert_eq!(s.read_vec(i * 100, 100).unwrap(), block(i));
    }
    s.set_len(0).unwrap();
}

/// A writer appends 64-byte blocks whose bytes all equal the block number while readers read
/// every block the length says is complete: they must never see a torn or stale block.
fn concurrent_readers_see_whole_blocks(s: &dyn StorageBackend) {
    const BLOCKS: u64 = 2_000;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut seen = 0;
                while seen < BLOCKS {
                    let complete = s.len().unwrap() / 64;
                    for b in seen..complete {
                        let got = s.read_vec(b * 64, 64).unwrap();
                        assert!(got.iter().all(|&x| x == b as u8), "block {b} read as {got:?}");
                    }
                    seen = complete;
                    std::thread::yield_now();
                }
            });
        }
        for b in 0..BLOCKS {
            s.write_at(b * 64, &[b as u8; 64]).unwrap();
        }
    });
    s.set_len(0).unwrap();
}

fn missing_file_without_create_is_not_found(factory: &dyn StorageFactory, path: &Path) {
    for opts in [RW, RO, StorageOptions { read_only: true, create: true }] {
        match factory.open(Some(path), &opts) {
            Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{opts:?}"),
            other => panic!("expected NotFound with {opts:?}, got {other:?}"),
        }
    }
    assert!(!path.exists());
}

fn reopen_sees_data(factory: &dyn StorageFactory, path: &Path) {
    let s = factory.open(Some(path), &RW).unwrap();
    assert_eq!(s.len().unwrap(), 15);
    assert_eq!(s.read_vec(0, 15).unwrap(), b"persisted bytes");
    // `create` on an existing file opens it as it is.
    drop(s);
    let s = factory.open(Some(path), &RW_CREATE).unwrap();
    assert_eq!(s.read_vec(0, 9).unwrap(), b"persisted");
}

fn read_only_refuses_changes(factory: &dyn StorageFactory, path: &Path) {
    let s = factory.open(Some(path), &RO).unwrap();
    assert_eq!(s.read_vec(10, 5).unwrap(), b"bytes");
    assert_read_only(s.write_at(0, b"x"));
    assert_read_only(s.write_at(100, b"x"));
    assert_read_only(s.set_len(0));
    s.sync().unwrap();
    let map = s.mapped().expect("a read-only file handle exposes its map");
    drop(s);
    // The map outlives the handle it came from.
    assert_eq!((*map).as_ref(), b"persisted bytes");
    assert_eq!(std::fs::read(path).unwrap(), b"persisted bytes");
}

#[cfg(unix)]
fn new_file_is_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[cfg(not(unix))]
fn new_file_is_private(_path: &Path) {}
