//! The `Quantizer` trait: compact codes for vectors, and distances computed on those codes.
//!
//! A collection with a quantizer walks its index on codes (small, cache-friendly), then rescores
//! the best candidates exactly on the full-precision vectors. `none` stores no codes at all.

use std::fmt::Debug;

use crate::{Metric, Result, Rows};

/// A read-only view of encoded vectors: row `i` is `data[i * code_len .. (i + 1) * code_len]`.
#[derive(Debug, Clone, Copy)]
pub struct Codes<'a> {
    /// The codes, row-major.
    pub data: &'a [u8],
    /// Bytes per code (as [`Quantizer::code_len`] reports).
    pub code_len: usize,
}

impl<'a> Codes<'a> {
    /// Code of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [u8] {
        &self.data[i * self.code_len..(i + 1) * self.code_len]
    }
}

/// Encodes vectors into codes and scores queries against codes.
pub trait Quantizer: Send + Sync + Debug + 'static {
    /// The stable registry id (`none`, `sq8`, or a plugin's id).
    fn id(&self) -> &str;

    /// Bytes per encoded vector; 0 means "no codes, score the f32 vectors".
    fn code_len(&self) -> usize;

    /// Whether this quantizer can score distances of `metric`.
    fn supports(&self, metric: Metric) -> bool;

    /// Whether [`Quantizer::train`] has run (codes can only be made after).
    fn is_trained(&self) -> bool;

    /// Learns the code book from sample vectors. Calling it again retrains (existing codes must
    /// then be re-encoded by the caller).
    fn train(&mut self, sample: &Rows<'_>) -> Result<()>;

    /// Encodes one vector into `out` (`out.len() == code_len()`).
    fn encode(&self, vector: &[f32], out: &mut [u8]);

    /// Decodes a code back to an approximate vector (`out.len() == dim`).
    fn decode(&self, code: &[u8], out: &mut [f32]);

    /// Prepares a query for [`Quantizer::distances_to_ids`] under `metric`.
    fn prepare_query(&self, query: &[f32], metric: Metric) -> Vec<u8>;

    /// Approximate distances (same scale and order as the metric's exact distance) from a prepared
    /// query to the codes of the rows named by `ids`.
    fn distances_to_ids(&self, prepared: &[u8], metric: Metric, codes: &Codes<'_>, ids: &[u32], out: &mut [f32]);

    /// The relative size of the error of [`Quantizer::distances_to_ids`] for each row named by
    /// `ids` (`out.len() == ids.len()`, values > 0, any common unit): exact rescoring learns one
    /// error bound per query from the candidates it rescores and scales it per row by these, so a
    /// row whose approximate distance is known to be less precise (SQ8 under cosine: the error
    /// grows as `1/‖x̂‖`) is rescored from further down the candidate list. Called only for the
    /// few candidates a search returns, never in the graph walk. Default: 1 for every row.
    fn error_scales(&self, _prepared: &[u8], _metric: Metric, _codes: &Codes<'_>, _ids: &[u32], out: &mut [f32]) {
        out.fill(1.0)
    }

    /// Serialises the trained state.
    fn save(&self) -> Vec<u8>;
}

/// Creates and loads quantizers of one kind.
pub trait QuantizerFactory: Send + Sync + Debug + 'static {
    /// The registry id.
    fn id(&self) -> &str;
    /// Version of the serialised form.
    fn version(&self) -> u32;
    /// A new, untrained quantizer for `dim` dimensions.
    fn create(&self, dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>>;
    /// Loads what [`Quantizer::save`] wrote; corrupt input is an error, never a panic.
    fn load(&self, dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>>;
}
