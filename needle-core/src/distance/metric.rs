//! The four built-in distances: each runs one reduction over a batch on its backend's kernels,
//! then turns the raw sums into the user-facing value (see the table in
//! [`crate::traits::distance`]) in one short pass over the output.

use super::dispatch::{active_table, Backend};
use super::simd::{KernelTable, Reduction};
use crate::{Distance, Metric, Rows};

/// Declares a built-in distance type bound to one backend's kernels.
macro_rules! builtin_distance {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            kernels: &'static KernelTable,
        }

        impl $name {
            /// On the process's active backend ([`Backend::active`]).
            pub fn new() -> Self {
                Self { kernels: active_table() }
            }

            /// On a specific backend, or `None` when it cannot run here.
            pub fn with_backend(backend: Backend) -> Option<Self> {
                super::simd::kernel_table(backend).map(|kernels| Self { kernels })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}

builtin_distance!(
    /// `1 − (q·v) / (‖q‖ ‖v‖)`, using the norms the store keeps per row (never recomputed).
    /// Either norm being zero gives `1.0` (neither similar nor dissimilar) rather than NaN.
    CosineDistance
);
builtin_distance!(
    /// `‖q − v‖₂`.
    EuclideanDistance
);
builtin_distance!(
    /// `−(q·v)`: the larger the inner product, the closer.
    DotDistance
);
builtin_distance!(
    /// `Σ |qᵢ − vᵢ|`.
    ManhattanDistance
);

/// `1 − cos` from a dot product and both norms; a zero norm has no direction, so it scores 1.
/// Rounding can put `dot / (|q| |v|)` a hair above 1 for parallel vectors: the result is clamped
/// at 0 (a vector's distance to itself is 0, never `-1.19e-7`).
#[inline]
fn cosine_from_dot(dot: f32, query_norm: f32, row_norm: f32) -> f32 {
    let denominator = query_norm * row_norm;
    if denominator == 0.0 {
        1.0
    } else {
        let d = 1.0 - dot / denominator;
        // Not `max`: a NaN stays a NaN.
        if d < 0.0 {
            0.0
        } else {
            d
        }
    }
}

/// Cosine reads a norm per row; a store that kept none was set up for another distance.
fn require_norms(rows: &Rows<'_>) {
    assert!(
        rows.norms.len() >= rows.len(),
        "cosine distance needs a stored norm per row ({} norms for {} rows)",
        rows.norms.len(),
        rows.len()
    );
}

impl Distance for CosineDistance {
    fn id(&self) -> &str {
        Metric::Cosine.id()
    }

    fn metric(&self) -> Option<Metric> {
        Some(Metric::Cosine)
    }

    fn backend_name(&self) -> &str {
        self.kernels.backend().name()
    }

    fn needs_norms(&self) -> bool {
        true
    }

    fn distances_to_ids(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        require_norms(rows);
        self.kernels.to_ids(Reduction::Dot, query, rows, ids, out);
        for (value, &id) in out.iter_mut().zip(ids) {
            *value = cosine_from_dot(*value, query_norm, rows.norms[id as usize]);
        }
    }

    fn distances_to_all(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        require_norms(rows);
        self.kernels.to_all(Reduction::Dot, query, rows, out);
        for (value, &row_norm) in out.iter_mut().zip(rows.norms) {
            *value = cosine_from_dot(*value, query_norm, row_norm);
        }
    }
}

impl Distance for EuclideanDistance {
    fn id(&self) -> &str {
        Metric::Euclidean.id()
    }

    fn metric(&self) -> Option<Metric> {
        Some(Metric::Euclidean)
    }

    fn backend_name(&self) -> &str {
        self.kernels.backend().name()
    }

    fn distances_to_ids(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        self.kernels.to_ids(Reduction::L2Squared, query, rows, ids, out);
        out.iter_mut().for_each(|value| *value = value.sqrt());
    }

    fn distances_to_all(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        self.kernels.to_all(Reduction::L2Squared, query, rows, out);
        out.iter_mut().for_each(|value| *value = value.sqrt());
    }
}

impl Distance for DotDistance {
    fn id(&self) -> &str {
        Metric::Dot.id()
    }

    fn metric(&self) -> Option<Metric> {
        Some(Metric::Dot)
    }

    fn backend_name(&self) -> &str {
        self.kernels.backend().name()
    }

    fn distances_to_ids(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        self.kernels.to_ids(Reduction::Dot, query, rows, ids, out);
        out.iter_mut().for_each(|value| *value = -*value);
    }

    fn distances_to_all(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        self.kernels.to_all(Reduction::Dot, query, rows, out);
        out.iter_mut().for_each(|value| *value = -*value);
    }
}

impl Distance for ManhattanDistance {
    fn id(&self) -> &str {
        Metric::Manhattan.id()
    }

    fn metric(&self) -> Option<Metric> {
        Some(Metric::Manhattan)
    }

    fn backend_name(&self) -> &str {
        self.kernels.backend().name()
    }

    fn distances_to_ids(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]) {
        self.kernels.to_ids(Reduction::L1, query, rows, ids, out);
    }

    fn distances_to_all(&self, query: &[f32], _query_norm: f32, rows: &Rows<'_>, out: &mut [f32]) {
        self.kernels.to_all(Reduction::L1, query, rows, out);
    }
}

#[cfg(test)]
#[path = "metric_tests.rs"]
mod tests;
