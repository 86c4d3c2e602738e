//! Software prefetch: start pulling a stored row into cache before it is scored.
//!
//! Graph search visits rows in an order no hardware prefetcher can guess, so the gather loop asks
//! for the next row while it scores the current one. A prefetch is only a hint: it never faults,
//! never changes a result, and compiles to nothing where no prefetch instruction is wired up.

use crate::Rows;

/// Bytes between two prefetches: a cache line on x86_64 and on most aarch64 cores.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
const CACHE_LINE_BYTES: usize = 64;

/// Hints that row `id` of `rows` will be read soon. Ids out of range are ignored.
#[inline(always)]
pub(super) fn prefetch_row(rows: &Rows<'_>, id: u32) {
    let start = id as usize * rows.stride;
    if let Some(row) = rows.data.get(start..start + rows.dim) {
        prefetch_slice(row);
    }
}

/// Hints that every cache line of `values` will be read soon (any element type).
#[inline(always)]
pub fn prefetch_slice<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let base = values.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(values)).step_by(CACHE_LINE_BYTES) {
            // SAFETY: `offset` is inside `values`, so the pointer stays within its allocation;
            // `prefetcht0` never faults and reads nothing architecturally; SSE, which it needs,
            // is part of the x86_64 baseline.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(offset)) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let base = values.as_ptr().cast::<u8>();
        for offset in (0..std::mem::size_of_val(values)).step_by(CACHE_LINE_BYTES) {
            // SAFETY: `offset` is inside `values`, so the pointer stays within its allocation;
            // `prfm` is a hint that never faults and changes no register, flag or memory.
            unsafe {
                core::arch::asm!(
                    "prfm pldl1keep, [{addr}]",
                    addr = in(reg) base.add(offset),
                    options(nostack, preserves_flags, readonly),
                )
            };
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = values;
}
