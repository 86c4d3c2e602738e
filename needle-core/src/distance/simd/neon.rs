//! NEON kernels for aarch64: 4 floats per register, four independent accumulators (16 floats per
//! loop step) to cover the FMA latency. NEON has no masked load, so the last `len % 4` floats are
//! copied into a zeroed register-sized buffer and loaded from there.

use core::arch::aarch64::*;

use super::batch::{gather, stream};
use super::{KernelTable, Reduction};
use crate::distance::dispatch::Backend;
use crate::Rows;

/// Floats per 128-bit register.
const LANES: usize = 4;
/// Independent accumulators in the main loop.
const ACCUMULATORS: usize = 4;

static TABLE: KernelTable = KernelTable {
    backend: Backend::Neon,
    dot: dot_checked,
    l2_squared: l2_squared_checked,
    l1: l1_checked,
    gather: gather_checked,
    stream: stream_checked,
};

/// The NEON kernels, when this CPU has NEON (every aarch64 CPU running a mainstream OS does).
pub(super) fn table() -> Option<&'static KernelTable> {
    std::arch::is_aarch64_feature_detected!("neon").then_some(&TABLE)
}

// The safe entry points below are private and reachable only through `TABLE`, which `table()`
// hands out after detecting NEON; that detection is what makes each call sound.

fn dot_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { dot(a, b) }
}

fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { l2_squared(a, b) }
}

fn l1_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { l1(a, b) }
}

fn gather_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { gather_neon(reduction, query, rows, ids, out) }
}

fn stream_checked(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { stream_neon(reduction, query, rows, out) }
}

#[target_feature(enable = "neon")]
fn gather_neon(reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
    match reduction {
        Reduction::Dot => gather(query, rows, ids, out, |q, r| dot(q, r)),
        Reduction::L2Squared => gather(query, rows, ids, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => gather(query, rows, ids, out, |q, r| l1(q, r)),
    }
}

#[target_feature(enable = "neon")]
fn stream_neon(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, |q, r| dot(q, r)),
        Reduction::L2Squared => stream(query, rows, out, |q, r| l2_squared(q, r)),
        Reduction::L1 => stream(query, rows, out, |q, r| l1(q, r)),
    }
}

/// `Σ aᵢ·bᵢ`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "neon")]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| vfmaq_f32(acc, x, y))
}

/// `Σ (aᵢ − bᵢ)²`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "neon")]
fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| {
        let diff = vsubq_f32(x, y);
        vfmaq_f32(acc, diff, diff)
    })
}

/// `Σ |aᵢ − bᵢ|`. Panics when the lengths differ.
#[inline]
#[target_feature(enable = "neon")]
fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold(a, b, |acc, x, y| vaddq_f32(acc, vabdq_f32(x, y)))
}

/// Runs `step(accumulator, a_chunk, b_chunk)` over both slices 4 floats at a time and sums the
/// accumulators. `step` must map a pair of zero chunks to an unchanged accumulator: the tail is
/// loaded with its missing lanes zeroed.
#[inline]
#[target_feature(enable = "neon")]
fn fold(a: &[f32], b: &[f32], step: impl Fn(float32x4_t, float32x4_t, float32x4_t) -> float32x4_t) -> f32 {
    assert_eq!(a.len(), b.len(), "distance kernels need slices of equal length");
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let (a_groups, a_rest) = a_chunks.as_chunks::<ACCUMULATORS>();
    let (b_groups, b_rest) = b_chunks.as_chunks::<ACCUMULATORS>();

    let mut acc = [vdupq_n_f32(0.0); ACCUMULATORS];
    for (x, y) in a_groups.iter().zip(b_groups) {
        for k in 0..ACCUMULATORS {
            acc[k] = step(acc[k], load(&x[k]), load(&y[k]));
        }
    }
    for (x, y) in a_rest.iter().zip(b_rest) {
        acc[0] = step(acc[0], load(x), load(y));
    }
    if !a_tail.is_empty() {
        acc[1] = step(acc[1], load(&zero_padded(a_tail)), load(&zero_padded(b_tail)));
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])))
}

/// The first `min(len, 4)` floats of `values`, followed by zeros.
#[inline]
fn zero_padded(values: &[f32]) -> [f32; LANES] {
    let mut chunk = [0.0; LANES];
    let count = values.len().min(LANES);
    chunk[..count].copy_from_slice(&values[..count]);
    chunk
}

/// One full register from 4 floats.
#[inline]
#[target_feature(enable = "neon")]
fn load(chunk: &[f32; LANES]) -> float32x4_t {
    // SAFETY: `chunk` is 4 readable floats; `vld1q_f32` needs only element alignment, which a
    // `[f32; 4]` has.
    unsafe { vld1q_f32(chunk.as_ptr()) }
}
