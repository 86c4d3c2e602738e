//! Built-in quantizers. (Being written: none and SQ8.)
use crate::QuantizerFactory;
use std::sync::Arc;
/// The built-in quantizer factories.
pub fn builtins() -> Vec<Arc<dyn QuantizerFactory>> {
    Vec::new()
}
