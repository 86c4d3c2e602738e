//! A database opened through a symbolic link is the database the link points to: its lock, WAL
//! and checkpoint files are the target's, a checkpoint replaces the target (the link stays a
//! link), and opening the target and the link at once contends for the one writer lock — in this
//! process and from another.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use needle::{Database, ErrorCode};

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).unwrap().file_type().is_symlink()
}

/// Child half of the cross-process test: tries to open the database named by the environment for
/// writing and prints the outcome.
#[test]
fn open_for_writing_child() {
    let Some(path) = std::env::var_os("NEEDLE_LINK_CHILD_DB") else { return };
    match Database::open(&path) {
        Ok(_) => println!("OUTCOME=opened"),
        Err(e) => println!("OUTCOME={}", e.code()),
    }
}

fn open_in_child(path: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "open_for_writing_child", "--nocapture", "--test-threads=1"])
        .env("NEEDLE_LINK_CHILD_DB", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.split_once("OUTCOME="))
        .map(|(_, o)| o.trim().to_string())
        .unwrap_or_else(|| panic!("{stdout}"))
}

#[test]
fn a_checkpoint_through_a_link_replaces_the_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.needle");
    let link = dir.path().join("link.needle");
    {
        let db = Database::open(&real).unwrap();
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
    }
    symlink(&real, &link).unwrap();
    {
        let db = Database::open(&link).unwrap();
        db.collection("c").unwrap().insert("b", &[3.0, 4.0], None).unwrap();
        db.save().unwrap();
        assert!(is_link(&link), "the checkpoint replaced the link with a regular file");
        // The WAL and lock are the target's.
        assert!(needle::wal_path(&real).exists());
        assert!(!needle::wal_path(&link).exists() && !needle::lock_path(&link).exists());
        db.collection("c").unwrap().insert("c", &[5.0, 6.0], None).unwrap();
    }
    assert!(is_link(&link), "closing replaced the link with a regular file");
    let db = Database::open(&real).unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 3);
    drop(db);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().starts_with("link.needle-")), "{leftovers:?}");
}

#[test]
fn a_dangling_link_creates_the_database_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let link = dir.path().join("vectors.needle");
    symlink("data/vectors.needle", &link).unwrap();
    {
        let db = Database::open(&link).unwrap();
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
    }
    assert!(is_link(&link));
    let db = Database::open(dir.path().join("data/vectors.needle")).unwrap();
    assert_eq!(db.collection("c").unwrap().count().unwrap(), 1);
}

#[test]
fn the_target_and_the_link_share_one_writer_lock() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.needle");
    let link = dir.path().join("link.needle");
    drop(Database::open(&real).unwrap());
    symlink(&real, &link).unwrap();
    // Open by one name, then by the other, in this process and from a child process.
    for (first, second) in [(&link, &real), (&real, &link)] {
        let db = Database::open(first).unwrap();
        assert_eq!(Database::open(second).unwrap_err().code(), ErrorCode::Locked);
        assert_eq!(open_in_child(second), "locked");
        drop(db);
        assert_eq!(open_in_child(second), "opened");
    }
}
