//! Portable reference kernels: the definition every SIMD backend is tested against.

use super::batch::gather;
use super::Sq8Kernel;
use crate::Codes;

pub(super) static KERNEL: Sq8Kernel = Sq8Kernel { name: "scalar", dot, l1, dot_batch, l1_batch };

/// `Σ cᵢ·wᵢ`, wrapping. Panics when the lengths differ.
pub(super) fn dot(codes: &[u8], weights: &[i8]) -> i32 {
    assert_eq!(codes.len(), weights.len(), "SQ8 kernels need slices of equal length");
    codes.iter().zip(weights).fold(0i32, |acc, (&c, &w)| acc.wrapping_add(i32::from(c) * i32::from(w)))
}

/// `Σ |aᵢ − cᵢ|·wᵢ`, wrapping. Panics when the lengths differ.
pub(super) fn l1(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    assert!(query.len() == codes.len() && codes.len() == weights.len(), "SQ8 kernels need slices of equal length");
    query
        .iter()
        .zip(codes)
        .zip(weights)
        .fold(0i32, |acc, ((&a, &c), &w)| acc.wrapping_add(i32::from(a.abs_diff(c)) * i32::from(w)))
}

fn dot_batch(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, weights.len(), ids, out, |row| dot(row, weights))
}

fn l1_batch(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, query.len(), ids, out, |row| l1(query, row, weights))
}
