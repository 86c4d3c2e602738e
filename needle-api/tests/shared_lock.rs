//! Open handles lock the data file they use (issue 14, defect 9): a rewrite in place of a mapped
//! file kills its readers with SIGBUS, so every handle holds a shared `flock` on the file now at
//! its path, and Needle's own in-place writes (`needle export -o`) take an exclusive one first and
//! fail with `locked` instead of truncating a live database.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use needle::{Database, DatabaseConfig};

/// One test at a time: a child process another test spawns holds copies of this process's file
/// descriptors from its fork until its exec, so a lock just released here can still look held
/// (the checks below failed now and then when the tests ran in parallel).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether an exclusive lock on the file now at `path` could be taken (and releases it).
fn exclusive_free(path: &Path) -> bool {
    let f = File::open(path).unwrap();
    match f.try_lock() {
        Ok(()) => true,
        Err(TryLockError::WouldBlock) => false,
        Err(TryLockError::Error(e)) => panic!("flock: {e}"),
    }
}

/// The same from another process: `flock -n -x` (util-linux).
fn child_can_lock(path: &Path) -> bool {
    Command::new("flock").arg("-n").arg("-x").arg(path).arg("true").status().expect("run flock(1)").success()
}

fn read_only() -> DatabaseConfig {
    DatabaseConfig::new().with_read_only(true)
}

fn build(path: &Path, n: usize) {
    let db = Database::open(path).unwrap();
    let c = db.create_collection("c", 3).unwrap();
    for i in 0..n {
        c.insert(&format!("v{i}"), &[1.0, i as f32, 2.0], None).unwrap();
    }
}

#[test]
fn a_read_only_open_holds_a_shared_lock_until_dropped() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.needle");
    build(&path, 10);
    assert!(exclusive_free(&path) && child_can_lock(&path), "no handle open: no lock");
    let a = Database::open_with_config(&path, read_only()).unwrap();
    assert!(!exclusive_free(&path), "a reader's shared lock blocks an exclusive one");
    assert!(!child_can_lock(&path), "in another process too");
    // Shared locks coexist: a second reader, and a writer (whose own lock is `<file>-lock`).
    let b = Database::open_with_config(&path, read_only()).unwrap();
    let w = Database::open(&path).unwrap();
    assert_eq!(b.collection("c").unwrap().count().unwrap(), 10);
    drop((a, b, w));
    assert!(exclusive_free(&path) && child_can_lock(&path), "released when the handles are dropped");
}

#[test]
fn a_writer_locks_its_current_file_across_checkpoints() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.needle");
    let db = Database::open(&path).unwrap();
    assert!(!exclusive_free(&path), "a new database's first checkpoint is locked");
    let c = db.create_collection("c", 3).unwrap();
    c.insert("a", &[1.0, 2.0, 3.0], None).unwrap();
    db.save().unwrap();
    // The checkpoint renamed a new file into place: that one is locked now.
    assert!(!exclusive_free(&path) && !child_can_lock(&path));
    drop((c, db));
    assert!(exclusive_free(&path));
    let db = Database::open(&path).unwrap();
    assert!(!exclusive_free(&path), "reopened for writing");
    drop(db);
    assert!(exclusive_free(&path));
}

#[test]
fn a_replica_moves_its_lock_to_the_file_it_refreshes_to() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.needle");
    build(&path, 3);
    let replica = Database::open_with_config(&path, read_only()).unwrap();
    {
        let w = Database::open(&path).unwrap();
        w.collection("c").unwrap().insert("late", &[5.0, 5.0, 5.0], None).unwrap();
        w.save().unwrap();
    }
    // The writer is gone; the replica still holds the replaced (unlinked) file.
    assert!(exclusive_free(&path));
    assert!(replica.refresh().unwrap());
    assert_eq!(replica.collection("c").unwrap().count().unwrap(), 4);
    assert!(!exclusive_free(&path) && !child_can_lock(&path), "the refreshed file is locked");
    drop(replica);
    assert!(exclusive_free(&path));
}

fn needle(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_needle")).args(args).current_dir(dir).output().expect("run needle")
}

#[test]
fn export_refuses_to_overwrite_a_database_in_use() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (src, live) = (dir.path().join("src.needle"), dir.path().join("live.needle"));
    build(&src, 50);
    build(&live, 20);
    let before = std::fs::read(&live).unwrap();
    let out = dir.path().join("out.jsonl");

    // Exporting a database onto itself: the export reads it through a mapped, shared-locked
    // handle, so truncating it in place must be refused.
    let src_before = std::fs::read(&src).unwrap();
    let r = needle(dir.path(), &["export", "src.needle", "c", "-o", "src.needle"]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && stderr.contains("locked"), "{stderr}");
    assert_eq!(std::fs::read(&src).unwrap(), src_before, "the database is untouched");

    // Onto a database a reader in this process has open.
    let reader = Database::open_with_config(&live, read_only()).unwrap();
    let r = needle(dir.path(), &["export", "src.needle", "c", "-o", "live.needle"]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success() && stderr.contains("locked"), "{stderr}");
    assert_eq!(std::fs::read(&live).unwrap(), before);
    assert_eq!(reader.collection("c").unwrap().count().unwrap(), 20);
    drop(reader);

    // Nothing open: exporting (over an existing file too) works as before.
    std::fs::write(&out, "old contents that are longer than nothing\n".repeat(100)).unwrap();
    let r = needle(dir.path(), &["export", "src.needle", "c", "-o", "out.jsonl"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 50);
    assert!(Database::open(&live).unwrap().collection("c").unwrap().count().unwrap() == 20);
}

/// A child between `fork` and `exec` holds copies of its parent's descriptors, and with them the
/// parent's locks. A database closed and reopened while another thread starts a process must not
/// fail with `locked` because of that window (it did, now and then, in parallel test runs).
#[test]
fn a_lock_kept_by_a_forking_child_is_waited_out() {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.needle");
    build(&path, 3);
    let first = Database::open(&path).unwrap();
    let (mut forked, said) = std::io::pipe().unwrap();
    let mut child = Command::new("true");
    // SAFETY: the closure runs in the forked child before exec; it makes two system calls (a
    // write to a pipe, a sleep) and allocates nothing.
    unsafe {
        child.pre_exec(move || {
            (&said).write_all(b"f")?;
            std::thread::sleep(std::time::Duration::from_millis(150));
            Ok(())
        });
    }
    let spawner = std::thread::spawn(move || child.status().unwrap());
    // The child exists now, holding a copy of `first`'s lock until it execs.
    let mut byte = [0u8; 1];
    forked.read_exact(&mut byte).unwrap();
    drop(first);
    let second = Database::open(&path);
    assert!(second.is_ok(), "{:?}", second.err());
    assert!(spawner.join().unwrap().success());
    assert_eq!(second.unwrap().collection("c").unwrap().count().unwrap(), 3);
    // A real second writer is still refused.
    let _held = Database::open(&path).unwrap();
    assert_eq!(Database::open(&path).unwrap_err().code(), needle::ErrorCode::Locked);
}
