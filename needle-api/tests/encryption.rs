//! Encryption at rest: nothing readable in the files, wrong keys and tampering detected.

use needle::{Database, DatabaseConfig, EncryptionConfig, ErrorCode};

const KEY: [u8; 32] = [7u8; 32];

fn enc(key: &[u8]) -> DatabaseConfig {
    DatabaseConfig::new().with_encryption(EncryptionConfig::aes256(key))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

const SECRETS: [&[u8]; 3] = [b"patient-0042", b"confidential-marker", b"after-checkpoint-id"];

/// Builds a database and returns the bytes of its WAL (holding the writes after the checkpoint).
fn build(path: &std::path::Path, config: DatabaseConfig, checkpoint: bool) -> Vec<u8> {
    let db = Database::open_with_config(path, config).unwrap();
    let c = db.create_collection("secret-collection", 4).unwrap();
    for i in 0..200 {
        let v = [1.0 + i as f32, 0.123_456_79, -2.5, 1e-3 * i as f32];
        c.insert(&format!("patient-{i:04}"), &v, Some(serde_json::json!({"diagnosis": "confidential-marker"})))
            .unwrap();
    }
    if checkpoint {
        db.save().unwrap();
        c.insert("after-checkpoint-id", &[9.0, 9.0, 9.0, 9.0], None).unwrap();
    }
    // Leave the last write in the WAL: the WAL must be encrypted too.
    std::mem::forget(c);
    let wal = std::fs::read(needle::wal_path(path)).unwrap();
    drop(db);
    wal
}

#[test]
fn no_plaintext_in_the_file_or_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.needle");
    let wal = build(&path, enc(&KEY), true);
    for plain in SECRETS.into_iter().chain([&0.123_456_79f32.to_le_bytes()[..]]) {
        assert!(!contains(&wal, plain), "plaintext {plain:?} in the encrypted WAL");
    }
    let bytes = std::fs::read(&path).unwrap();
    for plain in [
        &b"patient-0042"[..],
        b"confidential-marker",
        b"secret-collection",
        b"after-checkpoint-id",
        &0.123_456_79f32.to_le_bytes(),
        &(-2.5f32).to_le_bytes(),
    ] {
        assert!(!contains(&bytes, plain), "plaintext {plain:?} found in the encrypted file");
    }
    // The same data unencrypted does show them (the check above can fail).
    let plain_path = dir.path().join("p.needle");
    let plain_wal = build(&plain_path, DatabaseConfig::new(), true);
    assert!(contains(&std::fs::read(&plain_path).unwrap(), b"confidential-marker"));
    assert!(contains(&plain_wal, b"after-checkpoint-id"));

    let db = Database::open_with_config(&path, enc(&KEY)).unwrap();
    assert!(db.is_encrypted());
    let c = db.collection("secret-collection").unwrap();
    assert_eq!(c.count().unwrap(), 201);
    assert_eq!(
        c.get("patient-0042").unwrap().unwrap().metadata,
        Some(serde_json::json!({"diagnosis": "confidential-marker"}))
    );
    assert_eq!(c.search(&[43.0, 0.123_456_79, -2.5, 0.042], 1).unwrap()[0].id, "patient-0042");
}

#[test]
fn wrong_key_missing_key_and_unexpected_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.needle");
    build(&path, enc(&KEY), false);
    assert_eq!(Database::open_with_config(&path, enc(&[8u8; 32])).unwrap_err().code(), ErrorCode::WrongKey);
    let ro = enc(&[8u8; 32]).with_read_only(true);
    assert_eq!(Database::open_with_config(&path, ro).unwrap_err().code(), ErrorCode::WrongKey);
    assert_eq!(Database::open(&path).unwrap_err().code(), ErrorCode::InvalidConfig);
    assert_eq!(Database::open_with_config(&path, enc(&[1u8; 16])).unwrap_err().code(), ErrorCode::InvalidConfig);
    // The right key still works after all the refusals, and the WAL replays.
    let db = Database::open_with_config(&path, enc(&KEY)).unwrap();
    assert_eq!(db.collection("secret-collection").unwrap().count().unwrap(), 200);
    drop(db);
    let plain = dir.path().join("p.needle");
    Database::open(&plain).unwrap().create_collection("c", 2).unwrap();
    assert_eq!(Database::open_with_config(&plain, enc(&KEY)).unwrap_err().code(), ErrorCode::InvalidConfig);
}

#[test]
fn passphrases_derive_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pp.needle");
    let pass = |p: &str| DatabaseConfig::new().with_encryption(EncryptionConfig::aes256_passphrase(p));
    {
        let db = Database::open_with_config(&path, pass("correct horse battery staple")).unwrap();
        db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
    }
    assert_eq!(Database::open_with_config(&path, pass("wrong")).unwrap_err().code(), ErrorCode::WrongKey);
    let db = Database::open_with_config(&path, pass("correct horse battery staple")).unwrap();
    assert_eq!(db.collection("c").unwrap().get("a").unwrap().unwrap().vector, vec![1.0, 2.0]);
}

#[test]
fn tampering_is_corruption_not_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.needle");
    {
        let db = Database::open_with_config(&path, enc(&KEY)).unwrap();
        let c = db.create_collection("c", 3).unwrap();
        let d = db.create_collection("d", 3).unwrap();
        for i in 0..20 {
            c.insert(&format!("{i}"), &[1.0, i as f32, 2.0], None).unwrap();
            d.insert(&format!("{i}"), &[3.0, i as f32, 2.0], None).unwrap();
        }
    }
    let good = std::fs::read(&path).unwrap();
    let probe = dir.path().join("probe.needle");
    let mut refused = 0;
    for i in (0..good.len()).step_by(5) {
        let mut bad = good.clone();
        bad[i] ^= 0x10;
        std::fs::write(&probe, &bad).unwrap();
        let _ = std::fs::remove_file(needle::wal_path(&probe));
        match Database::open_with_config(&probe, enc(&KEY).with_read_only(true)) {
            Err(e) => {
                assert!(
                    matches!(
                        e.code(),
                        ErrorCode::Corrupted
                            | ErrorCode::NotANeedleFile
                            | ErrorCode::UnsupportedVersion
                            | ErrorCode::WrongKey
                    ),
                    "flip at {i}: {e}"
                );
                refused += 1;
            }
            Ok(db) => {
                let c = db.collection("c").unwrap();
                assert_eq!(c.count().unwrap(), 20, "flip at {i}");
                assert_eq!(c.get("5").unwrap().unwrap().vector, vec![1.0, 5.0, 2.0], "flip at {i}");
            }
        }
    }
    assert!(refused > good.len() / 10, "most flips must be detected ({refused})");

    // Swap the two collections' vector sections (same length): authentication must fail.
    let db = Database::open_with_config(&path, enc(&KEY).with_read_only(true)).unwrap();
    drop(db);
    let table_off = u64::from_le_bytes(good[24..32].try_into().unwrap()) as usize;
    let count = u32::from_le_bytes(good[20..24].try_into().unwrap()) as usize;
    let entries: Vec<(u16, u32, usize, usize)> = (0..count)
        .map(|k| {
            let e = &good[table_off + k * 32..table_off + (k + 1) * 32];
            (
                u16::from_le_bytes([e[0], e[1]]),
                u32::from_le_bytes(e[4..8].try_into().unwrap()),
                u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize,
                u64::from_le_bytes(e[16..24].try_into().unwrap()) as usize,
            )
        })
        .collect();
    let vecs: Vec<_> = entries.iter().filter(|e| e.0 == 2).collect();
    assert_eq!(vecs.len(), 2);
    let (a, b) = (vecs[0], vecs[1]);
    assert_eq!(a.3, b.3);
    let mut swapped = good.clone();
    swapped[a.2..a.2 + a.3].copy_from_slice(&good[b.2..b.2 + b.3]);
    swapped[b.2..b.2 + b.3].copy_from_slice(&good[a.2..a.2 + a.3]);
    // Fix the table's checksums so only authentication can notice.
    let mut table = swapped[table_off..table_off + count * 32].to_vec();
    for k in 0..count {
        let (off, len) = (entries[k].2, entries[k].3);
        let crc = crc32fast::hash(&swapped[off..off + len]);
        table[k * 32 + 24..k * 32 + 28].copy_from_slice(&crc.to_le_bytes());
    }
    swapped[table_off..table_off + count * 32].copy_from_slice(&table);
    let tcrc = crc32fast::hash(&table);
    swapped[32..36].copy_from_slice(&tcrc.to_le_bytes());
    let hcrc = crc32fast::hash(&swapped[0..124]);
    swapped[124..128].copy_from_slice(&hcrc.to_le_bytes());
    std::fs::write(&probe, &swapped).unwrap();
    let e = Database::open_with_config(&probe, enc(&KEY).with_read_only(true)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Corrupted, "{e}");
}
