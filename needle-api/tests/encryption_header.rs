//! The plaintext encryption section cannot be turned against the reader (issue 14, defect 7):
//! key-derivation costs out of bounds are refused before any derivation runs, a file whose
//! cipher differs from the configured one is refused (no silent downgrade), and salts and file
//! ids come from the operating system's generator.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use needle::core::cipher::Aes256GcmCipher;
use needle::core::{Cipher, CipherFactory};
use needle::{Database, DatabaseConfig, EncryptionConfig, ErrorCode, Registry};

const PASS: &str = "correct horse battery staple";
const KEY: [u8; 32] = [0x42; 32];
const ENCRYPTION_KIND: u16 = 7;

fn pass() -> DatabaseConfig {
    DatabaseConfig::new().with_encryption(EncryptionConfig::aes256_passphrase(PASS))
}

fn make(path: &Path, config: DatabaseConfig) {
    let db = Database::open_with_config(path, config).unwrap();
    db.create_collection("c", 2).unwrap().insert("a", &[1.0, 2.0], None).unwrap();
}

/// The section table of a file: (kind, offset, len) per entry, and the table's offset.
fn table(bytes: &[u8]) -> (Vec<(u16, usize, usize)>, usize) {
    let count = u32::from_le_bytes(bytes[20..24].try_into().unwrap()) as usize;
    let at = u64::from_le_bytes(bytes[24..32].try_into().unwrap()) as usize;
    let entries = (0..count)
        .map(|k| {
            let e = &bytes[at + k * 32..at + (k + 1) * 32];
            (
                u16::from_le_bytes([e[0], e[1]]),
                u64::from_le_bytes(e[8..16].try_into().unwrap()) as usize,
                u64::from_le_bytes(e[16..24].try_into().unwrap()) as usize,
            )
        })
        .collect();
    (entries, at)
}

/// The decoded encryption section of the file at `path`.
fn encryption_section(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap();
    let (entries, _) = table(&bytes);
    let &(_, off, len) = entries.iter().find(|e| e.0 == ENCRYPTION_KIND).expect("an encryption section");
    serde_json::from_slice(&bytes[off..off + len]).unwrap()
}

/// `bytes` with the encryption section replaced by `section`, written just before a moved
/// section table, every checksum fixed: only the section's meaning has changed.
fn with_encryption_section(bytes: &[u8], section: &serde_json::Value) -> Vec<u8> {
    let (entries, table_at) = table(bytes);
    let data = serde_json::to_vec(section).unwrap();
    let mut out = bytes[..table_at].to_vec();
    let new_off = out.len().next_multiple_of(64);
    out.resize(new_off, 0);
    out.extend_from_slice(&data);
    out.resize(out.len().next_multiple_of(64), 0);
    let new_table_at = out.len();
    let mut tbl = bytes[table_at..table_at + entries.len() * 32].to_vec();
    for (k, e) in entries.iter().enumerate() {
        if e.0 == ENCRYPTION_KIND {
            let entry = &mut tbl[k * 32..(k + 1) * 32];
            entry[8..16].copy_from_slice(&(new_off as u64).to_le_bytes());
            entry[16..24].copy_from_slice(&(data.len() as u64).to_le_bytes());
            entry[24..28].copy_from_slice(&crc32fast::hash(&data).to_le_bytes());
        }
    }
    out.extend_from_slice(&tbl);
    out[24..32].copy_from_slice(&(new_table_at as u64).to_le_bytes());
    let tcrc = crc32fast::hash(&tbl);
    out[32..36].copy_from_slice(&tcrc.to_le_bytes());
    let hcrc = crc32fast::hash(&out[0..124]);
    out[124..128].copy_from_slice(&hcrc.to_le_bytes());
    out
}

#[test]
fn tampered_key_derivation_costs_are_refused_before_deriving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kdf.needle");
    make(&path, pass());
    let good = std::fs::read(&path).unwrap();
    let section = encryption_section(&path);
    assert_eq!(section["kdf"]["algorithm"], "argon2id");

    // The rewriting helper itself keeps a file that opens.
    std::fs::write(&path, with_encryption_section(&good, &section)).unwrap();
    Database::open_with_config(&path, pass().with_read_only(true)).unwrap();

    // 4 TiB of memory, 2^32 - 1 passes, 2^24 - 1 lanes (Argon2's own maximum), and zero costs.
    let tampered = [("m_cost_kib", u32::MAX), ("t_cost", u32::MAX), ("p_cost", 0xFF_FFFF), ("t_cost", 0)];
    for (field, value) in tampered {
        let mut bad = section.clone();
        bad["kdf"][field] = value.into();
        let bytes = with_encryption_section(&good, &bad);
        std::fs::write(&path, &bytes).unwrap();
        for read_only in [true, false] {
            let started = Instant::now();
            let e = Database::open_with_config(&path, pass().with_read_only(read_only)).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Corrupted, "{field} = {value}: {e}");
            assert!(e.to_string().contains(field), "the error names the field: {e}");
            eprintln!("{field} = {value}, read_only = {read_only}: refused in {:?}", started.elapsed());
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file is left as it was");
        }
    }
    // Within the bounds, any change derives another key: the key check refuses it, so the
    // parameters cannot be lowered (or the salt swapped) unnoticed.
    for (field, value) in [("t_cost", 1.into()), ("m_cost_kib", 8192.into()), ("salt", "00".repeat(16).into())] {
        let mut other = section.clone();
        other["kdf"][field] = value;
        std::fs::write(&path, with_encryption_section(&good, &other)).unwrap();
        let e = Database::open_with_config(&path, pass()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::WrongKey, "{field}: {e}");
    }
    // The default costs still open.
    std::fs::write(&path, &good).unwrap();
    let db = Database::open_with_config(&path, pass()).unwrap();
    assert_eq!(db.collection("c").unwrap().get("a").unwrap().unwrap().vector, vec![1.0, 2.0]);
}

/// AES-256-GCM under another id, as a plugin cipher would register itself.
#[derive(Debug)]
struct PluginAes;

impl CipherFactory for PluginAes {
    fn id(&self) -> &str {
        "plugin-aes"
    }
    fn version(&self) -> u32 {
        1
    }
    fn key_len(&self) -> usize {
        32
    }
    fn create(&self, key: &[u8]) -> needle::Result<Box<dyn Cipher>> {
        Ok(Box::new(Aes256GcmCipher::new(key)?))
    }
}

fn registry() -> Arc<Registry> {
    let r = Registry::with_builtins();
    r.register_cipher(Arc::new(PluginAes)).unwrap();
    Arc::new(r)
}

fn with(cipher: &str, key: &[u8]) -> DatabaseConfig {
    DatabaseConfig::new().with_registry(registry()).with_encryption(EncryptionConfig::with_cipher(cipher, key))
}

#[test]
fn a_file_encrypted_with_another_cipher_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // (the file's cipher and key, the configured cipher and key)
        (("plugin-aes", &KEY[..]), ("aes-256-gcm", &KEY[..])),
        (("aes-256-gcm", &KEY[..]), ("plugin-aes", &KEY[..])),
        // A planted file that claims encryption with `none`: the caller's key must not be ignored
        // and its writes must not land in plaintext.
        (("none", &[][..]), ("aes-256-gcm", &KEY[..])),
    ];
    for (i, ((file_cipher, file_key), (want_cipher, want_key))) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("c{i}.needle"));
        make(&path, with(file_cipher, file_key));
        let before = std::fs::read(&path).unwrap();
        for read_only in [true, false] {
            let e = Database::open_with_config(&path, with(want_cipher, want_key).with_read_only(read_only))
                .map(|db| db.collection("c").unwrap().insert("secret-marker", &[3.0, 4.0], None))
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidConfig, "file {file_cipher}, config {want_cipher}: {e}");
            assert!(e.to_string().contains(file_cipher) && e.to_string().contains(want_cipher), "{e}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "file {file_cipher}: left as it was");
        assert!(!needle::wal_path(&path).exists(), "no WAL is created");
        // The right cipher still opens it.
        let db = Database::open_with_config(&path, with(file_cipher, file_key)).unwrap();
        assert_eq!(db.collection("c").unwrap().count().unwrap(), 1);
    }
}

#[test]
fn salts_and_file_ids_are_fresh_for_every_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut salts = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for i in 0..4 {
        let path = dir.path().join(format!("s{i}.needle"));
        make(&path, pass());
        let salt = encryption_section(&path)["kdf"]["salt"].as_str().unwrap().to_string();
        assert_eq!(salt.len(), 32, "16-byte salts");
        assert!(salts.insert(salt));
        assert!(ids.insert(std::fs::read(&path).unwrap()[36..52].to_vec()));
    }
}

/// Salts, file ids and nonces come from the operating system's generator. `RandomState` (a hash
/// map's seed: per-thread keys, incremented on each use, inherited across `fork`) is not one.
#[test]
fn no_security_randomness_from_hash_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut offenders = Vec::new();
    for dir in [root.join("src"), root.join("../needle-core/src")] {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "rs")
                    && std::fs::read_to_string(&p).unwrap().contains("RandomState::new()")
                {
                    offenders.push(p);
                }
            }
        }
    }
    assert!(offenders.is_empty(), "randomness drawn from RandomState in {offenders:?}");
}
