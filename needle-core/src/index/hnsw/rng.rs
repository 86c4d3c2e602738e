//! The level generator: a seeded SplitMix64 stream and the paper's level distribution.
//!
//! HNSW draws each new node's top layer as `l = ⌊−ln(U) · mL⌋` with `U` uniform on (0, 1]
//! (Malkov & Yashunin, Algorithm 1, line 4). Drawing from a seeded, self-contained generator makes
//! the structure reproducible: the same seed and the same insertion order give the same levels,
//! and (for serial builds) the same graph. SplitMix64 is tiny, fast, passes BigCrush and has a
//! single `u64` of state, which is saved with the index so loading and inserting more continues
//! the same stream.

/// Highest layer a node may be given. With `mL = 1/ln(M)` and `M ≥ 2` the chance of drawing a
/// level this high is below `2⁻³⁰` per node; clamping keeps the per-node level in a `u8` and bounds
/// what a corrupt file can claim.
pub const MAX_LEVEL: u8 = 30;

/// SplitMix64 (Steele, Lea & Flood, 2014): a 64-bit counter passed through a strong mixer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose stream is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The internal state (persisted so a loaded index continues the stream).
    pub fn state(&self) -> u64 {
        self.state
    }

    /// Restores a generator from [`SplitMix64::state`].
    pub fn from_state(state: u64) -> Self {
        SplitMix64 { state }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from (0, 1] with 53 bits of precision (never 0, so `ln` is finite).
    pub fn next_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A node level `⌊−ln(U) · mL⌋`, clamped to [`MAX_LEVEL`].
    pub fn next_level(&mut self, ml: f64) -> u8 {
        let l = (-self.next_unit().ln() * ml).floor();
        if l >= MAX_LEVEL as f64 {
            MAX_LEVEL
        } else {
            l as u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let mut c = SplitMix64::new(43);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..100).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        let mut d = SplitMix64::from_state(a.state());
        assert_eq!(d.next_u64(), a.next_u64());
    }

    #[test]
    fn known_first_output() {
        // Reference value of SplitMix64 seeded with 0 (first output of the published algorithm).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn unit_draws_stay_in_half_open_interval() {
        let mut r = SplitMix64::new(7);
        let mut sum = 0.0;
        for _ in 0..100_000 {
            let u = r.next_unit();
            assert!(u > 0.0 && u <= 1.0);
            sum += u;
        }
        let mean = sum / 100_000.0;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn level_distribution_is_geometric() {
        // With mL = 1/ln(M), P(level ≥ l) = M^-l: for M = 16 about 1/16 of nodes reach layer 1.
        let ml = 1.0 / 16f64.ln();
        let mut r = SplitMix64::new(1);
        let n = 200_000;
        let mut at_least = [0usize; 4];
        for _ in 0..n {
            let l = r.next_level(ml) as usize;
            for (i, c) in at_least.iter_mut().enumerate() {
                if l >= i {
                    *c += 1;
                }
            }
        }
        assert_eq!(at_least[0], n);
        let p1 = at_least[1] as f64 / n as f64;
        let p2 = at_least[2] as f64 / n as f64;
        assert!((p1 - 1.0 / 16.0).abs() < 0.005, "p1 {p1}");
        assert!((p2 - 1.0 / 256.0).abs() < 0.001, "p2 {p2}");
    }

    #[test]
    fn level_is_clamped() {
        let mut r = SplitMix64::new(3);
        // An absurd mL pushes every draw past the cap.
        for _ in 0..1000 {
            assert!(r.next_level(1e9) <= MAX_LEVEL);
        }
    }
}
