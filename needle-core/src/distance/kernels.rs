//! The raw kernels on the process's active backend ([`Backend::active`](super::Backend::active)),
//! for code outside the built-in distances that needs one pairwise reduction (quantizer training,
//! plugins, tests). To run a particular backend, call [`Backend::dot`](super::Backend::dot) and
//! its siblings instead.
//!
//! Each call costs one indirect call; the backend was resolved once per process.

use super::dispatch::active_table;
use super::simd::Reduction;

/// `Σ aᵢ·bᵢ`. Panics when the lengths differ.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (active_table().pair(Reduction::Dot))(a, b)
}

/// `Σ (aᵢ − bᵢ)²`. Panics when the lengths differ.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    (active_table().pair(Reduction::L2Squared))(a, b)
}

/// `Σ |aᵢ − bᵢ|`. Panics when the lengths differ.
#[inline]
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    (active_table().pair(Reduction::L1))(a, b)
}
