//! The integer arithmetic under SQ8 distances, once per instruction set.
//!
//! Two reductions cover every metric (see `query.rs` for how they become distances):
//!
//! * `dot`: `Σ cᵢ·wᵢ` — stored codes `cᵢ` (u8) times the prepared query weights `wᵢ` (i8). Serves
//!   cosine, dot and euclidean. This is exactly VNNI's `vpdpbusd` (u8 × i8, four products summed
//!   into each i32 lane), which is why the query side is signed and the stored side unsigned.
//! * `l1`: `Σ |aᵢ − cᵢ|·wᵢ` — the query's codes `aᵢ` against stored codes, weighted per dimension
//!   by the (i8-quantized) scales. Serves manhattan.
//!
//! Results are exact integers (wrapping modulo 2³², which never happens below 65 536 dimensions:
//! `65 536 · 255 · 128 < 2³¹`), so every backend must agree with [`scalar`] bit for bit — the
//! property tests below check exactly that.
//!
//! As in the `f32` distance kernels, each backend module hands out a static [`Sq8Kernel`] of safe
//! function pointers only after detecting the CPU features they need, so holding one is the proof
//! that calling it is sound. The batch loops (`batch.rs`) are inlined into each backend's
//! `#[target_feature]` functions, leaving one indirect call per batch of ids.

#[allow(unsafe_code)] // prefetch intrinsic
mod batch;
mod scalar;

#[cfg(all(feature = "simd", target_arch = "x86_64"))]
#[allow(unsafe_code)] // target-feature kernels
mod avx2;
#[cfg(all(feature = "simd", target_arch = "x86_64"))]
#[allow(unsafe_code)] // target-feature kernels
mod avx512;

use std::fmt;
use std::sync::OnceLock;

use crate::Codes;

/// `Σ cᵢ·wᵢ` over equally long slices; panics when the lengths differ.
type DotPair = fn(&[u8], &[i8]) -> i32;
/// `Σ |aᵢ − cᵢ|·wᵢ` over equally long slices; panics when the lengths differ.
type L1Pair = fn(&[u8], &[u8], &[i8]) -> i32;
/// `out[j] = dot(codes.row(ids[j])[..w.len()], w)` as `f32`.
type DotBatch = fn(&Codes<'_>, &[i8], &[u32], &mut [f32]);
/// `out[j] = l1(a, codes.row(ids[j])[..a.len()], w)` as `f32`.
type L1Batch = fn(&Codes<'_>, &[u8], &[i8], &[u32], &mut [f32]);

/// One instruction set's SQ8 kernels. Only the backend modules build these (as statics, after
/// checking the CPU), so every function pointer inside is safe to call.
pub struct Sq8Kernel {
    name: &'static str,
    dot: DotPair,
    l1: L1Pair,
    dot_batch: DotBatch,
    l1_batch: L1Batch,
}

impl fmt::Debug for Sq8Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sq8Kernel").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Sq8Kernel {
    /// The fastest kernel this CPU runs, detected once per process.
    pub fn best() -> &'static Sq8Kernel {
        static BEST: OnceLock<&'static Sq8Kernel> = OnceLock::new();
        BEST.get_or_init(|| Self::available()[0])
    }

    /// Every kernel this CPU can run, fastest first; `scalar` is always last.
    pub fn available() -> Vec<&'static Sq8Kernel> {
        let mut kernels = Vec::new();
        #[cfg(all(feature = "simd", target_arch = "x86_64"))]
        {
            kernels.extend(avx512::vnni());
            kernels.extend(avx512::bw());
            kernels.extend(avx2::kernel());
        }
        kernels.push(&scalar::KERNEL);
        kernels
    }

    /// The available kernel called `name` (`avx512-vnni`, `avx512bw`, `avx2`, `scalar`).
    pub fn by_name(name: &str) -> Option<&'static Sq8Kernel> {
        Self::available().into_iter().find(|k| k.name == name)
    }

    /// The kernel's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `Σ codes[i] · weights[i]` (wrapping). Panics when the lengths differ.
    pub fn dot(&self, codes: &[u8], weights: &[i8]) -> i32 {
        (self.dot)(codes, weights)
    }

    /// `Σ |query[i] − codes[i]| · weights[i]` (wrapping). Panics when the lengths differ.
    pub fn l1(&self, query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
        (self.l1)(query, codes, weights)
    }

    /// [`Sq8Kernel::dot`] of `weights` with the first `weights.len()` bytes of each row named by
    /// `ids`, as `f32`, into `out`. Panics when `out.len() != ids.len()` or a row is too short.
    pub(crate) fn dot_batch(&self, codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        (self.dot_batch)(codes, weights, ids, out)
    }

    /// [`Sq8Kernel::l1`] of `query` with the first `query.len()` bytes of each row named by `ids`.
    pub(crate) fn l1_batch(&self, codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
        assert_eq!(ids.len(), out.len(), "one output per id");
        (self.l1_batch)(codes, query, weights, ids, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes_and_weights() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<i8>)> {
        (0usize..400).prop_flat_map(|n| {
            (
                proptest::collection::vec(any::<u8>(), n),
                proptest::collection::vec(any::<u8>(), n),
                proptest::collection::vec(any::<i8>(), n),
            )
        })
    }

    #[test]
    fn scalar_is_always_available_and_last() {
        let all = Sq8Kernel::available();
        assert_eq!(all.last().unwrap().name(), "scalar");
        assert_eq!(Sq8Kernel::best().name(), all[0].name());
        assert!(Sq8Kernel::by_name("scalar").is_some());
        assert!(Sq8Kernel::by_name("nope").is_none());
    }

    #[test]
    fn extremes_do_not_saturate() {
        // 255 · 127 summed over many lanes overflows i16 arithmetic: a saturating shortcut
        // (`maddubs`) would fail here.
        for k in Sq8Kernel::available() {
            for n in [1, 31, 64, 65, 200, 4096] {
                let c = vec![255u8; n];
                assert_eq!(k.dot(&c, &vec![127i8; n]), 255 * 127 * n as i32, "{} n={n}", k.name());
                assert_eq!(k.dot(&c, &vec![-128i8; n]), -255 * 128 * n as i32, "{} n={n}", k.name());
                let z = vec![0u8; n];
                assert_eq!(k.l1(&z, &c, &vec![127i8; n]), 255 * 127 * n as i32, "{} n={n}", k.name());
                assert_eq!(k.l1(&c, &z, &vec![-128i8; n]), -255 * 128 * n as i32, "{} n={n}", k.name());
            }
        }
    }

    #[test]
    #[should_panic(expected = "equal length")]
    fn length_mismatch_panics() {
        Sq8Kernel::best().dot(&[1, 2, 3], &[1, 2]);
    }

    proptest! {
        #[test]
        fn every_kernel_matches_scalar((a, c, w) in bytes_and_weights()) {
            let reference = &scalar::KERNEL;
            for k in Sq8Kernel::available() {
                prop_assert_eq!(k.dot(&c, &w), reference.dot(&c, &w), "dot on {}", k.name());
                prop_assert_eq!(k.l1(&a, &c, &w), reference.l1(&a, &c, &w), "l1 on {}", k.name());
            }
        }

        #[test]
        fn batches_match_pairs(
            dim in 1usize..150,
            rows in proptest::collection::vec(any::<u8>(), 153 * 12),
            ids in proptest::collection::vec(0u32..12, 0..20),
            seed in any::<u64>(),
        ) {
            let code_len = dim + 3; // rows carry trailing bytes the kernels must ignore
            let codes = Codes { data: &rows[..code_len * 12], code_len };
            let w: Vec<i8> = (0..dim).map(|i| (seed.rotate_left(i as u32) as u8) as i8).collect();
            let a: Vec<u8> = (0..dim).map(|i| (seed >> (i % 57)) as u8).collect();
            for k in Sq8Kernel::available() {
                let mut dots = vec![0.0; ids.len()];
                let mut l1s = vec![0.0; ids.len()];
                k.dot_batch(&codes, &w, &ids, &mut dots);
                k.l1_batch(&codes, &a, &w, &ids, &mut l1s);
                for (j, &id) in ids.iter().enumerate() {
                    let row = &codes.row(id as usize)[..dim];
                    prop_assert_eq!(dots[j], scalar::KERNEL.dot(row, &w) as f32, "{}", k.name());
                    prop_assert_eq!(l1s[j], scalar::KERNEL.l1(&a, row, &w) as f32, "{}", k.name());
                }
            }
        }
    }
}
