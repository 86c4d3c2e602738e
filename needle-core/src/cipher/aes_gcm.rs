//! The `aes-256-gcm` cipher.
//!
//! Sealed layout: `nonce (12 bytes) ‖ ciphertext (len of plaintext) ‖ tag (16 bytes)`.
//!
//! Each record gets a fresh random 96-bit nonce from the operating system's generator, so a
//! record can be rewritten in place without nonce bookkeeping. Random nonces stay safe for about
//! 2³² records per key (NIST SP 800-38D's bound), far beyond what one database writes.
//!
//! A failed tag check — a flipped bit anywhere, the wrong `aad`, or the wrong key — is
//! [`Error::Corrupted`]; see [`super::verify_key_check`] for telling a wrong key apart.

use aes_gcm::aead::{AeadCore, AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::traits::{Cipher, CipherFactory};
use crate::{Error, Result};

/// Bytes of the nonce that starts every sealed record.
pub const NONCE_LEN: usize = 12;
/// Bytes of the authentication tag that ends every sealed record.
pub const TAG_LEN: usize = 16;
/// Bytes of key material.
pub const KEY_LEN: usize = 32;

/// AES-256-GCM with a random nonce per record.
#[derive(Clone)]
pub struct Aes256GcmCipher {
    aead: Aes256Gcm,
}

impl std::fmt::Debug for Aes256GcmCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material (the expanded key schedule would reveal it).
        f.write_str("Aes256GcmCipher { .. }")
    }
}

impl Aes256GcmCipher {
    /// A cipher for a 32-byte key; any other length is [`Error::InvalidConfig`].
    pub fn new(key: &[u8]) -> Result<Self> {
        let aead = Aes256Gcm::new_from_slice(key).map_err(|_| {
            Error::InvalidConfig(format!("aes-256-gcm needs a {KEY_LEN}-byte key, got {} bytes", key.len()))
        })?;
        Ok(Aes256GcmCipher { aead })
    }
}

fn auth_failed() -> Error {
    Error::corrupted("encrypted record", 0, "authentication failed (damaged data, wrong context or wrong key)")
}

impl Cipher for Aes256GcmCipher {
    fn id(&self) -> &str {
        "aes-256-gcm"
    }

    fn overhead(&self) -> usize {
        NONCE_LEN + TAG_LEN
    }

    fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = Vec::with_capacity(plaintext.len() + NONCE_LEN + TAG_LEN);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce, aad, &mut out[NONCE_LEN..])
            .map_err(|_| Error::InvalidArgument(format!("record of {} bytes is too long to seal", plaintext.len())))?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::corrupted(
                "encrypted record",
                0,
                format!("{} bytes is shorter than nonce and tag ({} bytes)", sealed.len(), NONCE_LEN + TAG_LEN),
            ));
        }
        let (nonce, rest) = sealed.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let mut plaintext = ciphertext.to_vec();
        self.aead
            .decrypt_in_place_detached(Nonce::from_slice(nonce), aad, &mut plaintext, Tag::from_slice(tag))
            .map_err(|_| auth_failed())?;
        Ok(plaintext)
    }
}

/// Makes [`Aes256GcmCipher`]s from 32-byte keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Aes256GcmFactory;

impl CipherFactory for Aes256GcmFactory {
    fn id(&self) -> &str {
        "aes-256-gcm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn key_len(&self) -> usize {
        KEY_LEN
    }

    fn create(&self, key: &[u8]) -> Result<Box<dyn Cipher>> {
        Ok(Box::new(Aes256GcmCipher::new(key)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cipher::{key_check, verify_key_check};

    fn cipher(byte: u8) -> Box<dyn Cipher> {
        Aes256GcmFactory.create(&[byte; KEY_LEN]).unwrap()
    }

    fn assert_corrupted<T: std::fmt::Debug>(r: Result<T>) {
        assert!(matches!(r, Err(Error::Corrupted { .. })), "expected Corrupted, got {r:?}");
    }

    #[test]
    fn roundtrip_including_empty() {
        let c = cipher(7);
        for msg in [&b""[..], b"x", b"a longer record that spans more than one AES block of sixteen bytes"] {
            let sealed = c.seal(msg, b"file:1/section:2").unwrap();
            assert_eq!(sealed.len(), msg.len() + c.overhead());
            assert_eq!(c.open(&sealed, b"file:1/section:2").unwrap(), msg);
        }
    }

    #[test]
    fn wrong_key_length_is_invalid_config() {
        for len in [0, 16, 31, 33, 64] {
            let r = Aes256GcmFactory.create(&vec![1u8; len]);
            assert!(matches!(r, Err(Error::InvalidConfig(_))), "len {len}");
        }
    }

    #[test]
    fn each_seal_uses_a_new_nonce() {
        let c = cipher(1);
        let a = c.seal(b"same", b"").unwrap();
        let b = c.seal(b"same", b"").unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn any_flipped_byte_is_detected() {
        let c = cipher(2);
        let sealed = c.seal(b"sixteen byte msg plus a little", b"aad").unwrap();
        // Covers the nonce, the ciphertext and the tag.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_corrupted(c.open(&bad, b"aad"));
        }
        assert_corrupted(c.open(&sealed[..sealed.len() - 1], b"aad"));
        assert_corrupted(c.open(&sealed[..NONCE_LEN + TAG_LEN - 1], b"aad"));
    }

    #[test]
    fn wrong_aad_is_detected() {
        let c = cipher(3);
        let sealed = c.seal(b"record", b"seq:1").unwrap();
        assert_corrupted(c.open(&sealed, b"seq:2"));
        assert_corrupted(c.open(&sealed, b""));
    }

    #[test]
    fn wrong_key_is_corrupted_on_open_and_wrong_key_on_check() {
        let right = cipher(4);
        let wrong = cipher(5);
        let sealed = right.seal(b"secret", b"").unwrap();
        assert_corrupted(wrong.open(&sealed, b""));

        let check = key_check(right.as_ref()).unwrap();
        verify_key_check(right.as_ref(), &check).unwrap();
        assert!(matches!(verify_key_check(wrong.as_ref(), &check), Err(Error::WrongKey)));
    }

    #[test]
    fn plaintext_does_not_show_through() {
        let c = cipher(6);
        let plaintext = vec![b'A'; 8192];
        let sealed = c.seal(&plaintext, b"").unwrap();
        // A run of 8 plaintext bytes appears in 8 KiB of random output with probability ~2^-51.
        assert!(!sealed.windows(8).any(|w| w == &plaintext[..8]));
        let pattern = b"0123456789abcdef".repeat(512);
        let sealed = c.seal(&pattern, b"").unwrap();
        assert!(!sealed.windows(8).any(|w| pattern.windows(16).take(16).any(|p| &p[..8] == w)));
    }

    #[test]
    fn debug_does_not_print_key() {
        let s = format!("{:?}", cipher(0xAB));
        assert_eq!(s, "Aes256GcmCipher { .. }");
    }
}
