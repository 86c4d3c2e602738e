//! AVX2 + FMA kernels: 8 floats per register, four independent accumulators (32 floats per loop
//! step) to cover the FMA latency, and one masked load for the last `len % 8` floats instead of
//! a scalar tail loop.

use core::arch::x86_64::*;

use super::batch::{gather, stream};
use super::{KernelTable, Reduction};
use crate::distance::dispatch::Backend;
use crate::Rows;

/// Floats per 256-bit register.
const LANES: usize = 8;
/// Independent accumulators in the main loop.
const ACCUMULATORS: usize = 4;

static TABLE: KernelTable = KernelTable {
    backend: Backend::Avx2,
    dot: dot_checked,
    l2_squared: l2_squared_checked,
    l1: l1_checked,
    gather: gather_checked,
    stream: stream_checked,
};

/// The AVX2 kernels, when this CPU has both AVX2 and FMA.
pub(super) fn table() -> Option<&'static KernelTable> {
    (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(&TABLE)
}

// The safe entry points below are private and reachable only through `TABLE`, which `table()`
// hands out after detecting AVX2 and FMA; that detection is what makes each call sound.

fn dot_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { dot(a, b) }
}

fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { l2_squared(a, b) }
}

fn l1_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { l1(a, b) }
}

fn gather_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { gather_avx2(reduction, query, rows, ids, out) }
}

fn stream_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { stream_avx2(reduction, query, rows, out) }
}

#[target_feature(enable = "avx2,fma")]
fn gather_avx2(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    match reduction {
        Reduction::Dot => gather(query, rows, ids, out, |q, r| dot(q, r)),
        Reduction::L2Squared => gather(query, rows, ids, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => gather(query, rows, ids, out, |q, r| l1(q, r)),
    }
}

#[target_feature(enable = "avx2,fma")]
fn stream_avx2(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, |q, r| dot(q, r)),
        Reduction::L2Squared => stream(query, rows, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => stream(query, rows, out, |q, r| l1(q, r)),
    }
}

/// `Σ aᵢ·bᵢ`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| _mm256_fmadd_ps(x, y, acc))
}

/// `Σ (aᵢ − bᵢ)²`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| {
        let diff = _mm256_sub_ps(x, y);
        _mm256_fmadd_ps(diff, diff, acc)
    })
}

/// `Σ |aᵢ − bᵢ|`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| {
        // Clearing the sign bit is the absolute value.
        let magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(x, y));
        _mm256_add_ps(acc, magnitude)
    })
}

/// Runs `step(accumulator, a_chunk, b_chunk)` over both slices 8 floats at a time and sums the
/// accumulators. `step` must map a pair of zero chunks to an unchanged accumulator: the tail is
/// loaded with its missing lanes zeroed.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fold(a: &[f32], b: &[f32], step: impl Fn(__m256, __m256, __m256) -> __m256) -> f32 {
    assert_eq!(a.len(), b.len(), "distance kernels need slices of equal length");
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let (a_groups, a_rest) = a_chunks.as_chunks::<ACCUMULATORS>();
    let (b_groups, b_rest) = b_chunks.as_chunks::<ACCUMULATORS>();

    let mut acc = [_mm256_setzero_ps(); ACCUMULATORS];
    for (x, y) in a_groups.iter().zip(b_groups) {
        for k in 0..ACCUMULATORS {
            acc[k] = step(acc[k], load(&x[k]), load(&y[k]));
        }
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        acc[0] = step(acc[0], load(x), load(y));
    }
    if !a_tail.is_empty() {
        acc[1] = step(acc[1], load_partial(a_tail), load_partial(b_tail));
    }
    horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])))
}

/// The sum of the eight lanes.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn horizontal_sum(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    let single = _mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair));
    _mm_cvtss_f32(single)
}

/// One full register from 8 floats.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load(chunk: &[f32; LANES]) -> __m256 {
    // SAFETY: `chunk` is 8 readable floats; the unaligned load has no alignment requirement.
    unsafe { _mm256_loadu_ps(chunk.as_ptr()) }
}

/// The first `min(len, 8)` floats of `values`, the remaining lanes zero.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn load_partial(values: &[f32]) -> __m256 {
    let count = values.len().min(LANES) as i32;
    // Lane i is enabled (all bits set) when i < count.
    let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    // SAFETY: the mask enables exactly the first `count <= values.len()` lanes; `vmaskmovps`
    // neither reads nor faults on masked-off lanes, so only floats inside `values` are accessed.
    unsafe { _mm256_maskload_ps(values.as_ptr(), mask) }
}
