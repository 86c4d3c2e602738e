//! The `none` cipher: records are stored as they are.
//!
//! It exists so that "not encrypted" is an explicit, recorded choice rather than a missing
//! component, and so the file format has one code path for both cases.

use crate::traits::{Cipher, CipherFactory};
use crate::{Error, Result};

/// Stores plaintext unchanged; `aad` is ignored (there is no authentication).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCipher;

impl Cipher for NoCipher {
    fn id(&self) -> &str {
        "none"
    }

    fn overhead(&self) -> usize {
        0
    }

    fn seal(&self, plaintext: &[u8], _aad: &[u8]) -> Result<Vec<u8>> {
        Ok(plaintext.to_vec())
    }

    fn seal_owned(&self, plaintext: Vec<u8>, _aad: &[u8]) -> Result<Vec<u8>> {
        Ok(plaintext)
    }

    fn open(&self, sealed: &[u8], _aad: &[u8]) -> Result<Vec<u8>> {
        Ok(sealed.to_vec())
    }
}

/// Makes [`NoCipher`]s; accepts only an empty key.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCipherFactory;

impl CipherFactory for NoCipherFactory {
    fn id(&self) -> &str {
        "none"
    }

    fn version(&self) -> u32 {
        1
    }

    fn key_len(&self) -> usize {
        0
    }

    fn create(&self, key: &[u8]) -> Result<Box<dyn Cipher>> {
        if !key.is_empty() {
            // A key given for an unencrypted database is almost certainly a configuration mistake.
            return Err(Error::InvalidConfig(format!(
                "the 'none' cipher takes no key, but a {}-byte key was given",
                key.len()
            )));
        }
        Ok(Box::new(NoCipher))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_bytes_both_ways() {
        let c = NoCipherFactory.create(&[]).unwrap();
        assert_eq!(c.overhead(), 0);
        let sealed = c.seal(b"hello", b"aad").unwrap();
        assert_eq!(sealed, b"hello");
        assert_eq!(c.open(&sealed, b"other").unwrap(), b"hello");
    }

    #[test]
    fn refuses_a_key() {
        assert!(matches!(NoCipherFactory.create(&[1u8; 32]), Err(Error::InvalidConfig(_))));
    }
}
