//! AVX2 kernels: 16 dimensions per step, widened to i16 and multiplied with `vpmaddwd`.
//!
//! `vpmaddubsw` (u8 × i8 straight from bytes) would halve the work but saturates its i16 pair
//! sums (255·127·2 > 32 767), which would silently make results differ from the scalar reference;
//! widening first keeps every product and pair sum exact.

use core::arch::x86_64::*;

use super::batch::gather;
use super::{scalar, Sq8Kernel};
use crate::Codes;

/// Bytes per step (one 128-bit load widened to sixteen i16 lanes).
const STEP: usize = 16;

static KERNEL: Sq8Kernel = Sq8Kernel {
    name: "avx2",
    dot: dot_checked,
    l1: l1_checked,
    dot_batch: dot_batch_checked,
    l1_batch: l1_batch_checked,
};

/// The AVX2 kernels, when this CPU has AVX2.
pub(super) fn kernel() -> Option<&'static Sq8Kernel> {
    is_x86_feature_detected!("avx2").then_some(&KERNEL)
}

// The safe entry points below are private and reachable only through `KERNEL`, which `kernel()`
// hands out after detecting AVX2; that detection is what makes each call sound.

fn dot_checked(codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `KERNEL`, handed out after detecting AVX2.
    unsafe { dot(codes, weights) }
}

fn l1_checked(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `KERNEL`, handed out after detecting AVX2.
    unsafe { l1(query, codes, weights) }
}

fn dot_batch_checked(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `KERNEL`, handed out after detecting AVX2.
    unsafe { dot_batch(codes, weights, ids, out) }
}

fn l1_batch_checked(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `KERNEL`, handed out after detecting AVX2.
    unsafe { l1_batch(codes, query, weights, ids, out) }
}

#[target_feature(enable = "avx2")]
fn dot_batch(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, weights.len(), ids, out, |row| dot(row, weights))
}

#[target_feature(enable = "avx2")]
fn l1_batch(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, query.len(), ids, out, |row| l1(query, row, weights))
}

/// `Σ cᵢ·wᵢ`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx2")]
fn dot(codes: &[u8], weights: &[i8]) -> i32 {
    assert_eq!(codes.len(), weights.len(), "SQ8 kernels need slices of equal length");
    let (c_chunks, c_tail) = codes.as_chunks::<STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<STEP>();
    let mut acc = [_mm256_setzero_si256(); 2];
    for (k, (c, w)) in c_chunks.iter().zip(w_chunks).enumerate() {
        let product = _mm256_madd_epi16(widen_u8(c), widen_i8(w));
        acc[k & 1] = _mm256_add_epi32(acc[k & 1], product);
    }
    hsum(_mm256_add_epi32(acc[0], acc[1])).wrapping_add(scalar::dot(c_tail, w_tail))
}

/// `Σ |aᵢ − cᵢ|·wᵢ`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx2")]
fn l1(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    assert!(query.len() == codes.len() && codes.len() == weights.len(), "SQ8 kernels need slices of equal length");
    let (a_chunks, a_tail) = query.as_chunks::<STEP>();
    let (c_chunks, c_tail) = codes.as_chunks::<STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<STEP>();
    let mut acc = [_mm256_setzero_si256(); 2];
    for (k, ((a, c), w)) in a_chunks.iter().zip(c_chunks).zip(w_chunks).enumerate() {
        let diff = _mm256_abs_epi16(_mm256_sub_epi16(widen_u8(a), widen_u8(c)));
        acc[k & 1] = _mm256_add_epi32(acc[k & 1], _mm256_madd_epi16(diff, widen_i8(w)));
    }
    hsum(_mm256_add_epi32(acc[0], acc[1])).wrapping_add(scalar::l1(a_tail, c_tail, w_tail))
}

/// Sixteen unsigned bytes as sixteen i16 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn widen_u8(bytes: &[u8; STEP]) -> __m256i {
    // SAFETY: `bytes` is 16 readable bytes; the unaligned load has no alignment requirement.
    _mm256_cvtepu8_epi16(unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) })
}

/// Sixteen signed bytes as sixteen i16 lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn widen_i8(bytes: &[i8; STEP]) -> __m256i {
    // SAFETY: `bytes` is 16 readable bytes; the unaligned load has no alignment requirement.
    _mm256_cvtepi8_epi16(unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) })
}

/// Sum of the eight i32 lanes (wrapping).
#[inline]
#[target_feature(enable = "avx2")]
fn hsum(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}
