//! The two batch loops every backend runs: rows picked by id (graph search) and all rows in order
//! (brute force). They are `#[inline(always)]` and generic over the kernels so that each backend
//! instantiates them inside its own `#[target_feature]` function and calls its kernels directly.
//!
//! Rows picked by id are scored `BLOCK` at a time: each chunk of the query is loaded once for the
//! whole block instead of once per row, which cuts the loads per multiply-add from 2 towards 1
//! (loads, not arithmetic, bound these kernels), and the block's rows are fetched from memory in
//! parallel. The kernels give every row the same arithmetic whatever block it is in, so a distance
//! does not depend on its position in a batch.

use super::prefetch::prefetch_row;
use crate::Rows;

/// `out[j] = kernel(query, rows.row(ids[j]))`, `BLOCK` rows per `block` call and the leftover ids
/// through `single`, prefetching the rows of the next block while scoring the current one.
/// Callers have checked `out.len() == ids.len()`; an id out of range panics.
#[inline(always)]
pub(super) fn gather<const BLOCK: usize>(
    query: &[f32],
    rows: &Rows<'_>,
    ids: &[u32],
    out: &mut [f32],
    mut block: impl FnMut(&[f32], [&[f32]; BLOCK]) -> [f32; BLOCK],
    mut single: impl FnMut(&[f32], &[f32]) -> f32,
) {
    let (id_blocks, id_rest) = ids.as_chunks::<BLOCK>();
    let (out_blocks, out_rest) = out.as_chunks_mut::<BLOCK>();
    for (index, (block_ids, block_out)) in id_blocks.iter().zip(out_blocks).enumerate() {
        let upcoming = ids.get((index + 1) * BLOCK..).unwrap_or_default();
        for &id in upcoming.iter().take(BLOCK) {
            prefetch_row(rows, id);
        }
        *block_out = block(query, block_ids.map(|id| rows.row(id as usize)));
    }
    for (&id, slot) in id_rest.iter().zip(out_rest) {
        *slot = single(query, rows.row(id as usize));
    }
}

/// `out[i] = kernel(query, rows.row(i))` over contiguous rows, one row at a time: the hardware
/// prefetcher follows one linear scan best, and blocking rows here made a scan of a store larger
/// than the caches markedly slower. Callers have checked `out.len() == rows.len()` and
/// `stride >= dim`.
#[inline(always)]
pub(super) fn stream(query: &[f32], rows: &Rows<'_>, out: &mut [f32], mut kernel: impl FnMut(&[f32], &[f32]) -> f32) {
    let (stride, dim) = (rows.stride, rows.dim);
    if stride == 0 {
        return;
    }
    for (row, slot) in rows.data.chunks_exact(stride).zip(out.iter_mut()) {
        *slot = kernel(query, &row[..dim]);
    }
}
