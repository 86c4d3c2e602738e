//! Passphrase → key: Argon2id with parameters recorded in the file, and the bounds they must
//! respect before any derivation runs.
//!
//! The parameters sit in the plaintext encryption section, so anyone who can write the file can
//! change them. Changing them cannot weaken a database silently: a key derived with other
//! parameters (or another salt) fails the key check (`wrong_key`), and checkpoints copy the
//! parameters the file was opened with. What a changed parameter *can* do is make the derivation
//! itself the attack: 4 TiB of memory or 2³² passes, run before the key check. So every parameter
//! is checked against the bounds below first, and a file outside them is `corrupted`.

use needle_core::{Error, Result};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{hex, unhex};

/// Most memory a derivation may use: 1 GiB (in KiB). New files use [`DEFAULT_M_COST_KIB`].
pub(crate) const MAX_M_COST_KIB: u32 = 1 << 20;
/// Most passes over memory.
pub(crate) const MAX_T_COST: u32 = 16;
/// Most lanes (degree of parallelism; this build computes them one after another).
pub(crate) const MAX_P_COST: u32 = 16;
/// Most memory × passes, in KiB: 4 GiB of block work (1 GiB × 4 passes: about 4.6 s on the
/// 2-core CI machine; the defaults take about 30 ms).
pub(crate) const MAX_WORK_KIB: u64 = 4 << 20;
/// Salt length bounds in bytes (Argon2 needs at least 8; new files use 16).
const SALT_BYTES: std::ops::RangeInclusive<usize> = 8..=64;

/// Memory of a new file's derivation: 19 MiB (OWASP's Argon2id baseline, with 2 passes, 1 lane).
pub(crate) const DEFAULT_M_COST_KIB: u32 = 19 * 1024;
const DEFAULT_T_COST: u32 = 2;
const DEFAULT_P_COST: u32 = 1;

/// Key-derivation parameters recorded in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Kdf {
    pub algorithm: String,
    pub salt: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

fn out_of_bounds(detail: String) -> Error {
    Error::corrupted("encryption section", 0, format!("key derivation {detail}; refusing to derive a key"))
}

impl Kdf {
    /// Parameters for a new database, with a fresh salt from the OS generator.
    pub fn new() -> Result<Kdf> {
        Ok(Kdf {
            algorithm: "argon2id".into(),
            salt: hex(&crate::random::bytes::<16>()?),
            m_cost_kib: DEFAULT_M_COST_KIB,
            t_cost: DEFAULT_T_COST,
            p_cost: DEFAULT_P_COST,
        })
    }

    /// The salt, once every parameter is within bounds (`corrupted` naming the one that is not).
    fn checked_salt(&self) -> Result<Vec<u8>> {
        if self.algorithm != "argon2id" {
            return Err(Error::corrupted(
                "encryption section",
                0,
                format!("unknown key derivation '{}' (this build knows argon2id)", self.algorithm),
            ));
        }
        let bound = |name: &str, value: u32, min: u32, max: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(out_of_bounds(format!("{name} = {value} is outside {min}..={max}")))
            }
        };
        bound("p_cost", self.p_cost, 1, MAX_P_COST)?;
        bound("t_cost", self.t_cost, 1, MAX_T_COST)?;
        // Argon2 needs 8 KiB per lane.
        bound("m_cost_kib", self.m_cost_kib, 8 * self.p_cost, MAX_M_COST_KIB)?;
        let work = u64::from(self.m_cost_kib) * u64::from(self.t_cost);
        if work > MAX_WORK_KIB {
            return Err(out_of_bounds(format!(
                "m_cost_kib × t_cost = {work} exceeds {MAX_WORK_KIB} (m_cost_kib {}, t_cost {})",
                self.m_cost_kib, self.t_cost
            )));
        }
        let salt = unhex(&self.salt)?;
        if !SALT_BYTES.contains(&salt.len()) {
            return Err(out_of_bounds(format!("salt of {} bytes is outside {SALT_BYTES:?}", salt.len())));
        }
        Ok(salt)
    }

    /// The `key_len`-byte key for `passphrase`, or `corrupted` before any work when the
    /// parameters are out of bounds.
    pub fn derive(&self, passphrase: &str, key_len: usize) -> Result<Zeroizing<Vec<u8>>> {
        let salt = self.checked_salt()?;
        let params = argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(key_len))
            .map_err(|e| out_of_bounds(format!("parameters rejected by argon2: {e}")))?;
        let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new(vec![0u8; key_len]);
        argon
            .hash_password_into(passphrase.as_bytes(), &salt, &mut key)
            .map_err(|e| Error::InvalidConfig(format!("argon2: {e}")))?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_within_bounds_and_salts_are_fresh() {
        let (a, b) = (Kdf::new().unwrap(), Kdf::new().unwrap());
        assert_ne!(a.salt, b.salt);
        assert_eq!(a.checked_salt().unwrap().len(), 16);
        assert!(u64::from(MAX_M_COST_KIB) <= MAX_WORK_KIB);
    }

    #[test]
    fn every_bound_is_enforced() {
        let base = Kdf::new().unwrap();
        type Tamper = fn(&mut Kdf);
        let cases: [(&str, Tamper); 8] = [
            ("p_cost", |k| k.p_cost = 0),
            ("p_cost", |k| k.p_cost = MAX_P_COST + 1),
            ("t_cost", |k| k.t_cost = MAX_T_COST + 1),
            ("m_cost_kib", |k| k.m_cost_kib = MAX_M_COST_KIB + 1),
            ("m_cost_kib", |k| k.m_cost_kib = 7),
            ("m_cost_kib × t_cost", |k| (k.m_cost_kib, k.t_cost) = (MAX_M_COST_KIB, 5)),
            ("salt", |k| k.salt = "00".repeat(4)),
            ("argon2id", |k| k.algorithm = "scrypt".into()),
        ];
        for (name, tamper) in cases {
            let mut k = base.clone();
            tamper(&mut k);
            let e = k.derive("p", 32).unwrap_err();
            assert_eq!(e.code(), needle_core::ErrorCode::Corrupted, "{name}: {e}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
    }
}
