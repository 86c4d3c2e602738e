//! The `none` quantizer: no codes; the collection scores its `f32` vectors directly.
//!
//! It makes "not quantized" an explicit component like any other, so a collection's configuration
//! and file always name a quantizer. `code_len() == 0` is what tells the store and the scorer to
//! keep and use no codes, so `prepare_query`/`distances_to_ids` are never called in practice.

use crate::traits::{Codes, Quantizer, QuantizerFactory};
use crate::{Error, Metric, Result, Rows};

/// The identity "quantizer": zero-length codes, every metric, always trained.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQuantizer;

impl Quantizer for NoQuantizer {
    fn id(&self) -> &str {
        "none"
    }

    fn code_len(&self) -> usize {
        0
    }

    fn supports(&self, _metric: Metric) -> bool {
        true
    }

    fn is_trained(&self) -> bool {
        true
    }

    fn train(&mut self, _sample: &Rows<'_>) -> Result<()> {
        Ok(())
    }

    fn encode(&self, _vector: &[f32], _out: &mut [u8]) {}

    /// A zero-length code holds nothing: `out` is zero-filled (callers read the `f32` rows).
    fn decode(&self, _code: &[u8], out: &mut [f32]) {
        out.fill(0.0);
    }

    fn prepare_query(&self, _query: &[f32], _metric: Metric) -> Vec<u8> {
        Vec::new()
    }

    /// There are no codes to score: every distance is `+∞`.
    fn distances_to_ids(&self, _prepared: &[u8], _metric: Metric, _codes: &Codes<'_>, _ids: &[u32], out: &mut [f32]) {
        out.fill(f32::INFINITY);
    }

    fn save(&self) -> Vec<u8> {
        Vec::new()
    }
}

/// Creates [`NoQuantizer`]s; its saved form is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoQuantizerFactory;

impl QuantizerFactory for NoQuantizerFactory {
    fn id(&self) -> &str {
        "none"
    }

    fn version(&self) -> u32 {
        1
    }

    fn create(&self, _dim: usize, params: &serde_json::Value) -> Result<Box<dyn Quantizer>> {
        super::expect_no_params("none", params)?;
        Ok(Box::new(NoQuantizer))
    }

    fn load(&self, _dim: usize, bytes: &[u8]) -> Result<Box<dyn Quantizer>> {
        if !bytes.is_empty() {
            return Err(Error::corrupted(
                "none quantizer",
                0,
                format!("expected no saved state, found {} bytes", bytes.len()),
            ));
        }
        Ok(Box::new(NoQuantizer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_trivial() {
        let mut q = NoQuantizerFactory.create(8, &serde_json::json!({})).unwrap();
        assert_eq!((q.id(), q.code_len(), q.is_trained()), ("none", 0, true));
        for m in [Metric::Cosine, Metric::Euclidean, Metric::Dot, Metric::Manhattan] {
            assert!(q.supports(m));
            assert!(q.prepare_query(&[1.0; 8], m).is_empty());
        }
        let rows = Rows { data: &[1.0; 8], stride: 8, dim: 8, norms: &[] };
        q.train(&rows).unwrap();
        q.encode(&[1.0; 8], &mut []);
        let mut out = [1.0f32; 8];
        q.decode(&[], &mut out);
        assert_eq!(out, [0.0; 8]);
        assert!(q.save().is_empty());
        NoQuantizerFactory.load(8, &[]).unwrap();
        assert!(matches!(NoQuantizerFactory.load(8, &[0]), Err(Error::Corrupted { .. })));
        assert!(matches!(NoQuantizerFactory.create(8, &serde_json::json!({"x": 1})), Err(Error::InvalidConfig(_))));
    }
}
