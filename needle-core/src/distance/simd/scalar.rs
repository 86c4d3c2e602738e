//! Portable kernels: the reference the SIMD backends are tested against, and the fallback on
//! CPUs (or builds without the `simd` feature) that have nothing better.
//!
//! Each kernel keeps eight independent partial sums. That breaks the serial dependency of one
//! running sum, which lets LLVM map the lanes onto whatever vector registers the build target has
//! (SSE2 on plain x86_64) without reassociating floating-point additions on its own. Rows are
//! scored one at a time: the reference stays as simple as it can be.

use super::batch::{gather, stream};
use super::{KernelTable, Reduction};
use crate::distance::backend::Backend;
use crate::Rows;

/// Independent partial sums per kernel.
const LANES: usize = 8;

static TABLE: KernelTable =
    KernelTable { backend: Backend::Scalar, dot, l2_squared, l1, gather: gather_scalar, stream: stream_scalar };

/// The scalar kernels; always available.
pub(crate) fn table() -> &'static KernelTable {
    &TABLE
}

/// `Σ aᵢ·bᵢ`. Panics when the lengths differ.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |x, y| x * y)
}

/// `Σ (aᵢ − bᵢ)²`. Panics when the lengths differ.
fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |x, y| (x - y) * (x - y))
}

/// `Σ |aᵢ − bᵢ|`. Panics when the lengths differ.
fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |x, y| (x - y).abs())
}

/// `Σ term(aᵢ, bᵢ)` with [`LANES`] partial sums, then the leftover elements.
#[inline(always)]
fn fold(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    assert_eq!(a.len(), b.len(), "distance kernels need slices of equal length");
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let mut partial = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += term(x[lane], y[lane]);
        }
    }
    let mut sum = pairwise_sum(partial);
    for (&x, &y) in a_tail.iter().zip(b_tail) {
        sum += term(x, y);
    }
    sum
}

/// Adds the partial sums as a balanced tree (the order SIMD horizontal sums use too).
#[inline(always)]
fn pairwise_sum(p: [f32; LANES]) -> f32 {
    ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]))
}

fn gather_scalar(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    match reduction {
        Reduction::Dot => gather(query, rows, ids, out, |q, [r]| [dot(q, r)], dot),
        Reduction::L2Squared => gather(query, rows, ids, out, |q, [r]| [l2_squared(q, r)], l2_squared),
        Reduction::L1 => gather(query, rows, ids, out, |q, [r]| [l1(q, r)], l1),
    }
}

fn stream_scalar(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, dot),
        Reduction::L2Squared => stream(query, rows, out, l2_squared),
        Reduction::L1 => stream(query, rows, out, l1),
    }
}
