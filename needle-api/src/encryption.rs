//! Encryption at rest: [`EncryptionConfig`] and how keys become a [`Cipher`].
//!
//! With encryption on, every section of the file (catalog, vectors, codes, graph, records) and
//! every WAL record is sealed with AES-256-GCM under a random 96-bit nonce, with associated data
//! binding it to the database's file id, the checkpoint generation and its place (section kind,
//! owner and position; WAL epoch and sequence number): a section copied to another place or
//! another file fails to open. A sealed key-check record, stored in a small plaintext section with
//! the cipher id and key-derivation parameters, tells a wrong key (`wrong_key`) from damage
//! (`corrupted`). Encrypted files are always read into memory (no zero-copy mapping).
//!
//! The plaintext section is not trusted: the configured cipher must match the one it names (the
//! file never picks the cipher), and its key-derivation costs must be within the bounds of
//! `encryption/kdf.rs` before any derivation runs. Keys and passphrases are wiped on drop
//! (`zeroize`); an open database keeps the cipher, not the secret.

use std::sync::Arc;

use needle_core::{Cipher, Error, Registry, Result};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

mod kdf;

use self::kdf::Kdf;

/// How a database's data is encrypted. The key or passphrase is wiped from memory when the
/// config is dropped; an open database keeps only the cipher built from it.
#[derive(Clone)]
pub struct EncryptionConfig {
    cipher: String,
    secret: Secret,
}

/// Key material, zeroed on drop (and in every clone).
#[derive(Clone)]
enum Secret {
    Key(Zeroizing<Vec<u8>>),
    Passphrase(Zeroizing<String>),
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
        Self::with_cipher("aes-256-gcm", key)
    }

    /// AES-256-GCM with a key derived from a passphrase by Argon2id (salt stored in the file).
    pub fn aes256_passphrase(passphrase: &str) -> Self {
        EncryptionConfig {
            cipher: "aes-256-gcm".into(),
            secret: Secret::Passphrase(Zeroizing::new(passphrase.to_string())),
        }
    }

    /// Uses another registered cipher (e.g. from a plugin) with a raw key. A file encrypted with
    /// a different cipher is refused at open (`invalid_config`), never read with the file's.
    pub fn with_cipher(cipher_id: &str, key: &[u8]) -> Self {
        EncryptionConfig { cipher: cipher_id.into(), secret: Secret::Key(Zeroizing::new(key.to_vec())) }
    }

    /// The cipher id this config asks for.
    pub fn cipher_id(&self) -> &str {
        &self.cipher
    }
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

/// A cipher for a new database, and the section that describes it.
pub(crate) fn create(registry: &Registry, config: &EncryptionConfig) -> Result<(Arc<dyn Cipher>, EncryptionInfo)> {
    let factory = registry.cipher(&config.cipher)?;
    let (key, kdf) = match &config.secret {
        Secret::Key(k) => (k.clone(), None),
        Secret::Passphrase(p) => {
            let kdf = Kdf::new()?;
            (kdf.derive(p, factory.key_len())?, Some(kdf))
        }
    };
    let cipher: Arc<dyn Cipher> = Arc::from(factory.create(&key)?);
    let check = needle_core::cipher::key_check(&*cipher)?;
    Ok((cipher.clone(), EncryptionInfo { cipher: config.cipher.clone(), kdf, key_check: hex(&check) }))
}

/// The cipher of an existing file, from its encryption section (`None`: the file is not
/// encrypted). A file encrypted with another cipher than the configured one is refused before
/// any key is derived: the file must not choose the cipher (a planted file naming `none`, or a
/// weaker plugin, would otherwise take the caller's writes). `WrongKey` when the key does not fit.
pub(crate) fn open(
    registry: &Registry,
    info: Option<&EncryptionInfo>,
    config: Option<&EncryptionConfig>,
    path: &std::path::Path,
) -> Result<Arc<dyn Cipher>> {
    let (info, config) = match (info, config) {
        (Some(info), Some(config)) => (info, config),
        (None, None) => return Ok(Arc::from(registry.cipher("none")?.create(&[])?)),
        (Some(_), None) => {
            return Err(Error::InvalidConfig(
                "the database is encrypted: open it with DatabaseConfig::with_encryption".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(Error::InvalidConfig(format!("{} is not encrypted; open it without a key", path.display())))
        }
    };
    if info.cipher != config.cipher {
        return Err(Error::InvalidConfig(format!(
            "{} is encrypted with cipher '{}' but the configuration asks for '{}'; nothing was read or changed",
            path.display(),
            info.cipher,
            config.cipher
        )));
    }
    let factory = registry.cipher(&info.cipher)?;
    let key = match (&config.secret, &info.kdf) {
        (Secret::Key(k), None) => k.clone(),
        (Secret::Passphrase(p), Some(kdf)) => kdf.derive(p, factory.key_len())?,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    #[test]
    fn secrets_are_wiped_on_drop() {
        for config in [EncryptionConfig::aes256(&[1; 32]), EncryptionConfig::aes256_passphrase("p")] {
            match &config.secret {
                Secret::Key(k) => wiped_on_drop(k),
                Secret::Passphrase(p) => wiped_on_drop(p),
            }
        }
        let kdf = Kdf::new().unwrap();
        wiped_on_drop(&kdf.derive("p", 32).unwrap());
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = format!("{:?}", EncryptionConfig::aes256_passphrase("hunter2"));
        assert!(!s.contains("hunter2"), "{s}");
    }
}
