//! Built-in indexes. (Being written: HNSW and flat.)
use crate::IndexFactory;
use std::sync::Arc;
/// The built-in index factories.
pub fn builtins() -> Vec<Arc<dyn IndexFactory>> {
    Vec::new()
}
