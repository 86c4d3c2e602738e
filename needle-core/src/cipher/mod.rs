//! Built-in ciphers and the key-check record.
//!
//! * `none` — no encryption, no authentication: `seal`/`open` copy bytes. For databases that are
//!   not secret; integrity then rests on the file format's own checksums.
//! * `aes-256-gcm` — AES-256 in Galois/Counter mode with a random 96-bit nonce per record.
//!
//! AEAD cannot tell "wrong key" from "damaged record": both fail the tag check, and `open` reports
//! [`Error::Corrupted`](crate::Error::Corrupted). To give users the clearer
//! [`Error::WrongKey`](crate::Error::WrongKey), the file format stores one small record made by
//! [`key_check`] (a known plaintext sealed under the key) next to its checksummed header, and
//! tests it with [`verify_key_check`] before opening anything else.

mod aes_gcm;
mod key_check;
mod none;

use std::sync::Arc;

use crate::CipherFactory;

pub use self::aes_gcm::{Aes256GcmCipher, Aes256GcmFactory};
pub use self::key_check::{key_check, verify_key_check};
pub use self::none::{NoCipher, NoCipherFactory};

/// The built-in cipher factories: `none` and `aes-256-gcm`.
pub fn builtins() -> Vec<Arc<dyn CipherFactory>> {
    vec![Arc::new(NoCipherFactory), Arc::new(Aes256GcmFactory)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_ids_and_versions() {
        let ids: Vec<(String, u32, usize)> =
            builtins().iter().map(|f| (f.id().to_string(), f.version(), f.key_len())).collect();
        assert_eq!(ids, vec![("none".to_string(), 1, 0), ("aes-256-gcm".to_string(), 1, 32)]);
    }
}
