//! Built-in distances. (Being written: SIMD kernels.)
use crate::Distance;
use std::sync::Arc;
/// The built-in distances.
pub fn builtins() -> Vec<Arc<dyn Distance>> {
    Vec::new()
}
