//! The two batch loops every backend runs: rows picked by id (graph search) and all rows in order
//! (brute force). They are `#[inline(always)]` and generic over the per-row kernel so that each
//! backend instantiates them inside its own `#[target_feature]` function, where the kernel inlines.

use super::prefetch::prefetch_row;
use crate::Rows;

/// How many ids ahead of the one being scored the gather loop starts loading a row. One row ahead
/// is enough: a row of a few hundred floats takes about as long to score as a cache miss takes.
const PREFETCH_AHEAD: usize = 1;

/// `out[j] = kernel(query, rows.row(ids[j]))`, prefetching the row scored next.
/// Callers have checked `out.len() == ids.len()`; an id out of range panics.
#[inline(always)]
pub(super) fn gather(
    query: &[f32],
    rows: &Rows<'_>,
    ids: &[u32],
    out: &mut [f32],
    mut kernel: impl FnMut(&[f32], &[f32]) -> f32,
) {
    for (position, (&id, slot)) in ids.iter().zip(out.iter_mut()).enumerate() {
        if let Some(&upcoming) = ids.get(position + PREFETCH_AHEAD) {
            prefetch_row(rows, upcoming);
        }
        *slot = kernel(query, rows.row(id as usize));
    }
}

/// `out[i] = kernel(query, rows.row(i))` over contiguous rows (the hardware prefetcher follows a
/// linear scan by itself). Callers have checked `out.len() == rows.len()` and `stride >= dim`.
#[inline(always)]
pub(super) fn stream(query: &[f32], rows: &Rows<'_>, out: &mut [f32], mut kernel: impl FnMut(&[f32], &[f32]) -> f32) {
    if rows.stride == 0 {
        return;
    }
    for (row, slot) in rows.data.chunks_exact(rows.stride).zip(out.iter_mut()) {
        *slot = kernel(query, &row[..rows.dim]);
    }
}
