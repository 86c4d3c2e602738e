//! File modes and owners: a new database file is 0600; a checkpoint keeps an existing file's mode
//! (and its owner and group, when the process may set them), instead of resetting them to the
//! writer's defaults; `needle export` creates its plaintext output 0600.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use needle::Database;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_new_file_is_0600_and_a_checkpoint_keeps_an_existing_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.needle");
    let db = Database::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let c = db.create_collection("c", 2).unwrap();
    c.insert("a", &[1.0, 2.0], None).unwrap();
    db.save().unwrap();
    assert_eq!(mode(&path), 0o600);
    // An operator shares the file with a group (or makes it read-only for others).
    for wanted in [0o640, 0o644, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wanted)).unwrap();
        c.insert(&format!("m{wanted}"), &[1.0, 2.0], None).unwrap();
        db.save().unwrap();
        assert_eq!(mode(&path), wanted, "a checkpoint reset the mode");
    }
    drop(db); // the checkpoint on close too
    assert_eq!(mode(&path), 0o660);
    // A backup over an existing file keeps that file's mode; a new one is 0600.
    let db = Database::open(&path).unwrap();
    let fresh = dir.path().join("fresh-backup.needle");
    db.backup_to(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o600);
    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(0o640)).unwrap();
    db.backup_to(&fresh).unwrap();
    assert_eq!(mode(&fresh), 0o640);
}

#[test]
fn a_checkpoint_keeps_the_owner_and_group_it_may_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("o.needle");
    let db = Database::open(&path).unwrap();
    let c = db.create_collection("c", 2).unwrap();
    let me = std::fs::metadata(&path).unwrap();
    let root = me.uid() == 0;
    // As root, hand the file to another user and group, as a service account would own it; as
    // anyone else only the own uid/gid can be kept (chown to others is not permitted).
    let (uid, gid) = if root { (4242, 4343) } else { (me.uid(), me.gid()) };
    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    c.insert("a", &[1.0, 2.0], None).unwrap();
    db.save().unwrap();
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!((after.uid(), after.gid()), (uid, gid), "the checkpoint changed the owner (root: {root})");
    assert_eq!(after.permissions().mode() & 0o777, 0o640);
}

#[test]
fn export_creates_its_output_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.needle");
    {
        let db = Database::open(&path).unwrap();
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], Some(serde_json::json!({"secret": 1}))).unwrap();
    }
    let out_path = dir.path().join("c.jsonl");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_needle"))
        .args(["export", path.to_str().unwrap(), "c", "-o", out_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(mode(&out_path), 0o600, "the plaintext export is readable by others");
    assert!(std::fs::read_to_string(&out_path).unwrap().contains("\"secret\""));
}
