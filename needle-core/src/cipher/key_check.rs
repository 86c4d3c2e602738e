//! The key-check record: how the file format tells "wrong key" from "damaged data".
//!
//! An AEAD tag check fails the same way for both. So when a database is created the file stores
//! [`key_check`]'s output — a fixed, known plaintext sealed under the key with its own `aad` —
//! inside a checksummed header. On open, [`verify_key_check`] runs first: since the header's
//! checksum already vouches for the bytes, a failure can only mean the key is wrong.

use crate::traits::Cipher;
use crate::{Error, Result};

/// The known plaintext. Changing it would make every existing key check fail: never do.
const KNOWN_PLAINTEXT: &[u8] = b"needle key check v1: this record opens only with the right key";

/// Associated data that keeps the key-check record from being confused with any other record.
const KEY_CHECK_AAD: &[u8] = b"needle/key-check";

/// Seals the known plaintext under `cipher` (the record to store in the file header).
pub fn key_check(cipher: &dyn Cipher) -> Result<Vec<u8>> {
    cipher.seal(KNOWN_PLAINTEXT, KEY_CHECK_AAD)
}

/// Checks a record made by [`key_check`]: [`Error::WrongKey`] when `cipher` cannot open it or it
/// does not hold the known plaintext.
pub fn verify_key_check(cipher: &dyn Cipher, record: &[u8]) -> Result<()> {
    match cipher.open(record, KEY_CHECK_AAD) {
        Ok(plaintext) if plaintext == KNOWN_PLAINTEXT => Ok(()),
        Ok(_) | Err(Error::Corrupted { .. }) => Err(Error::WrongKey),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::{Aes256GcmCipher, NoCipher};

    #[test]
    fn none_cipher_check_roundtrips_and_rejects_other_bytes() {
        let record = key_check(&NoCipher).unwrap();
        verify_key_check(&NoCipher, &record).unwrap();
        assert!(matches!(verify_key_check(&NoCipher, b"something else"), Err(Error::WrongKey)));
    }

    #[test]
    fn encrypted_record_from_none_cipher_is_wrong_key() {
        // A file encrypted with a key, opened without one, must not be taken as valid.
        let aes = Aes256GcmCipher::new(&[9u8; 32]).unwrap();
        let record = key_check(&aes).unwrap();
        assert!(matches!(verify_key_check(&NoCipher, &record), Err(Error::WrongKey)));
        assert!(matches!(verify_key_check(&aes, b"short"), Err(Error::WrongKey)));
    }
}
