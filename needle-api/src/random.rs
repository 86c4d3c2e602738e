//! Random bytes from the operating system's generator, for everything that must not be guessed
//! or repeated: database file ids (bound into every sealed record's associated data) and
//! key-derivation salts. A hash map's `RandomState` is no substitute: its keys are drawn once per
//! thread, then only incremented, and a forked child inherits them.

use needle_core::{Error, Result};

/// `N` bytes from the OS generator (`getrandom(2)` on Linux); an error if it is unavailable,
/// never a weaker fallback.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out).map_err(|e| {
        Error::Io(std::io::Error::other(format!("the operating system's random generator failed: {e}")))
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        let a = super::bytes::<16>().unwrap();
        let b = super::bytes::<16>().unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 16]);
    }
}
