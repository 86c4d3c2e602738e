//! AVX2 + FMA kernels: 8 floats per register, four independent accumulators per row (32 floats
//! per loop step) to cover the FMA latency, one masked load for the last `len % 8` floats instead
//! of a scalar tail loop, and two rows per batch step (8 accumulators plus 4 query registers fit
//! the 16 registers; more rows would spill).

use core::arch::x86_64::*;

use super::batch::{gather, stream};
use super::chunks::Chunks;
use super::{KernelTable, Reduction};
use crate::distance::backend::Backend;
use crate::Rows;

/// Floats per 256-bit register.
const LANES: usize = 8;
/// Independent accumulators per row in the main loop.
const ACCUMULATORS: usize = 4;
/// Rows scored together in a batch.
const ROW_BLOCK: usize = 2;

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
    unsafe { dot(a, [b])[0] }
}

fn l2_squared_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { l2_squared(a, [b])[0] }
}

fn l1_checked(a: &[f32], b: &[f32]) -> f32 {
    // SAFETY: only reachable through `TABLE`, handed out after detecting AVX2 and FMA.
    unsafe { l1(a, [b])[0] }
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
        Reduction::Dot => gather(query, rows, ids, out, |q, r| dot::<ROW_BLOCK>(q, r), |q, r| dot(q, [r])[0]),
        Reduction::L2Squared => {
            gather(query, rows, ids, out, |q, r| l2_squared::<ROW_BLOCK>(q, r), |q, r| l2_squared(q, [r])[0])
        }
        Reduction::L1 => gather(query, rows, ids, out, |q, r| l1::<ROW_BLOCK>(q, r), |q, r| l1(q, [r])[0]),
    }
}

#[target_feature(enable = "avx2,fma")]
fn stream_avx2(reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
    match reduction {
        Reduction::Dot => stream(query, rows, out, |q, r| dot(q, [r])[0]),
        Reduction::L2Squared => stream(query, rows, out, |q, r| l2_squared(q, [r])[0]),
        Reduction::L1 => stream(query, rows, out, |q, r| l1(q, [r])[0]),
    }
}

/// `Σ qᵢ·rᵢ` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn dot<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| _mm256_fmadd_ps(q, r, acc))
}

/// `Σ (qᵢ − rᵢ)²` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn l2_squared<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| {
        let diff = _mm256_sub_ps(q, r);
        _mm256_fmadd_ps(diff, diff, acc)
    })
}

/// `Σ |qᵢ − rᵢ|` for each row. Panics when a row's length differs from the query's.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn l1<const ROWS: usize>(query: &[f32], rows: [&[f32]; ROWS]) -> [f32; ROWS] {
    fold(query, rows, |acc, q, r| {
        // Clearing the sign bit is the absolute value.
        let magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(q, r));
        _mm256_add_ps(acc, magnitude)
    })
}

/// Runs `step(accumulator, query_chunk, row_chunk)` over the query and each row 8 floats at a
/// time and sums each row's accumulators. Each query chunk is loaded once for all rows; each row
/// gets the same sequence of operations whatever `ROWS` is. `step` must leave an accumulator
/// unchanged for a pair of zero chunks: the tail is loaded with its missing lanes zeroed.
#[inline]
#[target_feature(enable = "avx2,fma")]
fn fold<const ROWS: usize>(
    query: &[f32],
    rows: [&[f32]; ROWS],
    step: impl Fn(__m256, __m256, __m256) -> __m256,
) -> [f32; ROWS] {
    let q = Chunks::<LANES, ACCUMULATORS>::new(query);
    let rows = rows.map(|row| {
        assert_eq!(row.len(), query.len(), "distance kernels need slices of equal length");
        Chunks::<LANES, ACCUMULATORS>::new(row)
    });

    let mut acc = [[_mm256_setzero_ps(); ACCUMULATORS]; ROWS];
    for (g, q_group) in q.groups.iter().enumerate() {
        let q_regs: [__m256; ACCUMULATORS] = std::array::from_fn(|k| load(&q_group[k]));
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
        let q_reg = load_partial(q.tail);
        for (row_acc, row) in acc.iter_mut().zip(&rows) {
            row_acc[1] = step(row_acc[1], q_reg, load_partial(row.tail));
        }
    }
    acc.map(|[a0, a1, a2, a3]| horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))))
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
