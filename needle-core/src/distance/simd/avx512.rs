//! AVX-512F kernels: 16 floats per register, four independent accumulators (64 floats per loop
//! step) to cover the FMA latency, and one masked load for the last `len % 16` floats instead
//! of a scalar tail loop.

use core::arch::x86_64::*;

use super::batch::{gather, stream};
use super::{KernelTable, Reduction};
use crate::distance::dispatch::Backend;
use crate::Rows;

/// Floats per 512-bit register.
const LANES: usize = 16;
/// Independent accumulators in the main loop.
const ACCUMULATORS: usize = 4;

static TABLE: KernelTable = KernelTable {
    backend: Backend::Avx512,
    dot: dot_checked,
    l2_squared: l2_squared_checked,
    l1: l1_checked,
    gather: gather_checked,
    stream: stream_checked,
};

/// The AVX-512 kernels, when this CPU has AVX-512F.
pub(super) fn table() -> Option<&'static KernelTable> {
    is_x86_feature_detected!("avx512f").then_some(&TABLE)
}

// The safe entry points below are private and reachable only through `TABLE`, which `table()`
// hands out after detecting AVX-512F; that detection is what makes each call sound.

fn dot_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX-512F.
    unsafe { dot(a, b) }
}

fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX-512F.
    unsafe { l2_squared(a, b) }
}

fn l1_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX-512F.
    unsafe { l1(a, b) }
}

fn gather_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX-512F.
    unsafe { gather_avx512(reduction, query, rows, ids, out) }
}

fn stream_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX-512F.
    unsafe { stream_avx512(reduction, query, rows, out) }
}

#[target_feature(enable = "avx512f")]
fn gather_avx512(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    match reduction {
        Reduction::Dot => gather(query, rows, ids, out, |q, r| dot(q, r)),
        Reduction::L2Squared => gather(query, rows, ids, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => gather(query, rows, ids, out, |q, r| l1(q, r)),
    }
}

#[target_feature(enable = "avx512f")]
fn stream_avx512(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, |q, r| dot(q, r)),
        Reduction::L2Squared => stream(query, rows, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => stream(query, rows, out, |q, r| l1(q, r)),
    }
}

/// `Σ aᵢ·bᵢ`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f")]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| _mm512_fmadd_ps(x, y, acc))
}

/// `Σ (aᵢ − bᵢ)²`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f")]
fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| {
        let diff = _mm512_sub_ps(x, y);
        _mm512_fmadd_ps(diff, diff, acc)
    })
}

/// `Σ |aᵢ − bᵢ|`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "avx512f")]
fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(x, y))))
}

/// Runs `step(accumulator, a_chunk, b_chunk)` over both slices 16 floats at a time and sums the
/// accumulators. `step` must map a pair of zero chunks to an unchanged accumulator: the tail is
/// loaded with its missing lanes zeroed.
#[inline]
#[target_feature(enable = "avx512f")]
fn fold(a: &[f32], b: &[f32], step: impl Fn(__m512, __m512, __m512) -> __m512) -> f32 {
    assert_eq!(a.len(), b.len(), "distance kernels need slices of equal length");
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let (a_groups, a_rest) = a_chunks.as_chunks::<ACCUMULATORS>();
    let (b_groups, b_rest) = b_chunks.as_chunks::<ACCUMULATORS>();

    let mut acc = [_mm512_setzero_ps(); ACCUMULATORS];
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
    _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])))
}

/// One full register from 16 floats.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(chunk: &[f32; LANES]) -> __m512 {
    // SAFETY: `chunk` is 16 readable floats; the unaligned load has no alignment requirement.
    unsafe { _mm512_loadu_ps(chunk.as_ptr()) }
}

/// The first `min(len, 16)` floats of `values`, the remaining lanes zero.
#[inline]
#[target_feature(enable = "avx512f")]
fn load_partial(values: &[f32]) -> __m512 {
    let count = values.len().min(LANES);
    let mask: __mmask16 = ((1u32 << count) - 1) as __mmask16;
    // SAFETY: the mask enables exactly the first `count <= values.len()` lanes, and masked-off
    // lanes are neither read nor able to fault, so only floats inside `values` are accessed.
    unsafe { _mm512_maskz_loadu_ps(mask, values.as_ptr()) }
}
