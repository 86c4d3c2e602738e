//! Encryption at rest: [`EncryptionConfig`] and how keys become a [`Cipher`].
//!
//! With encryption on, every section of the file (catalog, vectors, codes, graph, records) and
//! every WAL record is sealed with AES-256-GCM under a random 96-bit nonce, with associated data
//! binding it to the database's file id, the checkpoint generation and its place (section kind,
//! owner and position; WAL epoch and sequence number): a section copied to another place or
//! another file fails to open. A sealed key-check record, stored in a small plaintext section with
//! the cipher id and key-derivation parameters, tells a wrong key (`wrong_key`) from damage
//! (`corrupted`). Encrypted files are always read into memory (no zero-copy mapping).

use std::sync::Arc;

use needle_core::{Cipher, Error, Registry, Result};
use serde::{Deserialize, Serialize};

/// How a database's data is encrypted.
#[derive(Clone)]
pub struct EncryptionConfig {
    cipher: String,
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    Key(Vec<u8>),
    Passphrase(String),
}

impl std::fmt::Debug for EncryptionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.secret {
            Secret::Key(_) => "key",
            Secret::Passphrase(_) => "passphrase",
        };
        f.debug_struct("EncryptionConfig").field("cipher", &self.cipher).field("secret", &kind).finish()
    }
}

impl EncryptionConfig {
    /// AES-256-GCM with a raw 32-byte key (a key of another length is refused at open).
    pub fn aes256(key: &[u8]) -> Self {
        EncryptionConfig { cipher: "aes-256-gcm".into(), secret: Secret::Key(key.to_vec()) }
    }

    /// AES-256-GCM with a key derived from a passphrase by Argon2id (salt stored in the file).
    pub fn aes256_passphrase(passphrase: &str) -> Self {
        EncryptionConfig { cipher: "aes-256-gcm".into(), secret: Secret::Passphrase(passphrase.to_string()) }
    }

    /// Uses another registered cipher (e.g. from a plugin) with a raw key.
    pub fn with_cipher(cipher_id: &str, key: &[u8]) -> Self {
        EncryptionConfig { cipher: cipher_id.into(), secret: Secret::Key(key.to_vec()) }
    }
}

/// Key-derivation parameters recorded in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kdf {
    pub algorithm: String,
    pub salt: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

/// The plaintext encryption section of an encrypted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EncryptionInfo {
    pub cipher: String,
    pub kdf: Option<Kdf>,
    /// Hex of the sealed key-check record.
    pub key_check: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(Error::corrupted("encryption section", 0, "odd hex length"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| Error::corrupted("encryption section", 0, "bad hex")))
        .collect()
}

fn derive(passphrase: &str, kdf: &Kdf, key_len: usize) -> Result<Vec<u8>> {
    if kdf.algorithm != "argon2id" {
        return Err(Error::InvalidConfig(format!("unknown key derivation '{}'", kdf.algorithm)));
    }
    let params = argon2::Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(key_len))
        .map_err(|e| Error::corrupted("encryption section", 0, format!("argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = vec![0u8; key_len];
    argon
        .hash_password_into(passphrase.as_bytes(), &unhex(&kdf.salt)?, &mut key)
        .map_err(|e| Error::InvalidConfig(format!("argon2: {e}")))?;
    Ok(key)
}

fn random_salt() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut salt = [0u8; 16];
    for (i, chunk) in salt.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    salt
}

/// A cipher for a new database, and the section that describes it.
pub(crate) fn create(registry: &Registry, config: &EncryptionConfig) -> Result<(Arc<dyn Cipher>, EncryptionInfo)> {
    let factory = registry.cipher(&config.cipher)?;
    let (key, kdf) = match &config.secret {
        Secret::Key(k) => (k.clone(), None),
        Secret::Passphrase(p) => {
            let kdf = Kdf {
                algorithm: "argon2id".into(),
                salt: hex(&random_salt()),
                m_cost_kib: 19 * 1024,
                t_cost: 2,
                p_cost: 1,
            };
            (derive(p, &kdf, factory.key_len())?, Some(kdf))
        }
    };
    let cipher: Arc<dyn Cipher> = Arc::from(factory.create(&key)?);
    let check = needle_core::cipher::key_check(&*cipher)?;
    Ok((cipher.clone(), EncryptionInfo { cipher: config.cipher.clone(), kdf, key_check: hex(&check) }))
}

/// The cipher of an existing encrypted database; `WrongKey` when the key does not fit.
pub(crate) fn open(
    registry: &Registry,
    info: &EncryptionInfo,
    config: Option<&EncryptionConfig>,
) -> Result<Arc<dyn Cipher>> {
    let Some(config) = config else {
        return Err(Error::InvalidConfig(
            "the database is encrypted: open it with DatabaseConfig::with_encryption".into(),
        ));
    };
    let factory = registry.cipher(&info.cipher)?;
    let key = match (&config.secret, &info.kdf) {
        (Secret::Key(k), None) => k.clone(),
        (Secret::Passphrase(p), Some(kdf)) => derive(p, kdf, factory.key_len())?,
        (Secret::Key(_), Some(_)) => {
            return Err(Error::InvalidConfig("this database is protected by a passphrase, not a raw key".into()))
        }
        (Secret::Passphrase(_), None) => {
            return Err(Error::InvalidConfig("this database is protected by a raw key, not a passphrase".into()))
        }
    };
    let cipher: Arc<dyn Cipher> = Arc::from(factory.create(&key)?);
    needle_core::cipher::verify_key_check(&*cipher, &unhex(&info.key_check)?)?;
    Ok(cipher)
}

/// Associated data binding a sealed section to its file, checkpoint and place.
pub(crate) fn section_aad(file_id: &[u8; 16], generation: u64, kind: u16, owner: u32, ordinal: u32) -> Vec<u8> {
    let mut aad = b"needle/section".to_vec();
    aad.extend_from_slice(file_id);
    aad.extend_from_slice(&generation.to_le_bytes());
    aad.extend_from_slice(&kind.to_le_bytes());
    aad.extend_from_slice(&owner.to_le_bytes());
    aad.extend_from_slice(&ordinal.to_le_bytes());
    aad
}
