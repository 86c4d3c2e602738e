//! The `Distance` trait: how far apart two vectors are, computed one query against many rows.
//!
//! Convention for every implementation: **smaller is closer**, and the value is what users see in
//! `SearchResult::distance`:
//!
//! | id          | value                          |
//! |-------------|--------------------------------|
//! | `cosine`    | `1 − (q·v) / (‖q‖ ‖v‖)`        |
//! | `euclidean` | `‖q − v‖₂` (the square root)   |
//! | `dot`       | `−(q·v)`                       |
//! | `manhattan` | `Σ |qᵢ − vᵢ|`                  |
//!
//! Cosine never recomputes a stored vector's norm: the store keeps one norm per row (`Rows::norms`)
//! when [`Distance::needs_norms`] says so, and the query's norm is computed once per query.

use std::fmt::Debug;

/// The built-in metric families. A plugin distance may report `None` from [`Distance::metric`];
/// quantizers then refuse it unless they declare support for arbitrary metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// `1 − cos(q, v)`.
    Cosine,
    /// `‖q − v‖₂`.
    Euclidean,
    /// `−(q·v)`.
    Dot,
    /// `Σ |qᵢ − vᵢ|`.
    Manhattan,
}

impl Metric {
    /// The registry id of the built-in distance for this metric.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Euclidean => "euclidean",
            Metric::Dot => "dot",
            Metric::Manhattan => "manhattan",
        }
    }

    /// Parses a registry id or a common alias (`l2`, `ip`, `inner_product`, `l1`).
    pub fn from_id(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Some(Metric::Cosine),
            "euclidean" | "l2" => Some(Metric::Euclidean),
            "dot" | "ip" | "inner_product" | "dotproduct" | "dot_product" => Some(Metric::Dot),
            "manhattan" | "l1" => Some(Metric::Manhattan),
            _ => None,
        }
    }
}

/// A read-only view of stored vectors: `rows` vectors of `dim` floats, row `i` starting at
/// `data[i * stride]`. `stride >= dim`; the padding (if any) is zero. `norms[i]` is the L2 norm of
/// row `i` when the store keeps norms (empty otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    /// Row-major vector data.
    pub data: &'a [f32],
    /// Floats per row in `data` (≥ `dim`).
    pub stride: usize,
    /// Dimensions of each vector.
    pub dim: usize,
    /// Per-row L2 norms, or empty.
    pub norms: &'a [f32],
}

impl<'a> Rows<'a> {
    /// Number of rows in the view.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.stride).unwrap_or(0)
    }

    /// True when the view holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` (exactly `dim` floats). Panics if `i` is out of range.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.stride..i * self.stride + self.dim]
    }

    /// Norm of row `i`, or NaN when the view carries no norms.
    #[inline]
    pub fn norm(&self, i: usize) -> f32 {
        self.norms.get(i).copied().unwrap_or(f32::NAN)
    }

    /// Rows `start..start + len` as a view of their own (norms sliced alike). Panics when the
    /// range is out of bounds.
    pub fn range(&self, start: usize, len: usize) -> Rows<'a> {
        let norms = if self.norms.is_empty() { self.norms } else { &self.norms[start..start + len] };
        Rows {
            data: &self.data[start * self.stride..(start + len) * self.stride],
            stride: self.stride,
            dim: self.dim,
            norms,
        }
    }
}

/// A distance function over `f32` vectors.
///
/// Required methods work on batches; `distance` (one pair) is provided for convenience and tests.
pub trait Distance: Send + Sync + Debug + 'static {
    /// The stable registry id (`cosine`, `euclidean`, `dot`, `manhattan`, or a plugin's id).
    fn id(&self) -> &str;

    /// The metric family, when this is one of the built-in families.
    fn metric(&self) -> Option<Metric>;

    /// Which kernel runs: `avx512`, `avx2`, `neon`, `scalar` or a plugin's own name.
    fn backend_name(&self) -> &str;

    /// Version of the function's definition, recorded in the file of every collection that uses
    /// it: a file written with version `v` refuses to open with an older one (a plugin that
    /// changes what its distance computes must raise it). Built-ins are version 1.
    fn version(&self) -> u32 {
        1
    }

    /// Whether the store must keep per-row L2 norms for this distance (cosine does).
    fn needs_norms(&self) -> bool {
        false
    }

    /// Distances from `query` to the rows named by `ids`; `out.len() == ids.len()`.
    /// `query_norm` is `‖query‖₂` (callers compute it once per query) when [`Distance::needs_norms`]
    /// is true, and 0 otherwise.
    fn distances_to_ids(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, ids: &[u32], out: &mut [f32]);

    /// Distances from `query` to every row of `rows`, in order; `out.len() == rows.len()`.
    fn distances_to_all(&self, query: &[f32], query_norm: f32, rows: &Rows<'_>, out: &mut [f32]);

    /// Distance between two vectors of equal length.
    fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        let norms = [l2_norm(b)];
        let rows = Rows { data: b, stride: b.len(), dim: b.len(), norms: &norms };
        let mut out = [0.0f32];
        self.distances_to_all(a, l2_norm(a), &rows, &mut out);
        out[0]
    }
}

/// Plain L2 norm (scalar; used off the hot path).
pub fn l2_norm(v: &[f32]) -> f32 {
    // Sixteen independent partial sums: a single running sum is one long chain of dependent
    // additions the compiler may not reorder (≈1 µs at 784 dimensions), this vectorises.
    let mut lanes = [0.0f32; 16];
    let (chunks, rest) = v.as_chunks::<16>();
    for c in chunks {
        for (l, x) in lanes.iter_mut().zip(c) {
            *l += x * x;
        }
    }
    (lanes.iter().sum::<f32>() + rest.iter().map(|x| x * x).sum::<f32>()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn l2_norm_matches_f64_at_every_length() {
        for len in [0, 1, 15, 16, 17, 100, 384, 784, 1536] {
            let v: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
            let want = v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            let got = l2_norm(&v) as f64;
            assert!((got - want).abs() <= 1e-5 * want.max(1.0), "len {len}: {got} vs {want}");
        }
    }
}
