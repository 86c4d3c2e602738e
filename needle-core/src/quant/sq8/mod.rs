//! `sq8`: scalar 8-bit quantization — one byte per dimension, 4× smaller than `f32`.
//!
//! Training records each dimension's min/max over a sample; a value becomes the nearest of 256
//! evenly spaced levels in that range (clamped outside it). A code row is `dim + 8` bytes: the codes
//! and two `f32` per-vector terms that let cosine, dot and euclidean be computed from one integer
//! dot product (`query.rs` derives the formulas). Distances come out on the exact metric's scale,
//! so the collection can rescore the best candidates exactly and compare distances with
//! thresholds.
//!
//! The hot loop is integer u8 × i8 arithmetic (`kernels/`), on AVX-512 VNNI, AVX-512BW or AVX2
//! when the CPU has them (detected once), with a scalar fallback giving identical results.
//!
//! **Before training** the quantizer is inert, never panicking: `encode` writes zeros, `decode`
//! yields zeros, and `distances_to_ids` reports `+∞`. Collections train before they encode (and
//! re-encode after retraining, since the auxiliary terms depend on the training mean).

mod codebook;
mod format;
pub mod kernels;
mod query;

#[cfg(test)]
mod tests;

use self::codebook::{Codebook, AUX_LEN};
pub use self::kernels::Sq8Kernel;
use crate::traits::{Codes, Quantizer, QuantizerFactory};
use crate::{Error, Metric, Result, Rows};

/// Most dimensions SQ8 accepts: the kernels' i32 sums stay exact up to here
/// (`65 536 · 255 · 128 < 2³¹`), and it is the engine's own dimension limit.
pub const MAX_DIM: usize = 65_536;

/// Scalar 8-bit quantizer over `dim` dimensions.
#[derive(Clone)]
pub struct Sq8Quantizer {
    dim: usize,
    book: Option<Codebook>,
    kernel: &'static Sq8Kernel,
}

impl Sq8Quantizer {
    /// A new, untrained quantizer using the fastest kernel this CPU runs.
    pub fn new(dim: usize) -> Result<Self> {
        if dim == 0 || dim > MAX_DIM {
            return Err(Error::InvalidConfig(format!("sq8 needs between 1 and {MAX_DIM} dimensions, got {dim}")));
        }
        Ok(Sq8Quantizer { dim, book: None, kernel: Sq8Kernel::best() })
    }

    /// The same quantizer computing with `kernel` (results are identical; for benchmarks/tests).
    pub fn with_kernel(mut self, kernel: &'static Sq8Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// The kernel in use (`avx512-vnni`, `avx512bw`, `avx2` or `scalar`).
    pub fn kernel(&self) -> &'static Sq8Kernel {
        self.kernel
    }

    /// Dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }

    fn check_len(&self, what: &str, got: usize, expected: usize) {
        assert_eq!(got, expected, "sq8 {what}: length {got}, expected {expected} (dim {})", self.dim);
    }
}

impl std::fmt::Debug for Sq8Quantizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The codebook is three floats per dimension: too long to print.
        f.debug_struct("Sq8Quantizer")
            .field("dim", &self.dim)
            .field("trained", &self.book.is_some())
            .field("kernel", &self.kernel.name())
            .finish()
    }
}

impl Quantizer for Sq8Quantizer {
    fn id(&self) -> &str {
        "sq8"
    }

    fn code_len(&self) -> usize {
        self.dim + AUX_LEN
    }

    fn supports(&self, metric: Metric) -> bool {
        matches!(metric, Metric::Cosine | Metric::Euclidean | Metric::Dot | Metric::Manhattan)
    }

    fn is_trained(&self) -> bool {
        self.book.is_some()
    }

    fn train(&mut self, sample: &Rows<'_>) -> Result<()> {
        self.book = Some(Codebook::train(self.dim, sample)?);
        Ok(())
    }

    /// Panics when `vector` or `out` has the wrong length; writes zeros when untrained.
    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        self.check_len("vector", vector.len(), self.dim);
        self.check_len("code buffer", out.len(), self.code_len());
        match &self.book {
            Some(book) => book.encode(vector, out),
            None => out.fill(0),
        }
    }

    /// Panics when `code` or `out` has the wrong length; writes zeros when untrained.
    fn decode(&self, code: &[u8], out: &mut [f32]) {
        self.check_len("code", code.len(), self.code_len());
        self.check_len("output", out.len(), self.dim);
        match &self.book {
            Some(book) => book.decode(code, out),
            None => out.fill(0.0),
        }
    }

    /// Panics when `query` has the wrong length.
    fn prepare_query(&self, query: &[f32], metric: Metric) -> Vec<u8> {
        self.check_len("query", query.len(), self.dim);
        query::prepare(self.book.as_ref(), self.dim, query, metric)
    }

    fn distances_to_ids(&self, prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]) {
        query::distances(self.book.as_ref(), self.kernel, prepared, metric, codes, ids, out)
    }

    /// Under cosine the distance divides the inner-product error by `‖x̂‖`, so rows of small norm
    /// have proportionally larger errors; under the other metrics the error does not depend on
    /// the row. See [`crate::quant::rescore`].
    fn error_scales(&self, _prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]) {
        assert_eq!(out.len(), ids.len(), "one output per id");
        match metric {
            Metric::Cosine if codes.code_len == self.code_len() => {
                for (o, &id) in out.iter_mut().zip(ids) {
                    let (norm, _) = codebook::aux(codes.row(id as usize), self.dim);
                    *o = if norm > 0.0 { 1.0 / norm } else { f32::MAX };
                }
            }
            _ => out.fill(1.0),
        }
    }

    fn save(&self) -> Vec<u8> {
        format::save(self.dim, self.book.as_ref())
    }
}

/// Creates and loads [`Sq8Quantizer`]s. Takes no parameters (`{}` or `null`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sq8Factory;

impl QuantizerFactory for Sq8Factory {
    fn id(&self) -> &str {
        "sq8"
    }

    fn version(&self) -> u32 {
        format::VERSION
    }

    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>> {
        super::expect_no_params("sq8", params)?;
        Ok(Box::new(Sq8Quantizer::new(dim)?))
    }

    fn load(&self, dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>> {
        let mut q = Sq8Quantizer::new(dim)?;
        q.book = format::load(dim, bytes)?;
        Ok(Box::new(q))
    }
}
