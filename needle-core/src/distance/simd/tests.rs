//! Every available backend against the scalar reference and against exact (f64) arithmetic.
//!
//! Tolerance. Different backends add the same terms in different orders, so they may differ by
//! rounding. Summing n terms along a chain of depth d errs by at most about d·u·Σ|termᵢ|
//! (u = 2⁻²⁴; the product's own rounding adds one more level, or none with FMA). Every backend
//! here sums with depth at most n/8 + 16 (the scalar reference: eight lanes of n/8 terms, a 3-level
//! tree, up to 7 tail terms; the SIMD backends are shallower), so two backends differ by at most
//! `(n/8 + 16) · 2u · Σ|termᵢ|` = `(n/8 + 16) · f32::EPSILON · Σ|termᵢ|`. The bound is relative to
//! Σ|termᵢ| rather than to the result because a dot product may cancel to nearly zero while its
//! rounding error stays proportional to the terms. For n = 1600 it is 2.6e-5 of Σ|termᵢ|, while
//! losing or doubling one element would move the result by about Σ|termᵢ|/n = 6e-4 of it.
//!
//! Integer inputs in [-10, 10] make every partial sum an integer below 2²⁴, which f32 holds
//! exactly in any order: there, all backends must agree with the exact result bit for bit. That is
//! the sharp test of tail handling.

use proptest::prelude::*;

use super::{kernel_table, Reduction};
use crate::distance::Backend;

const REDUCTIONS: [Reduction; 3] = [Reduction::Dot, Reduction::L2Squared, Reduction::L1];

/// The value `reduction` computes for one pair of elements, in f64.
fn term(reduction: Reduction, x: f32, y: f32) -> f64 {
    let (x, y) = (f64::from(x), f64::from(y));
    match reduction {
        Reduction::Dot => x * y,
        Reduction::L2Squared => (x - y) * (x - y),
        Reduction::L1 => (x - y).abs(),
    }
}

/// The exact result (to f64 precision) and `Σ|termᵢ|`.
fn exact(reduction: Reduction, a: &[f32], b: &[f32]) -> (f64, f64) {
    a.iter().zip(b).map(|(&x, &y)| term(reduction, x, y)).fold((0.0, 0.0), |(sum, mag), t| (sum + t, mag + t.abs()))
}

/// How far two correct implementations may drift apart on `n` terms of total magnitude `magnitude`.
fn tolerance(n: usize, magnitude: f64) -> f64 {
    (n as f64 / 8.0 + 16.0) * f64::from(f32::EPSILON) * magnitude
}

fn run(backend: Backend, reduction: Reduction, a: &[f32], b: &[f32]) -> f32 {
    let table = kernel_table(backend).expect("only available backends are tested");
    assert_eq!(table.backend(), backend);
    (table.pair(reduction))(a, b)
}

/// A deterministic pseudo-random integer in [-10, 10] per index (no RNG needed).
fn small_integer(seed: u64, i: usize) -> f32 {
    let mixed = (seed ^ i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    (mixed % 21) as f32 - 10.0
}

#[test]
fn every_length_and_offset_is_exact_on_integers() {
    for len in 0..=200 {
        for offset in 0..3 {
            let a: Vec<f32> = (0..len + offset).map(|i| small_integer(1, i)).collect();
            let b: Vec<f32> = (0..len + offset).map(|i| small_integer(2, i)).collect();
            let (a, b) = (&a[offset..], &b[offset..]);
            for reduction in REDUCTIONS {
                let (expected, _) = exact(reduction, a, b);
                for backend in Backend::available() {
                    let got = run(backend, reduction, a, b);
                    assert_eq!(f64::from(got), expected, "{backend} {reduction:?} len {len} offset {offset}");
                }
            }
        }
    }
}

#[test]
fn known_values() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0];
    let b = [5.0, 4.0, 3.0, 2.0, 1.0];
    for backend in Backend::available() {
        assert_eq!(run(backend, Reduction::Dot, &a, &b), 35.0, "{backend}");
        assert_eq!(run(backend, Reduction::L2Squared, &a, &b), 40.0, "{backend}");
        assert_eq!(run(backend, Reduction::L1, &a, &b), 12.0, "{backend}");
        assert_eq!(run(backend, Reduction::Dot, &[], &[]), 0.0, "{backend}");
    }
}

#[test]
fn every_element_counts_including_the_last() {
    // A NaN anywhere must reach the result: proves no element is skipped by the tail handling.
    for len in [1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100] {
        for poisoned in [0, len / 2, len - 1] {
            let a = vec![1.0f32; len];
            let mut b = vec![1.0f32; len];
            b[poisoned] = f32::NAN;
            for backend in Backend::available() {
                for reduction in REDUCTIONS {
                    assert!(run(backend, reduction, &a, &b).is_nan(), "{backend} {reduction:?} {len} {poisoned}");
                }
            }
        }
    }
}

#[test]
fn mismatched_lengths_panic_on_every_backend() {
    for backend in Backend::available() {
        for reduction in REDUCTIONS {
            let result = std::panic::catch_unwind(|| run(backend, reduction, &[1.0, 2.0], &[1.0]));
            assert!(result.is_err(), "{backend} {reduction:?} accepted slices of different lengths");
        }
    }
}

/// Two equally long vectors of `len` floats in [-10, 10], seen from `offset` so that SIMD loads
/// are also exercised off their natural alignment.
fn float_pair(values: impl Strategy<Value = f32> + Clone) -> impl Strategy<Value = (Vec<f32>, Vec<f32>, usize)> {
    (1usize..1600, 0usize..4).prop_flat_map(move |(len, offset)| {
        (
            proptest::collection::vec(values.clone(), len + offset),
            proptest::collection::vec(values.clone(), len + offset),
            Just(offset),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_backend_matches_scalar_within_rounding((a, b, offset) in float_pair(-10.0f32..10.0)) {
        let (a, b) = (&a[offset..], &b[offset..]);
        for reduction in REDUCTIONS {
            let (exact_value, magnitude) = exact(reduction, a, b);
            let allowed = tolerance(a.len(), magnitude);
            let reference = f64::from(run(Backend::Scalar, reduction, a, b));
            prop_assert!((reference - exact_value).abs() <= allowed,
                "scalar {reduction:?}: {reference} vs exact {exact_value} (allowed {allowed})");
            for backend in Backend::available() {
                let got = f64::from(run(backend, reduction, a, b));
                prop_assert!((got - reference).abs() <= allowed,
                    "{backend} {reduction:?} len {}: {got} vs scalar {reference} (allowed {allowed})", a.len());
            }
        }
    }

    #[test]
    fn every_backend_is_exact_on_small_integers((a, b, offset) in float_pair((-10i32..=10).prop_map(|v| v as f32))) {
        let (a, b) = (&a[offset..], &b[offset..]);
        for reduction in REDUCTIONS {
            let (expected, _) = exact(reduction, a, b);
            for backend in Backend::available() {
                prop_assert_eq!(f64::from(run(backend, reduction, a, b)), expected, "{} {:?}", backend, reduction);
            }
        }
    }
}
