//! The batch loops every backend runs: one query against the code rows named by ids.
//!
//! `#[inline(always)]` and generic over the per-row kernel, so each backend instantiates them
//! inside its own `#[target_feature]` function and the kernel inlines there.

use crate::Codes;

/// How many ids ahead the loop prefetches. A code row is a few hundred bytes: scoring one takes
/// about as long as a cache miss, so one row of lookahead hides most of the latency.
const PREFETCH_AHEAD: usize = 1;

/// `out[j] = kernel(&codes.row(ids[j])[..len]) as f32`, prefetching the next row.
#[inline(always)]
pub(super) fn gather(
    codes: &Codes<'_>,
    len: usize,
    ids: &[u32],
    out: &mut [f32],
    mut kernel: impl FnMut(&[u8]) -> i32,
) {
    for (position, (&id, slot)) in ids.iter().zip(out.iter_mut()).enumerate() {
        if let Some(&next) = ids.get(position + PREFETCH_AHEAD) {
            prefetch_row(codes, next, len);
        }
        *slot = kernel(&codes.row(id as usize)[..len]) as f32;
    }
}

/// Hints that the first `len` bytes of row `id` will be read soon; ids out of range are ignored.
#[inline(always)]
fn prefetch_row(codes: &Codes<'_>, id: u32, len: usize) {
    let start = id as usize * codes.code_len;
    let Some(row) = codes.data.get(start..start + len) else { return };
    #[cfg(target_arch = "x86_64")]
    for offset in (0..row.len()).step_by(64) {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `offset < row.len()`, so the pointer is inside `row`'s allocation; a prefetch
        // never faults and reads nothing architecturally; SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(offset).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}
