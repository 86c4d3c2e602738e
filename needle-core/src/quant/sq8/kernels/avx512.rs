//! AVX-512 kernels, in two flavours:
//!
//! * `avx512-vnni`: 64 dimensions per `vpdpbusd`, which multiplies unsigned bytes (the stored
//!   codes, or |query − code| for manhattan) by signed bytes (the query weights) and adds groups
//!   of four products into i32 lanes — the whole inner product in one instruction.
//! * `avx512bw`: for AVX-512 CPUs without VNNI, 32 dimensions per step widened to i16 and
//!   multiplied with `vpmaddwd`.
//!
//! Both finish with one masked load for the last `len % step` bytes instead of a scalar tail.

use core::arch::x86_64::*;

use super::batch::gather;
use super::Sq8Kernel;
use crate::Codes;

/// Bytes per VNNI step.
const VNNI_STEP: usize = 64;
/// Bytes per BW step (a 256-bit load widened to 32 i16 lanes).
const BW_STEP: usize = 32;

static VNNI: Sq8Kernel = Sq8Kernel {
    name: "avx512-vnni",
    dot: vnni_dot_checked,
    l1: vnni_l1_checked,
    dot_batch: vnni_dot_batch_checked,
    l1_batch: vnni_l1_batch_checked,
};

static BW: Sq8Kernel = Sq8Kernel {
    name: "avx512bw",
    dot: bw_dot_checked,
    l1: bw_l1_checked,
    dot_batch: bw_dot_batch_checked,
    l1_batch: bw_l1_batch_checked,
};

/// The VNNI kernels, when this CPU has AVX-512F, AVX-512BW and AVX-512 VNNI.
pub(super) fn vnni() -> Option<&'static Sq8Kernel> {
    (is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vnni"))
    .then_some(&VNNI)
}

/// The widening kernels, when this CPU has AVX-512F and AVX-512BW.
pub(super) fn bw() -> Option<&'static Sq8Kernel> {
    (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")).then_some(&BW)
}

// The safe entry points below are private and reachable only through `VNNI` / `BW`, which
// `vnni()` / `bw()` hand out after detecting the features named on each function; that detection
// is what makes each call sound.

fn vnni_dot_checked(codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `VNNI`, handed out after detecting AVX-512F/BW/VNNI.
    unsafe { vnni_dot(codes, weights) }
}

fn vnni_l1_checked(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `VNNI`, handed out after detecting AVX-512F/BW/VNNI.
    unsafe { vnni_l1(query, codes, weights) }
}

fn vnni_dot_batch_checked(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `VNNI`, handed out after detecting AVX-512F/BW/VNNI.
    unsafe { vnni_dot_batch(codes, weights, ids, out) }
}

fn vnni_l1_batch_checked(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `VNNI`, handed out after detecting AVX-512F/BW/VNNI.
    unsafe { vnni_l1_batch(codes, query, weights, ids, out) }
}

fn bw_dot_checked(codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `BW`, handed out after detecting AVX-512F/BW.
    unsafe { bw_dot(codes, weights) }
}

fn bw_l1_checked(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    // SAFETY: only reachable through `BW`, handed out after detecting AVX-512F/BW.
    unsafe { bw_l1(query, codes, weights) }
}

fn bw_dot_batch_checked(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `BW`, handed out after detecting AVX-512F/BW.
    unsafe { bw_dot_batch(codes, weights, ids, out) }
}

fn bw_l1_batch_checked(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `BW`, handed out after detecting AVX-512F/BW.
    unsafe { bw_l1_batch(codes, query, weights, ids, out) }
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vnni_dot_batch(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, weights.len(), ids, out, |row| vnni_dot(row, weights))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vnni_l1_batch(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, query.len(), ids, out, |row| vnni_l1(query, row, weights))
}

#[target_feature(enable = "avx512f,avx512bw")]
fn bw_dot_batch(codes: &Codes<'_>, weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, weights.len(), ids, out, |row| bw_dot(row, weights))
}

#[target_feature(enable = "avx512f,avx512bw")]
fn bw_l1_batch(codes: &Codes<'_>, query: &[u8], weights: &[i8], ids: &[u32], out: &mut [f32]) {
    gather(codes, query.len(), ids, out, |row| bw_l1(query, row, weights))
}

/// `Σ cᵢ·wᵢ` with `vpdpbusd`, two accumulators. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vnni_dot(codes: &[u8], weights: &[i8]) -> i32 {
    assert_eq!(codes.len(), weights.len(), "SQ8 kernels need slices of equal length");
    let (c_chunks, c_tail) = codes.as_chunks::<VNNI_STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<VNNI_STEP>();
    let mut acc = [_mm512_setzero_si512(); 2];
    for (k, (c, w)) in c_chunks.iter().zip(w_chunks).enumerate() {
        acc[k & 1] = _mm512_dpbusd_epi32(acc[k & 1], load64(c), load64(w));
    }
    if !c_tail.is_empty() {
        acc[1] = _mm512_dpbusd_epi32(acc[1], load_partial64(c_tail), load_partial64(w_tail));
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(acc[0], acc[1]))
}

/// `Σ |aᵢ − cᵢ|·wᵢ` with `vpdpbusd` on the unsigned byte differences. Panics when the lengths
/// differ.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn vnni_l1(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    assert!(query.len() == codes.len() && codes.len() == weights.len(), "SQ8 kernels need slices of equal length");
    let (a_chunks, a_tail) = query.as_chunks::<VNNI_STEP>();
    let (c_chunks, c_tail) = codes.as_chunks::<VNNI_STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<VNNI_STEP>();
    let abs_diff = |a: __m512i, c: __m512i| _mm512_sub_epi8(_mm512_max_epu8(a, c), _mm512_min_epu8(a, c));
    let mut acc = [_mm512_setzero_si512(); 2];
    for (k, ((a, c), w)) in a_chunks.iter().zip(c_chunks).zip(w_chunks).enumerate() {
        acc[k & 1] = _mm512_dpbusd_epi32(acc[k & 1], abs_diff(load64(a), load64(c)), load64(w));
    }
    if !c_tail.is_empty() {
        let diff = abs_diff(load_partial64(a_tail), load_partial64(c_tail));
        acc[1] = _mm512_dpbusd_epi32(acc[1], diff, load_partial64(w_tail));
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(acc[0], acc[1]))
}

/// `Σ cᵢ·wᵢ` widened to i16 and multiplied with `vpmaddwd`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn bw_dot(codes: &[u8], weights: &[i8]) -> i32 {
    assert_eq!(codes.len(), weights.len(), "SQ8 kernels need slices of equal length");
    let (c_chunks, c_tail) = codes.as_chunks::<BW_STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<BW_STEP>();
    let mut acc = [_mm512_setzero_si512(); 2];
    for (k, (c, w)) in c_chunks.iter().zip(w_chunks).enumerate() {
        let product = _mm512_madd_epi16(_mm512_cvtepu8_epi16(load32(c)), _mm512_cvtepi8_epi16(load32(w)));
        acc[k & 1] = _mm512_add_epi32(acc[k & 1], product);
    }
    if !c_tail.is_empty() {
        let c = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(load_partial64(c_tail)));
        let w = _mm512_cvtepi8_epi16(_mm512_castsi512_si256(load_partial64(w_tail)));
        acc[1] = _mm512_add_epi32(acc[1], _mm512_madd_epi16(c, w));
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(acc[0], acc[1]))
}

/// `Σ |aᵢ − cᵢ|·wᵢ` widened to i16. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn bw_l1(query: &[u8], codes: &[u8], weights: &[i8]) -> i32 {
    assert!(query.len() == codes.len() && codes.len() == weights.len(), "SQ8 kernels need slices of equal length");
    let (a_chunks, a_tail) = query.as_chunks::<BW_STEP>();
    let (c_chunks, c_tail) = codes.as_chunks::<BW_STEP>();
    let (w_chunks, w_tail) = weights.as_chunks::<BW_STEP>();
    let step = |a: __m256i, c: __m256i, w: __m256i| {
        let diff = _mm512_abs_epi16(_mm512_sub_epi16(_mm512_cvtepu8_epi16(a), _mm512_cvtepu8_epi16(c)));
        _mm512_madd_epi16(diff, _mm512_cvtepi8_epi16(w))
    };
    let mut acc = [_mm512_setzero_si512(); 2];
    for (k, ((a, c), w)) in a_chunks.iter().zip(c_chunks).zip(w_chunks).enumerate() {
        acc[k & 1] = _mm512_add_epi32(acc[k & 1], step(load32(a), load32(c), load32(w)));
    }
    if !c_tail.is_empty() {
        let half = |bytes: __m512i| _mm512_castsi512_si256(bytes);
        let tail = step(half(load_partial64(a_tail)), half(load_partial64(c_tail)), half(load_partial64(w_tail)));
        acc[1] = _mm512_add_epi32(acc[1], tail);
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(acc[0], acc[1]))
}

/// One full 512-bit register from 64 bytes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load64<T>(bytes: &[T; VNNI_STEP]) -> __m512i {
    const { assert!(size_of::<T>() == 1) };
    // SAFETY: `bytes` is 64 readable one-byte values; the unaligned load needs no alignment.
    unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

/// One 256-bit register from 32 bytes.
#[inline]
#[target_feature(enable = "avx512f")]
fn load32<T>(bytes: &[T; BW_STEP]) -> __m256i {
    const { assert!(size_of::<T>() == 1) };
    // SAFETY: `bytes` is 32 readable one-byte values; the unaligned load needs no alignment.
    unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
}

/// The first `min(len, 64)` bytes of `bytes`, the other lanes zero.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load_partial64<T>(bytes: &[T]) -> __m512i {
    const { assert!(size_of::<T>() == 1) };
    let count = bytes.len().min(VNNI_STEP);
    let mask: __mmask64 = if count == VNNI_STEP { !0 } else { (1u64 << count) - 1 };
    // SAFETY: the mask enables exactly the first `count <= bytes.len()` lanes; masked-off lanes
    // are neither read nor able to fault, so only bytes inside `bytes` are accessed.
    unsafe { _mm512_maskz_loadu_epi8(mask, bytes.as_ptr().cast()) }
}
