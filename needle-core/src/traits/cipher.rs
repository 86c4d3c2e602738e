//! The `Cipher` trait: authenticated encryption of whole records (file sections, WAL records).
//!
//! `seal` and `open` work on one record at a time; `aad` (associated data) binds a record to its
//! place (file id, section id, sequence number) so records cannot be swapped unnoticed.

use std::fmt::Debug;

use crate::Result;

/// Authenticated encryption for data at rest.
pub trait Cipher: Send + Sync + Debug + 'static {
    /// The stable registry id (`none`, `aes-256-gcm`, or a plugin's id).
    fn id(&self) -> &str;

    /// Bytes `seal` adds to a plaintext (nonce + tag); 0 for `none`.
    fn overhead(&self) -> usize;

    /// Encrypts and authenticates `plaintext`, binding `aad`. Output length is
    /// `plaintext.len() + overhead()`.
    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>>;

    /// [`Cipher::seal`] for a plaintext the caller no longer needs. A cipher that stores records
    /// as they are returns the buffer itself: a bulk insert's WAL record is as large as its
    /// vectors, and a copy of it would double the insert's peak memory.
    fn seal_owned(&self, plaintext: Vec<u8>, aad: &[u8]) -> Result<Vec<u8>> {
        self.seal(&plaintext, aad)
    }

    /// Checks and decrypts what `seal` produced with the same `aad`. A failed check is
    /// [`crate::Error::Corrupted`] (a wrong key is detected separately, by a key check record).
    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>>;
}

/// Makes ciphers of one kind from key material.
pub trait CipherFactory: Send + Sync + Debug + 'static {
    /// The registry id.
    fn id(&self) -> &str;
    /// Version of the sealed format.
    fn version(&self) -> u32;
    /// Key length in bytes this cipher needs (0 for `none`).
    fn key_len(&self) -> usize;
    /// A cipher for `key`; a key of the wrong length is [`crate::Error::InvalidConfig`].
    fn create(&self, key: &[u8]) -> Result<Box<dyn Cipher>>;
}
