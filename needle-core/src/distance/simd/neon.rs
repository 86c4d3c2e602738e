//! NEON kernels for aarch64: 4 floats per register, four independent accumulators per row (16
//! floats per loop step) to cover the FMA latency, and four rows per batch step (16 accumulators
//! of the 32 registers). NEON has no masked load, so the last `len % 4` floats are copied into a
//! zeroed register-sized buffer and loaded from there.

use core::arch::aarch64::*;

use super::batch::{gather, stream};
use super::chunks::Chunks;
use super::{KernelTable, Reduction};
use crate::distance::backend::Backend;
use crate::Rows;

/// Floats per 128-bit register.
const LANES: usize = 4;
/// Independent accumulators per row in the main loop.
const ACCUMULATORS: usize = 4;
/// Rows scored together in a batch.
const ROW_BLOCK: usize = 4;

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
    unsafe { dot(a, [b])[0] }
}

fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { l2_squared(a, [b])[0] }
}

fn l1_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting NEON.
    unsafe { l1(a, [b])[0] }
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
        Reduction::Dot => gather(query, rows, ids, out, |q, r| dot::<ROW_BLOCK>(q, r), |q, r| dot(q, [r])[0]),
        Reduction::L2Squared => {
            gather(query, rows, ids, out, |q, r| l2_squared::<ROW_BLOCK>(q, r), |q, r| l2_squared(q, [r])[0])
        }
        Reduction::L1 => gather(query, rows, ids, out, |q, r| l1::<ROW_BLOCK>(q, r), |q, r| l1(q, [r])[0]),
    }
}

#[target_feature(enable = "neon")]
fn stream_neon(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, |q, r| dot(q, [r])[0]),
        Reduction::L2Squared => stream(query, rows, out, |q, r| l2_squared(q, [r])[0]),
        Reduction::L1 => stream(query, rows, out, |q, r| l1(q, [r])[0]),
    }
}

/// `Σ qᵢ·rᵢ` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "neon")]
fn dot<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| mul_add(acc, q, r))
}

/// `Σ (qᵢ − rᵢ)²` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "neon")]
fn l2_squared<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| {
        let diff = sub(q, r);
        mul_add(acc, diff, diff)
    })
}

/// `Σ |qᵢ − rᵢ|` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "neon")]
fn l1<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| add(acc, abs_diff(q, r)))
}

/// Runs `step(accumulator, query_chunk, row_chunk)` over the query and each row 4 floats at a
/// time and sums each row's accumulators. Each query chunk is loaded once for all rows; each row
/// gets the same sequence of operations whatever `ROWS` is. `step` must leave an accumulator
/// unchanged for a pair of zero chunks: the tail is loaded with its missing lanes zeroed.
#[inline]
#[target_feature(enable = "neon")]
fn fold<const ROWS: usize>(
    query: &[f32],
    rows: [&[f32]; ROWS],
    step: impl Fn(float32x4_t, float32x4_t, float32x4_t) -> float32x4_t,
) -> [f32; ROWS] {
    let q = Chunks::<LANES, ACCUMULATORS>::new(query);
    let rows = rows.map(|row| {
        assert_eq!(row.len(), query.len(), "distance kernels need slices of equal length");
        Chunks::<LANES, ACCUMULATORS>::new(row)
    });

    let mut acc = [[zero(); ACCUMULATORS]; ROWS];
    for (g, q_group) in q.groups.iter().enumerate() {
        let q_regs: [float32x4_t; ACCUMULATORS] = std::array::from_fn(|k| load(&q_group[k]));
        for (row_acc, row) in acc.iter_mut().zip(&rows) {
            for k in 0..ACCUMULATORS {
                row_acc[k] = step(row_acc[k], q_regs[k], load(&row.groups[g][k]));
            }
        }
    }
    for (c, q_chunk) in q.rest.iter().enumerate() {
        let q_reg = load(q_chunk);
        for (row_acc, row) in acc.iter_mut().zip(&rows) {
            row_acc[0] = step(row_acc[0], q_reg, load(&row.rest[c]));
        }
    }
    if !q.tail.is_empty() {
        let q_reg = load(&zero_padded(q.tail));
        for (row_acc, row) in acc.iter_mut().zip(&rows) {
            row_acc[1] = step(row_acc[1], q_reg, load(&zero_padded(row.tail)));
        }
    }
    acc.map(|[a0, a1, a2, a3]| sum_lanes(add(add(a0, a1), add(a2, a3))))
}

// Register arithmetic. Recent toolchains declare these intrinsics safe inside NEON-enabled
// functions, older ones `unsafe` (for the target feature alone); wrapping each call keeps this file
// compiling, warning-free, on both.

/// `acc + a·b`, fused.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn mul_add(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vfmaq_f32(acc, a, b) }
}

/// `a − b`.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn sub(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vsubq_f32(a, b) }
}

/// `|a − b|`.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn abs_diff(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vabdq_f32(a, b) }
}

/// `a + b`.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vaddq_f32(a, b) }
}

/// The sum of the four lanes.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn sum_lanes(v: float32x4_t) -> f32 {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vaddvq_f32(v) }
}

/// Four zero lanes.
#[inline]
#[target_feature(enable = "neon")]
#[allow(unused_unsafe)]
fn zero() -> float32x4_t {
    // SAFETY: NEON is enabled in this function; the intrinsic only computes on registers.
    unsafe { vdupq_n_f32(0.0) }
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
