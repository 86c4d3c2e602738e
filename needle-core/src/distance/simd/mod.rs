//! The arithmetic under every built-in distance: three reductions over two equally long `f32`
//! slices — dot product, squared L2 distance and L1 distance — written once per instruction set.
//!
//! Why it is shaped like this:
//!
//! - Each backend module hands out a [`KernelTable`] of plain, safe function pointers, and only
//!   after the CPU was checked for the instructions behind them. Holding a table is therefore the
//!   proof that calling it is sound: callers never write `unsafe` and never re-check the CPU.
//! - Distances are computed a batch at a time (one query, many rows). The batch loops in
//!   [`batch`] are generic and always inlined, so every backend compiles them inside its own
//!   `#[target_feature]` function: each row (or block of rows) goes to that backend's kernel by a
//!   direct call, and the only indirect call is one per batch.
//! - [`scalar`] is the portable reference; every other backend is tested against it.

mod batch;
#[cfg(all(feature = "simd", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod chunks;
mod prefetch;
pub use prefetch::prefetch_slice;
mod scalar;

#[cfg(all(feature = "simd", target_arch = "x86_64"))]
mod avx2;
#[cfg(all(feature = "simd", target_arch = "x86_64"))]
mod avx512;
#[cfg(all(feature = "simd", target_arch = "aarch64"))]
mod neon;

use std::fmt;

use super::backend::Backend;
use crate::Rows;

/// The three reductions the built-in metrics are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduction {
    /// `Σ aᵢ·bᵢ` (cosine and dot).
    Dot,
    /// `Σ (aᵢ − bᵢ)²` (euclidean, before the square root).
    L2Squared,
    /// `Σ |aᵢ − bᵢ|` (manhattan).
    L1,
}

/// One pair of equally long slices to one number. Panics when the lengths differ.
pub(crate) type PairKernel = fn(&[f32], &[f32]) -> f32;
/// One reduction from a query to the rows named by ids, into `out` (lengths already checked).
type GatherKernel = fn(Reduction, &[f32], &Rows<'_>, &[u32], &mut [f32]);
/// One reduction from a query to every row in order, into `out` (lengths already checked).
type StreamKernel = fn(Reduction, &[f32], &Rows<'_>, &mut [f32]);

/// The kernels of one backend. Only the backend modules build tables, and only after detecting
/// the CPU features their functions need, so every pointer in a table is safe to call.
pub(crate) struct KernelTable {
    backend: Backend,
    dot: PairKernel,
    l2_squared: PairKernel,
    l1: PairKernel,
    gather: GatherKernel,
    stream: StreamKernel,
}

impl fmt::Debug for KernelTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelTable").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl KernelTable {
    /// The backend these kernels belong to.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// The pairwise kernel for `reduction`.
    pub(crate) fn pair(&self, reduction: Reduction) -> PairKernel {
        match reduction {
            Reduction::Dot => self.dot,
            Reduction::L2Squared => self.l2_squared,
            Reduction::L1 => self.l1,
        }
    }

    /// `out[j] = reduction(query, rows.row(ids[j]))`.
    ///
    /// Panics when `query.len() != rows.dim`, `out.len() != ids.len()` or an id is out of range.
    pub(crate) fn to_ids(&self, reduction: Reduction, query: &[f32], rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        check_query(query, rows);
        assert_eq!(out.len(), ids.len(), "output length must equal the number of ids");
        (self.gather)(reduction, query, rows, ids, out);
    }

    /// `out[i] = reduction(query, rows.row(i))` for every row.
    ///
    /// Panics when `query.len() != rows.dim` or `out.len() != rows.len()`.
    pub(crate) fn to_all(&self, reduction: Reduction, query: &[f32], rows: &Rows<'_>, out: &mut [f32]) {
        check_query(query, rows);
        assert_eq!(out.len(), rows.len(), "output length must equal the number of rows");
        (self.stream)(reduction, query, rows, out);
    }
}

fn check_query(query: &[f32], rows: &Rows<'_>) {
    assert_eq!(query.len(), rows.dim, "query has {} dimensions, rows have {}", query.len(), rows.dim);
    assert!(rows.stride >= rows.dim, "row stride {} is shorter than the dimension {}", rows.stride, rows.dim);
}

/// The kernels of `backend`, or `None` when it is not compiled in or the CPU lacks its features.
pub(crate) fn kernel_table(backend: Backend) -> Option<&'static KernelTable> {
    match backend {
        Backend::Scalar => Some(scalar::table()),
        #[cfg(all(feature = "simd", target_arch = "x86_64"))]
        Backend::Avx512 => avx512::table(),
        #[cfg(all(feature = "simd", target_arch = "x86_64"))]
        Backend::Avx2 => avx2::table(),
        #[cfg(all(feature = "simd", target_arch = "aarch64"))]
        Backend::Neon => neon::table(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
